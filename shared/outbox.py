"""Appending to the outbox: the caller's domain change and the event commit together."""
import sqlalchemy as sa

from .events import GENESIS_HASH, Event, check_data
from .eventstore import EventStore
from .logging import current_traceparent


def append(store: EventStore, short_type: str, subject: str, data: dict) -> Event:
    """Add the next event of this source to the session; the caller commits.

    The head row is locked for the rest of the transaction, so sequence numbers are gap-free
    and commit in order: whatever a reader sees up to the head is complete.
    """
    check_data(short_type, data)
    session, Head = store.session, store.Head
    head = session.execute(sa.select(Head.last_seq, Head.last_hash).where(
        Head.source == store.source).with_for_update()).first()
    last_seq, last_hash = head or (0, GENESIS_HASH)
    event = Event.new(source=store.source, short_type=short_type, subject=subject, data=data,
                      sequence=last_seq + 1, prevhash=last_hash,
                      traceparent=current_traceparent())
    digest = event.hash()
    # plain statements, not ORM objects: the unit of work would cost more than the writes
    session.execute(sa.insert(store.Outbox).values(
        seq=event.sequence, event_id=event.id, type=short_type, subject=subject,
        body=event.to_json(), hash=digest))
    moved = {"last_seq": event.sequence, "last_hash": digest}
    session.execute(sa.insert(Head).values(source=store.source, **moved) if head is None
                    else sa.update(Head).where(Head.source == store.source).values(**moved))
    return event


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
