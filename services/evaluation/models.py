"""Evaluation's tables: contracts (its own records); everything else it learns from events,
which its inbox keeps as the event log its projections are built from."""
import sqlalchemy as sa

from shared.db import UtcDateTime, make_db
from shared.clock import utcnow
from shared.eventstore import EventStore
from shared.residents import ResidentDemographics
from shared.web.users import web_user_model

db = make_db()
event_store = EventStore(db, "/evaluation")
WebUser = web_user_model(db, contracts=True)  # who logs in to the pages (evaluators too)


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
    # casework record types each of which must carry at least one evidence file
    evidence_required = sa.Column(sa.JSON, nullable=False, default=list)
    version = sa.Column(sa.Integer, nullable=False, default=1)
    late_entry_days = sa.Column(sa.Integer, nullable=False, default=15, server_default="15")
    created_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)


class Jurisdiction(db.Model):
    """The communities a buyer governs, as intake's jurisdiction.updated last said (reference
    data ops keep at intake): where the buyer may award and amend contracts."""
    __tablename__ = "jurisdiction"
    buyer_id = sa.Column(sa.String(64), primary_key=True)
    community_ids = sa.Column(sa.JSON, nullable=False)
    seq = sa.Column(sa.BigInteger, nullable=False)  # intake's sequence of that event


class ContractableAgency(db.Model):
    """An agency as intake's agency.updated last said: only an active one is contracted."""
    __tablename__ = "contractable_agency"
    agency_id = sa.Column(sa.String(64), primary_key=True)
    active = sa.Column(sa.Boolean, nullable=False)
    seq = sa.Column(sa.BigInteger, nullable=False)


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


# -- projections: built only from consumed events, rebuilt from the event log -------------

class ResidentFact(ResidentDemographics, db.Model):
    """A registered resident as intake's events describe them (coarse demographics only),
    and since when the community has them."""
    __tablename__ = "resident_fact"
    registered_on = sa.Column(sa.Date)
    recorded_at = sa.Column(UtcDateTime)  # when the registration was recorded (else: first seen)


class Act(db.Model):
    """One thing a resident did, on a day, with the rung of the participation ladder it
    shows: 1 served, 2 participant, 3 contributor, 4 co-decider, 5 leader."""
    __tablename__ = "act"
    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    event_id = sa.Column(sa.String(64), nullable=False, index=True)
    resident_ref = sa.Column(sa.String(64), nullable=False)
    community_id = sa.Column(sa.String(64), nullable=False, index=True)
    on = sa.Column(sa.Date, nullable=False, index=True)
    kind = sa.Column(sa.String(24), nullable=False)
    rung = sa.Column(sa.Integer, nullable=False)
    starts = sa.Column(sa.Time)  # the session's or meeting's hours, to see overlapping sign-ins
    ends = sa.Column(sa.Time)
    # known from recorded_at (the time of the event, or of the correction, that made it) until
    # retracted_at (the time of the correction that replaced it); version 0 is the original
    version = sa.Column(sa.Integer, nullable=False, default=0)
    recorded_at = sa.Column(UtcDateTime, nullable=False)
    retracted_at = sa.Column(UtcDateTime)
    __table_args__ = (sa.UniqueConstraint("event_id", "resident_ref", "kind", "version"),
                      sa.Index("ix_act_community_on", "community_id", "on"),
                      # a resident's acts in a window after a day (a case closed, a training)
                      sa.Index("ix_act_resident_on", "resident_ref", "on"))


class Initiative(db.Model):
    """A topic, session or activity, whether residents initiated or led it, and for sessions
    and activities their hours, workers and resident helpers (volunteer hours)."""
    __tablename__ = "initiative"
    record_id = sa.Column(sa.String(64), primary_key=True)
    version = sa.Column(sa.Integer, primary_key=True, default=0)  # n: after the nth correction
    kind = sa.Column(sa.String(16), nullable=False)
    detail = sa.Column(sa.String(24))
    community_id = sa.Column(sa.String(64), nullable=False, index=True)
    on = sa.Column(sa.Date, nullable=False, index=True)
    resident_led = sa.Column(sa.Boolean, nullable=False)
    organization_id = sa.Column(sa.String(64), index=True)
    channel = sa.Column(sa.String(16))
    hours = sa.Column(sa.Float, nullable=False, default=0)
    workers = sa.Column(sa.Integer, nullable=False, default=0)
    helpers = sa.Column(sa.Integer, nullable=False, default=0)
    starts = sa.Column(sa.Time)
    ends = sa.Column(sa.Time)
    worker_ids = sa.Column(sa.JSON)
    attendees = sa.Column(sa.Integer, nullable=False, default=0)
    recorded_at = sa.Column(UtcDateTime, nullable=False)
    retracted_at = sa.Column(UtcDateTime)
    # every measure selects a scope: some communities over a range of days
    __table_args__ = (sa.Index("ix_initiative_community_on", "community_id", "on"),)


class RecordEvent(db.Model):
    """Which record each event is about, its day and the day it was recorded: the index
    from a figure's records to their events, and the timing the anomaly checks read."""
    __tablename__ = "record_event"
    event_id = sa.Column(sa.String(64), primary_key=True)
    type = sa.Column(sa.String(64), nullable=False)
    record_kind = sa.Column(sa.String(16), nullable=False)
    record_id = sa.Column(sa.String(64), nullable=False, index=True)
    community_id = sa.Column(sa.String(64), nullable=False, index=True)
    on = sa.Column(sa.Date, nullable=False)
    recorded_on = sa.Column(sa.Date, nullable=False, index=True)  # the community's day
    recorded_at = sa.Column(UtcDateTime, index=True)  # the event's time


class TopicNeed(db.Model):
    """A need a council topic takes up."""
    __tablename__ = "topic_need"
    topic_id = sa.Column(sa.String(64), primary_key=True)
    need_id = sa.Column(sa.String(64), primary_key=True, index=True)
    recorded_at = sa.Column(UtcDateTime, nullable=False)


class NeedFact(db.Model):
    """A need reported at intake (cases and topics name the needs they take up)."""
    __tablename__ = "need_fact"
    need_id = sa.Column(sa.String(64), primary_key=True)
    community_id = sa.Column(sa.String(64), nullable=False, index=True)
    channel = sa.Column(sa.String(16), nullable=False)
    reported_on = sa.Column(sa.Date, nullable=False, index=True)  # the community's day
    recorded_at = sa.Column(UtcDateTime, nullable=False)
    __table_args__ = (sa.Index("ix_need_fact_community_reported", "community_id",
                               "reported_on"),)


class CaseFact(db.Model):
    __tablename__ = "case_fact"
    case_id = sa.Column(sa.String(64), primary_key=True)
    community_id = sa.Column(sa.String(64), nullable=False, index=True)
    resident_ref = sa.Column(sa.String(64), nullable=False)
    need_id = sa.Column(sa.String(64), index=True)  # traceability: a need's cases
    opened_on = sa.Column(sa.Date)
    closed_on = sa.Column(sa.Date)
    outcome = sa.Column(sa.String(16))
    opened_recorded_at = sa.Column(UtcDateTime)
    closed_recorded_at = sa.Column(UtcDateTime)


class OrganizationFact(db.Model):
    __tablename__ = "organization_fact"
    organization_id = sa.Column(sa.String(64), primary_key=True)
    community_id = sa.Column(sa.String(64), nullable=False, index=True)
    formed_on = sa.Column(sa.Date, nullable=False)
    status = sa.Column(sa.String(16), nullable=False)
    recorded_at = sa.Column(UtcDateTime, nullable=False)  # of the first event about it
    member_refs = sa.Column(sa.JSON)  # everyone listed so far: only newcomers join
    leader_refs = sa.Column(sa.JSON)


class VolunteerFact(db.Model):
    __tablename__ = "volunteer_fact"
    resident_ref = sa.Column(sa.String(64), primary_key=True)
    community_id = sa.Column(sa.String(64), primary_key=True)
    registered_on = sa.Column(sa.Date, nullable=False)
    recorded_at = sa.Column(UtcDateTime, nullable=False)


class TopicFact(db.Model):
    """A council topic as proposed; its decisions and their progress are rows of their own,
    each with when it was recorded, so the topic's cycle can be read as of any time."""
    __tablename__ = "topic_fact"
    topic_id = sa.Column(sa.String(64), primary_key=True)
    community_id = sa.Column(sa.String(64), nullable=False, index=True)
    proposer_kind = sa.Column(sa.String(24))
    proposer_ref = sa.Column(sa.String(64))
    proposed_on = sa.Column(sa.Date)
    recorded_at = sa.Column(UtcDateTime)


class DecisionFact(db.Model):
    """A council decision on a topic (version n: as the nth correction left it)."""
    __tablename__ = "decision_fact"
    decision_id = sa.Column(sa.String(64), primary_key=True)
    version = sa.Column(sa.Integer, primary_key=True, default=0)
    topic_id = sa.Column(sa.String(64), nullable=False, index=True)
    community_id = sa.Column(sa.String(64), nullable=False, index=True)
    outcome = sa.Column(sa.String(16), nullable=False)
    decision_mode = sa.Column(sa.String(16), nullable=False)
    decided_on = sa.Column(sa.Date, nullable=False)
    recorded_at = sa.Column(UtcDateTime, nullable=False)
    retracted_at = sa.Column(UtcDateTime)


class ProgressFact(db.Model):
    """A report of a decision's progress, one per council.decision_progressed event."""
    __tablename__ = "progress_fact"
    event_id = sa.Column(sa.String(64), primary_key=True)
    decision_id = sa.Column(sa.String(64), nullable=False, index=True)
    community_id = sa.Column(sa.String(64), nullable=False, index=True)
    status = sa.Column(sa.String(16), nullable=False)
    progress = sa.Column(sa.Integer, nullable=False)
    on = sa.Column(sa.Date, nullable=False)
    recorded_at = sa.Column(UtcDateTime, nullable=False)


class ClosedScorecard(db.Model):
    """The scorecard as it stood when a milestone was closed: what the buyer paid on, kept
    whole, so it can be shown again exactly and later changes are seen as post-close."""
    __tablename__ = "closed_scorecard"
    contract_id = sa.Column(sa.String(64), sa.ForeignKey("contract.id"), primary_key=True)
    milestone_id = sa.Column(sa.String(64), primary_key=True)
    contract_version = sa.Column(sa.Integer, nullable=False)
    period_from = sa.Column(sa.Date, nullable=False)
    period_to = sa.Column(sa.Date, nullable=False)
    as_of = sa.Column(UtcDateTime)  # what had been recorded by then: due + late-entry days
    card = sa.Column(sa.JSON, nullable=False)
    # per consumed source, the head (sequence, hash) of the log the card was computed from
    log_heads = sa.Column(sa.JSON)
    closed_by = sa.Column(sa.String(120), nullable=False)
    closed_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)


class VerificationSample(db.Model):
    """A random draw of sessions or residents to verify by follow-up visit or call (回访);
    the seed is kept, so the draw can be repeated and checked."""
    __tablename__ = "verification_sample"
    id = sa.Column(sa.String(64), primary_key=True)
    contract_id = sa.Column(sa.String(64), sa.ForeignKey("contract.id"), nullable=False,
                            index=True)
    kind = sa.Column(sa.String(16), nullable=False)
    period_from = sa.Column(sa.Date, nullable=False)
    period_to = sa.Column(sa.Date, nullable=False)
    as_of = sa.Column(UtcDateTime)  # the population as recorded by then (older draws: none)
    population = sa.Column(sa.Integer, nullable=False)
    seed = sa.Column(sa.BigInteger, nullable=False)
    drawn_by = sa.Column(sa.String(120), nullable=False)
    drawn_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)
    items = db.relationship("VerificationItem", order_by="VerificationItem.position",
                            lazy="selectin")


class VerificationItem(db.Model):
    __tablename__ = "verification_item"
    sample_id = sa.Column(sa.String(64), sa.ForeignKey("verification_sample.id"),
                          primary_key=True)
    position = sa.Column(sa.Integer, primary_key=True)
    record_id = sa.Column(sa.String(64), nullable=False)
    on = sa.Column(sa.Date, nullable=False)
    result = sa.Column(sa.String(16))
    method = sa.Column(sa.String(8))
    note = sa.Column(sa.String(500))
    verified_by = sa.Column(sa.String(120))
    verified_at = sa.Column(UtcDateTime)


# -- surveys: instruments, waves, samples and responses (docs/SURVEYS.md) -----------------

class SurveyInstrument(db.Model):
    """An instrument as a versioned record: a (key, version) never changes once stored."""
    __tablename__ = "survey_instrument"
    key = sa.Column(sa.String(64), primary_key=True)
    version = sa.Column(sa.Integer, primary_key=True)
    definition = sa.Column(sa.JSON, nullable=False)
    created_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)


class SurveyWave(db.Model):
    """A baseline or follow-up wave of a contract, the instruments it asks, and its draw."""
    __tablename__ = "survey_wave"
    id = sa.Column(sa.String(64), primary_key=True)
    contract_id = sa.Column(sa.String(64), sa.ForeignKey("contract.id"), nullable=False,
                            index=True)
    kind = sa.Column(sa.String(16), nullable=False)
    instruments = sa.Column(sa.JSON, nullable=False)
    opens_on = sa.Column(sa.Date, nullable=False)
    closes_on = sa.Column(sa.Date, nullable=False)
    status = sa.Column(sa.String(8), nullable=False, default="open")
    created_by = sa.Column(sa.String(120), nullable=False)
    seed = sa.Column(sa.BigInteger)
    sample_design = sa.Column(sa.JSON)
    drawn_by = sa.Column(sa.String(120))
    drawn_at = sa.Column(UtcDateTime)
    closed_by = sa.Column(sa.String(120))
    closed_at = sa.Column(UtcDateTime)


class SurveySample(db.Model):
    """A resident drawn into a wave's sample, with the stratum it was drawn from."""
    __tablename__ = "survey_sample"
    wave_id = sa.Column(sa.String(64), sa.ForeignKey("survey_wave.id"), primary_key=True)
    resident_ref = sa.Column(sa.String(64), primary_key=True)
    stratum = sa.Column(sa.String(200), nullable=False)


class SurveyCompletion(db.Model):
    """Who has answered which instrument of a wave: one response each, also for anonymous
    instruments, whose responses themselves carry no reference."""
    __tablename__ = "survey_completion"
    wave_id = sa.Column(sa.String(64), sa.ForeignKey("survey_wave.id"), primary_key=True)
    instrument_key = sa.Column(sa.String(64), primary_key=True)
    resident_ref = sa.Column(sa.String(64), primary_key=True)


class SurveyResponse(db.Model):
    """One response with its scores; resident_ref is empty for anonymous instruments, and no
    time finer than the day is kept, so a response cannot be matched to its completion."""
    __tablename__ = "survey_response"
    id = sa.Column(sa.String(36), primary_key=True)
    wave_id = sa.Column(sa.String(64), sa.ForeignKey("survey_wave.id"), nullable=False,
                        index=True)
    instrument_key = sa.Column(sa.String(64), nullable=False)
    instrument_version = sa.Column(sa.Integer, nullable=False)
    resident_ref = sa.Column(sa.String(64), index=True)
    answered_on = sa.Column(sa.Date, nullable=False)
    answers = sa.Column(sa.JSON, nullable=False)
    scores = sa.Column(sa.JSON, nullable=False)


class FundFact(db.Model):
    """A community's micro-fund: its amount and rule, the furthest phase it reached and the
    day it entered results."""
    __tablename__ = "fund_fact"
    fund_id = sa.Column(sa.String(64), primary_key=True)
    community_id = sa.Column(sa.String(64), nullable=False, index=True)
    year = sa.Column(sa.Integer)
    amount = sa.Column(sa.Numeric(12, 2))
    voting_rule = sa.Column(sa.String(16))
    phase = sa.Column(sa.String(16))
    results_on = sa.Column(sa.Date)


class FundProjectFact(db.Model):
    """A project of a fund: who proposed it, its review, the decision it became, its cost."""
    __tablename__ = "fund_project_fact"
    project_id = sa.Column(sa.String(64), primary_key=True)
    fund_id = sa.Column(sa.String(64), nullable=False, index=True)
    community_id = sa.Column(sa.String(64), nullable=False)
    number = sa.Column(sa.Integer)
    proposer_kind = sa.Column(sa.String(24))
    proposer_ref = sa.Column(sa.String(64))
    estimated_cost = sa.Column(sa.Numeric(12, 2))
    status = sa.Column(sa.String(16))
    price = sa.Column(sa.Numeric(12, 2))
    decision_id = sa.Column(sa.String(64))
    actual_cost = sa.Column(sa.Numeric(12, 2))
    delivered_on = sa.Column(sa.Date)


class FundBallotFact(db.Model):
    """A ballot as published, with casework's sequence: a resident's first one counts."""
    __tablename__ = "fund_ballot_fact"
    ballot_id = sa.Column(sa.String(64), primary_key=True)
    fund_id = sa.Column(sa.String(64), nullable=False, index=True)
    resident_ref = sa.Column(sa.String(64), nullable=False)
    channel = sa.Column(sa.String(16), nullable=False)
    project_ids = sa.Column(sa.JSON, nullable=False)
    cast_on = sa.Column(sa.Date, nullable=False)
    seq = sa.Column(sa.BigInteger, nullable=False)
class EvidenceFileFact(db.Model):
    """A file on a casework record, as evidence.attached describes it: its digest, type,
    size and capture time (the bytes stay at casework). `record_kind` and `record_id` are
    the drill-down's (a decision's progress photos are the decision's)."""
    __tablename__ = "evidence_file_fact"
    event_id = sa.Column(sa.String(64), primary_key=True)
    record_type = sa.Column(sa.String(24), nullable=False)  # casework's record type
    casework_id = sa.Column(sa.String(64), nullable=False)  # casework's record id
    record_kind = sa.Column(sa.String(16), nullable=False)
    record_id = sa.Column(sa.String(64), nullable=False, index=True)
    community_id = sa.Column(sa.String(64), nullable=False, index=True)
    record_on = sa.Column(sa.Date, nullable=False, index=True)
    digest = sa.Column(sa.String(64), nullable=False, index=True)
    media_type = sa.Column(sa.String(32), nullable=False)
    size = sa.Column(sa.Integer, nullable=False)
    captured_at = sa.Column(sa.DateTime)
    hidden = sa.Column(sa.Boolean, nullable=False, default=False)


# -- the expert review of each milestone: state rebuilt from evaluation's own review events

class EvaluationSheet(db.Model):
    """A version of a contract's scoring sheet (items, maximum points, weights, who scores,
    the evidence each needs) and its grade bands, as review.sheet_defined published it."""
    __tablename__ = "evaluation_sheet"
    contract_id = sa.Column(sa.String(64), primary_key=True)
    version = sa.Column(sa.Integer, primary_key=True)
    items = sa.Column(sa.JSON, nullable=False)
    bands = sa.Column(sa.JSON, nullable=False)
    defined_by = sa.Column(sa.String(120), nullable=False)
    defined_at = sa.Column(UtcDateTime, nullable=False)


class ReviewItem(db.Model):
    """One sheet item of one milestone: the agency's self-assessment, the evaluator's score
    with the records and files it rests on, and the agency's answer (申辩). Texts are kept
    in review_note; rows name them by digest."""
    __tablename__ = "review_item"
    contract_id = sa.Column(sa.String(64), primary_key=True)
    milestone_id = sa.Column(sa.String(64), primary_key=True)
    item_key = sa.Column(sa.String(64), primary_key=True)
    sheet_version = sa.Column(sa.Integer, nullable=False)
    self_points = sa.Column(sa.Numeric(7, 2))
    self_note = sa.Column(sa.String(64))
    self_at = sa.Column(UtcDateTime)
    points = sa.Column(sa.Numeric(7, 2))
    note = sa.Column(sa.String(64))
    record_ids = sa.Column(sa.JSON, nullable=False, default=list)
    file_digests = sa.Column(sa.JSON, nullable=False, default=list)
    scored_at = sa.Column(UtcDateTime)
    answer_note = sa.Column(sa.String(64))
    answered_at = sa.Column(UtcDateTime)


class ReviewDecision(db.Model):
    """The buyer's latest decision on a milestone's payment (a hold may be followed by
    another decision; approve and reduce are final), with the result it followed."""
    __tablename__ = "review_decision"
    contract_id = sa.Column(sa.String(64), primary_key=True)
    milestone_id = sa.Column(sa.String(64), primary_key=True)
    sheet_version = sa.Column(sa.Integer, nullable=False)
    total = sa.Column(sa.Numeric(7, 2), nullable=False)
    grade = sa.Column(sa.String(32), nullable=False)
    recommended = sa.Column(sa.Numeric(14, 2), nullable=False)
    decision = sa.Column(sa.String(16), nullable=False)
    amount = sa.Column(sa.Numeric(14, 2), nullable=False)
    reason_note = sa.Column(sa.String(64))
    decided_at = sa.Column(UtcDateTime, nullable=False)
    holds = sa.Column(sa.Integer, nullable=False, default=0)  # decisions to hold before it


class ReviewNote(db.Model):
    """A text a person wrote in a review (a comment, an answer, a reason), kept by its
    SHA-256: events carry the digest, never the text. Not a projection: rebuilding the
    review from its events keeps these."""
    __tablename__ = "review_note"
    digest = sa.Column(sa.String(64), primary_key=True)
    text = sa.Column(sa.Text, nullable=False)
    written_by = sa.Column(sa.String(120), nullable=False)
    written_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)


# -- the spending ledger: budget lines and expenses, rebuilt from evaluation's ledger events

class LedgerBudget(db.Model):
    """A version of a contract's budget by line, as ledger.budget_set published it."""
    __tablename__ = "ledger_budget"
    contract_id = sa.Column(sa.String(64), primary_key=True)
    version = sa.Column(sa.Integer, primary_key=True)
    lines = sa.Column(sa.JSON, nullable=False)  # [{key, label_zh, label_en, amount: "yuan"}]
    set_by = sa.Column(sa.String(120), nullable=False)
    set_at = sa.Column(UtcDateTime, nullable=False)


class LedgerExpense(db.Model):
    """One expenditure the agency recorded: its day, amount (yuan), budget line, payee kind
    and the receipts (by digest) that prove it; the description in review_note."""
    __tablename__ = "ledger_expense"
    id = sa.Column(sa.String(64), primary_key=True)
    contract_id = sa.Column(sa.String(64), nullable=False, index=True)
    spent_on = sa.Column(sa.Date, nullable=False)
    amount = sa.Column(sa.Numeric(14, 2), nullable=False)
    line = sa.Column(sa.String(32), nullable=False)
    payee_kind = sa.Column(sa.String(16), nullable=False)
    receipts = sa.Column(sa.JSON, nullable=False)
    note = sa.Column(sa.String(64), nullable=False)
    recorded_by = sa.Column(sa.String(120), nullable=False)
    recorded_at = sa.Column(UtcDateTime, nullable=False)


class LedgerReceipt(db.Model):
    """A receipt file the agency uploaded for a contract's ledger, cleaned and stored by
    digest (shared/uploads.py): what an expense may cite. Not a projection: the store's
    index, kept on a rebuild."""
    __tablename__ = "ledger_receipt"
    contract_id = sa.Column(sa.String(64), primary_key=True)
    digest = sa.Column(sa.String(64), primary_key=True)
    media_type = sa.Column(sa.String(32), nullable=False)
    size = sa.Column(sa.Integer, nullable=False)
    thumbnail_digest = sa.Column(sa.String(64))
    uploaded_by = sa.Column(sa.String(120), nullable=False)
    uploaded_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)
