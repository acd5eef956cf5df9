"""The buyer's measures on a small hand-made event set whose answers are worked out here."""
from datetime import date, timedelta
from statistics import median

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.evaluation import measures
from shared.localtime import end_of_day
from tests.streams import FORGED, apply_events, forge, grant

PERIOD = measures.Scope(("c1",), date(2026, 1, 1), date(2026, 6, 30))
BASE = {"agency_id": "a1", "community_id": "c1"}


def timed(day, start="09:00", end="11:00"):
    return {"date": day, "start": start, "end": end, "hours": 2.0}


def session(sid, day, attendees, led_by="agency", leaders=(), method="group_work",
            community="c1"):
    return ("session.delivered", {
        **BASE, "community_id": community, "session_id": sid, "method": method,
        "mode": "in_person", "case_id": None, "worker_ids": ["w1"], "led_by": led_by,
        "leader_refs": list(leaders), "attendee_refs": attendees, **timed(day)})


def topic(tid, day, kind, ref=None, needs=()):
    return ("council.topic_proposed", {"topic_id": tid, "community_id": "c1",
                                       "proposer_kind": kind, "proposer_ref": ref,
                                       "need_ids": list(needs), "channel": "in_person",
                                       "proposed_on": day})


def decision(did, tid, day, voters, outcome, votes=(0, 0, 0), mode="consulted"):
    return ("council.decision_made", {
        "decision_id": did, "topic_id": tid, "meeting_id": "m1", "community_id": "c1",
        "votes_for": votes[0], "votes_against": votes[1], "abstentions": votes[2],
        "voter_refs": voters, "outcome": outcome, "decision_mode": mode, "decided_on": day})


def progress(did, day, status, value):
    return ("council.decision_progressed", {"decision_id": did, "community_id": "c1",
                                            "status": status, "progress": value, "on": day})


def resident(i):
    return ("resident.registered", {
        "resident_ref": f"r{i}", "community_id": "c1", "grid_id": "g1" if i <= 3 else "g2",
        "household_ref": None, "household_type": "nuclear",
        "age_band": "60-69" if i <= 2 else "35-59", "gender": "female" if i <= 4 else "male",
        "flags": [], "registered_on": "2025-12-01"})


def need(nid, day, channel):
    return ("need.reported", {"need_id": nid, "community_id": "c1", "grid_id": None,
                              "resident_ref": None, "household_ref": None,
                              "category": "health", "urgency": "routine",
                              "safety_flag": False, "channel": channel,
                              "reported_at": f"{day}T08:00:00Z"})


def organization(oid, day, members, leaders):
    return ("organization.formed", {**BASE, "organization_id": oid, "kind": "mutual_aid",
                                    "status": "active", "formed_on": day,
                                    "leader_refs": leaders, "member_refs": members})


CASE = {**BASE, "case_id": "k1", "resident_ref": "r1", "need_id": "n1"}
STORY = [
    *[resident(i) for i in range(1, 9)],          # r7, r8 registered, never take part
    need("n1", "2026-01-05", "walk_in"), need("n2", "2026-02-20", "online"),
    need("n3", "2026-03-10", "hotline"), need("n4", "2026-08-01", "online"),
    ("case.opened", {**CASE, "worker_id": "w1", "opened_on": "2026-01-10"}),
    ("case.closed", {**CASE, "outcome": "goals_met", "goal_outcomes": [],
                     "closed_on": "2026-03-01"}),
    organization("o1", "2026-02-20", ["r2", "r6"], ["r6"]),
    organization("o2", "2026-03-01", ["r6", "r4"], ["r6"]),
    ("capacity.activity_held", {**BASE, "activity_id": "a-2", "kind": "volunteer_service",
                                "led_by": "organization", "organization_id": "o1",
                                "leader_refs": ["r6"], "attendee_refs": ["r2"],
                                **timed("2026-05-10", "09:00", "12:00"), "hours": 3.0}),
    ("volunteer.registered", {**BASE, "volunteer_id": "v2", "resident_ref": "r5",
                              "registered_on": "2026-04-01"}),
    session("s1", "2026-02-01", ["r1", "r2", "r3"]),
    ("capacity.activity_held", {**BASE, "activity_id": "a-1", "kind": "training",
                                "led_by": "agency", "organization_id": None,
                                "leader_refs": [], "attendee_refs": ["r4"],
                                **timed("2026-02-15")}),
    ("volunteer.registered", {**BASE, "volunteer_id": "v1", "resident_ref": "r2",
                              "registered_on": "2026-03-01"}),
    topic("t1", "2026-03-05", "resident", "r3", needs=["n2"]),
    topic("t2", "2026-03-06", "social_worker"),
    topic("t3", "2026-03-07", "resident", "r5"),
    ("council.meeting_held", {**BASE, "meeting_id": "m1", "topic_ids": ["t1", "t2", "t3"],
                              "attendee_refs": ["r1", "r2", "r3", "r5"],
                              "facilitated_by": "agency", "mode": "in_person",
                              **timed("2026-03-20", "19:00", "21:00")}),
    decision("d1", "t1", "2026-03-20", ["r1", "r2", "r3"], "adopted", (2, 1, 0), "delegated"),
    decision("d2", "t2", "2026-03-20", [], "adopted"),
    decision("d3", "t3", "2026-04-10", [], "rejected"),
    progress("d1", "2026-05-01", "done", 100),
    progress("d2", "2026-03-25", "in_progress", 30),
    session("s2", "2026-04-01", ["r4"], led_by="resident", leaders=["r6"],
            method="community_work"),
    session("s3", "2026-07-05", ["r5"]),                     # after the period
    session("s4", "2026-02-02", ["r9"], community="c2"),     # another community
]


def on_its_day(short: str, data: dict) -> str:
    """As if recorded on the record's own day (at 11:00 in China)."""
    from services.evaluation.evidence import RECORDS
    return f"{data[RECORDS[short][2]][:10]}T03:00:00.000000Z"


RECORDED = on_its_day  # the story as entered day by day


def story_events(story, time=None):
    """A story's events, each next in its source's sequence, recorded at `time` (a
    timestamp, or a function of the event's type and data; default now)."""
    sources = {"resident.registered": "/intake"}
    return [forge(short, data, source=sources.get(short, "/casework"),
                  time=time(short, data) if callable(time) else time)
            for short, data in story]


def feed(app, story, time=None):
    events = story_events(story, time)
    assert apply_events(app, *events) == ["applied"] * len(events)


@pytest.fixture
def evaluation(backend):
    app = backend.app("evaluation")
    grant(app)
    feed(app, STORY, RECORDED)
    return app


def measured(app, fn, scope=PERIOD):
    with app.app_context():
        return fn(scope)


def test_the_participation_ladder(evaluation):
    result = measured(evaluation, measures.ladder)
    # r1 served, then voted (4); r2 volunteered, voted, member of o1 (4); r3 proposed t1,
    # adopted and carried out (5); r4 trained, then joined o2 (4); r5 proposed (3); r6 leads
    # a session and both organisations (5); r9 is in c2; s3 is after the period
    assert result["residents"] == 6
    assert result["highest"] == {"served": 0, "participant": 0, "contributor": 1,
                                 "co_decider": 3, "leader": 2}
    assert result["at_least"] == {"served": 6, "participant": 6, "contributor": 6,
                                  "co_decider": 5, "leader": 2}
    conversion = {k: v["value"] for k, v in result["conversion"].items()}
    assert conversion == {"served_to_participant": 1.0, "participant_to_contributor": 1.0,
                          "contributor_to_co_decider": 0.8333, "co_decider_to_leader": 0.4}


def test_the_ladder_of_one_grid(evaluation):
    scope = measures.Scope(("c1",), PERIOD.start, PERIOD.end, grid_id="g2")
    result = measured(evaluation, measures.ladder, scope)
    assert result["residents"] == 3  # r4, r5, r6 (r7, r8 took no part)
    assert result["highest"] == {"served": 0, "participant": 0, "contributor": 1,
                                 "co_decider": 1, "leader": 1}


def test_the_dependency_ratio(evaluation):
    # in the period: s1, a-1, t2 by the agency; t1, t3 by residents, s2 resident-led, a-2
    # led by o1
    assert measured(evaluation, measures.dependency_ratio) == {
        "value": 0.5714, "numerator": 4, "denominator": 7}
    first_quarter = measures.Scope(("c1",), date(2026, 1, 1), date(2026, 3, 31))
    assert measured(evaluation, measures.dependency_ratio, first_quarter)["value"] == 0.4


def test_resident_topic_adoption(evaluation):
    result = measured(evaluation, measures.topic_adoption)
    assert result["adoption"] == {"value": 0.5, "numerator": 1, "denominator": 2}
    assert result["resident_share_of_adopted"] == {"value": 0.5, "numerator": 1,
                                                   "denominator": 2}


def test_response_time(evaluation):
    # t1 15 days, t2 14 days, t3 34 days
    result = measured(evaluation, measures.response)
    assert result["median_days"] == 15
    assert result["within_30_days"] == {"value": 0.6667, "numerator": 2, "denominator": 3}


def test_follow_through_and_stalled_decisions(evaluation):
    result = measured(evaluation, measures.follow_through)
    assert result["carried_out"] == {"value": 0.5, "numerator": 1, "denominator": 2}
    assert result["mean_progress"] == 65.0
    # d2: last progress 2026-03-25, 97 days before the period's end
    assert result["stalled"] == {"value": 0.5, "numerator": 1, "denominator": 2}
    early = measures.Scope(("c1",), date(2026, 1, 1), date(2026, 6, 20))
    assert measured(evaluation, measures.follow_through, early)["stalled"]["numerator"] == 0


def test_a_correction_re_projects_the_record(evaluation):
    import sqlalchemy as sa

    from shared.events import Event
    with evaluation.app_context():
        store = evaluation.extensions["socialwork"].store
        bodies = store.session.scalars(sa.select(store.InboxEvent.body).where(
            store.InboxEvent.type == "capacity.activity_held"))
        training_event = next(e.id for e in map(Event.from_json, bodies)
                              if e.data["activity_id"] == "a-1")
    feed_more = [("record.corrected", {"record_type": "capacity_activity", "record_id": "a-1",
                                       "corrects_event_id": training_event,
                                       "reason": "漏登", "changes": {
                                           "attendee_refs": ["r4", "r7"]}})]
    apply_events(evaluation, forge(*feed_more[0], source="/casework"))
    result = measured(evaluation, measures.ladder)
    assert result["residents"] == 7 and result["highest"]["participant"] == 1


def test_rebuilding_gives_the_same_figures(evaluation):
    import sqlalchemy as sa

    from services.evaluation.cli import rebuild
    from services.evaluation.models import db
    figures = (measures.ladder, measures.dependency_ratio, measures.topic_adoption,
               measures.response, measures.follow_through)
    before = [measured(evaluation, fn) for fn in figures]
    with evaluation.app_context():
        assert rebuild() == len(STORY) + 3  # and the reference data grant() gave
        if db.engine.dialect.name == "postgresql":  # left without dead rows, its statistics new
            tidied = db.session.execute(sa.text(
                "SELECT n_dead_tup, last_vacuum IS NOT NULL AND last_analyze IS NOT NULL "
                "FROM pg_stat_user_tables WHERE relname = 'act'")).one()
            db.session.rollback()
            assert tuple(tidied) == (0, True)
    after = [measured(evaluation, fn) for fn in figures]
    assert after == before


def test_one_batch_projects_as_one_event_at_a_time(backend, tmp_path):
    """The worker applies what has arrived in one transaction, flushed once: a topic, its
    decision, the decision's progress and a correction in one batch give the same figures
    as the events applied one by one."""
    from shared.inbox import Inbox
    from tests.conftest import Backend
    events = story_events(STORY)
    training = next(e for e in events if e.data.get("activity_id") == "a-1")
    events.append(forge("record.corrected", {
        "record_type": "capacity_activity", "record_id": "a-1", "corrects_event_id":
        training.id, "reason": "漏登", "changes": {"attendee_refs": ["r4", "r7"]}},
        source="/casework"))
    figures = (measures.ladder, measures.dependency_ratio, measures.topic_adoption,
               measures.response, measures.follow_through, measures.traceability,
               measures.representativeness, measures.capacity_to_leadership,
               measures.service_to_participation, measures.decision_mode, measures.outputs)
    one_at_a_time = backend.app("evaluation")
    assert apply_events(one_at_a_time, *events) == ["applied"] * len(events)
    one_by_one = [measured(one_at_a_time, fn) for fn in figures]
    other = Backend(backend.kind, tmp_path, backend.vhost)
    try:
        batched = other.app("evaluation")
        rt = batched.extensions["socialwork"]
        with batched.app_context():
            assert Inbox(rt.store, rt.spec.handlers, rt.spec.prepare).apply_batch(
                [(event, event.to_json(), "test") for event in events])
        assert [measured(batched, fn) for fn in figures] == one_by_one
    finally:
        other.drop()


def test_traceability_of_needs(evaluation):
    # n1 became case k1 after 5 days, n2 was taken up by topic t1, n3 by nothing; n4 is later
    assert measured(evaluation, measures.traceability) == {
        "traced": {"value": 0.6667, "numerator": 2, "denominator": 3},
        "median_days_to_case": 5}


def test_breadth_and_stability(evaluation):
    assert measured(evaluation, measures.breadth) == {"value": 0.75, "numerator": 6,
                                                      "denominator": 8}
    first_quarter = measures.Scope(("c1",), date(2026, 1, 1), date(2026, 3, 31))
    # everyone but r5 (March only) took part in both February and March
    assert measured(evaluation, measures.stability, first_quarter) == {
        "value": 0.8333, "numerator": 5, "denominator": 6}


def test_representativeness(evaluation):
    # registered: 4 women, 4 men; 2 aged 60-69, 6 aged 35-59; 3 in g1, 5 in g2
    # participants r1-r6: 4 women, 2 men; 2 aged 60-69; 3 in g1, 3 in g2
    result = measured(evaluation, measures.representativeness)
    assert result["gap"] == {"gender": 0.1667, "age_band": 0.0833, "grid_id": 0.125,
                             "household_type": 0.0}
    assert result["without_demographics"]["numerator"] == 0


def test_capacity_to_leadership(evaluation):
    # r4 trained on 15 February and joined o2 on 1 March
    assert measured(evaluation, measures.capacity_to_leadership) == {
        "converted": {"value": 1.0, "numerator": 1, "denominator": 1}, "median_days": 14}


def test_organisations_and_volunteers(evaluation):
    # o1 ran a-2 on 10 May, o2 nothing; r2 served in a-2, r5 only registered
    assert measured(evaluation, measures.organisational_vitality)["value"] == 0.5
    result = measured(evaluation, measures.volunteer_activation)
    assert result["active"] == {"value": 0.5, "numerator": 1, "denominator": 2}
    # a-2: 3 hours by 2 residents; s1 and s2: 2 hours by one worker each
    assert (result["volunteer_hours"], result["worker_hours"], result["hours_ratio"]) == (
        6.0, 4.0, 1.5)


def test_service_to_participation(evaluation):
    # k1 closed on 1 March; r1 attended the council meeting on 20 March
    assert measured(evaluation, measures.service_to_participation)["value"] == 1.0
    late = measures.Scope(("c1",), date(2026, 3, 2), date(2026, 6, 30))
    assert measured(evaluation, measures.service_to_participation, late)["denominator"] == 0


def test_decision_mode_channels_and_outputs(evaluation):
    assert measured(evaluation, measures.decision_mode) == {
        "counts": {"consulted": 2, "delegated": 1},
        "delegated": {"value": 0.3333, "numerator": 1, "denominator": 3},
        "resident_power": {"value": 0.3333, "numerator": 1, "denominator": 3}}
    assert measured(evaluation, measures.channels) == {
        "digital": {"value": 0.1667, "numerator": 1, "denominator": 6},
        "sessions": {"online": 0, "in_person": 2}}
    assert measured(evaluation, measures.outputs) == {
        "cases": 1, "sessions": 2, "service_hours": 4.0, "activities": 2}


def test_indicator_scores_and_bands():
    from services.evaluation.scorecard import band, score
    assert score(0.3, 0.6, True) == 50.0 and score(0.9, 0.6, True) == 100.0
    assert score(45, 30, False) == 66.67 and score(20, 30, False) == 100.0
    assert score(None, 0.5, True) is None
    assert [band(p) for p in (95, 80, 60, 59.9, 10, None)] == [5, 4, 3, 2, 1, None]


def test_the_scorecard_of_a_small_framework(evaluation):
    from services.evaluation.scorecard import compute, payments
    framework = [
        {"key": "institutional", "name_zh": "制度", "name_en": "I", "weight": 60,
         "indicators": [{"measure": "resident_topic_adoption", "weight": 50, "target": 1.0},
                        {"measure": "response_days", "weight": 50, "target": 10}]},
        {"key": "psychological", "name_zh": "心理", "name_en": "P", "weight": 40,
         "indicators": [{"measure": "dependency_ratio", "weight": 100, "target": 0.4},
                        {"measure": "breadth", "weight": 0, "target": 1.0},
                        {"measure": "verified_share", "weight": 0, "target": 0.9}]}]
    with evaluation.app_context():
        card = compute(framework, PERIOD)
    institutional, psychological = card["dimensions"]
    # adoption 0.5 of 1.0 -> 50; median response 15 days against 10 -> 66.67
    assert [i["score"] for i in institutional["indicators"]] == [50.0, 66.67]
    assert institutional["score"] == 58.34  # (50 + 66.67) / 2, rounded
    # dependency 0.5714 against 0.4 -> 100; breadth monitored; verification not measured yet
    assert psychological["score"] == 100.0
    assert psychological["indicators"][1]["monitored"] and \
        psychological["indicators"][1]["score"] == 75.0
    assert psychological["indicators"][2]["value"] is None
    assert card["total"] == 75.0 and card["band"] == 4  # 0.6 * 58.34 + 0.4 * 100
    from decimal import Decimal
    paid = payments([{"id": "m1", "due": "2026-06-30", "share": 0.5, "min_score": 60},
                     {"id": "m2", "due": "2026-12-31", "share": 0.5, "min_score": 80}],
                    Decimal("200000"), card["total"])
    assert [(p["recommended"], p["full"]) for p in paid] == [("100000.00", True),
                                                             ("93750.00", False)]


def test_the_scorecard_api_for_a_buyers_contract(evaluation, backend):
    from services.evaluation.framework import default_framework
    from services.evaluation.scorecard import compute
    from tests.conftest import bearer
    client = evaluation.test_client()
    buyer = bearer(backend.token("buyer_auditor", buyer_id="b1"))
    created = client.post("/contracts", headers=buyer, json={
        "id": "k-t", "agency_id": "a1", "community_ids": ["c1"], "budget": "240000",
        "period_start": "2026-01-01", "period_end": "2026-12-31",
        "milestones": [{"id": "mid", "due": "2026-06-30", "share": 0.5}],
        "targets": {"cases": 10, "sessions": 4}})
    assert created.status_code == 201, created.json
    card = client.get("/contracts/k-t/scorecard?from=2026-01-01&to=2026-06-30",
                      headers=buyer)
    assert card.status_code == 200, card.json
    body = card.json
    with evaluation.app_context():
        expected = compute(default_framework(), PERIOD)
    assert body["total"] == expected["total"] and body["band"] == expected["band"]
    assert [d["key"] for d in body["dimensions"]] == ["institutional", "environmental",
                                                      "technological", "psychological"]
    assert body["outputs"] == {"cases": 1, "sessions": 2, "service_hours": 4.0,
                               "activities": 2}
    assert body["targets"]["sessions"] == 4 and body["contract_version"] == 1
    environmental = next(d for d in body["dimensions"] if d["key"] == "environmental")
    cost = next(i for i in environmental["indicators"] if i["measure"] == "cost_per_outcome")
    # 240,000 a year prorated to 181 days, over 7 outcomes
    assert cost["monitored"] and cost["value"] == round(240000 * 181 / 365 / 7, 2)
    assert body["payments"][0]["milestone_id"] == "mid"
    grid = client.get("/contracts/k-t/scorecard?from=2026-01-01&to=2026-06-30&grid_id=g2",
                      headers=buyer).json
    assert grid["scope"]["grid_id"] == "g2"
    other = bearer(backend.token("buyer_auditor", buyer_id="b2"))
    assert client.get("/contracts/k-t/scorecard", headers=other).status_code == 404
    bad = client.get("/contracts/k-t/scorecard?from=2026-06-30&to=2026-01-01", headers=buyer)
    assert bad.status_code == 422 and "to" in bad.json["error"]["fields"]


def test_a_closed_milestone_keeps_its_scorecard_and_shows_later_changes(evaluation, backend):
    import sqlalchemy as sa

    from shared.events import Event, check_event
    from tests.conftest import bearer
    client = evaluation.test_client()
    buyer = bearer(backend.token("buyer_auditor", buyer_id="b1", sub="auditor"))
    client.post("/contracts", headers=buyer, json={
        "id": "k-m", "agency_id": "a1", "community_ids": ["c1"], "budget": "200000",
        "period_start": "2026-01-01", "period_end": "2026-12-31",
        "milestones": [{"id": "h1", "due": "2026-06-30", "share": 0.5}]})
    closed = client.post("/contracts/k-m/milestones/h1/close", headers=buyer)
    assert closed.status_code == 201, closed.json
    card = closed.json["card"]
    assert closed.json["period_to"] == "2026-06-30" and closed.json["closed_by"] == "auditor"
    assert closed.json["post_close_changes"]["indicators"] == []
    store = evaluation.extensions["socialwork"].store
    with evaluation.app_context():
        published = Event.from_json(store.session.scalars(sa.select(store.OutboxEvent.body).where(
            store.OutboxEvent.type == "scorecard.published")).one())
    check_event(published)  # valid against the catalogue
    assert published.data["total"] == card["total"] and published.data["as_of"] == "2026-06-30"
    assert client.post("/contracts/k-m/milestones/h1/close", headers=buyer).status_code == 409
    assert closed.json["as_of"] == "2026-07-15T15:59:59.999999+00:00"  # 15 days, China's night

    # a session of May, recorded after the close (now), led by residents
    apply_events(evaluation, forge(*session("s-late", "2026-05-05", ["r1"], led_by="resident",
                                            leaders=["r3"]), source="/casework"))
    again = client.get("/contracts/k-m/milestones/h1", headers=buyer).json
    assert again["card"] == card  # what was paid on does not move
    changes = {c["measure"]: c for c in again["post_close_changes"]["indicators"]}
    assert changes["dependency_ratio"]["value_at_close"] == 0.5714
    assert changes["dependency_ratio"]["value_now"] == 0.625  # 5 of 8
    later = again["post_close_changes"]["recorded_later"]
    assert later["count"] == 1 and later["entries"][0]["record_id"] == "s-late"
    assert later["entries"][0]["kind"] == "late_entry"
    other = bearer(backend.token("buyer_auditor", buyer_id="b2"))
    assert client.get("/contracts/k-m/milestones/h1", headers=other).status_code == 404
    assert client.get("/contracts/k-m/milestones/h2", headers=buyer).status_code == 404


def test_cost_per_outcome_net_of_the_baseline(evaluation):
    # outcomes in the period: r1-r6 first took part, and r3's topic t1 was carried out: 7
    result = measured(evaluation, lambda s: measures.cost_per_outcome(s, 70000,
                                                                      date(2026, 1, 1)))
    assert result == {"spend": 70000.0, "outcomes": 7, "baseline": 0, "net_outcomes": 7,
                      "per_outcome": 10000.0, "per_service_hour": 17500.0}
    # r7 first took part in November 2025, inside the 181 days before the contract began
    apply_events(evaluation, forge(*session("s-old", "2025-11-01", ["r7"]),
                                   source="/casework"))
    result = measured(evaluation, lambda s: measures.cost_per_outcome(s, 70000,
                                                                      date(2026, 1, 1)))
    assert (result["baseline"], result["net_outcomes"], result["per_outcome"]) == (
        1, 6, 11666.67)


def test_spend_is_prorated_by_days():
    year = (date(2026, 1, 1), date(2026, 12, 31))
    half = measures.Scope(("c1",), date(2026, 1, 1), date(2026, 7, 1))
    assert round(measures.spend_in(half, 365000, *year), 2) == 182000.0
    outside = measures.Scope(("c1",), date(2027, 1, 1), date(2027, 3, 1))
    assert measures.spend_in(outside, 365000, *year) == 0.0


# -- the month-by-month trend, read for every month at once ---------------------------------

@pytest.fixture
def empty(backend):
    """Evaluation, for stories of a test's own (one app for all of a property's examples)."""
    return backend.app("evaluation")


def _reset(app) -> None:
    """Evaluation's database emptied, for the next story: a new log, forged from its start."""
    from services.evaluation.models import db
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    FORGED.clear()


def _per_month(scope):
    """The trend as its definition reads: each measure over each month on its own."""
    return [{"month": part.start.strftime("%Y-%m"), "ladder": measures.ladder(part)["at_least"],
             "dependency_ratio": measures.dependency_ratio(part)["value"],
             "breadth": measures.breadth(part)["value"]} for part in measures.months(scope)]


DAYS = st.dates(date(2026, 1, 1), date(2026, 8, 31)).map(date.isoformat)
REFS = st.lists(st.sampled_from([f"r{i}" for i in range(1, 8)]), max_size=4, unique=True)


@st.composite
def stories(draw):
    """Residents registered on random days, sessions led by the agency or by residents, and
    resident topics decided and carried out (or not), each recorded a few days after it
    happened."""
    story = []
    for i in range(1, 8):
        kind, data = resident(i)
        story.append((kind, {**data, "registered_on": draw(DAYS)}))
    for n in range(draw(st.integers(0, 8))):
        leaders = draw(REFS)
        story.append(session(f"s{n}", draw(DAYS), draw(REFS), leaders=leaders,
                             led_by=draw(st.sampled_from(["agency", "resident"]))
                             if leaders else "agency"))
    for n in range(draw(st.integers(0, 3))):
        proposed = date.fromisoformat(draw(DAYS))
        decided = proposed + timedelta(days=draw(st.integers(0, 12)))
        done = decided + timedelta(days=draw(st.integers(0, 12)))
        story += [topic(f"t{n}", proposed.isoformat(), "resident",
                        draw(st.sampled_from(["r1", "r5"]))),
                  decision(f"d{n}", f"t{n}", decided.isoformat(), [], draw(st.sampled_from(
                      ["adopted", "adopted", "rejected"]))),
                  progress(f"d{n}", done.isoformat(), draw(st.sampled_from(
                      ["done", "done", "in_progress"])), 100)]
    return story


def _told(app, story, start, months, grid, as_of):
    """The story fed to an emptied evaluation, each record entered three days after its
    day, and the scope drawn: from `start`, about `months` long, of `grid`, known as of."""
    _reset(app)
    grant(app)
    recorded = {}
    for short, data in story:
        day = date.fromisoformat(on_its_day(short, data)[:10]) + timedelta(days=3)
        recorded[id(data)] = f"{day.isoformat()}T03:00:00.000000Z"
    feed(app, story, lambda short, data: recorded[id(data)])
    first = date.fromisoformat(start)
    return app, measures.Scope(("c1",), first, first + timedelta(days=31 * months), grid,
                               end_of_day(date.fromisoformat(as_of)) if as_of else None)


@given(story=stories(), start=DAYS, months=st.integers(0, 7), grid=st.sampled_from(
    [None, "g1", "g2"]), as_of=st.one_of(st.none(), DAYS))
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_trend_read_at_once_equals_each_month_measured_alone(
        empty, story, start, months, grid, as_of):
    app, scope = _told(empty, story, start, months, grid, as_of)
    assert measured(app, measures.trend, scope) == measured(app, _per_month, scope)


# -- windows after a day, matched in the database --------------------------------------------

def _closed_cases_and_trainings(draw) -> list:
    """Cases closed and trainings held on random days; residents taking part, leading,
    proposing and joining organisations on random days after them, or not."""
    story = []
    for n in range(draw(st.integers(0, 4))):
        ref, case = draw(st.sampled_from([f"r{i}" for i in range(1, 8)])), f"k{n}"
        data = {**BASE, "case_id": case, "resident_ref": ref, "need_id": None}
        story += [("case.opened", {**data, "worker_id": "w1", "opened_on": "2026-01-02"}),
                  ("case.closed", {**data, "outcome": "goals_met", "goal_outcomes": [],
                                   "closed_on": draw(DAYS)})]
    for n in range(draw(st.integers(0, 3))):
        story.append(("capacity.activity_held", {
            **BASE, "activity_id": f"a{n}", "kind": "training", "led_by": "agency",
            "organization_id": None, "leader_refs": [], "attendee_refs": draw(REFS),
            **timed(draw(DAYS))}))
    for n in range(draw(st.integers(0, 2))):
        story.append(organization(f"o{n}", draw(DAYS), draw(REFS), []))
    for n in range(draw(st.integers(0, 2))):
        story.append(topic(f"tp{n}", draw(DAYS), "resident", draw(st.sampled_from(
            ["r1", "r4", "r6"]))))
    for n in range(draw(st.integers(0, 6))):
        leaders = draw(REFS)
        story.append(session(f"s{n}", draw(DAYS), draw(REFS), leaders=leaders,
                             led_by="resident" if leaders else "agency"))
    return story


@st.composite
def conversion_stories(draw):
    return [resident(i) for i in range(1, 8)] + _closed_cases_and_trainings(draw)


def _matched_here(scope):
    """Service to participation and capacity to leadership as their definitions read,
    matched here over every act known at the scope's time (as they were before the
    database matched them)."""
    import sqlalchemy as sa

    from services.evaluation.models import Act, CaseFact, db
    acts = db.session.execute(sa.select(Act.resident_ref, Act.on, Act.kind, Act.rung).where(
        *measures.known(scope, Act))).all()
    closed = db.session.execute(measures.of_grid(scope, sa.select(
        CaseFact.resident_ref, CaseFact.closed_on).where(*measures.within(
            scope, CaseFact.community_id, CaseFact.closed_on)), CaseFact.resident_ref)).all()
    converted = sum(1 for ref, day in closed if any(
        r == ref and rung >= 2 and day < on <= day + measures.ACTIVE_WINDOW
        for r, on, _, rung in acts))
    trained = dict(db.session.execute(measures.of_grid(scope, sa.select(
        Act.resident_ref, sa.func.min(Act.on)).where(
        *measures.within(scope, Act.community_id, Act.on), Act.kind == "trained").group_by(
        Act.resident_ref))).all())
    days = [min(on for r, on, kind, _ in leads) - trained[ref]
            for ref in trained if (leads := [a for a in acts if a[0] == ref and a[2] in
                                             measures.LEADERSHIP_ACTS and trained[ref] <= a[1]
                                             <= trained[ref] + measures.LEADERSHIP_WINDOW])]
    days = [d.days for d in days]
    return {"service_to_participation": measures.ratio(converted, len(closed)),
            "capacity_to_leadership": {"converted": measures.ratio(len(days), len(trained)),
                                       "median_days": median(days) if days else None}}


def _matched_there(scope):
    return {"service_to_participation": measures.service_to_participation(scope),
            "capacity_to_leadership": measures.capacity_to_leadership(scope)}


@given(story=conversion_stories(), start=DAYS, months=st.integers(0, 7),
       grid=st.sampled_from([None, "g1", "g2"]), as_of=st.one_of(st.none(), DAYS))
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_windows_matched_in_the_database_equal_their_definitions(
        empty, story, start, months, grid, as_of):
    """The windows after a closed case (90 days) and a training (180), on both databases'
    own date arithmetic, over random stories, ranges, grids and as-of dates."""
    app, scope = _told(empty, story, start, months, grid, as_of)
    assert measured(app, _matched_there, scope) == measured(app, _matched_here, scope)


# -- a page of scopes read at once -----------------------------------------------------------

@st.composite
def spread_stories(draw):
    """The trend's stories and the conversion stories' cases, trainings, organisations and
    topics, with needs that cases and topics take up, each record in c1 or c2 (a topic's
    decision and progress in its topic's community)."""
    needs = [need(f"n{i}", draw(DAYS), draw(st.sampled_from(["online", "walk_in"])))
             for i in range(draw(st.integers(0, 3)))]
    volunteering = [("volunteer.registered", {**BASE, "volunteer_id": f"v-{ref}",
                                              "resident_ref": ref, "registered_on": draw(DAYS)})
                    for ref in draw(REFS)]
    volunteering += [("capacity.activity_held", {
        **BASE, "activity_id": f"av{n}", "kind": "volunteer_service", "led_by": "agency",
        "organization_id": None, "leader_refs": [], "attendee_refs": draw(REFS),
        **timed(draw(DAYS))}) for n in range(draw(st.integers(0, 2)))]
    story = draw(stories()) + _closed_cases_and_trainings(draw) + needs + volunteering
    needed = st.sampled_from([None] + [data["need_id"] for _, data in needs])
    where, out = {}, []
    for short, data in story:
        thread = data.get("topic_id") or (
            "t" + data["decision_id"][1:] if "decision_id" in data else None)
        community = where.setdefault(thread, draw(st.sampled_from(["c1", "c2"]))) \
            if thread else draw(st.sampled_from(["c1", "c2"]))
        data = {**data, "community_id": community}
        if short == "case.opened" or (short == "council.topic_proposed" and needs):
            linked = draw(needed)
            data.update({"need_id": linked} if short == "case.opened" else
                        {"need_ids": [linked] if linked else []})
        out.append((short, data))
    return out


SCOPES = st.lists(st.tuples(
    st.lists(st.sampled_from(["c1", "c2", "c3"]), min_size=1, max_size=3, unique=True),
    DAYS, st.integers(0, 7), st.sampled_from([None, "g1"]),
    st.sampled_from([None, "2026-05-15"])), min_size=1, max_size=5)


def _scope(communities, start, months, grid, as_of):
    first = date.fromisoformat(start)
    return measures.Scope(tuple(communities), first, first + timedelta(days=31 * months),
                          grid, end_of_day(date.fromisoformat(as_of)) if as_of else None)


def _read_by_scope(scope):
    return {"ladder": measures.ladder(scope), "stability": measures.stability(scope),
            "breadth": measures.breadth(scope), "adoption": measures.topic_adoption(scope),
            "response": measures.response(scope), "follow": measures.follow_through(scope),
            "trend": measures.trend(scope), "led": measures.dependency_ratio(scope),
            "representativeness": measures.representativeness(scope),
            "outputs": measures.outputs(scope), "channels": measures.channels(scope),
            "traceability": measures.traceability(scope),
            "capacity": measures.capacity_to_leadership(scope),
            "vitality": measures.organisational_vitality(scope),
            "service": measures.service_to_participation(scope),
            "volunteers": measures.volunteer_activation(scope)}


@given(story=spread_stories(), drawn=SCOPES)
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_page_of_scopes_read_at_once_equals_each_scope_read_alone(empty, story, drawn):
    """What a portfolio page reads for all its cards at once (measures.read_ahead: each
    reading of BY_SCOPE and the topic facts, the scopes as rows joined to the facts) gives each
    scope what it reads alone, over random stories in two communities and scopes of
    random communities, ranges, grids and times."""
    app, _ = _told(empty, story, "2026-01-01", 0, None, None)
    scopes = [_scope(*args) for args in drawn]

    def at_once(_):
        measures.read_ahead(scopes)
        return [_read_by_scope(scope) for scope in scopes]
    alone = [measured(app, _read_by_scope, scope) for scope in scopes]
    assert measured(app, at_once, None) == alone
