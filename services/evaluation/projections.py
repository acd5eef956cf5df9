"""Projections of the event log: who did what (acts on the participation ladder), which
initiatives residents led, each council topic's cycle. Built only from consumed events (the
handlers apply these functions, handlers.py); a correction re-projects the record it
corrects.

Every row carries when it became known (`recorded_at`: the CloudEvents `time` of the event
that made it, when its source recorded it), and a row a correction replaces keeps its place
with `retracted_at` (the correction's time) beside the new version: so the figures can be
read as of any time (measures.known), and replaying the log gives the same rows."""
import dataclasses
from datetime import datetime, time
from decimal import Decimal

import sqlalchemy as sa

from shared.db import add_row, flush, get_or_add
from shared.events import Event
from shared.localtime import instant, local_day
from shared.residents import take_demographics
from shared.vocabulary import ACT_RUNGS, FUND_PHASES, TRAINING_KINDS

from .models import (Act, CaseFact, ContractableAgency, DecisionFact, FundBallotFact, FundFact,
                     FundProjectFact, Initiative, Jurisdiction, NeedFact, OrganizationFact,
                     ProgressFact, RecordEvent, ResidentFact, TopicFact, TopicNeed, VolunteerFact,
                     db, event_store)

RUNG_OF = ACT_RUNGS  # each kind of act and the rung of the participation ladder it shows


def looks_up(keys):
    """Declare the rows a projector looks up by key, as (model, *primary key) for an event's
    data, so a batch of events can load them all at once before it is applied
    (handlers.prepare): one query per table, not one per event."""
    def mark(project):
        project.lookups = keys
        return project
    return mark


_day = local_day


def recorded(event) -> datetime:
    """When the event's source recorded it (its CloudEvents `time`)."""
    return instant(event.time)


def _hours(d: dict) -> dict:
    """A timed record's start and end (sessions, activities, meetings)."""
    return {"starts": time.fromisoformat(d["start"]), "ends": time.fromisoformat(d["end"])}


def _acts(event, refs, kind: str, community_id: str, on, version: int = 0, **hours) -> None:
    for ref in dict.fromkeys(refs):  # once per resident, in order
        add_row(db.session, Act, event_id=event.id, resident_ref=ref,
                community_id=community_id, on=on, kind=kind, rung=RUNG_OF[kind],
                version=version, recorded_at=recorded(event), **hours)


def _initiative(event, record_id: str, kind: str, community_id: str, on, resident_led: bool,
                version: int = 0, **detail):
    row = _get_or_add(Initiative, record_id=record_id, version=version)
    row.kind, row.community_id, row.on, row.resident_led = kind, community_id, on, resident_led
    row.recorded_at, row.retracted_at = recorded(event), None
    defaults = {"hours": 0, "workers": 0, "helpers": 0, "attendees": 0, "starts": None,
                "ends": None, "worker_ids": None}
    for key, value in {**defaults, **detail}.items():
        setattr(row, key, value)


def _get_or_add(model, **key):
    return get_or_add(db.session, model, **key)


@looks_up(lambda d: [(ResidentFact, d["resident_ref"])])
def resident(event) -> None:
    """Demographics from the newest version by intake's sequence; the registration date from
    resident.registered, whichever order it comes in."""
    d = event.data
    row = _get_or_add(ResidentFact, ref=d["resident_ref"])
    take_demographics(row, event)
    if "registered_on" in d:
        row.registered_on, row.recorded_at = _day(d["registered_on"]), recorded(event)
    elif row.recorded_at is None:
        row.recorded_at = recorded(event)


@looks_up(lambda d: [(NeedFact, d["need_id"])])
def need_reported(event) -> None:
    d = event.data
    row = _get_or_add(NeedFact, need_id=d["need_id"])
    row.community_id, row.channel = d["community_id"], d["channel"]
    row.reported_on, row.recorded_at = _day(d["reported_at"]), recorded(event)


def _case(d) -> CaseFact:
    row = _get_or_add(CaseFact, case_id=d["case_id"])
    row.community_id, row.resident_ref, row.need_id = (
        d["community_id"], d["resident_ref"], d["need_id"])
    return row


@looks_up(lambda d: [(CaseFact, d["case_id"])])
def case_opened(event) -> None:
    d = event.data
    row = _case(d)
    row.opened_on, row.opened_recorded_at = _day(d["opened_on"]), recorded(event)
    _acts(event, [d["resident_ref"]], "served", d["community_id"], _day(d["opened_on"]))


@looks_up(lambda d: [(CaseFact, d["case_id"])])
def case_closed(event) -> None:
    d = event.data
    row = _case(d)
    row.closed_on, row.outcome = _day(d["closed_on"]), d["outcome"]
    row.closed_recorded_at = recorded(event)


def _led(event, d: dict, kind: str, on, version: int) -> None:
    """The residents who led: leaders (the top rung) of a resident-led session or activity;
    of an agency-led one they took part as its other residents did."""
    if d["led_by"] == "agency":
        _acts(event, [r for r in d["leader_refs"] if r not in d["attendee_refs"]], kind,
              d["community_id"], on, version, **_hours(d))
    else:
        _acts(event, d["leader_refs"], "led", d["community_id"], on, version, **_hours(d))


@looks_up(lambda d: [(Initiative, d["session_id"], 0)])
def session(event, version: int = 0) -> None:
    d, on = event.data, _day(event.data["date"])
    kind = _attendee_act("session", d["method"])
    _acts(event, d["attendee_refs"], kind, d["community_id"], on, version, **_hours(d))
    _led(event, d, kind, on, version)
    _initiative(event, d["session_id"], "session", d["community_id"], on,
                d["led_by"] != "agency", version, detail=d["method"], channel=d["mode"],
                hours=d["hours"], workers=len(d["worker_ids"]), helpers=len(d["leader_refs"]),
                worker_ids=d["worker_ids"], attendees=len(set(d["attendee_refs"])),
                **_hours(d))


def signed_in(event) -> None:
    """A resident signed in to a running session or activity (by its QR code or by a worker
    on the live list): the act an attendee of that record has."""
    d = event.data
    _acts(event, [d["resident_ref"]], _attendee_act(d["record_type"], d["detail"]),
          d["community_id"], _day(d["date"]), **_hours(d))


def _attendee_act(record_type: str, detail: str) -> str:
    """What attending a session (by its method) or an activity (by its kind) is."""
    if record_type == "session":
        return "served" if detail == "casework" else "attended"
    if detail == "volunteer_service":
        return "volunteered"
    return "trained" if detail in TRAINING_KINDS else "attended"


@looks_up(lambda d: [(Initiative, d["activity_id"], 0)])
def activity(event, version: int = 0) -> None:
    d, on = event.data, _day(event.data["date"])
    volunteering = d["kind"] == "volunteer_service"
    kind = _attendee_act("capacity_activity", d["kind"])
    _acts(event, d["attendee_refs"], kind, d["community_id"], on, version, **_hours(d))
    _led(event, d, kind, on, version)
    if volunteering and d["led_by"] != "agency":  # leading volunteer service is serving
        _acts(event, [r for r in d["leader_refs"] if r not in d["attendee_refs"]],
              "volunteered", d["community_id"], on, version, **_hours(d))
    helpers = len(set(d["leader_refs"]) | (set(d["attendee_refs"]) if volunteering else set()))
    _initiative(event, d["activity_id"], "activity", d["community_id"], on,
                d["led_by"] != "agency", version, detail=d["kind"],
                organization_id=d["organization_id"], hours=d["hours"],
                workers=len(d.get("worker_ids", [])), helpers=helpers,
                worker_ids=d.get("worker_ids", []), attendees=len(set(d["attendee_refs"])),
                **_hours(d))


@looks_up(lambda d: [(VolunteerFact, d["resident_ref"], d["community_id"])])
def volunteer(event) -> None:
    d = event.data
    row = _get_or_add(VolunteerFact, resident_ref=d["resident_ref"],
                      community_id=d["community_id"])
    row.registered_on, row.recorded_at = _day(d["registered_on"]), recorded(event)
    _acts(event, [d["resident_ref"]], "registered_volunteer", d["community_id"],
          _day(d["registered_on"]))


@looks_up(lambda d: [(OrganizationFact, d["organization_id"])])
def organization(event) -> None:
    """Formed: its members and leaders act. Updated: only those newly listed join or lead,
    and an organisation going dormant or dissolved makes no acts."""
    d = event.data
    on = _day(d.get("formed_on") or d["on"])
    row = _get_or_add(OrganizationFact, organization_id=d["organization_id"])
    row.community_id, row.status = d["community_id"], d["status"]
    row.formed_on = _day(d["formed_on"]) if "formed_on" in d else row.formed_on or on
    row.recorded_at = row.recorded_at or recorded(event)
    members, leaders = row.member_refs or [], row.leader_refs or []
    if d["status"] in ("incubating", "active"):
        _acts(event, [r for r in d["member_refs"] if r not in members], "member",
              d["community_id"], on)
        _acts(event, [r for r in d["leader_refs"] if r not in leaders], "led",
              d["community_id"], on)
    row.member_refs = list(dict.fromkeys([*members, *d["member_refs"]]))
    row.leader_refs = list(dict.fromkeys([*leaders, *d["leader_refs"]]))


@looks_up(lambda d: [
    (TopicFact, d["topic_id"]), (Initiative, d["topic_id"], 0),
    *((TopicNeed, d["topic_id"], need_id) for need_id in d["need_ids"])])
def topic_proposed(event) -> None:
    d, on = event.data, _day(event.data["proposed_on"])
    row = _get_or_add(TopicFact, topic_id=d["topic_id"])
    row.community_id, row.proposer_kind, row.proposer_ref, row.proposed_on = (
        d["community_id"], d["proposer_kind"], d["proposer_ref"], on)
    row.recorded_at = recorded(event)
    if d["proposer_kind"] == "resident":
        _acts(event, [d["proposer_ref"]], "proposed", d["community_id"], on)
    for need_id in d["need_ids"]:
        _get_or_add(TopicNeed, topic_id=d["topic_id"], need_id=need_id).recorded_at = \
            recorded(event)
    _initiative(event, d["topic_id"], "topic", d["community_id"], on,
                d["proposer_kind"] == "resident", channel=d["channel"])


def topic_supported(event) -> None:
    """A resident's support for another's topic: the same act as a fund project's support."""
    d = event.data
    _acts(event, [d["supporter_ref"]], "supported", d["community_id"],
          _day(d["supported_on"]))


def meeting(event, version: int = 0) -> None:
    d = event.data
    _acts(event, d["attendee_refs"], "attended", d["community_id"], _day(d["date"]), version,
          **_hours(d))


@looks_up(lambda d: [(DecisionFact, d["decision_id"], 0)])
def decision(event, version: int = 0) -> None:
    """A decision on a topic; which of a topic's decisions stands is read at query time
    (the latest decided, measures.topic_cycles)."""
    d, on = event.data, _day(event.data["decided_on"])
    row = _get_or_add(DecisionFact, decision_id=d["decision_id"], version=version)
    row.topic_id, row.community_id, row.outcome = d["topic_id"], d["community_id"], d["outcome"]
    row.decision_mode, row.decided_on = d["decision_mode"], on
    row.recorded_at, row.retracted_at = recorded(event), None
    _acts(event, d["voter_refs"], "voted", d["community_id"], on, version)


def progressed(event) -> None:
    d = event.data
    add_row(db.session, ProgressFact, event_id=event.id, decision_id=d["decision_id"],
            community_id=d["community_id"], status=d["status"], progress=d["progress"],
            on=_day(d["on"]), recorded_at=recorded(event))


@looks_up(lambda d: [(Jurisdiction, d["buyer_id"])])
def jurisdiction(event) -> None:
    """The buyer's communities as the newest of intake's events says, whichever order they
    arrive in."""
    row = _get_or_add(Jurisdiction, buyer_id=event.data["buyer_id"])
    if row.seq is None or event.sequence > row.seq:
        row.community_ids, row.seq = list(event.data["community_ids"]), event.sequence


@looks_up(lambda d: [(ContractableAgency, d["agency_id"])])
def agency(event) -> None:
    row = _get_or_add(ContractableAgency, agency_id=event.data["agency_id"])
    if row.seq is None or event.sequence > row.seq:
        row.active, row.seq = event.data["active"], event.sequence


def _body(event_id: str) -> Event | None:
    body = db.session.scalar(sa.select(event_store.InboxEvent.body).where(
        event_store.InboxEvent.event_id == event_id))
    return Event.from_json(body) if body is not None else None


def _corrections_of(original: Event, record_id: str, correction: Event) -> list[Event]:
    """Every correction of the event held so far, this one included, in the order they
    were recorded (their time; the source's order between equal times): concurrent
    corrections may take their sequence numbers in the other order."""
    ids = db.session.scalars(sa.select(RecordEvent.event_id).where(
        RecordEvent.record_id == record_id, RecordEvent.type == "record.corrected",
        RecordEvent.event_id != correction.id))
    found = [e for e in map(_body, ids) if e and e.data["corrects_event_id"] == original.id]
    return sorted([*found, correction], key=lambda e: (recorded(e), e.sequence))


def _with_times_recomputed(data: dict, changes: dict) -> dict:
    """A corrected start or end recomputes the hours, unless the correction gives them."""
    if ("start" in changes or "end" in changes) and "hours" not in changes:
        start, end = (time.fromisoformat(data[k]) for k in ("start", "end"))
        minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
        data = {**data, "hours": round(max(0, minutes) / 60, 2)}
    return data


def _versions(original: Event, record_id: str):
    """The rows of each version of the record (its acts, and its versioned row if any)."""
    _, _, record = CORRECTABLE[original.short_type]
    yield Act, Act.event_id == original.id
    if record is not None:
        yield record.class_, record == record_id


def _retract(original: Event, record_id: str, version: int, at: datetime) -> None:
    """What version `version` of the record projected stops being known at `at`."""
    for model, where in _versions(original, record_id):
        db.session.execute(sa.update(model).where(where, model.version == version).values(
            retracted_at=at).execution_options(synchronize_session=False))


def corrected(event) -> None:
    """Re-project the corrected record, every version again: version n is the original event
    with its first n corrections merged in the order they were recorded (a second correction
    adds to the first), under the original event's id, known from the nth correction's time
    and retracted from the next one's. Whatever order the corrections arrive in, the same
    rows."""
    flush(db.session)  # the original may have come earlier in this batch
    original = _body(event.data["corrects_event_id"])
    if original is None:
        raise LookupError("the corrected event has not arrived yet")
    if original.short_type not in CORRECTABLE:
        return
    project, id_field, _ = CORRECTABLE[original.short_type]
    record_id = original.data[id_field]
    corrections = _corrections_of(original, record_id, event)
    db.session.execute(sa.delete(Act).where(Act.event_id == original.id, Act.version > 0)
                       .execution_options(synchronize_session=False))
    data = dict(original.data)
    for version, correction in enumerate(corrections, start=1):
        data = _with_times_recomputed({**data, **correction.data["changes"]},
                                      correction.data["changes"])
        project(dataclasses.replace(original, data=data, time=correction.time),
                version=version)
    flush(db.session)
    for version, correction in enumerate(corrections):
        _retract(original, record_id, version, recorded(correction))


CORRECTABLE = {  # event type -> (its projector, the field naming its record, its versioned row)
    "session.delivered": (session, "session_id", Initiative.record_id),
    "capacity.activity_held": (activity, "activity_id", Initiative.record_id),
    "council.meeting_held": (meeting, "meeting_id", None),
    "council.decision_made": (decision, "decision_id", DecisionFact.decision_id)}

# -- the community micro-fund: whatever order its events arrive in, the same facts ---------

def _fund(d) -> FundFact:
    row = _get_or_add(FundFact, fund_id=d["fund_id"])
    row.community_id = d["community_id"]
    return row


def _fund_project(project_id: str, d) -> FundProjectFact:
    row = _get_or_add(FundProjectFact, project_id=project_id)
    row.fund_id, row.community_id = d["fund_id"], d["community_id"]
    return row


@looks_up(lambda d: [(FundFact, d["fund_id"])])
def fund_set(event) -> None:
    d = event.data
    row = _fund(d)
    row.year, row.amount, row.voting_rule = d["year"], Decimal(d["amount"]), d["voting_rule"]


@looks_up(lambda d: [(FundFact, d["fund_id"]),
                     *((FundProjectFact, x["project_id"]) for x in d.get("decisions", []))])
def fund_phase(event) -> None:
    """The furthest phase reached; entering results dates the fund's results; entering
    delivery names each funded project's council decision."""
    d = event.data
    row = _fund(d)
    if row.phase is None or FUND_PHASES.index(d["phase"]) > FUND_PHASES.index(row.phase):
        row.phase = d["phase"]
    if d["phase"] == "results":
        row.results_on = _day(d["on"])
    for funded in d.get("decisions", []):
        _fund_project(funded["project_id"], d).decision_id = funded["decision_id"]


@looks_up(lambda d: [(FundProjectFact, d["project_id"])])
def fund_project_proposed(event) -> None:
    d = event.data
    row = _fund_project(d["project_id"], d)
    row.number, row.proposer_kind, row.proposer_ref = (
        d["number"], d["proposer_kind"], d["proposer_ref"])
    row.estimated_cost = Decimal(d["estimated_cost"])


def fund_project_supported(event) -> None:
    d = event.data
    _acts(event, [d["resident_ref"]], "supported", d["community_id"], _day(d["on"]))


@looks_up(lambda d: [(FundProjectFact, d["project_id"])])
def fund_project_reviewed(event) -> None:
    d = event.data
    row = _fund_project(d["project_id"], d)
    row.status = d["status"]
    row.price = None if d["price"] is None else Decimal(d["price"])


@looks_up(lambda d: [(FundBallotFact, d["ballot_id"])])
def fund_ballot(event) -> None:
    d = event.data
    row = _get_or_add(FundBallotFact, ballot_id=d["ballot_id"])
    row.fund_id, row.resident_ref, row.channel = d["fund_id"], d["resident_ref"], d["channel"]
    row.project_ids, row.cast_on, row.seq = list(d["project_ids"]), _day(d["cast_on"]), \
        event.sequence
    _acts(event, [d["resident_ref"]], "voted", d["community_id"], _day(d["cast_on"]))


@looks_up(lambda d: [(FundProjectFact, d["project_id"])])
def fund_project_delivered(event) -> None:
    """The latest report's actual cost; the residents who led it are leaders."""
    d, on = event.data, _day(event.data["on"])
    row = _fund_project(d["project_id"], d)
    if row.delivered_on is None or on >= row.delivered_on:
        row.actual_cost, row.delivered_on = Decimal(d["actual_cost"]), on
    row.decision_id = d["decision_id"]
    _acts(event, d["leader_refs"], "led", d["community_id"], on)


PROJECTION_TABLES = (RecordEvent, Act, Initiative, TopicFact, DecisionFact, ProgressFact,
                     TopicNeed, ResidentFact, NeedFact, CaseFact, OrganizationFact,
                     VolunteerFact, Jurisdiction, ContractableAgency, FundFact, FundProjectFact,
                     FundBallotFact)
