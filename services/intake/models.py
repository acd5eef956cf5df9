"""Intake's tables: needs and their status history (residents come with the intake issue)."""
import sqlalchemy as sa

from shared.db import make_db, new_id
from shared.eventstore import EventStore, utcnow

db = make_db()
events = EventStore(db, "/intake")


class Need(db.Model):
    __tablename__ = "need"
    id = sa.Column(sa.String(36), primary_key=True, default=new_id)
    community_id = sa.Column(sa.String(64), nullable=False, index=True)
    grid_id = sa.Column(sa.String(64))
    resident_ref = sa.Column(sa.String(64))
    category = sa.Column(sa.String(32), nullable=False)
    urgency = sa.Column(sa.String(16), nullable=False)
    safety_flag = sa.Column(sa.Boolean, nullable=False, default=False)
    channel = sa.Column(sa.String(32), nullable=False)
    description = sa.Column(sa.Text, nullable=False)
    status = sa.Column(sa.String(16), nullable=False, default="reported")
    case_id = sa.Column(sa.String(64))
    reported_by = sa.Column(sa.String(64), nullable=False)
    reported_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)


class NeedStatusChange(db.Model):
    """Every change of a need's status: who (a user, or the event that caused it) and when."""
    __tablename__ = "need_status_change"
    id = sa.Column(sa.Integer, primary_key=True)
    need_id = sa.Column(sa.String(36), sa.ForeignKey("need.id"), nullable=False, index=True)
    status = sa.Column(sa.String(16), nullable=False)
    changed_by = sa.Column(sa.String(120), nullable=False)
    changed_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
