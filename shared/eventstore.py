"""The event tables every service keeps in its own database, next to its domain tables.

outbox  the service's own event log: the truth the relay publishes and /events serves;
head    per source, its last sequence number and hash: for the service's own source, the
        head of its log (locked while an event is appended); for a source it consumes, how
        far it holds that source's chain, verified link by link;
inbox   every genuine event the service holds of another source, with its fate: applied,
        waiting for its predecessor, or parked (unique by id, and by source and sequence);
cursor  per source, how far the service has verified it has every event it consumes;
parked  every message parked on the dead-letter queue, genuine or not, keyed by a digest of
        its bytes, so parking the same message again makes no second copy.
"""
import sqlalchemy as sa

from .clock import utcnow
from .db import UtcDateTime

APPLIED, WAITING, PARKED = "applied", "waiting", "parked"  # an inbox event's fate


class EventStore:
    """One service's event tables (the models below, made on its own `db`), and the source
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
            status = sa.Column(sa.String(8), nullable=False, default=APPLIED,
                               server_default=APPLIED)
            received_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)
            __table_args__ = (sa.Index("ix_event_inbox_source_seq", "source", "seq",
                                       unique=True),
                              sa.Index("ix_event_inbox_status", "status"))

        class SourceCursor(Model):
            __tablename__ = "event_cursor"
            source = sa.Column(sa.String(64), primary_key=True)
            verified_seq = sa.Column(sa.BigInteger, nullable=False, default=0)
            checked_at = sa.Column(UtcDateTime)

        class ParkedEvent(Model):
            __tablename__ = "event_parked"
            digest = sa.Column(sa.String(64), primary_key=True)  # SHA-256 of the message
            event_id = sa.Column(sa.String(64))   # what the message claims, where it reads
            source = sa.Column(sa.String(64))
            seq = sa.Column(sa.BigInteger)
            type = sa.Column(sa.String(120))
            # unreadable, forged (not its source's), conflict (with its source's chain),
            # poison (its source's own, but it cannot be applied)
            problem = sa.Column(sa.String(16), nullable=False)
            reason = sa.Column(sa.Text, nullable=False)
            copied = sa.Column(sa.Boolean, nullable=False, default=False)  # on the queue
            recorded_at = sa.Column(UtcDateTime)  # the event's own time, where it read as one
            parked_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)

        self.OutboxEvent, self.SourceHead, self.InboxEvent = OutboxEvent, SourceHead, InboxEvent
        self.SourceCursor, self.ParkedEvent = SourceCursor, ParkedEvent

    @property
    def session(self):
        return self.db.session
