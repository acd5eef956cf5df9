"""Casework's tables: the communities its agencies serve, the intake queue, cases."""
import sqlalchemy as sa

from shared.db import UtcDateTime, make_db, new_id
from shared.eventstore import EventStore, utcnow

db = make_db()
events = EventStore(db, "/casework")


class ServedCommunity(db.Model):
    """Which agency serves which community, and when: learnt from contract events."""
    __tablename__ = "served_community"
    contract_id = sa.Column(sa.String(64), primary_key=True)
    community_id = sa.Column(sa.String(64), primary_key=True)
    contract_version = sa.Column(sa.Integer, nullable=False)
    agency_id = sa.Column(sa.String(64), nullable=False, index=True)
    period_start = sa.Column(sa.Date, nullable=False)
    period_end = sa.Column(sa.Date, nullable=False)


class QueuedNeed(db.Model):
    """A need reported at intake, waiting for (or taken up by) an agency."""
    __tablename__ = "queued_need"
    need_id = sa.Column(sa.String(64), primary_key=True)
    community_id = sa.Column(sa.String(64), nullable=False, index=True)
    grid_id = sa.Column(sa.String(64))
    resident_ref = sa.Column(sa.String(64))
    category = sa.Column(sa.String(32), nullable=False)
    urgency = sa.Column(sa.String(16), nullable=False)
    safety_flag = sa.Column(sa.Boolean, nullable=False)
    channel = sa.Column(sa.String(32), nullable=False)
    reported_at = sa.Column(UtcDateTime, nullable=False)
    status = sa.Column(sa.String(16), nullable=False, default="awaiting")


class Case(db.Model):
    __tablename__ = "case"
    id = sa.Column(sa.String(36), primary_key=True, default=new_id)
    agency_id = sa.Column(sa.String(64), nullable=False, index=True)
    community_id = sa.Column(sa.String(64), nullable=False)
    resident_ref = sa.Column(sa.String(64), nullable=False)
    need_id = sa.Column(sa.String(64), sa.ForeignKey("queued_need.need_id"))
    worker_id = sa.Column(sa.String(64), nullable=False)
    opened_on = sa.Column(sa.Date, nullable=False)
    status = sa.Column(sa.String(16), nullable=False, default="open")
    created_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)
