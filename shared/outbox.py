"""Appending to the outbox: the caller's domain change and the event commit together."""
import functools

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from . import keys
from .db import as_built
from .events import GENESIS_HASH, Event, check_data, spec_for
from .clock import utcnow
from .eventstore import EventStore
from .logging import current_traceparent


def append(store: EventStore, short_type: str, subject: str, data: dict,
           rows: tuple = ()) -> Event:
    """Add the next event of this source to the session; the caller commits.

    The head row is locked for the rest of the transaction, so sequence numbers are gap-free
    and commit in order: whatever a reader sees up to the head is complete. The caller's
    pending writes are flushed before the lock is taken, so it is held only for the
    event's own statement and the commit. `rows`, new rows of the caller's change built
    whole (`db.as_built`), are written by the statement that takes the lock: on PostgreSQL
    one round trip for both.
    """
    spec = spec_for(short_type)  # the version producers publish now
    check_data(short_type, data, spec)
    store.session.flush()
    conn, statements = store.session.connection(), _statements(store)
    last_seq, last_hash = _locked_head(conn, store, statements, rows)
    event = Event.new(source=store.source, short_type=short_type, subject=subject, data=data,
                      sequence=last_seq + 1, prevhash=last_hash, version=spec.version,
                      traceparent=current_traceparent()).signed(
                          *keys.signer(store.source.strip("/")))
    values = {"of_source": store.source, "seq": event.sequence, "event_id": event.id,
              "type": short_type, "subject": subject, "body": event.to_json(),
              "hash": event.hash(), "created_at": utcnow()}
    for statement in statements.append:
        conn.execute(statement, values)
    return event


class _Statements:
    """A source's append statements, built once: building and keying a statement cost more
    than the write it makes."""

    def __init__(self, store: EventStore, dialect: str):
        # the source is bound as `of_source`: an UPDATE would SET any column its
        # parameters name
        outbox, head = store.OutboxEvent.__table__, store.SourceHead.__table__
        self.locked = sa.select(head.c.last_seq, head.c.last_hash).where(
            head.c.source == sa.bindparam("of_source")).with_for_update()
        self.genesis = sa.insert(head).values(source=sa.bindparam("of_source"), last_seq=0,
                                              last_hash=GENESIS_HASH)
        row = sa.insert(outbox).values({c: sa.bindparam(c) for c in (
            "seq", "event_id", "type", "subject", "body", "hash", "created_at")})
        move = sa.update(head).where(head.c.source == sa.bindparam("of_source")).values(
            last_seq=sa.bindparam("seq"), last_hash=sa.bindparam("hash"))
        # on PostgreSQL one round trip for both while the head is locked: the lock is what
        # every other append of this source waits for
        self.append = ((row.add_cte(move.cte("moved")),) if dialect == "postgresql"
                       else (row, move))
        self.dialect = dialect


@functools.cache
def _locked_after(statements: _Statements, inserts: tuple):
    """Taking the lock with the caller's rows written in the same statement (PostgreSQL)."""
    return statements.locked.add_cte(*(insert.cte(f"row{i}")
                                       for i, insert in enumerate(inserts)))


@functools.cache
def _statements_for(store: EventStore, dialect: str) -> _Statements:
    return _Statements(store, dialect)


def _statements(store: EventStore) -> _Statements:
    return _statements_for(store, store.session.get_bind().dialect.name)


def _locked_head(conn, store: EventStore, statements: _Statements,
                 rows: tuple) -> tuple[int, str]:
    """The source's last sequence and hash, its row locked until commit, once `rows` are
    written; the head row is made on the source's first event (two first events at once:
    one makes it, the other waits for it, then finds it)."""
    source = {"of_source": store.source}
    inserts, values = as_built(rows)
    if statements.dialect == "postgresql" and inserts:
        head = conn.execute(_locked_after(statements, inserts), {**source, **values}).first()
    else:
        for insert in inserts:
            conn.execute(insert, values)
        head = conn.execute(statements.locked, source).first()
    if head is None:
        try:
            with store.session.begin_nested():  # its SAVEPOINT comes with its own execute
                store.session.execute(statements.genesis, source)
        except IntegrityError:
            pass
        head = conn.execute(statements.locked, source).one()
    return head


def backlog(store: EventStore) -> dict:
    """Unpublished rows: how many, and how old the oldest is (for ops and metrics)."""
    row = store.session.execute(
        sa.select(sa.func.count(), sa.func.min(store.OutboxEvent.created_at),
                  sa.func.min(store.OutboxEvent.seq))
        .where(store.OutboxEvent.published_at.is_(None))).one()
    return {"source": store.source, "unpublished": row[0], "oldest_created_at": row[1],
            "first_unpublished_seq": row[2], "head_seq": head_seq(store)}


def unpublished(store: EventStore) -> int:
    return store.session.scalar(sa.select(sa.func.count()).select_from(store.OutboxEvent).where(
        store.OutboxEvent.published_at.is_(None)))


def page(store: EventStore, after: int, limit: int, types: list[str] | None = None) -> list:
    """Outbox rows after a sequence number, in order: the source's event log."""
    query = sa.select(store.OutboxEvent).where(store.OutboxEvent.seq > after)
    if types:
        query = query.where(store.OutboxEvent.type.in_(types))
    return store.session.scalars(query.order_by(store.OutboxEvent.seq).limit(limit)).all()


def count_between(store: EventStore, after: int, upto: int, types: list[str] | None) -> int:
    query = sa.select(sa.func.count()).select_from(store.OutboxEvent).where(
        store.OutboxEvent.seq > after, store.OutboxEvent.seq <= upto)
    if types:
        query = query.where(store.OutboxEvent.type.in_(types))
    return store.session.scalar(query)


def head_seq(store: EventStore) -> int:
    head = store.session.get(store.SourceHead, store.source)
    return head.last_seq if head else 0
