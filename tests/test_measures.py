"""The buyer's measures on a small hand-made event set whose answers are worked out here."""
from datetime import date

import pytest

from services.evaluation import measures
from services.evaluation.handlers import HANDLERS
from shared.inbox import Inbox
from tests.streams import forge

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


def topic(tid, day, kind, ref=None):
    return ("council.topic_proposed", {"topic_id": tid, "community_id": "c1",
                                       "proposer_kind": kind, "proposer_ref": ref,
                                       "need_ids": [], "channel": "in_person",
                                       "proposed_on": day})


def decision(did, tid, day, voters, outcome, votes=(0, 0, 0), mode="consulted"):
    return ("council.decision_made", {
        "decision_id": did, "topic_id": tid, "meeting_id": "m1", "community_id": "c1",
        "votes_for": votes[0], "votes_against": votes[1], "abstentions": votes[2],
        "voter_refs": voters, "outcome": outcome, "decision_mode": mode, "decided_on": day})


def progress(did, day, status, value):
    return ("council.decision_progressed", {"decision_id": did, "community_id": "c1",
                                            "status": status, "progress": value, "on": day})


def resident(ref, grid):
    return ("resident.registered", {
        "resident_ref": ref, "community_id": "c1", "grid_id": grid, "household_ref": None,
        "household_type": "nuclear", "age_band": "35-59", "gender": "female", "flags": [],
        "registered_on": "2025-12-01"})


STORY = [
    *[resident(f"r{i}", "g1" if i <= 3 else "g2") for i in range(1, 7)],
    ("case.opened", {**BASE, "case_id": "k1", "resident_ref": "r1", "need_id": None,
                     "worker_id": "w1", "opened_on": "2026-01-10"}),
    session("s1", "2026-02-01", ["r1", "r2", "r3"]),
    ("capacity.activity_held", {**BASE, "activity_id": "a-1", "kind": "training",
                                "led_by": "agency", "organization_id": None,
                                "leader_refs": [], "attendee_refs": ["r4"],
                                **timed("2026-02-15")}),
    ("volunteer.registered", {**BASE, "volunteer_id": "v1", "resident_ref": "r2",
                              "registered_on": "2026-03-01"}),
    topic("t1", "2026-03-05", "resident", "r3"),
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


def feed(app, story):
    sources = {"resident.registered": "/intake"}
    with app.app_context():
        inbox = Inbox(app.extensions["socialwork"].store, HANDLERS)
        for seq, (short, data) in enumerate(story, start=1):
            event = forge(short, data, seq, source=sources.get(short, "/casework"))
            assert inbox.apply(event, event.to_json(), "test") == "applied"


@pytest.fixture
def evaluation(backend):
    app = backend.app("evaluation")
    feed(app, STORY)
    return app


def measured(app, fn, scope=PERIOD):
    with app.app_context():
        return fn(scope)


def test_the_participation_ladder(evaluation):
    result = measured(evaluation, measures.ladder)
    # r1 served→voted (4); r2 volunteered, voted (4); r3 proposed t1, adopted and carried out
    # (5); r4 attended (2); r5 proposed (3); r6 led a session (5); r9 is in c2; s3 is later
    assert result["residents"] == 6
    assert result["highest"] == {"served": 0, "participant": 1, "contributor": 1,
                                 "co_decider": 2, "leader": 2}
    assert result["at_least"] == {"served": 6, "participant": 6, "contributor": 5,
                                  "co_decider": 4, "leader": 2}
    conversion = {k: v["value"] for k, v in result["conversion"].items()}
    assert conversion == {"served_to_participant": 1.0, "participant_to_contributor": 0.8333,
                          "contributor_to_co_decider": 0.8, "co_decider_to_leader": 0.5}


def test_the_ladder_of_one_grid(evaluation):
    scope = measures.Scope(("c1",), PERIOD.start, PERIOD.end, grid_id="g2")
    result = measured(evaluation, measures.ladder, scope)
    assert result["residents"] == 3  # r4, r5, r6
    assert result["highest"] == {"served": 0, "participant": 1, "contributor": 1,
                                 "co_decider": 0, "leader": 1}


def test_the_dependency_ratio(evaluation):
    # in the period: s1, a-1, t2 by the agency; t1, t3 by residents, s2 resident-led
    assert measured(evaluation, measures.dependency_ratio) == {
        "value": 0.5, "numerator": 3, "denominator": 6}
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
    with evaluation.app_context():
        store = evaluation.extensions["socialwork"].store
        import sqlalchemy as sa
        training_event = store.session.scalar(sa.select(store.Inbox.event_id).where(
            store.Inbox.type == "capacity.activity_held"))
    feed_more = [("record.corrected", {"record_type": "capacity_activity", "record_id": "a-1",
                                       "corrects_event_id": training_event,
                                       "reason": "漏登", "changes": {
                                           "attendee_refs": ["r4", "r7"]}})]
    with evaluation.app_context():
        inbox = Inbox(evaluation.extensions["socialwork"].store, HANDLERS)
        event = forge(*feed_more[0], 500, source="/casework")
        inbox.apply(event, event.to_json(), "test")
    result = measured(evaluation, measures.ladder)
    assert result["residents"] == 7 and result["highest"]["participant"] == 2


def test_rebuilding_gives_the_same_figures(evaluation):
    from services.evaluation.cli import rebuild
    before = [measured(evaluation, fn) for fn in (measures.ladder, measures.dependency_ratio,
                                                 measures.topic_adoption, measures.response,
                                                 measures.follow_through)]
    with evaluation.app_context():
        assert rebuild() == len(STORY)
    after = [measured(evaluation, fn) for fn in (measures.ladder, measures.dependency_ratio,
                                                measures.topic_adoption, measures.response,
                                                measures.follow_through)]
    assert after == before
