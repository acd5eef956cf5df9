"""Evidence: from every figure to the records behind it, from a record to its events, and
from an event to the casework or intake record it reports.

Each consumed event is indexed by the record it is about (RecordEvent), with the record's
day and the day the event was recorded; a measure's drill-down lists the records its
figure is computed from, with the fields that decide whether each one counts."""
import json
from datetime import date
from urllib.parse import quote, urlencode

import sqlalchemy as sa

from shared.config import service_url
from shared.db import add_row, find, flush
from shared.errors import ApiError
from shared.localtime import instant, local_day

from . import fund_measures
from .attachments import KINDS, drill_down_id, files_of
from .measures import Scope, known, of_grid, topic_cycles, within
from .models import (Act, CaseFact, FundBallotFact, FundProjectFact, Initiative, NeedFact,
                     OrganizationFact, RecordEvent, TopicNeed, VerificationItem,
                     VerificationSample, VolunteerFact, db, event_store)

RECORDS = {  # event -> (the record it is about, the record's id field, its day field)
    "resident.registered": ("resident", "resident_ref", "registered_on"),
    "resident.updated": ("resident", "resident_ref", "updated_on"),
    "need.reported": ("need", "need_id", "reported_at"),
    "need.triaged": ("need", "need_id", "triaged_at"),
    "need.withdrawn": ("need", "need_id", "withdrawn_at"),
    "case.opened": ("case", "case_id", "opened_on"),
    "case.goal_set": ("case", "case_id", "set_on"),
    "case.closed": ("case", "case_id", "closed_on"),
    "session.delivered": ("session", "session_id", "date"),
    "capacity.activity_held": ("activity", "activity_id", "date"),
    "volunteer.registered": ("volunteer", "volunteer_id", "registered_on"),
    "organization.formed": ("organization", "organization_id", "formed_on"),
    "organization.updated": ("organization", "organization_id", "on"),
    "council.topic_proposed": ("topic", "topic_id", "proposed_on"),
    "council.topic_supported": ("topic", "topic_id", "supported_on"),
    "council.meeting_held": ("meeting", "meeting_id", "date"),
    "council.decision_made": ("decision", "decision_id", "decided_on"),
    "council.decision_progressed": ("decision", "decision_id", "on"),
    "fund.phase_changed": ("fund", "fund_id", "on"),
    "fund.project_proposed": ("fund", "fund_id", "proposed_on"),
    "fund.project_supported": ("fund", "fund_id", "on"),
    "fund.project_reviewed": ("fund", "fund_id", "on"),
    "fund.objection_recorded": ("fund", "fund_id", "on"),
    "fund.results_published": ("fund", "fund_id", "on"),
    "fund.project_delivered": ("fund", "fund_id", "on"),
    "fund.ballot_cast": ("fund_ballot", "ballot_id", "cast_on"),
}


def index(event) -> None:
    """Record which record `event` is about (a correction: the record it corrects)."""
    d = event.data
    if event.short_type == "record.corrected":
        flush(db.session)  # the original may have come earlier in this batch
        original = db.session.get(RecordEvent, d["corrects_event_id"])
        if original is not None:
            _add(event, original.record_kind, original.record_id, original.community_id,
                 original.on)
        return
    if event.short_type in ("evidence.attached", "evidence.hidden"):
        d = event.data
        _add(event, KINDS[d["record_type"]], drill_down_id(d), d["community_id"],
             date.fromisoformat(d.get("record_on") or event.time[:10]))
        return
    if event.short_type not in RECORDS:
        return
    kind, id_field, day_field = RECORDS[event.short_type]
    community = d.get("community_id") or _case_community(d.get("case_id")) or "-"
    _add(event, kind, d[id_field], community, local_day(d[day_field]))


def _case_community(case_id: str | None) -> str | None:
    case = find(db.session, CaseFact, case_id) if case_id else None
    return case.community_id if case else None


def _add(event, kind: str, record_id: str, community_id: str, on: date) -> None:
    add_row(db.session, RecordEvent, event_id=event.id, type=event.short_type,
            record_kind=kind, record_id=record_id, community_id=community_id, on=on,
            recorded_on=local_day(event.time), recorded_at=instant(event.time))


# -- the records behind each measure --------------------------------------------------------

def _acts(scope: Scope, _contract) -> list[dict]:
    query = of_grid(scope, sa.select(
        Act, RecordEvent.record_kind, RecordEvent.record_id).outerjoin(
        RecordEvent, RecordEvent.event_id == Act.event_id).where(
        *within(scope, Act.community_id, Act.on)))
    return [{"record_kind": kind, "record_id": record_id, "on": act.on,
             "resident_ref": act.resident_ref, "act": act.kind, "rung": act.rung,
             "event_ids": [act.event_id]}
            for act, kind, record_id in db.session.execute(query.order_by(Act.on, Act.id))]


def _initiatives(scope: Scope, _contract) -> list[dict]:
    rows = db.session.scalars(sa.select(Initiative).where(
        *within(scope, Initiative.community_id, Initiative.on)).order_by(
        Initiative.on, Initiative.record_id))
    return [{"record_kind": i.kind, "record_id": i.record_id, "on": i.on,
             "resident_led": i.resident_led, "detail": i.detail, "channel": i.channel,
             "hours": i.hours, "workers": i.workers, "attendees": i.attendees} for i in rows]


def _topics(scope: Scope, _contract) -> list[dict]:
    def in_range(day):
        return day is not None and scope.start <= day <= scope.end
    rows = sorted((c for c in topic_cycles(scope)
                   if in_range(c["proposed_on"]) or in_range(c["decided_on"])),
                  key=lambda c: (c["proposed_on"], c["topic_id"]))
    return [{"record_kind": "topic", "record_id": c["topic_id"], "on": c["proposed_on"],
             "proposer_kind": c["proposer_kind"], "proposer_ref": c["proposer_ref"],
             "decision_id": c["decision_id"], "outcome": c["outcome"],
             "decision_mode": c["decision_mode"], "decided_on": c["decided_on"],
             "progress": c["progress"], "progress_status": c["status"],
             "progress_on": c["progress_on"]} for c in rows]


def _needs(scope: Scope, _contract) -> list[dict]:
    needs = db.session.scalars(sa.select(NeedFact).where(
        *within(scope, NeedFact.community_id, NeedFact.reported_on)).order_by(
        NeedFact.reported_on, NeedFact.need_id)).all()
    ids = [n.need_id for n in needs]
    cases = dict(db.session.execute(sa.select(CaseFact.need_id, CaseFact.case_id).where(
        CaseFact.need_id.in_(ids), CaseFact.opened_on.is_not(None),
        *known(scope, CaseFact, CaseFact.opened_recorded_at))).all())
    topics = dict(db.session.execute(sa.select(TopicNeed.need_id, TopicNeed.topic_id).where(
        TopicNeed.need_id.in_(ids), *known(scope, TopicNeed))).all())
    return [{"record_kind": "need", "record_id": n.need_id, "on": n.reported_on,
             "channel": n.channel, "case_id": cases.get(n.need_id),
             "topic_id": topics.get(n.need_id)} for n in needs]


def _cases(scope: Scope, _contract) -> list[dict]:
    opened = sa.and_(CaseFact.opened_on.between(scope.start, scope.end),
                     *known(scope, CaseFact, CaseFact.opened_recorded_at))
    closed = sa.and_(CaseFact.closed_on.between(scope.start, scope.end),
                     *known(scope, CaseFact, CaseFact.closed_recorded_at))
    rows = db.session.scalars(sa.select(CaseFact).where(
        CaseFact.community_id.in_(scope.communities), sa.or_(opened, closed)).order_by(
        CaseFact.opened_on, CaseFact.case_id)).all()
    closed_known = {c.case_id for c in rows if _known_at(scope, c.closed_recorded_at)}
    return [{"record_kind": "case", "record_id": c.case_id, "on": c.opened_on,
             "resident_ref": c.resident_ref, "need_id": c.need_id,
             "closed_on": c.closed_on if c.case_id in closed_known else None,
             "outcome": c.outcome if c.case_id in closed_known else None} for c in rows]


def _known_at(scope: Scope, recorded_at) -> bool:
    return recorded_at is not None and (scope.as_of is None or recorded_at <= scope.as_of)


def _organizations(scope: Scope, _contract) -> list[dict]:
    rows = db.session.scalars(sa.select(OrganizationFact).where(
        OrganizationFact.community_id.in_(scope.communities),
        OrganizationFact.formed_on <= scope.end, *known(scope, OrganizationFact)).order_by(
        OrganizationFact.formed_on))
    return [{"record_kind": "organization", "record_id": o.organization_id,
             "on": o.formed_on, "status": o.status} for o in rows]


def _volunteers(scope: Scope, _contract) -> list[dict]:
    rows = db.session.scalars(sa.select(VolunteerFact).where(
        VolunteerFact.community_id.in_(scope.communities),
        VolunteerFact.registered_on <= scope.end, *known(scope, VolunteerFact)).order_by(
        VolunteerFact.registered_on))
    return [{"record_kind": "volunteer", "record_id": v.resident_ref, "on": v.registered_on,
             "resident_ref": v.resident_ref} for v in rows]


def _verified(scope: Scope, contract) -> list[dict]:
    rows = db.session.execute(sa.select(VerificationItem, VerificationSample.kind).join(
        VerificationSample).where(VerificationSample.contract_id == contract.id,
                                  VerificationItem.on.between(scope.start, scope.end)).order_by(
        VerificationItem.on, VerificationItem.record_id))
    return [{"record_kind": kind, "record_id": item.record_id, "on": item.on,
             "sample_id": item.sample_id, "result": item.result, "method": item.method,
             "verified_by": item.verified_by} for item, kind in rows]


def _fund_projects(scope: Scope, _contract) -> list[dict]:
    """The projects of the scope's funds as evaluation counts them, with their votes."""
    rows = []
    for fund in fund_measures.funds_in(scope):
        outcomes = {o.project_id: o for o in fund_measures.results(fund)}
        for p in db.session.scalars(sa.select(FundProjectFact).where(
                FundProjectFact.fund_id == fund.fund_id).order_by(FundProjectFact.number)):
            o = outcomes.get(p.project_id)
            rows.append({"record_kind": "fund", "record_id": fund.fund_id, "on": fund.results_on,
                         "project_id": p.project_id, "number": p.number,
                         "proposer_kind": p.proposer_kind, "status": p.status,
                         "price": p.price and str(p.price), "votes": o and o.votes,
                         "funded": bool(o and o.funded), "reason": o and o.reason,
                         "decision_id": p.decision_id,
                         "actual_cost": p.actual_cost and str(p.actual_cost)})
    return rows


def _fund_ballots(scope: Scope, _contract) -> list[dict]:
    """Each voter's ballots, the first of each resident counted."""
    rows, counted = [], set()
    funds = fund_measures.funds_in(scope)
    ballots = db.session.scalars(sa.select(FundBallotFact).where(
        FundBallotFact.fund_id.in_([f.fund_id for f in funds])).order_by(
        FundBallotFact.seq)).all()
    for b in ballots:
        first = (b.fund_id, b.resident_ref) not in counted
        counted.add((b.fund_id, b.resident_ref))
        rows.append({"record_kind": "fund_ballot", "record_id": b.ballot_id, "on": b.cast_on,
                     "fund_id": b.fund_id, "resident_ref": b.resident_ref,
                     "channel": b.channel, "counted": first})
    return rows


FAMILIES = {"acts": _acts, "initiatives": _initiatives, "topics": _topics, "needs": _needs,
            "cases": _cases, "organizations": _organizations, "volunteers": _volunteers,
            "verifications": _verified, "fund_projects": _fund_projects,
            "fund_ballots": _fund_ballots}
BEHIND = {  # measure (or output) -> the family of records its figure is computed from
    **dict.fromkeys(("ladder_participant_share", "ladder_contributor_share",
                     "ladder_codecider_share", "ladder_leader_count", "breadth", "stability",
                     "representativeness_gap", "capacity_to_leadership", "cost_per_outcome"),
                    "acts"),
    **dict.fromkeys(("dependency_ratio", "sessions", "service_hours", "activities"),
                    "initiatives"),
    **dict.fromkeys(("resident_topic_adoption", "resident_share_of_adopted", "response_days",
                     "follow_through", "stalled_share", "decision_mode_delegated"), "topics"),
    **dict.fromkeys(("need_traceability", "digital_channel_share"), "needs"),
    **dict.fromkeys(("service_to_participation", "cases"), "cases"),
    "organisational_vitality": "organizations",
    "volunteer_activation": "volunteers",
    "verified_share": "verifications",
    **dict.fromkeys(("fund_vote_share", "fund_resident_proposed_share", "fund_delivery_rate",
                     "fund_cost_accuracy"), "fund_projects"),
    **dict.fromkeys(("fund_turnout", "fund_voter_representativeness_gap"), "fund_ballots"),
}


def records(measure: str, scope: Scope, contract) -> list[dict]:
    """The records behind a measure's figure in the scope, each with its events' ids."""
    rows = FAMILIES[BEHIND[measure]](scope, contract)
    _attach_events(rows)
    _attach_files(rows)
    return rows


def events_of(record_ids) -> dict[str, list[str]]:
    """{record id: the ids of the events about it, in the records' day order}"""
    found: dict[str, list[str]] = {}
    for chunk in _chunks(sorted(set(record_ids))):
        for record_id, event_id in db.session.execute(sa.select(
                RecordEvent.record_id, RecordEvent.event_id).where(
                RecordEvent.record_id.in_(chunk)).order_by(RecordEvent.on,
                                                           RecordEvent.event_id)):
            found.setdefault(record_id, []).append(event_id)
    return found


def _attach_events(rows: list[dict]) -> None:
    found = events_of([r["record_id"] for r in rows if "event_ids" not in r]
                      + [r["decision_id"] for r in rows if r.get("decision_id")])
    for row in rows:
        if "event_ids" not in row:
            row["event_ids"] = found.get(row["record_id"], []) + found.get(
                row.get("decision_id") or "", [])


def _attach_files(rows: list[dict]) -> None:
    """Each record's evidence files (a topic: its decision's)."""
    found = files_of([r["record_id"] for r in rows]
                     + [r["decision_id"] for r in rows if r.get("decision_id")])
    for row in rows:
        row["files"] = found.get(row["record_id"], []) + found.get(
            row.get("decision_id") or "", [])


def _chunks(items: list, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i:i + size]


# -- from an event to its record ------------------------------------------------------------

RECORD_PAGES = {  # record kind -> (service, path) where a reader finds the record itself
    "session": ("casework", "/sessions/{id}"), "case": ("casework", "/cases/{id}"),
    "decision": ("casework", "/council/decisions/{id}/progress"),
    "activity": ("casework", "/activities"), "meeting": ("casework", "/council/meetings"),
    "topic": ("casework", "/council/topics"), "organization": ("casework", "/organizations"),
    "volunteer": ("casework", "/volunteers"), "need": ("intake", "/needs/{id}"),
    "fund": ("casework", "/funds/{id}"),
}


def record_link(index: RecordEvent) -> dict:
    link = {"kind": index.record_kind, "id": index.record_id}
    if index.record_kind in RECORD_PAGES:
        service, path = RECORD_PAGES[index.record_kind]
        url = service_url(service) + path.format(id=quote(index.record_id, safe=""))
        if "{id}" not in path:  # a list: narrowed to the record's community and day
            url += "?" + urlencode({"community_id": index.community_id,
                                    "date_from": index.on, "date_to": index.on})
        link["url"] = url
    return link


LASTING = ("organization", "volunteer")  # counted by the figures from whenever they began


def event_for(contract, event_id: str) -> dict:
    """A stored event behind one of the contract's figures, with a link to its record: one of
    the contract's communities, in its period (organisations and volunteers count from
    before it, as long as they last), and of its agency where the event names one (another
    agency's record there is not this contract's evidence)."""
    index = db.session.get(RecordEvent, event_id)
    body = index and db.session.scalar(sa.select(event_store.InboxEvent.body).where(
        event_store.InboxEvent.event_id == event_id))
    event = json.loads(body) if body else None
    since = None if index is not None and index.record_kind in LASTING else \
        contract.period_start
    if event is None or index.community_id not in contract.community_ids or \
            index.on > contract.period_end or (since and index.on < since) or \
            event["data"].get("agency_id", contract.agency_id) != contract.agency_id:
        raise ApiError(404, f"Event {event_id} not found", f"未找到事件 {event_id}")
    return {"event": event, "record": record_link(index)}
