"""Events casework publishes: the agency's work and the residents' own participation."""
from decimal import Decimal

from marshmallow import ValidationError, fields, validate, validates_schema

from shared.vocabulary import (ACTIVITY_KINDS, BALLOT_CHANNELS, CASE_OUTCOMES, DECISION_MODES,
                               DECISION_OUTCOMES, FUND_CATEGORIES, FUND_PHASES, FUND_PROPOSERS,
                               LEADS, METHODS, MODES, NEW_ORGANIZATION_STATUSES,
                               ORGANIZATION_STATUSES, PROGRESS_STATUSES, PROPOSERS,
                               TOPIC_CHANNELS, VOTING_RULES)

from . import EventData, money, one_of, ref, refs

GAS = validate.Range(min=-2, max=2)  # goal attainment scaling: -2 … +2


class Timed(EventData):
    """Date, start and end: hours derive from the times, never typed in."""

    date = fields.Date(required=True)
    start = fields.Time(required=True)
    end = fields.Time(required=True)

    @validates_schema
    def _ends_after_start(self, data, **_):
        if data["end"] <= data["start"]:
            raise ValidationError("end must be after start", "end")


class CaseOpened(EventData):
    case_id = ref()
    agency_id = ref()
    community_id = ref()
    resident_ref = ref()
    need_id = ref(allow_none=True, load_default=None)
    worker_id = ref()
    opened_on = fields.Date(required=True)


class CaseGoalSet(EventData):
    case_id = ref()
    goal_id = ref()
    domain = fields.Str(required=True, validate=validate.Length(1, 100))
    baseline = fields.Int(required=True, validate=GAS)
    set_on = fields.Date(required=True)


class GoalOutcome(EventData):
    goal_id = ref()
    attainment = fields.Int(required=True, validate=GAS)


class CaseClosed(EventData):
    case_id = ref()
    agency_id = ref()
    community_id = ref()
    resident_ref = ref()
    need_id = ref(allow_none=True, load_default=None)
    outcome = one_of(CASE_OUTCOMES)
    goal_outcomes = fields.List(fields.Nested(GoalOutcome), required=True)
    closed_on = fields.Date(required=True)


class SessionDelivered(Timed):
    session_id = ref()
    agency_id = ref()
    community_id = ref()
    method = one_of(METHODS)
    mode = one_of(MODES)
    case_id = ref(allow_none=True, load_default=None)
    worker_ids = refs(validate=validate.Length(min=1))
    led_by = one_of(LEADS)
    leader_refs = refs(load_default=list)
    attendee_refs = refs()
    hours = fields.Float(required=True, validate=validate.Range(min=0, max=24))


class CapacityActivityHeld(Timed):
    activity_id = ref()
    agency_id = ref()
    community_id = ref()
    kind = one_of(ACTIVITY_KINDS)
    worker_ids = refs(load_default=list)
    led_by = one_of(LEADS)
    organization_id = ref(allow_none=True, load_default=None)
    leader_refs = refs(load_default=list)
    attendee_refs = refs()
    hours = fields.Float(required=True, validate=validate.Range(min=0, max=24))


class VolunteerRegistered(EventData):
    volunteer_id = ref()
    resident_ref = ref()
    agency_id = ref()
    community_id = ref()
    registered_on = fields.Date(required=True)


class OrganizationFormed(EventData):
    organization_id = ref()
    agency_id = ref()
    community_id = ref()
    kind = fields.Str(required=True, validate=validate.Length(1, 100))
    status = one_of(NEW_ORGANIZATION_STATUSES)
    formed_on = fields.Date(required=True)
    leader_refs = refs()
    member_refs = refs()


class OrganizationUpdated(EventData):
    """Members join or leave, leaders change, the organisation becomes active or dormant."""
    organization_id = ref()
    agency_id = ref()
    community_id = ref()
    status = one_of(ORGANIZATION_STATUSES)
    leader_refs = refs()
    member_refs = refs()
    on = fields.Date(required=True)


class TopicProposed(EventData):
    topic_id = ref()
    community_id = ref()
    proposer_kind = one_of(PROPOSERS)
    proposer_ref = ref(allow_none=True, load_default=None)
    need_ids = refs(load_default=list)
    channel = one_of(TOPIC_CHANNELS)
    proposed_on = fields.Date(required=True)

    @validates_schema
    def _resident_has_ref(self, data, **_):
        if data["proposer_kind"] == "resident" and not data.get("proposer_ref"):
            raise ValidationError("a resident's topic names its proposer", "proposer_ref")


class TopicSupported(EventData):
    """A resident supports another resident's council topic (Decidim/Consul-style supports):
    the supporter by their pseudonymous reference alone, online through the resident door."""
    topic_id = ref()
    community_id = ref()
    supporter_ref = ref()
    supported_on = fields.Date(required=True)
    channel = one_of(("online",))


class MeetingHeld(Timed):
    meeting_id = ref()
    community_id = ref()
    agency_id = ref()
    topic_ids = refs()
    attendee_refs = refs()
    facilitated_by = one_of(LEADS)
    mode = one_of(MODES)


class DecisionMade(EventData):
    decision_id = ref()
    topic_id = ref()
    meeting_id = ref()
    community_id = ref()
    votes_for = fields.Int(required=True, validate=validate.Range(min=0))
    votes_against = fields.Int(required=True, validate=validate.Range(min=0))
    abstentions = fields.Int(required=True, validate=validate.Range(min=0))
    voter_refs = refs()
    outcome = one_of(DECISION_OUTCOMES)
    decision_mode = one_of(DECISION_MODES)
    decided_on = fields.Date(required=True)


class DecisionProgressed(EventData):
    decision_id = ref()
    community_id = ref()
    status = one_of(PROGRESS_STATUSES)
    progress = fields.Int(required=True, validate=validate.Range(min=0, max=100))
    on = fields.Date(required=True)


class RecordCorrected(EventData):
    """Version 2: `changes` holds only the corrected fields the original event carries (what
    the measures read), never free text such as minutes, topics or places, and no `reason`
    (free text; casework keeps it, with the values before and after, for readers there)."""
    VERSION = 2
    record_type = fields.Str(required=True, validate=validate.Length(1, 64))
    record_id = ref()
    corrects_event_id = ref()
    changes = fields.Dict(required=True)


class RecordCorrectedV1(RecordCorrected):
    """As published before version 2: still accepted from the event logs."""
    VERSION = 1
    reason = fields.Str(required=True, validate=validate.Length(1, 500))


FUND_MAX = Decimal(10**8)  # a community fund's amounts: at most a hundred million yuan


class FundSet(EventData):
    """A community's micro-fund for a year, its rules and the dates of its phases."""
    fund_id = ref()
    agency_id = ref()
    community_id = ref()
    year = fields.Int(required=True, validate=validate.Range(2000, 2100))
    amount = money(FUND_MAX)
    proposers = fields.List(one_of(FUND_PROPOSERS), required=True,
                            validate=validate.Length(min=1))
    min_supports = fields.Int(required=True, validate=validate.Range(min=0))
    voting_rule = one_of(VOTING_RULES)
    notice_days = fields.Int(required=True, validate=validate.Range(min=1))
    phases = fields.Dict(keys=fields.Str(validate=validate.OneOf(FUND_PHASES)),
                         values=fields.Date(), required=True)


class FundedDecision(EventData):
    project_id = ref()
    decision_id = ref()


class FundPhaseChanged(EventData):
    """Entering delivery, `decisions` names the council decision each funded project
    became."""
    fund_id = ref()
    community_id = ref()
    phase = one_of(FUND_PHASES)
    on = fields.Date(required=True)
    decisions = fields.List(fields.Nested(FundedDecision), load_default=list)


class FundProjectProposed(EventData):
    """Titles, descriptions and places stay at casework: the event carries the figures."""
    project_id = ref()
    fund_id = ref()
    community_id = ref()
    number = fields.Int(required=True, validate=validate.Range(min=1))
    category = one_of(FUND_CATEGORIES)
    estimated_cost = money(FUND_MAX)
    beneficiaries = fields.Int(required=True, validate=validate.Range(min=0))
    proposer_kind = one_of(FUND_PROPOSERS)
    proposer_ref = ref(allow_none=True, load_default=None)
    organization_id = ref(allow_none=True, load_default=None)
    proposed_on = fields.Date(required=True)


class FundProjectSupported(EventData):
    project_id = ref()
    fund_id = ref()
    community_id = ref()
    resident_ref = ref()
    on = fields.Date(required=True)


class FundProjectReviewed(EventData):
    """Feasible at a price, or declined (the reason stays at casework); `unsupported`: it did
    not reach the fund's minimum of supports, so it was never reviewed."""
    project_id = ref()
    fund_id = ref()
    community_id = ref()
    status = one_of(("feasible", "declined", "unsupported"))
    price = money(FUND_MAX, allow_none=True, load_default=None)
    on = fields.Date(required=True)


class FundObjectionRecorded(EventData):
    objection_id = ref()
    fund_id = ref()
    community_id = ref()
    project_id = ref(allow_none=True, load_default=None)
    on = fields.Date(required=True)


class FundBallotCast(EventData):
    ballot_id = ref()
    fund_id = ref()
    community_id = ref()
    resident_ref = ref()
    channel = one_of(BALLOT_CHANNELS)
    project_ids = refs(validate=validate.Length(min=1))
    cast_on = fields.Date(required=True)


class FundOutcome(EventData):
    project_id = ref()
    votes = fields.Int(required=True, validate=validate.Range(min=0))
    cost = money(FUND_MAX)
    funded = fields.Bool(required=True)
    rank = fields.Int(required=True, validate=validate.Range(min=1))
    reason = one_of(("funded", "does_not_fit", "no_votes"))


class FundResultsPublished(EventData):
    fund_id = ref()
    community_id = ref()
    on = fields.Date(required=True)
    amount = money(FUND_MAX)
    allocated = money(FUND_MAX)
    voters_online = fields.Int(required=True, validate=validate.Range(min=0))
    voters_paper = fields.Int(required=True, validate=validate.Range(min=0))
    outcomes = fields.List(fields.Nested(FundOutcome), required=True)


class FundProjectDelivered(EventData):
    """A funded project carried out (or under way): the council decision it became, who led
    it among the residents, and what it cost."""
    project_id = ref()
    fund_id = ref()
    community_id = ref()
    decision_id = ref()
    actual_cost = money(FUND_MAX)
    leader_refs = refs(load_default=list)
    on = fields.Date(required=True)


EVIDENCE_RECORDS = ("session", "capacity_activity", "council_meeting", "council_decision",
                    "decision_progress", "case", "organization")
DIGEST = validate.Regexp(r"^[0-9a-f]{64}$")


class EvidenceAttached(EventData):
    """A file on a record, by its SHA-256 (the bytes stay at casework, and no file name
    travels): so the hash chain covers the evidence. `record_on` is the record's day, and
    `decision_id` names the decision a progress record follows."""
    record_type = one_of(EVIDENCE_RECORDS)
    record_id = ref()
    decision_id = ref(allow_none=True, load_default=None)
    community_id = ref()
    record_on = fields.Date(required=True)
    digest = fields.Str(required=True, validate=DIGEST)
    media_type = one_of(("image/jpeg", "image/png", "application/pdf"))
    size = fields.Int(required=True, validate=validate.Range(min=1))
    captured_at = fields.DateTime(allow_none=True, load_default=None)


class EvidenceHidden(EventData):
    """A file hidden from its record by a correction; the reason (free text) stays at
    casework."""
    record_type = one_of(EVIDENCE_RECORDS)
    record_id = ref()
    community_id = ref()
    digest = fields.Str(required=True, validate=DIGEST)


SIGN_IN_RECORDS = ("session", "capacity_activity")
SIGN_IN_METHODS = ("qr", "staff")


class AttendanceSignedIn(Timed):
    """A resident signed in to a session or activity while it ran: by scanning its rotating
    QR code (`qr`, the resident themselves) or added by a worker on the live list (`staff`).
    `detail` is the record's method (a session) or kind (an activity), what the act is."""
    record_type = one_of(SIGN_IN_RECORDS)
    record_id = ref()
    agency_id = ref()
    community_id = ref()
    detail = one_of(METHODS + ACTIVITY_KINDS)
    resident_ref = ref()
    method = one_of(SIGN_IN_METHODS)
    at = fields.DateTime(required=True)


SCHEMAS = {
    "case.opened": CaseOpened,
    "case.goal_set": CaseGoalSet,
    "case.closed": CaseClosed,
    "session.delivered": SessionDelivered,
    "capacity.activity_held": CapacityActivityHeld,
    "volunteer.registered": VolunteerRegistered,
    "organization.formed": OrganizationFormed,
    "organization.updated": OrganizationUpdated,
    "council.topic_proposed": TopicProposed,
    "council.topic_supported": TopicSupported,
    "council.meeting_held": MeetingHeld,
    "council.decision_made": DecisionMade,
    "council.decision_progressed": DecisionProgressed,
    "record.corrected": RecordCorrected,
    "attendance.signed_in": AttendanceSignedIn,
    "fund.set": FundSet,
    "fund.phase_changed": FundPhaseChanged,
    "fund.project_proposed": FundProjectProposed,
    "fund.project_supported": FundProjectSupported,
    "fund.project_reviewed": FundProjectReviewed,
    "fund.objection_recorded": FundObjectionRecorded,
    "fund.ballot_cast": FundBallotCast,
    "fund.results_published": FundResultsPublished,
    "fund.project_delivered": FundProjectDelivered,
    "evidence.attached": EvidenceAttached,
    "evidence.hidden": EvidenceHidden,
}
SUPERSEDED = {"record.corrected": [RecordCorrectedV1]}  # earlier versions still accepted
