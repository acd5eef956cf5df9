"""Corrections: evidence is never edited silently. A correction names the record, the reason
and the new values; it is checked like the original, kept with the values before and after,
and published as record.corrected, so the buyer sees what changed, when and why."""
from datetime import date, time

from marshmallow import ValidationError

from shared.errors import ApiError
from shared.events import spec_for
from shared.i18n import bilingual

from . import access
from .activities import check_context
from .council import check_votes
from .evidence import check_times, publish
from .models import (CapacityActivity, Correction, CouncilDecision, CouncilMeeting, Session,
                     db)
from .schemas import ActivityIn, DecisionIn, MeetingIn, SessionIn

TIMED = {"date", "start", "end", "location", "mode", "attendee_refs"}
CORRECTABLE = {  # record type -> (model, schema, fields a correction may change, its event)
    "session": (Session, SessionIn, TIMED | {"topic", "leader_refs"}, "session.delivered"),
    "capacity_activity": (CapacityActivity, ActivityIn, TIMED | {"topic", "leader_refs"},
                          "capacity.activity_held"),
    "council_meeting": (CouncilMeeting, MeetingIn, TIMED | {"minutes"},
                        "council.meeting_held"),
    "council_decision": (CouncilDecision, DecisionIn, {
        "votes_for", "votes_against", "abstentions", "voter_refs", "outcome",
        "decision_mode"}, "council.decision_made"),
}
NOT_CORRECTABLE = bilingual("This field cannot be corrected", "该字段不可更正")
NOTHING_CHANGES = bilingual("The correction changes nothing", "更正内容与原记录相同")


def _plain(value):
    return value.isoformat() if isinstance(value, (date, time)) else value


def correct(data: dict, claims) -> Correction:
    model, schema, allowed, published_as = CORRECTABLE[data["record_type"]]
    record = access.fetch(claims, model, data["record_id"])
    extra = set(data["changes"]) - allowed
    if extra:
        raise ApiError(422, fields={f"changes.{k}": [NOT_CORRECTABLE] for k in sorted(extra)})
    try:
        changes = schema(partial=True).load(data["changes"])
    except ValidationError as exc:
        raise ApiError(422, fields={f"changes.{k}": v for k, v in exc.messages.items()})
    before = {k: _plain(getattr(record, k)) for k in changes}
    after = {k: _plain(v) for k, v in changes.items()}
    if before == after:
        raise ApiError(422, fields={"changes": [NOTHING_CHANGES]})
    for key, value in changes.items():
        setattr(record, key, value)
    _recheck(data["record_type"], record, claims)
    correction = Correction(record_type=data["record_type"], record_id=record.id,
                            agency_id=claims.agency_id, reason=data["reason"], before=before,
                            after=after, corrected_by=claims.sub)
    return publish(correction, "record.corrected", lambda c: {
        "record_type": c.record_type, "record_id": c.record_id,
        "corrects_event_id": record.event_id, "changes": on_the_bus(published_as, c.after)})


def on_the_bus(short_type: str, after: dict) -> dict:
    """The corrected values the record's own event carries, which the measures read; free
    text (minutes, topics, places) and the reason stay here, with the values before."""
    carried = spec_for(short_type).validator.fields
    return {k: v for k, v in after.items() if k in carried}


def _recheck(record_type: str, record, claims) -> None:
    """The corrected record must pass the checks the original passed."""
    if record_type == "council_decision":
        check_votes(db.session.get(CouncilMeeting, record.meeting_id), {
            "votes_for": record.votes_for, "votes_against": record.votes_against,
            "abstentions": record.abstentions, "voter_refs": record.voter_refs})
        return
    record.hours = check_times(record.date, record.start, record.end)
    check_context({"community_id": record.community_id, "date": record.date,
                   "start": record.start, "end": record.end,
                   "attendee_refs": record.attendee_refs,
                   "leader_refs": getattr(record, "leader_refs", []),
                   "worker_ids": getattr(record, "worker_ids", [])},
                  claims, record_type, record.id)
