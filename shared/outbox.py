"""Appending to the outbox: the caller's domain change and the event commit together."""
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .events import GENESIS_HASH, Event, check_data
from .eventstore import EventStore, utcnow
from .logging import current_traceparent


def append(store: EventStore, short_type: str, subject: str, data: dict) -> Event:
    """Add the next event of this source to the session; the caller commits.

    The head row is locked for the rest of the transaction, so sequence numbers are gap-free
    and commit in order: whatever a reader sees up to the head is complete.
    """
    check_data(short_type, data)
    session, Head = store.session, store.Head
    last_seq, last_hash = _locked_head(store)
    event = Event.new(source=store.source, short_type=short_type, subject=subject, data=data,
                      sequence=last_seq + 1, prevhash=last_hash,
                      traceparent=current_traceparent())
    digest = event.hash()
    # plain statements, not ORM objects: the unit of work would cost more than the writes
    row = sa.insert(store.Outbox).values(
        seq=event.sequence, event_id=event.id, type=short_type, subject=subject,
        body=event.to_json(), hash=digest, created_at=utcnow())
    move = sa.update(Head).where(Head.source == store.source).values(
        last_seq=event.sequence, last_hash=digest)
    if session.get_bind().dialect.name == "postgresql":
        # one round trip for both while the head is locked: the lock is what every other
        # append of this source waits for
        session.execute(row.add_cte(move.cte("moved")))
    else:
        session.execute(row)
        session.execute(move)
    return event


def _locked_head(store: EventStore) -> tuple[int, str]:
    """The source's last sequence and hash, its row locked until commit; the row is made
    on the source's first event (two first events at once: one makes it, the other waits
    for it, then finds it)."""
    session, Head = store.session, store.Head
    locked = sa.select(Head.last_seq, Head.last_hash).where(
        Head.source == store.source).with_for_update()
    head = session.execute(locked).first()
    if head is None:
        try:
            with session.begin_nested():
                session.execute(sa.insert(Head).values(source=store.source, last_seq=0,
                                                       last_hash=GENESIS_HASH))
        except IntegrityError:
            pass
        head = session.execute(locked).one()
    return head


def backlog(store: EventStore) -> dict:
    """Unpublished rows: how many, and how old the oldest is (for ops and metrics)."""
    row = store.session.execute(
        sa.select(sa.func.count(), sa.func.min(store.Outbox.created_at),
                  sa.func.min(store.Outbox.seq))
        .where(store.Outbox.published_at.is_(None))).one()
    return {"source": store.source, "unpublished": row[0], "oldest_created_at": row[1],
            "first_unpublished_seq": row[2], "head_seq": head_seq(store)}


def unpublished(store: EventStore) -> int:
    return store.session.scalar(sa.select(sa.func.count()).select_from(store.Outbox).where(
        store.Outbox.published_at.is_(None)))


def page(store: EventStore, after: int, limit: int, types: list[str] | None = None) -> list:
    """Outbox rows after a sequence number, in order: the source's event log."""
    query = sa.select(store.Outbox).where(store.Outbox.seq > after)
    if types:
        query = query.where(store.Outbox.type.in_(types))
    return store.session.scalars(query.order_by(store.Outbox.seq).limit(limit)).all()


def count_between(store: EventStore, after: int, upto: int, types: list[str] | None) -> int:
    query = sa.select(sa.func.count()).select_from(store.Outbox).where(
        store.Outbox.seq > after, store.Outbox.seq <= upto)
    if types:
        query = query.where(store.Outbox.type.in_(types))
    return store.session.scalar(query)


def head_seq(store: EventStore) -> int:
    head = store.session.get(store.Head, store.source)
    return head.last_seq if head else 0
