"""Casework's tables: who serves where (from contracts), residents known from intake's events
(pseudonymous), the agency's workers, cases, sessions, capacity building and the council.

Evidence is append-only in effect: each record keeps the id of the event that published it,
and a change after the fact is a Correction (with the reason, the values before and after)
published as record.corrected."""
import sqlalchemy as sa

from shared.db import UtcDateTime, make_db, new_id
from shared.clock import utcnow
from shared.eventstore import EventStore
from shared.residents import ResidentDemographics
from shared.web.users import web_user_model

db = make_db()
event_store = EventStore(db, "/casework")
WebUser = web_user_model(db)  # who logs in to the pages
Refs = sa.JSON  # lists of pseudonymous resident references


class ServedCommunity(db.Model):
    """Which agency serves which community for which buyer, and when: from contract events."""
    __tablename__ = "served_community"
    contract_id = sa.Column(sa.String(64), primary_key=True)
    community_id = sa.Column(sa.String(64), primary_key=True)
    contract_version = sa.Column(sa.Integer, nullable=False)
    agency_id = sa.Column(sa.String(64), nullable=False, index=True)
    buyer_id = sa.Column(sa.String(64), nullable=False, index=True)
    period_start = sa.Column(sa.Date, nullable=False)
    period_end = sa.Column(sa.Date, nullable=False)


class KnownResident(ResidentDemographics, db.Model):
    """A resident registered at intake, as its events describe them: no personal data."""
    __tablename__ = "known_resident"


class Worker(db.Model):
    """An agency's social workers and admins; `id` is the token's `sub`."""
    __tablename__ = "worker"
    id = sa.Column(sa.String(120), primary_key=True)
    agency_id = sa.Column(sa.String(64), nullable=False, index=True)
    name = sa.Column(sa.String(100), nullable=False)
    role = sa.Column(sa.String(16), nullable=False)
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    created_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)


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
    worker_id = sa.Column(sa.String(120), nullable=False)
    opened_on = sa.Column(sa.Date, nullable=False)
    status = sa.Column(sa.String(16), nullable=False, default="open")
    outcome = sa.Column(sa.String(16))
    closed_on = sa.Column(sa.Date)
    event_id = sa.Column(sa.String(64))
    created_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)


class CaseGoal(db.Model):
    """A goal on the goal-attainment scale: baseline and attainment from -2 to +2."""
    __tablename__ = "case_goal"
    id = sa.Column(sa.String(36), primary_key=True, default=new_id)
    case_id = sa.Column(sa.String(36), sa.ForeignKey("case.id"), nullable=False, index=True)
    domain = sa.Column(sa.String(100), nullable=False)
    description = sa.Column(sa.Text, nullable=False)
    baseline = sa.Column(sa.Integer, nullable=False)
    attainment = sa.Column(sa.Integer)
    set_on = sa.Column(sa.Date, nullable=False)
    event_id = sa.Column(sa.String(64))


class CaseNote(db.Model):
    """Assessments, notes and referrals: written once, never edited."""
    __tablename__ = "case_note"
    id = sa.Column(sa.Integer, primary_key=True)
    case_id = sa.Column(sa.String(36), sa.ForeignKey("case.id"), nullable=False, index=True)
    kind = sa.Column(sa.String(16), nullable=False)
    text = sa.Column(sa.Text, nullable=False)
    referred_to = sa.Column(sa.String(200))
    author = sa.Column(sa.String(120), nullable=False)
    written_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)


class TimedRecord:
    """Sessions, activities and meetings: a day, a start and an end; hours derive from them."""
    date = sa.Column(sa.Date, nullable=False, index=True)
    start = sa.Column(sa.Time, nullable=False)
    end = sa.Column(sa.Time, nullable=False)
    hours = sa.Column(sa.Float, nullable=False)
    location = sa.Column(sa.String(200), nullable=False)
    mode = sa.Column(sa.String(16), nullable=False)
    attendee_refs = sa.Column(Refs, nullable=False)
    recorded_by = sa.Column(sa.String(120), nullable=False)
    recorded_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)
    event_id = sa.Column(sa.String(64))


class Session(TimedRecord, db.Model):
    """A service session: casework, group work or community work."""
    __tablename__ = "session"
    id = sa.Column(sa.String(36), primary_key=True, default=new_id)
    agency_id = sa.Column(sa.String(64), nullable=False, index=True)
    community_id = sa.Column(sa.String(64), nullable=False, index=True)
    method = sa.Column(sa.String(16), nullable=False)
    topic = sa.Column(sa.String(200), nullable=False)
    case_id = sa.Column(sa.String(36), sa.ForeignKey("case.id"))
    worker_ids = sa.Column(sa.JSON, nullable=False)
    led_by = sa.Column(sa.String(16), nullable=False)
    leader_refs = sa.Column(Refs, nullable=False)


class CapacityActivity(TimedRecord, db.Model):
    """Training, volunteer service, leader cultivation, organisation incubation."""
    __tablename__ = "capacity_activity"
    id = sa.Column(sa.String(36), primary_key=True, default=new_id)
    agency_id = sa.Column(sa.String(64), nullable=False, index=True)
    community_id = sa.Column(sa.String(64), nullable=False, index=True)
    kind = sa.Column(sa.String(24), nullable=False)
    topic = sa.Column(sa.String(200), nullable=False)
    worker_ids = sa.Column(sa.JSON, nullable=False)
    led_by = sa.Column(sa.String(16), nullable=False)
    organization_id = sa.Column(sa.String(36), sa.ForeignKey("organization.id"))
    leader_refs = sa.Column(Refs, nullable=False)


class WorkerBooking(db.Model):
    """A worker's time in a session or activity, so nobody is in two places at once."""
    __tablename__ = "worker_booking"
    id = sa.Column(sa.Integer, primary_key=True)
    worker_id = sa.Column(sa.String(120), nullable=False)
    date = sa.Column(sa.Date, nullable=False)
    start = sa.Column(sa.Time, nullable=False)
    end = sa.Column(sa.Time, nullable=False)
    record_type = sa.Column(sa.String(24), nullable=False)
    record_id = sa.Column(sa.String(36), nullable=False)
    __table_args__ = (sa.Index("ix_worker_booking_worker_date", "worker_id", "date"),)


class Volunteer(db.Model):
    __tablename__ = "volunteer"
    id = sa.Column(sa.String(36), primary_key=True, default=new_id)
    resident_ref = sa.Column(sa.String(64), nullable=False)
    agency_id = sa.Column(sa.String(64), nullable=False, index=True)
    community_id = sa.Column(sa.String(64), nullable=False)
    skills = sa.Column(sa.JSON, nullable=False)
    registered_on = sa.Column(sa.Date, nullable=False)
    event_id = sa.Column(sa.String(64))
    __table_args__ = (sa.UniqueConstraint("resident_ref", "community_id"),)


class Organization(db.Model):
    """A resident self-organisation the agency incubates (自组织)."""
    __tablename__ = "organization"
    id = sa.Column(sa.String(36), primary_key=True, default=new_id)
    agency_id = sa.Column(sa.String(64), nullable=False, index=True)
    community_id = sa.Column(sa.String(64), nullable=False)
    name = sa.Column(sa.String(200), nullable=False)
    kind = sa.Column(sa.String(100), nullable=False)
    status = sa.Column(sa.String(16), nullable=False)
    formed_on = sa.Column(sa.Date, nullable=False)
    leader_refs = sa.Column(Refs, nullable=False)
    member_refs = sa.Column(Refs, nullable=False)
    event_id = sa.Column(sa.String(64))


class CouncilTopic(db.Model):
    """A topic put to the residents' consultative council (协商议事会)."""
    __tablename__ = "council_topic"
    id = sa.Column(sa.String(36), primary_key=True, default=new_id)
    agency_id = sa.Column(sa.String(64), nullable=False, index=True)
    community_id = sa.Column(sa.String(64), nullable=False)
    title = sa.Column(sa.String(200), nullable=False)
    description = sa.Column(sa.Text, nullable=False)
    proposer_kind = sa.Column(sa.String(24), nullable=False)
    proposer_ref = sa.Column(sa.String(64))
    need_ids = sa.Column(sa.JSON, nullable=False)
    channel = sa.Column(sa.String(16), nullable=False)
    proposed_on = sa.Column(sa.Date, nullable=False)
    status = sa.Column(sa.String(16), nullable=False, default="proposed")
    event_id = sa.Column(sa.String(64))
    # residents' supports, and the day they reached the council's threshold: from then on
    # the topic is due for the agenda (council.support)
    supports = sa.Column(sa.Integer, nullable=False, default=0, server_default="0")
    qualified_on = sa.Column(sa.Date)


class CouncilTopicSupport(db.Model):
    """A resident's support for another resident's topic: once per resident and topic."""
    __tablename__ = "council_topic_support"
    topic_id = sa.Column(sa.String(36), sa.ForeignKey("council_topic.id"), primary_key=True)
    resident_ref = sa.Column(sa.String(64), primary_key=True)
    on = sa.Column(sa.Date, nullable=False)
    event_id = sa.Column(sa.String(64))

    @property
    def id(self) -> str:
        """What the event is about: the topic supported."""
        return self.topic_id


class CouncilMeeting(TimedRecord, db.Model):
    __tablename__ = "council_meeting"
    id = sa.Column(sa.String(36), primary_key=True, default=new_id)
    agency_id = sa.Column(sa.String(64), nullable=False, index=True)
    community_id = sa.Column(sa.String(64), nullable=False)
    topic_ids = sa.Column(sa.JSON, nullable=False)
    facilitated_by = sa.Column(sa.String(16), nullable=False)
    minutes = sa.Column(sa.Text, nullable=False)


class CouncilDecision(db.Model):
    __tablename__ = "council_decision"
    id = sa.Column(sa.String(36), primary_key=True, default=new_id)
    agency_id = sa.Column(sa.String(64), nullable=False, index=True)
    community_id = sa.Column(sa.String(64), nullable=False)
    topic_id = sa.Column(sa.String(36), sa.ForeignKey("council_topic.id"), nullable=False)
    meeting_id = sa.Column(sa.String(36), sa.ForeignKey("council_meeting.id"), nullable=False)
    votes_for = sa.Column(sa.Integer, nullable=False)
    votes_against = sa.Column(sa.Integer, nullable=False)
    abstentions = sa.Column(sa.Integer, nullable=False)
    voter_refs = sa.Column(Refs, nullable=False)
    outcome = sa.Column(sa.String(16), nullable=False)
    decision_mode = sa.Column(sa.String(16), nullable=False)
    decided_on = sa.Column(sa.Date, nullable=False)
    summary = sa.Column(sa.Text, nullable=False)
    event_id = sa.Column(sa.String(64))
    __table_args__ = (sa.UniqueConstraint("topic_id", "meeting_id"),)


class DecisionProgress(db.Model):
    """Follow-through of an adopted decision: progress, done or stalled, with dates."""
    __tablename__ = "decision_progress"
    id = sa.Column(sa.Integer, primary_key=True)
    decision_id = sa.Column(sa.String(36), sa.ForeignKey("council_decision.id"),
                            nullable=False, index=True)
    status = sa.Column(sa.String(16), nullable=False)
    progress = sa.Column(sa.Integer, nullable=False)
    on = sa.Column(sa.Date, nullable=False)
    note = sa.Column(sa.Text)
    recorded_by = sa.Column(sa.String(120), nullable=False)
    event_id = sa.Column(sa.String(64))


class Correction(db.Model):
    """A change to evidence after the fact: what, why, by whom, the values before and after."""
    __tablename__ = "correction"
    id = sa.Column(sa.Integer, primary_key=True)
    record_type = sa.Column(sa.String(24), nullable=False)
    record_id = sa.Column(sa.String(36), nullable=False, index=True)
    agency_id = sa.Column(sa.String(64), nullable=False)
    reason = sa.Column(sa.String(500), nullable=False)
    before = sa.Column(sa.JSON, nullable=False)
    after = sa.Column(sa.JSON, nullable=False)
    corrected_by = sa.Column(sa.String(120), nullable=False)
    corrected_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)
    event_id = sa.Column(sa.String(64))


class Fund(db.Model):
    """A community's micro-fund for a year (民生微实事): its amount, who may propose, the
    supports a project needs to reach review, the voting rule and the dates of its phases."""
    __tablename__ = "fund"
    id = sa.Column(sa.String(36), primary_key=True, default=new_id)
    agency_id = sa.Column(sa.String(64), nullable=False, index=True)
    community_id = sa.Column(sa.String(64), nullable=False)
    year = sa.Column(sa.Integer, nullable=False)
    amount = sa.Column(sa.Numeric(12, 2), nullable=False)
    proposers = sa.Column(sa.JSON, nullable=False)
    min_supports = sa.Column(sa.Integer, nullable=False)
    voting_rule = sa.Column(sa.String(16), nullable=False)
    notice_days = sa.Column(sa.Integer, nullable=False)
    proposing_on = sa.Column(sa.Date, nullable=False)
    review_on = sa.Column(sa.Date, nullable=False)
    notice_on = sa.Column(sa.Date, nullable=False)
    voting_on = sa.Column(sa.Date, nullable=False)
    results_on = sa.Column(sa.Date, nullable=False)
    delivery_on = sa.Column(sa.Date, nullable=False)
    phase = sa.Column(sa.String(16), nullable=False)
    phase_on = sa.Column(sa.Date, nullable=False)
    meeting_id = sa.Column(sa.String(36), sa.ForeignKey("council_meeting.id"))
    set_by = sa.Column(sa.String(120), nullable=False)
    event_id = sa.Column(sa.String(64))
    __table_args__ = (sa.UniqueConstraint("community_id", "year"),)


class FundProject(db.Model):
    """A project proposed for a fund, its supports, its review and, once funded, the council
    decision it became."""
    __tablename__ = "fund_project"
    id = sa.Column(sa.String(36), primary_key=True, default=new_id)
    fund_id = sa.Column(sa.String(36), sa.ForeignKey("fund.id"), nullable=False, index=True)
    number = sa.Column(sa.Integer, nullable=False)
    title = sa.Column(sa.String(200), nullable=False)
    description = sa.Column(sa.Text, nullable=False)
    category = sa.Column(sa.String(16), nullable=False)
    location = sa.Column(sa.String(200), nullable=False)
    estimated_cost = sa.Column(sa.Numeric(12, 2), nullable=False)
    beneficiaries = sa.Column(sa.Integer, nullable=False)
    proposer_kind = sa.Column(sa.String(24), nullable=False)
    proposer_ref = sa.Column(sa.String(64))
    organization_id = sa.Column(sa.String(36), sa.ForeignKey("organization.id"))
    proposed_on = sa.Column(sa.Date, nullable=False)
    status = sa.Column(sa.String(16), nullable=False, default="proposed")
    supports = sa.Column(sa.Integer, nullable=False, default=0)
    price = sa.Column(sa.Numeric(12, 2))
    price_explanation = sa.Column(sa.Text)
    decline_reason = sa.Column(sa.Text)
    reviewed_on = sa.Column(sa.Date)
    votes = sa.Column(sa.Integer)
    decision_id = sa.Column(sa.String(36), sa.ForeignKey("council_decision.id"))
    actual_cost = sa.Column(sa.Numeric(12, 2))
    leader_refs = sa.Column(Refs)
    event_id = sa.Column(sa.String(64))
    __table_args__ = (sa.UniqueConstraint("fund_id", "number"),)


class FundSupport(db.Model):
    """A resident's support for a project: once per resident and project."""
    __tablename__ = "fund_support"
    project_id = sa.Column(sa.String(36), sa.ForeignKey("fund_project.id"), primary_key=True)
    resident_ref = sa.Column(sa.String(64), primary_key=True)
    on = sa.Column(sa.Date, nullable=False)
    event_id = sa.Column(sa.String(64))

    @property
    def id(self) -> str:
        """What the event is about: the project supported."""
        return self.project_id


class FundObjection(db.Model):
    """An objection raised while the project list is on public notice (公示)."""
    __tablename__ = "fund_objection"
    id = sa.Column(sa.String(36), primary_key=True, default=new_id)
    fund_id = sa.Column(sa.String(36), sa.ForeignKey("fund.id"), nullable=False, index=True)
    project_id = sa.Column(sa.String(36), sa.ForeignKey("fund_project.id"))
    text = sa.Column(sa.Text, nullable=False)
    on = sa.Column(sa.Date, nullable=False)
    response = sa.Column(sa.Text)
    recorded_by = sa.Column(sa.String(120), nullable=False)
    event_id = sa.Column(sa.String(64))


class FundBallot(db.Model):
    """A resident's one ballot for a fund, online or on paper at a council meeting: the first
    recorded is the resident's ballot, a second is refused."""
    __tablename__ = "fund_ballot"
    id = sa.Column(sa.String(36), primary_key=True, default=new_id)
    fund_id = sa.Column(sa.String(36), sa.ForeignKey("fund.id"), nullable=False)
    resident_ref = sa.Column(sa.String(64), nullable=False)
    channel = sa.Column(sa.String(16), nullable=False)
    project_ids = sa.Column(sa.JSON, nullable=False)
    cast_on = sa.Column(sa.Date, nullable=False)
    meeting_id = sa.Column(sa.String(36), sa.ForeignKey("council_meeting.id"))
    recorded_by = sa.Column(sa.String(120), nullable=False)
    event_id = sa.Column(sa.String(64))
    __table_args__ = (sa.UniqueConstraint("fund_id", "resident_ref"),)
class EvidenceFile(db.Model):
    """A file on a record (a photo, a signed sheet, minutes, a charter): its bytes, cleaned,
    are in the file store under `digest`; nothing here names a person. Never deleted: a file
    shown by mistake is hidden, with the reason (published as evidence.hidden)."""
    __tablename__ = "evidence_file"
    id = sa.Column(sa.Integer, primary_key=True)
    record_type = sa.Column(sa.String(24), nullable=False)
    record_id = sa.Column(sa.String(36), nullable=False)
    agency_id = sa.Column(sa.String(64), nullable=False)
    digest = sa.Column(sa.String(64), nullable=False, index=True)
    media_type = sa.Column(sa.String(32), nullable=False)
    size = sa.Column(sa.Integer, nullable=False)
    captured_at = sa.Column(sa.DateTime)  # the photo's own capture time (EXIF), if it says
    thumbnail_digest = sa.Column(sa.String(64))
    uploaded_by = sa.Column(sa.String(120), nullable=False)
    uploaded_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)
    hidden_reason = sa.Column(sa.String(500))
    hidden_by = sa.Column(sa.String(120))
    hidden_at = sa.Column(UtcDateTime)
    event_id = sa.Column(sa.String(64))
    __table_args__ = (sa.Index("ix_evidence_file_record", "record_type", "record_id"),
                      sa.UniqueConstraint("record_type", "record_id", "digest"))
