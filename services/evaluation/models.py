"""Evaluation's tables: contracts (its own records); everything else it learns from events,
which its inbox keeps as the event log its projections are built from."""
import sqlalchemy as sa

from shared.db import make_db
from shared.eventstore import EventStore, utcnow

db = make_db()
events = EventStore(db, "/evaluation")


class Contract(db.Model):
    __tablename__ = "contract"
    id = sa.Column(sa.String(64), primary_key=True)
    buyer_id = sa.Column(sa.String(64), nullable=False, index=True)
    agency_id = sa.Column(sa.String(64), nullable=False)
    community_ids = sa.Column(sa.JSON, nullable=False)
    period_start = sa.Column(sa.Date, nullable=False)
    period_end = sa.Column(sa.Date, nullable=False)
    budget = sa.Column(sa.Numeric(14, 2), nullable=False)
    version = sa.Column(sa.Integer, nullable=False, default=1)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
