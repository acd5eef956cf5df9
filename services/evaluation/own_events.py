"""State evaluation keeps from its own events (the milestone reviews, the spending ledger):
each act appends its event to the outbox and applies it through the same function a replay
uses, so the log alone rebuilds the tables, exactly. What people write in them (comments,
answers, reasons, descriptions) is kept in review_note by its SHA-256, which is all an event
carries."""
import hashlib
from datetime import datetime

import sqlalchemy as sa

from shared import outbox
from shared.events import Event

from .models import ReviewNote, db, event_store


def when(event: Event) -> datetime:
    return datetime.fromisoformat(event.time.replace("Z", "+00:00"))


def note(text: str, by: str) -> str:
    """Keep a text by its digest (the first writer of the same words is kept)."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    if db.session.get(ReviewNote, digest) is None:
        db.session.add(ReviewNote(digest=digest, text=text, written_by=by))
    return digest


def publish(apply: dict, short_type: str, subject: str, data: dict) -> Event:
    event = outbox.append(event_store, short_type, subject, data)
    apply[short_type](event)
    db.session.flush()
    return event


def replay(apply: dict, tables: tuple) -> int:
    """Empty `tables` and apply again, in sequence order, every event `apply` handles."""
    for table in tables:
        db.session.execute(sa.delete(table))
    log = event_store.OutboxEvent
    bodies = db.session.scalars(sa.select(log.body).where(log.type.in_(apply)).order_by(
        log.seq)).all()
    for body in bodies:
        event = Event.from_json(body)
        apply[event.short_type](event)
        db.session.flush()
    return len(bodies)
