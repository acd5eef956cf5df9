"""Casework's API contract (marshmallow)."""
from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, validate, validates_schema

from shared import fields
from shared.vocabulary import (ACTIVITY_KINDS, CASE_OUTCOMES, DECISION_MODES, DECISION_OUTCOMES,
                               LEADS, METHODS, MODES, NEW_ORGANIZATION_STATUSES, NOTE_KINDS,
                               ORGANIZATION_STATUSES, PROGRESS_STATUSES, PROPOSERS,
                               TOPIC_CHANNELS)

ID = validate.Length(1, 64)
GAS = validate.Range(min=-2, max=2)


def refs(**kwargs):
    """A list of pseudonymous resident references (at most 500 by default)."""
    kwargs.setdefault("validate", validate.Length(max=500))
    return fields.List(fields.Str(validate=ID), **kwargs)


class WorkerIn(Schema):
    id = fields.Str(required=True, validate=validate.Length(1, 120),
                    metadata={"description": "the worker's login (the token's sub)"})
    name = fields.Str(required=True, validate=validate.Length(1, 100))
    role = fields.Str(load_default="social_worker",
                      validate=validate.OneOf(("social_worker", "agency_admin")))


class WorkerUpdate(Schema):
    name = fields.Str(validate=validate.Length(1, 100))
    active = fields.Bool()


class WorkerOut(Schema):
    id = fields.Str()
    agency_id = fields.Str()
    name = fields.Str()
    role = fields.Str()
    active = fields.Bool()


class KnownResidentOut(Schema):
    ref = fields.Str()
    community_id = fields.Str()
    grid_id = fields.Str()
    age_band = fields.Str()
    gender = fields.Str()
    household_type = fields.Str()
    flags = fields.List(fields.Str())


class ResidentQuery(Schema):
    community_id = fields.Str(validate=ID)
    grid_id = fields.Str(validate=ID)


class QueuedNeedOut(Schema):
    need_id = fields.Str()
    community_id = fields.Str()
    grid_id = fields.Str(allow_none=True)
    resident_ref = fields.Str(allow_none=True)
    category = fields.Str()
    urgency = fields.Str()
    safety_flag = fields.Bool()
    channel = fields.Str()
    reported_at = fields.DateTime()
    status = fields.Str()


class CaseIn(Schema):
    need_id = fields.Str(load_default=None, validate=ID)
    resident_ref = fields.Str(load_default=None, validate=ID)
    community_id = fields.Str(load_default=None, validate=ID)
    opened_on = fields.Date(load_default=None)

    @validates_schema
    def _from_need_or_field(self, data, **_):
        if not data.get("need_id") and not (data.get("resident_ref") and
                                            data.get("community_id")):
            raise ValidationError("open a case from a need_id, or name resident_ref and "
                                  "community_id for a resident met in the field", "need_id")


class GoalIn(Schema):
    domain = fields.Str(required=True, validate=validate.Length(1, 100))
    description = fields.Str(required=True, validate=validate.Length(1, 2000))
    baseline = fields.Int(required=True, validate=GAS)
    set_on = fields.PastDate(load_default=None)


class GoalOut(Schema):
    id = fields.Str()
    domain = fields.Str()
    description = fields.Str()
    baseline = fields.Int()
    attainment = fields.Int(allow_none=True)
    set_on = fields.Date()


class NoteIn(Schema):
    kind = fields.Str(required=True, validate=validate.OneOf(NOTE_KINDS))
    text = fields.Str(required=True, validate=validate.Length(1, 10000))
    referred_to = fields.Str(load_default=None, validate=validate.Length(1, 200))

    @validates_schema
    def _referral_names_whom(self, data, **_):
        if data["kind"] == "referral" and not data.get("referred_to"):
            raise ValidationError("Missing data for required field.", "referred_to")


class NoteOut(Schema):
    id = fields.Int()
    kind = fields.Str()
    text = fields.Str()
    referred_to = fields.Str(allow_none=True)
    author = fields.Str()
    written_at = fields.DateTime()


class GoalOutcomeIn(Schema):
    goal_id = fields.Str(required=True, validate=ID)
    attainment = fields.Int(required=True, validate=GAS)


class CloseIn(Schema):
    outcome = fields.Str(required=True, validate=validate.OneOf(CASE_OUTCOMES))
    goal_outcomes = fields.List(fields.Nested(GoalOutcomeIn), required=True)
    closed_on = fields.Date(load_default=None)


class CaseOut(Schema):
    id = fields.Str()
    agency_id = fields.Str()
    community_id = fields.Str()
    resident_ref = fields.Str()
    need_id = fields.Str(allow_none=True)
    worker_id = fields.Str()
    opened_on = fields.Date()
    status = fields.Str()
    outcome = fields.Str(allow_none=True)
    closed_on = fields.Date(allow_none=True)


class CaseDetail(CaseOut):
    goals = fields.List(fields.Nested(GoalOut))
    notes = fields.List(fields.Nested(NoteOut))
    session_ids = fields.List(fields.Str())


class TimedIn(Schema):
    community_id = fields.Str(required=True, validate=ID)
    date = fields.Date(required=True)
    start = fields.Time(required=True)
    end = fields.Time(required=True)
    location = fields.Str(required=True, validate=validate.Length(1, 200))
    mode = fields.Str(load_default="in_person", validate=validate.OneOf(MODES))
    attendee_refs = refs(required=True)


class SessionIn(TimedIn):
    method = fields.Str(required=True, validate=validate.OneOf(METHODS))
    topic = fields.Str(required=True, validate=validate.Length(1, 200))
    case_id = fields.Str(load_default=None, validate=ID)
    worker_ids = fields.List(fields.Str(validate=validate.Length(1, 120)), required=True,
                             validate=validate.Length(1, 20))
    led_by = fields.Str(load_default="agency", validate=validate.OneOf(LEADS))
    leader_refs = refs(load_default=list)


class ActivityIn(TimedIn):
    kind = fields.Str(required=True, validate=validate.OneOf(ACTIVITY_KINDS))
    topic = fields.Str(required=True, validate=validate.Length(1, 200))
    worker_ids = fields.List(fields.Str(validate=validate.Length(1, 120)), load_default=list,
                             validate=validate.Length(max=20))
    led_by = fields.Str(required=True, validate=validate.OneOf(LEADS))
    organization_id = fields.Str(load_default=None, validate=ID)
    leader_refs = refs(load_default=list)


class TimedOut(Schema):
    id = fields.Str()
    agency_id = fields.Str()
    community_id = fields.Str()
    date = fields.Date()
    start = fields.Time()
    end = fields.Time()
    hours = fields.Float()
    location = fields.Str()
    mode = fields.Str()
    attendee_refs = fields.List(fields.Str())
    recorded_by = fields.Str()
    event_id = fields.Str()


class SessionOut(TimedOut):
    method = fields.Str()
    topic = fields.Str()
    case_id = fields.Str(allow_none=True)
    worker_ids = fields.List(fields.Str())
    led_by = fields.Str()
    leader_refs = fields.List(fields.Str())


class ActivityOut(TimedOut):
    kind = fields.Str()
    topic = fields.Str()
    worker_ids = fields.List(fields.Str())
    led_by = fields.Str()
    organization_id = fields.Str(allow_none=True)
    leader_refs = fields.List(fields.Str())


class VolunteerIn(Schema):
    community_id = fields.Str(required=True, validate=ID)
    resident_ref = fields.Str(required=True, validate=ID)
    skills = fields.List(fields.Str(validate=validate.Length(1, 50)), load_default=list)
    registered_on = fields.Date(load_default=None)


class VolunteerOut(Schema):
    id = fields.Str()
    community_id = fields.Str()
    resident_ref = fields.Str()
    skills = fields.List(fields.Str())
    registered_on = fields.Date()


class OrganizationIn(Schema):
    community_id = fields.Str(required=True, validate=ID)
    name = fields.Str(required=True, validate=validate.Length(1, 200))
    kind = fields.Str(required=True, validate=validate.Length(1, 100))
    status = fields.Str(load_default="incubating",
                        validate=validate.OneOf(NEW_ORGANIZATION_STATUSES))
    formed_on = fields.PastDate(required=True)
    leader_refs = refs(required=True, validate=validate.Length(1, 50))
    member_refs = refs(required=True, validate=validate.Length(1, 500))


class OrganizationUpdate(Schema):
    status = fields.Str(validate=validate.OneOf(ORGANIZATION_STATUSES))
    leader_refs = refs()
    member_refs = refs()
    on = fields.PastDate(load_default=None)


class OrganizationOut(Schema):
    id = fields.Str()
    agency_id = fields.Str()
    community_id = fields.Str()
    name = fields.Str()
    kind = fields.Str()
    status = fields.Str()
    formed_on = fields.Date()
    leader_refs = fields.List(fields.Str())
    member_refs = fields.List(fields.Str())


class TopicIn(Schema):
    community_id = fields.Str(required=True, validate=ID)
    title = fields.Str(required=True, validate=validate.Length(1, 200))
    description = fields.Str(required=True, validate=validate.Length(1, 5000))
    proposer_kind = fields.Str(required=True, validate=validate.OneOf(PROPOSERS))
    proposer_ref = fields.Str(load_default=None, validate=ID)
    need_ids = fields.List(fields.Str(validate=ID), load_default=list)
    channel = fields.Str(load_default="in_person", validate=validate.OneOf(TOPIC_CHANNELS))
    proposed_on = fields.Date(required=True)


class TopicOut(Schema):
    id = fields.Str()
    community_id = fields.Str()
    title = fields.Str()
    description = fields.Str()
    proposer_kind = fields.Str()
    proposer_ref = fields.Str(allow_none=True)
    need_ids = fields.List(fields.Str())
    channel = fields.Str()
    proposed_on = fields.Date()
    status = fields.Str()
    supports = fields.Int(metadata={"description": "residents supporting it (not who)"})
    qualified_on = fields.Date(allow_none=True, metadata={
        "description": "the day its supports reached the council's threshold: due for the "
                       "agenda (CASEWORK_COUNCIL_SUPPORT_THRESHOLD)"})


class MeetingIn(TimedIn):
    topic_ids = fields.List(fields.Str(validate=ID), required=True,
                            validate=validate.Length(1, 50))
    facilitated_by = fields.Str(load_default="agency", validate=validate.OneOf(LEADS))
    minutes = fields.Str(required=True, validate=validate.Length(1, 20000))


class MeetingOut(TimedOut):
    topic_ids = fields.List(fields.Str())
    facilitated_by = fields.Str()
    minutes = fields.Str()


class DecisionIn(Schema):
    topic_id = fields.Str(required=True, validate=ID)
    votes_for = fields.Int(required=True, validate=validate.Range(min=0))
    votes_against = fields.Int(required=True, validate=validate.Range(min=0))
    abstentions = fields.Int(required=True, validate=validate.Range(min=0))
    voter_refs = refs(load_default=list)
    outcome = fields.Str(required=True, validate=validate.OneOf(DECISION_OUTCOMES))
    decision_mode = fields.Str(required=True, validate=validate.OneOf(DECISION_MODES))
    decided_on = fields.Date(load_default=None)
    summary = fields.Str(required=True, validate=validate.Length(1, 5000))


class DecisionOut(Schema):
    id = fields.Str()
    topic_id = fields.Str()
    meeting_id = fields.Str()
    community_id = fields.Str()
    votes_for = fields.Int()
    votes_against = fields.Int()
    abstentions = fields.Int()
    voter_refs = fields.List(fields.Str())
    outcome = fields.Str()
    decision_mode = fields.Str()
    decided_on = fields.Date()
    summary = fields.Str()


class ProgressIn(Schema):
    status = fields.Str(required=True, validate=validate.OneOf(PROGRESS_STATUSES))
    progress = fields.Int(required=True, validate=validate.Range(0, 100))
    on = fields.PastDate(load_default=None)
    note = fields.Str(load_default=None, validate=validate.Length(1, 2000))


class ProgressOut(Schema):
    id = fields.Int()
    decision_id = fields.Str()
    status = fields.Str()
    progress = fields.Int()
    on = fields.Date()
    note = fields.Str(allow_none=True)


class CorrectionIn(Schema):
    record_type = fields.Str(required=True, validate=validate.OneOf(
        ("session", "capacity_activity", "council_meeting", "council_decision")))
    record_id = fields.Str(required=True, validate=ID)
    reason = fields.Str(required=True, validate=validate.Length(2, 500))
    changes = fields.Dict(required=True, validate=validate.Length(min=1))


class CorrectionOut(Schema):
    id = fields.Int()
    record_type = fields.Str()
    record_id = fields.Str()
    reason = fields.Str()
    before = fields.Dict()
    after = fields.Dict()
    corrected_by = fields.Str()
    corrected_at = fields.DateTime()
    event_id = fields.Str()


class ListQuery(Schema):
    community_id = fields.Str(validate=ID)
    date_from = fields.Date()
    date_to = fields.Date()


class FileUpload(Schema):
    file = Upload(required=True, metadata={
        "description": "a JPEG, PNG, HEIC or PDF (the type is read from the content)"})


class FileHide(Schema):
    reason = fields.Str(required=True, validate=validate.Length(2, 500))


class FileOut(Schema):
    record_type = fields.Str()
    record_id = fields.Str()
    digest = fields.Str(metadata={"description": "SHA-256 of the stored (cleaned) bytes"})
    media_type = fields.Str()
    size = fields.Int()
    captured_at = fields.DateTime(allow_none=True)
    uploaded_by = fields.Str()
    uploaded_at = fields.DateTime()
    hidden_reason = fields.Str(allow_none=True)
    hidden_at = fields.DateTime(allow_none=True)
    url = fields.Str(allow_none=True, metadata={"description": "opens the file for 5 minutes"})
    thumbnail_url = fields.Str(allow_none=True)


class StaffSignInIn(Schema):
    resident_ref = fields.Str(required=True, validate=ID)


class SignInListOut(Schema):
    record_type = fields.Str()
    record_id = fields.Str()
    topic = fields.Str()
    date = fields.Date()
    start = fields.Time()
    end = fields.Time()
    running = fields.Bool()
    code = fields.Str(metadata={"description": "this minute's code (the QR link ends with it)"})
    url = fields.Str()
    seconds_left = fields.Int()
    attendee_refs = fields.List(fields.Str())
