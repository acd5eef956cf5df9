"""Each figure as docs/MEASURES.md defines it, on small stories worked out by hand: one test
for each place where the figures once counted something other than what they said."""
import os
from datetime import date
from decimal import Decimal
from unittest import mock

import pytest

from services.evaluation import measures, scorecard
from shared import clock
from shared.localtime import end_of_day
from tests.conftest import bearer
from tests.streams import apply_events, forge, grant

HALF = measures.Scope(("c1",), date(2026, 1, 1), date(2026, 6, 30))
BASE = {"agency_id": "a1", "community_id": "c1"}


def timed(day, start="09:00", end="11:00", hours=2.0):
    return {"date": day, "start": start, "end": end, "hours": hours}


def session(sid, day, attendees, led_by="agency", leaders=(), method="group_work"):
    return ("session.delivered", {
        **BASE, "session_id": sid, "method": method, "mode": "in_person", "case_id": None,
        "worker_ids": ["w1"], "led_by": led_by, "leader_refs": list(leaders),
        "attendee_refs": list(attendees), **timed(day)})


def resident(ref, community="c1", registered="2025-12-01"):
    return ("resident.registered", {
        "resident_ref": ref, "community_id": community, "grid_id": "g1", "household_ref": None,
        "household_type": "nuclear", "age_band": "35-59", "gender": "female", "flags": [],
        "registered_on": registered})


def decision(did, tid, day, outcome="adopted", mode="consulted"):
    return ("council.decision_made", {
        "decision_id": did, "topic_id": tid, "meeting_id": "m1", "community_id": "c1",
        "votes_for": 3, "votes_against": 0, "abstentions": 0, "voter_refs": [],
        "outcome": outcome, "decision_mode": mode, "decided_on": day})


def topic(tid, day, kind="resident", ref="r9"):
    return ("council.topic_proposed", {"topic_id": tid, "community_id": "c1",
                                       "proposer_kind": kind, "proposer_ref": ref,
                                       "need_ids": [], "channel": "in_person",
                                       "proposed_on": day})


INTAKE = ("resident.registered", "resident.updated", "need.reported")


def told(app, *story):
    events = [forge(short, data, source="/intake" if short in INTAKE else "/casework")
              for short, data in story]
    assert apply_events(app, *events) == ["applied"] * len(events)
    return events


@pytest.fixture
def evaluation(backend):
    app = backend.app("evaluation")
    grant(app)
    return app


def measured(app, fn, scope=HALF):
    with app.app_context():
        return fn(scope)


def test_volunteer_activation_counts_residents_and_those_who_lead_the_service(evaluation):
    # r1 is a volunteer in both communities (one resident), r2 in c1; r2 leads a
    # resident-led volunteer service on 10 May (r3, who attends, is no volunteer)
    told(evaluation,
         ("volunteer.registered", {**BASE, "volunteer_id": "v1", "resident_ref": "r1",
                                   "registered_on": "2026-03-01"}),
         ("volunteer.registered", {**BASE, "community_id": "c2", "volunteer_id": "v1b",
                                   "resident_ref": "r1", "registered_on": "2026-03-01"}),
         ("volunteer.registered", {**BASE, "volunteer_id": "v2", "resident_ref": "r2",
                                   "registered_on": "2026-03-01"}),
         ("capacity.activity_held", {**BASE, "activity_id": "a1", "kind": "volunteer_service",
                                     "led_by": "resident", "organization_id": None,
                                     "leader_refs": ["r2"], "attendee_refs": ["r3"],
                                     "worker_ids": [], **timed("2026-05-10")}))
    both = measures.Scope(("c1", "c2"), HALF.start, HALF.end)
    result = measured(evaluation, measures.volunteer_activation, both)
    assert result["active"] == {"value": 0.5, "numerator": 1, "denominator": 2}
    assert result["volunteer_hours"] == 4.0  # 2 hours by r2 and r3


def test_only_a_resident_led_session_makes_its_leaders_leaders(evaluation):
    # r1 helps lead an agency-led session: a participant; r2 leads a resident-led one
    told(evaluation, session("s1", "2026-02-01", ["r3"], leaders=["r1"]),
         session("s2", "2026-02-02", ["r3"], led_by="resident", leaders=["r2"]))
    result = measured(evaluation, measures.ladder)
    assert result["residents"] == 3
    assert result["highest"]["participant"] == 2 and result["highest"]["leader"] == 1


def test_an_organisation_update_makes_acts_only_for_newcomers_while_it_lives(evaluation):
    # o1 formed 1 Feb (r1 leads, r1 member); 1 Mar r2 joins; 1 Apr it goes dormant, 1 May
    # it is dissolved: neither is anyone's participation
    org = {**BASE, "organization_id": "o1"}
    told(evaluation,
         ("organization.formed", {**org, "kind": "兴趣类", "status": "active",
                                  "formed_on": "2026-02-01", "leader_refs": ["r1"],
                                  "member_refs": ["r1"]}),
         ("organization.updated", {**org, "status": "active", "leader_refs": ["r1"],
                                   "member_refs": ["r1", "r2"], "on": "2026-03-01"}),
         ("organization.updated", {**org, "status": "dormant", "leader_refs": ["r1"],
                                   "member_refs": ["r1", "r2"], "on": "2026-04-01"}),
         ("organization.updated", {**org, "status": "dissolved", "leader_refs": ["r1"],
                                   "member_refs": ["r1", "r2"], "on": "2026-05-01"}))
    # r1 acted in February only, r2 in March only: nobody in two months
    assert measured(evaluation, measures.stability) == {"value": 0.0, "numerator": 0,
                                                        "denominator": 2}
    april_on = measures.Scope(("c1",), date(2026, 4, 1), date(2026, 6, 30))
    assert measured(evaluation, measures.ladder, april_on)["residents"] == 0


def test_corrections_accumulate_and_corrected_times_recompute_the_hours(evaluation):
    (s1,) = told(evaluation, session("s1", "2026-02-01", ["r1"]))
    told(evaluation,
         ("record.corrected", {"record_type": "session", "record_id": "s1",
                               "corrects_event_id": s1.id,
                               "changes": {"attendee_refs": ["r1", "r2"]}}),
         ("record.corrected", {"record_type": "session", "record_id": "s1",
                               "corrects_event_id": s1.id, "changes": {"end": "12:00"}}))
    # the second correction keeps the first's attendees; 09:00-12:00 is 3 hours
    assert measured(evaluation, measures.ladder)["residents"] == 2
    assert measured(evaluation, measures.outputs)["service_hours"] == 3.0
    assert measured(evaluation, measures.volunteer_activation)["worker_hours"] == 3.0


@pytest.mark.parametrize("together", [True, False], ids=["one batch", "one by one"])
def test_corrections_count_in_the_order_they_were_recorded(evaluation, together):
    """Two corrections entered at once can take their sequence numbers in the other order
    than their times: the record as of any time is the original with the corrections
    recorded by then, never two versions of it at once."""
    def at(day):
        return f"{day}T03:00:00.000000Z"
    s1 = forge(*session("s1", "2026-02-01", ["r1"]), source="/casework", time=at("2026-02-01"))
    assert apply_events(evaluation, s1) == ["applied"]
    fix = {"record_type": "session", "record_id": "s1", "corrects_event_id": s1.id}
    corrections = [  # casework's order: the later-recorded one first
        forge("record.corrected", {**fix, "changes": {"attendee_refs": ["r1", "r2"]}},
              source="/casework", time=at("2026-03-20")),
        forge("record.corrected", {**fix, "changes": {"end": "12:00"}},
              source="/casework", time=at("2026-03-10"))]
    batches = [corrections] if together else [[c] for c in corrections]
    for batch in batches:
        assert apply_events(evaluation, *batch) == ["applied"] * len(batch)
    for as_of, hours, residents in (("2026-02-15", 2.0, 1), ("2026-03-15", 3.0, 1),
                                    ("2026-03-25", 3.0, 2), (None, 3.0, 2)):
        when = None if as_of is None else end_of_day(date.fromisoformat(as_of))
        scope = measures.Scope(("c1",), date(2026, 1, 1), date(2026, 6, 30), as_of=when)
        assert measured(evaluation, measures.outputs, scope) == {
            "cases": 0, "sessions": 1, "service_hours": hours, "activities": 0}, as_of
        assert measured(evaluation, measures.ladder, scope)["residents"] == residents, as_of


def test_stalled_reads_progress_reported_up_to_the_range_end_only(evaluation):
    told(evaluation, topic("t1", "2026-01-05"), decision("d1", "t1", "2026-01-10"),
         ("council.decision_progressed", {"decision_id": "d1", "community_id": "c1",
                                          "status": "in_progress", "progress": 20,
                                          "on": "2026-02-01"}),
         ("council.decision_progressed", {"decision_id": "d1", "community_id": "c1",
                                          "status": "done", "progress": 100,
                                          "on": "2026-08-01"}))
    # at 30 June the last progress was on 1 February, 149 days before: stalled, not done
    result = measured(evaluation, measures.follow_through)
    assert result["stalled"] == {"value": 1.0, "numerator": 1, "denominator": 1}
    assert result["carried_out"]["numerator"] == 0 and result["mean_progress"] == 20.0
    year = measures.Scope(("c1",), date(2026, 1, 1), date(2026, 12, 31))
    assert measured(evaluation, measures.follow_through, year)["carried_out"]["value"] == 1.0


def test_a_registration_applied_after_a_newer_update_keeps_its_date(evaluation):
    from services.evaluation.handlers import HANDLERS
    from services.evaluation.models import db
    registered = forge(*resident("r1", registered="2026-05-01"), source="/intake")
    data = {k: v for k, v in registered.data.items() if k != "registered_on"}
    updated = forge("resident.updated", {**data, "grid_id": "g2", "updated_on": "2026-05-02"},
                    source="/intake")
    with evaluation.app_context():  # the projection applied out of order, as a rebuild might
        HANDLERS["resident.updated"](updated)
        HANDLERS["resident.registered"](registered)
        db.session.commit()
    first_quarter = measures.Scope(("c1",), date(2026, 1, 1), date(2026, 3, 31))
    assert measured(evaluation, measures.breadth, first_quarter)["denominator"] == 0
    grid = measures.Scope(("c1",), date(2026, 1, 1), date(2026, 6, 30), grid_id="g2")
    assert measured(evaluation, measures.breadth, grid)["denominator"] == 1


def test_served_to_participant_is_counted_among_residents_served(evaluation):
    # r1 and r2 served (casework sessions); r1 then joins a group; r3 joins, never served
    told(evaluation, session("k1", "2026-02-01", ["r1"], method="casework"),
         session("k2", "2026-02-02", ["r2"], method="casework"),
         session("g1", "2026-03-01", ["r1", "r3"]))
    conversion = measured(evaluation, measures.ladder)["conversion"]
    assert conversion["served_to_participant"] == {"value": 0.5, "numerator": 1,
                                                   "denominator": 2}


def test_decisions_delegated_counts_delegation_only(evaluation):
    told(evaluation, *(topic(f"t{i}", "2026-02-01") for i in range(3)),
         decision("d0", "t0", "2026-02-10", mode="delegated"),
         decision("d1", "t1", "2026-02-10", mode="partnership"),
         decision("d2", "t2", "2026-02-10", mode="consulted"))
    measure, extract = scorecard.SOURCES["decision_mode_delegated"]
    result = measured(evaluation, measure)
    assert extract(result) == 0.3333
    assert result["resident_power"]["value"] == 0.6667  # shown beside it, not paid


def test_a_day_is_the_communitys_date(evaluation):
    def need(nid, at):
        return ("need.reported", {"need_id": nid, "community_id": "c1", "grid_id": None,
                                  "resident_ref": None, "household_ref": None,
                                  "category": "health", "urgency": "routine",
                                  "safety_flag": False, "channel": "online",
                                  "reported_at": at})
    # 23:30 on 31 March and 00:30 on 1 April in China (both 31 March in UTC)
    told(evaluation, need("n1", "2026-03-31T15:30:00Z"), need("n2", "2026-03-31T16:30:00Z"))
    march = measures.Scope(("c1",), date(2026, 3, 1), date(2026, 3, 31))
    april = measures.Scope(("c1",), date(2026, 4, 1), date(2026, 4, 30))
    assert measured(evaluation, measures.traceability, march)["traced"]["denominator"] == 1
    assert measured(evaluation, measures.traceability, april)["traced"]["denominator"] == 1
    assert measured(evaluation, measures.channels, april)["digital"]["numerator"] == 1


def test_today_is_the_communitys_date(evaluation, backend):
    """At 01:00 on 1 July in China (17:00 UTC on 30 June) a card's default range ends on
    1 July, so what was recorded that morning is in it (the machine's UTC date left it out)."""
    client = evaluation.test_client()
    buyer = {**bearer(backend.token("buyer_auditor", buyer_id="b1")),
             clock.HEADER: "2026-06-30T17:00:00Z"}
    with mock.patch.dict(os.environ, {clock.SETTING: "header"}):
        assert client.post("/contracts", headers=buyer, json={
            "id": "k1", "agency_id": "a1", "community_ids": ["c1"], "budget": "1000",
            "period_start": "2026-01-01", "period_end": "2026-12-31"}).status_code == 201
        card = client.get("/contracts/k1/scorecard", headers=buyer)
    assert card.status_code == 200 and card.json["scope"]["to"] == "2026-07-01"


def test_a_milestone_needs_a_minimum_score_above_zero(evaluation, backend):
    client = evaluation.test_client()
    buyer = bearer(backend.token("buyer_auditor", buyer_id="b1"))
    refused = client.post("/contracts", headers=buyer, json={
        "id": "k0", "agency_id": "a1", "community_ids": ["c1"], "budget": "1000",
        "period_start": "2026-01-01", "period_end": "2026-12-31",
        "milestones": [{"id": "m1", "due": "2026-06-30", "share": 1, "min_score": 0}]})
    assert refused.status_code == 422
    assert "min_score" in refused.json["error"]["fields"]["milestones"]["0"]
    # one kept from before is paid in full whatever the score, never a 500
    paid = scorecard.payments([{"id": "m1", "due": "2026-06-30", "share": 1,
                                "min_score": 0}], Decimal(1000), 10.0)
    assert paid[0]["recommended"] == "1000.00" and paid[0]["full"]
