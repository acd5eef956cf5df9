"""Projections of the event log: who did what (acts on the participation ladder), which
initiatives residents led, each council topic's cycle. Built only from consumed events (the
handlers apply these functions, handlers.py); a correction re-projects the record it
corrects."""
from datetime import date, time
from decimal import Decimal

import sqlalchemy as sa

from shared.db import get_or_add
from shared.events import Event
from shared.residents import take_demographics
from shared.vocabulary import (CO_DECIDER, CONTRIBUTOR, FUND_PHASES, LEADER, PARTICIPANT,
                               SERVED, TRAINING_KINDS)

from .models import (Act, CaseFact, ContractableAgency, FundBallotFact, FundFact,
                     FundProjectFact, Initiative, Jurisdiction, NeedFact, OrganizationFact,
                     RecordEvent, ResidentFact, TopicFact, TopicNeed, VolunteerFact, db,
                     event_store)

# each kind of act and the rung of the participation ladder it shows
RUNG_OF = {"served": SERVED, "attended": PARTICIPANT, "trained": PARTICIPANT,
           "volunteered": CONTRIBUTOR, "registered_volunteer": CONTRIBUTOR,
           "proposed": CONTRIBUTOR, "voted": CO_DECIDER,
           "supported": CO_DECIDER, "member": CO_DECIDER, "led": LEADER}


def looks_up(keys):
    """Declare the rows a projector looks up by key, as (model, *primary key) for an event's
    data, so a batch of events can load them all at once before it is applied
    (handlers.prepare): one query per table, not one per event."""
    def mark(project):
        project.lookups = keys
        return project
    return mark


def _day(value: str) -> date:
    return date.fromisoformat(value[:10])


def _hours(d: dict) -> dict:
    """A timed record's start and end (sessions, activities, meetings)."""
    return {"starts": time.fromisoformat(d["start"]), "ends": time.fromisoformat(d["end"])}


def _acts(event, refs, kind: str, community_id: str, on: date, **hours) -> None:
    for ref in dict.fromkeys(refs):  # once per resident, in order
        db.session.add(Act(event_id=event.id, resident_ref=ref, community_id=community_id,
                           on=on, kind=kind, rung=RUNG_OF[kind], **hours))


def _initiative(record_id: str, kind: str, community_id: str, on: date, resident_led: bool,
                **detail):
    row = _get_or_add(Initiative, record_id=record_id)
    row.kind, row.community_id, row.on, row.resident_led = kind, community_id, on, resident_led
    defaults = {"hours": 0, "workers": 0, "helpers": 0, "attendees": 0, "starts": None,
                "ends": None, "worker_ids": None}
    for key, value in {**defaults, **detail}.items():
        setattr(row, key, value)


def _get_or_add(model, **key):
    return get_or_add(db.session, model, **key)


def _topic(topic_id: str, community_id: str) -> TopicFact:
    row = _get_or_add(TopicFact, topic_id=topic_id)
    row.community_id = community_id
    return row


@looks_up(lambda d: [(ResidentFact, d["resident_ref"])])
def resident(event) -> None:
    d = event.data
    row = _get_or_add(ResidentFact, ref=d["resident_ref"])
    if take_demographics(row, event) and "registered_on" in d:
        row.registered_on = _day(d["registered_on"])


@looks_up(lambda d: [(NeedFact, d["need_id"])])
def need_reported(event) -> None:
    d = event.data
    row = _get_or_add(NeedFact, need_id=d["need_id"])
    row.community_id, row.channel = d["community_id"], d["channel"]
    row.reported_on = _day(d["reported_at"])


def _case(d) -> CaseFact:
    row = _get_or_add(CaseFact, case_id=d["case_id"])
    row.community_id, row.resident_ref, row.need_id = (
        d["community_id"], d["resident_ref"], d["need_id"])
    return row


@looks_up(lambda d: [(CaseFact, d["case_id"])])
def case_opened(event) -> None:
    d = event.data
    _case(d).opened_on = _day(d["opened_on"])
    _acts(event, [d["resident_ref"]], "served", d["community_id"], _day(d["opened_on"]))


@looks_up(lambda d: [(CaseFact, d["case_id"])])
def case_closed(event) -> None:
    d = event.data
    row = _case(d)
    row.closed_on, row.outcome = _day(d["closed_on"]), d["outcome"]


@looks_up(lambda d: [(Initiative, d["session_id"])])
def session(event) -> None:
    d, on = event.data, _day(event.data["date"])
    kind = "served" if d["method"] == "casework" else "attended"
    _acts(event, d["attendee_refs"], kind, d["community_id"], on, **_hours(d))
    _acts(event, d["leader_refs"], "led", d["community_id"], on, **_hours(d))
    _initiative(d["session_id"], "session", d["community_id"], on, d["led_by"] != "agency",
                detail=d["method"], channel=d["mode"], hours=d["hours"],
                workers=len(d["worker_ids"]), helpers=len(d["leader_refs"]),
                worker_ids=d["worker_ids"], attendees=len(set(d["attendee_refs"])),
                **_hours(d))


@looks_up(lambda d: [(Initiative, d["activity_id"])])
def activity(event) -> None:
    d, on = event.data, _day(event.data["date"])
    volunteering = d["kind"] == "volunteer_service"
    kind = "volunteered" if volunteering else "trained" if d["kind"] in TRAINING_KINDS \
        else "attended"
    _acts(event, d["attendee_refs"], kind, d["community_id"], on, **_hours(d))
    _acts(event, d["leader_refs"], "led", d["community_id"], on, **_hours(d))
    helpers = len(d["leader_refs"]) + (len(d["attendee_refs"]) if volunteering else 0)
    _initiative(d["activity_id"], "activity", d["community_id"], on, d["led_by"] != "agency",
                detail=d["kind"], organization_id=d["organization_id"], hours=d["hours"],
                workers=len(d.get("worker_ids", [])), helpers=helpers,
                worker_ids=d.get("worker_ids", []), attendees=len(set(d["attendee_refs"])),
                **_hours(d))


@looks_up(lambda d: [(VolunteerFact, d["resident_ref"], d["community_id"])])
def volunteer(event) -> None:
    d = event.data
    _get_or_add(VolunteerFact, resident_ref=d["resident_ref"],
                community_id=d["community_id"]).registered_on = _day(d["registered_on"])
    _acts(event, [d["resident_ref"]], "registered_volunteer", d["community_id"],
          _day(d["registered_on"]))


@looks_up(lambda d: [(OrganizationFact, d["organization_id"])])
def organization(event) -> None:
    d = event.data
    on = _day(d.get("formed_on") or d["on"])
    row = _get_or_add(OrganizationFact, organization_id=d["organization_id"])
    row.community_id, row.status = d["community_id"], d["status"]
    row.formed_on = _day(d["formed_on"]) if "formed_on" in d else row.formed_on or on
    _acts(event, d["member_refs"], "member", d["community_id"], on)
    _acts(event, d["leader_refs"], "led", d["community_id"], on)


@looks_up(lambda d: [
    (TopicFact, d["topic_id"]), (Initiative, d["topic_id"]),
    *((TopicNeed, d["topic_id"], need_id) for need_id in d["need_ids"])])
def topic_proposed(event) -> None:
    d, on = event.data, _day(event.data["proposed_on"])
    row = _topic(d["topic_id"], d["community_id"])
    row.proposer_kind, row.proposer_ref, row.proposed_on = (
        d["proposer_kind"], d["proposer_ref"], on)
    if d["proposer_kind"] == "resident":
        _acts(event, [d["proposer_ref"]], "proposed", d["community_id"], on)
    for need_id in d["need_ids"]:
        _get_or_add(TopicNeed, topic_id=d["topic_id"], need_id=need_id)
    _initiative(d["topic_id"], "topic", d["community_id"], on, d["proposer_kind"] == "resident",
                channel=d["channel"])


def meeting(event) -> None:
    d = event.data
    _acts(event, d["attendee_refs"], "attended", d["community_id"], _day(d["date"]),
          **_hours(d))


@looks_up(lambda d: [(TopicFact, d["topic_id"])])
def decision(event) -> None:
    d, on = event.data, _day(event.data["decided_on"])
    row = _topic(d["topic_id"], d["community_id"])
    if row.decided_on is None or on >= row.decided_on:  # a later decision supersedes
        row.decision_id, row.outcome = d["decision_id"], d["outcome"]
        row.decision_mode, row.decided_on = d["decision_mode"], on
    _acts(event, d["voter_refs"], "voted", d["community_id"], on)


def progressed(event) -> None:
    d, on = event.data, _day(event.data["on"])
    db.session.flush()  # the decision may have come earlier in this batch
    row = db.session.scalar(sa.select(TopicFact).where(TopicFact.decision_id == d["decision_id"]))
    if row is None:  # the decision has not arrived yet: retried until it has
        raise LookupError(f"decision {d['decision_id']} not projected yet")
    if row.progress_on is None or on >= row.progress_on:
        row.progress, row.progress_status, row.progress_on = d["progress"], d["status"], on


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


def corrected(event) -> None:
    """Re-project the corrected record: the original event with the corrected values, under
    the original event's id, replacing what it projected before."""
    db.session.flush()  # the original may have come earlier in this batch
    body = db.session.scalar(sa.select(event_store.InboxEvent.body).where(
        event_store.InboxEvent.event_id == event.data["corrects_event_id"]))
    if body is None:
        raise LookupError("the corrected event has not arrived yet")
    original = Event.from_json(body)
    if original.short_type not in CORRECTABLE:
        return
    merged = Event(**{**original.__dict__, "data": {**original.data,
                                                    **event.data["changes"]}})
    db.session.execute(sa.delete(Act).where(Act.event_id == original.id))
    CORRECTABLE[original.short_type](merged)


CORRECTABLE = {"session.delivered": session, "capacity.activity_held": activity,
               "council.meeting_held": meeting, "council.decision_made": decision}

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


PROJECTION_TABLES = (RecordEvent, Act, Initiative, TopicFact, TopicNeed, ResidentFact,
                     NeedFact, CaseFact, OrganizationFact, VolunteerFact, Jurisdiction,
                     ContractableAgency, FundFact, FundProjectFact, FundBallotFact)
