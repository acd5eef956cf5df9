"""Evaluation's tables: contracts (its own records); everything else it learns from events,
which its inbox keeps as the event log its projections are built from."""
import sqlalchemy as sa

from shared.db import UtcDateTime, make_db
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
    milestones = sa.Column(sa.JSON, nullable=False, default=list)
    targets = sa.Column(sa.JSON, nullable=False, default=dict)
    framework = sa.Column(sa.JSON, nullable=False, default=list)
    version = sa.Column(sa.Integer, nullable=False, default=1)
    created_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)


class ContractVersion(db.Model):
    """Every version of a contract's terms, kept whole: what the buyer agreed to, when."""
    __tablename__ = "contract_version"
    contract_id = sa.Column(sa.String(64), sa.ForeignKey("contract.id"), primary_key=True)
    version = sa.Column(sa.Integer, primary_key=True)
    terms = sa.Column(sa.JSON, nullable=False)
    reason = sa.Column(sa.String(500), nullable=False)
    changed_by = sa.Column(sa.String(120), nullable=False)
    changed_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)


class EventTally(db.Model):
    """Events received, by type and community: a counter, so an effect applied twice shows."""
    __tablename__ = "event_tally"
    type = sa.Column(sa.String(120), primary_key=True)
    community_id = sa.Column(sa.String(64), primary_key=True)
    count = sa.Column(sa.BigInteger, nullable=False, default=0)
