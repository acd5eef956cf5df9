"""The event tables every service keeps in its own database, next to its domain tables.

outbox  the service's own event log: the truth the relay publishes and /events serves;
head    the source's last sequence number and hash, locked while an event is appended;
inbox   every event the service has applied (id unique: exactly-once effect);
cursor  per source, how far the service has verified it has every event it consumes;
parked  events parked on the dead-letter queue, so backfill does not fetch them again.
"""
from datetime import datetime, timezone

import sqlalchemy as sa

from .db import UtcDateTime


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class EventStore:
    """One service's event tables (the models above, made on its own `db`), and the source
    name its own events carry."""

    def __init__(self, db, source: str):
        self.db, self.source = db, source
        Model = db.Model

        class OutboxEvent(Model):
            __tablename__ = "event_outbox"
            seq = sa.Column(sa.BigInteger, primary_key=True, autoincrement=False)
            event_id = sa.Column(sa.String(64), nullable=False, unique=True)
            type = sa.Column(sa.String(120), nullable=False, index=True)
            subject = sa.Column(sa.String(200), nullable=False)
            body = sa.Column(sa.Text, nullable=False)
            hash = sa.Column(sa.String(64), nullable=False)
            created_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)
            published_at = sa.Column(UtcDateTime, index=True)

        class SourceHead(Model):
            __tablename__ = "event_source_head"
            source = sa.Column(sa.String(64), primary_key=True)
            last_seq = sa.Column(sa.BigInteger, nullable=False, default=0)
            last_hash = sa.Column(sa.String(64), nullable=False)

        class InboxEvent(Model):
            __tablename__ = "event_inbox"
            event_id = sa.Column(sa.String(64), primary_key=True)
            source = sa.Column(sa.String(64), nullable=False)
            seq = sa.Column(sa.BigInteger, nullable=False)
            type = sa.Column(sa.String(120), nullable=False)
            body = sa.Column(sa.Text, nullable=False)
            via = sa.Column(sa.String(16), nullable=False)
            received_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)
            __table_args__ = (sa.Index("ix_event_inbox_source_seq", "source", "seq"),)

        class SourceCursor(Model):
            __tablename__ = "event_cursor"
            source = sa.Column(sa.String(64), primary_key=True)
            verified_seq = sa.Column(sa.BigInteger, nullable=False, default=0)
            checked_at = sa.Column(UtcDateTime)

        class ParkedEvent(Model):
            __tablename__ = "event_parked"
            event_id = sa.Column(sa.String(64), primary_key=True)
            source = sa.Column(sa.String(64), nullable=False)
            seq = sa.Column(sa.BigInteger, nullable=False)
            reason = sa.Column(sa.Text, nullable=False)
            parked_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)

        self.OutboxEvent, self.SourceHead, self.InboxEvent = OutboxEvent, SourceHead, InboxEvent
        self.SourceCursor, self.ParkedEvent = SourceCursor, ParkedEvent

    @property
    def session(self):
        return self.db.session
