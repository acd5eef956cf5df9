"""Events casework publishes: the agency's work and the residents' own participation."""
from marshmallow import ValidationError, fields, validate, validates_schema

from shared.vocabulary import (ACTIVITY_KINDS, CASE_OUTCOMES, DECISION_MODES, DECISION_OUTCOMES,
                               LEADS, METHODS, MODES, NEW_ORGANIZATION_STATUSES,
                               ORGANIZATION_STATUSES, PROGRESS_STATUSES, PROPOSERS,
                               TOPIC_CHANNELS)

from . import EventData, one_of, ref, refs

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
    "council.meeting_held": MeetingHeld,
    "council.decision_made": DecisionMade,
    "council.decision_progressed": DecisionProgressed,
    "record.corrected": RecordCorrected,
    "evidence.attached": EvidenceAttached,
    "evidence.hidden": EvidenceHidden,
}
SUPERSEDED = {"record.corrected": [RecordCorrectedV1]}  # earlier versions still accepted
