"""Two times: every figure counts what happened over a range of days, as known at a time
(what had been recorded by then). A story with late entries and a correction around a
milestone, worked out by hand; the milestone's card as of its due date plus the late-entry
days, kept as paid, with what was recorded later beside it; the same card on any replay of
the log, rebuild included."""
import json
import random
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from services.evaluation import measures, scorecard
from services.evaluation.framework import default_framework
from tests.conftest import bearer
from tests.streams import apply_events, forge, grant

AS_OF = datetime(2026, 7, 10, 15, 59, 59, 999999, tzinfo=timezone.utc)  # 10 July, China
HALF = measures.Scope(("c1",), date(2026, 1, 1), date(2026, 6, 30))


def at(day: str) -> str:
    return f"{day}T03:00:00.000000Z"  # 11:00 in China


def _session(sid, day, attendees, led_by="agency", leaders=()):
    return {"agency_id": "a1", "community_id": "c1", "session_id": sid,
            "method": "group_work", "mode": "in_person", "case_id": None,
            "worker_ids": ["w1"], "led_by": led_by, "leader_refs": list(leaders),
            "attendee_refs": list(attendees), "date": day, "start": "09:00", "end": "11:00",
            "hours": 2.0}


def story() -> list:
    """The events, each as its source recorded it (`time`): signed, in each source's chain."""
    intake = [forge("resident.registered", {
        "resident_ref": f"r{i}", "community_id": "c1", "grid_id": "g1", "household_ref": None,
        "household_type": "nuclear", "age_band": "35-59", "gender": "female", "flags": [],
        "registered_on": "2025-12-01"}, source="/intake", time=at("2026-01-02"))
        for i in range(1, 9)]
    casework = [
        ("session.delivered", _session("s1", "2026-02-01", ["r1", "r2"]), "2026-02-01"),
        ("session.delivered", _session("s2", "2026-03-01", ["r4"], "resident", ["r3"]),
         "2026-03-01"),
        ("council.topic_proposed", {"topic_id": "t1", "community_id": "c1",
                                    "proposer_kind": "resident", "proposer_ref": "r2",
                                    "need_ids": [], "channel": "in_person",
                                    "proposed_on": "2026-03-05"}, "2026-03-05"),
        ("council.decision_made", {"decision_id": "d1", "topic_id": "t1", "meeting_id": "m1",
                                   "community_id": "c1", "votes_for": 3, "votes_against": 0,
                                   "abstentions": 0, "voter_refs": [], "outcome": "adopted",
                                   "decision_mode": "delegated", "decided_on": "2026-03-20"},
         "2026-03-20"),
        # entered within the late-entry days: counts for the milestone
        ("session.delivered", _session("s3", "2026-06-25", ["r5"]), "2026-07-05"),
        # carried out by the due date, but reported after the allowance
        ("council.decision_progressed", {"decision_id": "d1", "community_id": "c1",
                                         "status": "done", "progress": 100,
                                         "on": "2026-06-29"}, "2026-07-12"),
        # entered after the allowance: a late entry
        ("session.delivered", _session("s4", "2026-06-28", ["r7"], "resident", ["r6"]),
         "2026-07-20"),
    ]
    events = [forge(short, data, source="/casework", time=at(day))
              for short, data, day in casework]
    s1 = events[0]
    events.append(forge("record.corrected", {  # s1 was led by r1, not by the agency
        "record_type": "session", "record_id": "s1", "corrects_event_id": s1.id,
        "changes": {"led_by": "resident", "leader_refs": ["r1"]}}, source="/casework",
        time=at("2026-07-25")))
    return intake + events


def card(app, as_of=AS_OF, scope=HALF) -> str:
    """Every figure of the default template, the ladder, outputs and trends for the half
    year as known at `as_of`, computed afresh (not remembered), as the bytes a reader gets."""
    scope = measures.Scope(scope.communities, scope.start, scope.end, as_of=as_of)
    with app.app_context():
        result = scorecard.compute(default_framework(), scope)
        result |= {"ladder": measures.ladder(scope), "outputs": measures.outputs(scope),
                   "months": measures.trend(scope),
                   "cohorts": measures.cohort_retention(scope)}
    return json.dumps(result, sort_keys=True, default=str)


def figure(card_json: str, measure: str):
    return next(i["value"] for d in json.loads(card_json)["dimensions"]
                for i in d["indicators"] if i["measure"] == measure)


@pytest.fixture
def told(backend):
    app = backend.app("evaluation")
    grant(app)
    events = story()
    assert apply_events(app, *events) == ["applied"] * len(events)
    return app, events


def test_figures_count_what_had_been_recorded_by_then(told):
    app, _ = told
    then, now = card(app), card(app, None)
    # as of 10 July: s1 (agency, as first entered), s2 (residents), t1 (a resident's topic),
    # s3 (agency); t1 adopted, not yet reported done; r1-r5 took part, of 8 registered
    assert figure(then, "dependency_ratio") == 0.5  # s2 and t1, of 4
    assert figure(then, "follow_through") == 0.0
    assert figure(then, "breadth") == 0.625
    # now: s1 corrected to resident-led, s4 entered, d1 reported done
    assert figure(now, "dependency_ratio") == 0.8  # s1, s2, t1, s4 of 5
    assert figure(now, "follow_through") == 1.0
    assert figure(now, "breadth") == 0.875  # and r6, r7
    before_any = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert json.loads(card(app, before_any))["outputs"]["sessions"] == 0


def test_a_milestone_is_paid_on_its_card_as_of_the_due_date_and_late_days(told, backend):
    app, events = told
    client = app.test_client()
    buyer = bearer(backend.token("buyer_auditor", buyer_id="b1", sub="auditor"))
    assert client.post("/contracts", headers=buyer, json={
        "id": "k-as", "agency_id": "a1", "community_ids": ["c1"], "budget": "100000",
        "period_start": "2026-01-01", "period_end": "2026-12-31", "late_entry_days": 10,
        "milestones": [{"id": "mid", "due": "2026-06-30", "share": 0.5}]}).status_code == 201
    closed = client.post("/contracts/k-as/milestones/mid/close", headers=buyer)
    assert closed.status_code == 201, closed.json
    assert closed.json["as_of"] == AS_OF.isoformat()
    paid = closed.json["card"]
    asked = client.get("/contracts/k-as/scorecard?to=2026-06-30&as_of=2026-07-10",
                       headers=buyer).json
    assert asked["scope"]["as_of"] == AS_OF.isoformat()
    assert (asked["total"], asked["dimensions"]) == (paid["total"], paid["dimensions"])
    shown = client.get("/contracts/k-as/milestones/mid", headers=buyer).json
    assert shown["card"] == paid
    later = shown["post_close_changes"]["recorded_later"]
    by_id = {e["event_id"]: e for e in later["entries"]}
    progress, s4, correction = events[-3:]
    assert later["count"] == 3 and set(by_id) == {progress.id, s4.id, correction.id}
    assert by_id[correction.id]["kind"] == "correction"
    assert by_id[correction.id]["record_id"] == "s1"
    assert by_id[s4.id]["kind"] == "late_entry" and by_id[s4.id]["on"] == "2026-06-28"
    changed = {c["measure"] for c in shown["post_close_changes"]["indicators"]}
    assert {"dependency_ratio", "follow_through", "breadth"} <= changed


def test_as_of_is_checked(told, backend):
    app, _ = told
    client = app.test_client()
    buyer = bearer(backend.token("buyer_auditor", buyer_id="b1"))
    client.post("/contracts", headers=buyer, json={
        "id": "k-q", "agency_id": "a1", "community_ids": ["c1"], "budget": "1000",
        "period_start": "2026-01-01", "period_end": "2026-12-31"})
    for bad in ("2025-12-31", "yesterday", "2026-13-01", "2026-07-10T25:00"):
        for path in ("scorecard", "trends", "evidence?measure=breadth&", "scorecard/export?"
                     "format=csv&"):
            sep = "" if path.endswith("&") else "?"
            response = client.get(f"/contracts/k-q/{path}{sep}as_of={bad}", headers=buyer)
            assert response.status_code == 422, (path, bad, response.json)
            assert "as_of" in response.json["error"]["fields"]
    with_time = client.get("/contracts/k-q/scorecard?to=2026-06-30"
                           "&as_of=2026-07-10T12:00:00%2B08:00", headers=buyer)
    assert with_time.status_code == 200
    assert with_time.json["scope"]["as_of"] == "2026-07-10T04:00:00+00:00"
    evidence = client.get("/contracts/k-q/evidence?measure=sessions&to=2026-06-30"
                          "&as_of=2026-07-10", headers=buyer).json
    assert sorted(r["record_id"] for r in evidence["records"]) == ["s1", "s2", "s3", "t1"]
    trends = client.get("/contracts/k-q/trends?to=2026-06-30&as_of=2026-03-02",
                        headers=buyer).json
    assert [m["breadth"] for m in trends["months"]][:3] == [0.0, 0.25, 0.25]


def test_a_follow_up_sample_is_drawn_from_what_was_known_as_of_its_time(told, backend):
    app, _ = told
    client = app.test_client()
    buyer = bearer(backend.token("buyer_auditor", buyer_id="b1"))
    client.post("/contracts", headers=buyer, json={
        "id": "k-v", "agency_id": "a1", "community_ids": ["c1"], "budget": "1000",
        "period_start": "2026-01-01", "period_end": "2026-12-31"})
    ask = {"kind": "session", "size": 10, "from": "2026-01-01", "to": "2026-06-30", "seed": 3}
    then = client.post("/contracts/k-v/verifications", headers=buyer,
                       json={**ask, "as_of": "2026-07-10"})
    assert then.status_code == 201, then.json
    # s3 was entered on 5 July, s4 on 20 July: as of 10 July only s4 is unknown
    assert sorted(i["record_id"] for i in then.json["items"]) == ["s1", "s2", "s3"]
    assert then.json["as_of"] == AS_OF.isoformat()
    now = client.post("/contracts/k-v/verifications", headers=buyer, json=ask).json
    assert sorted(i["record_id"] for i in now["items"]) == ["s1", "s2", "s3", "s4"]
    assert now["as_of"] is not None  # the moment of the draw, kept to repeat it
    again = client.post("/contracts/k-v/verifications", headers=buyer,
                        json={**ask, "as_of": "2026-07-10"}).json
    assert [i["record_id"] for i in again["items"]] == [
        i["record_id"] for i in then.json["items"]]


def test_the_card_as_of_a_time_survives_a_rebuild(told):
    from services.evaluation.cli import rebuild
    app, _ = told
    before = card(app), card(app, None)
    with app.app_context():
        rebuild()
    assert (card(app), card(app, None)) == before


def the_log(app) -> list:
    """The events evaluation holds, as received: the log any replay starts from."""
    from shared.events import Event
    store = app.extensions["socialwork"].store
    with app.app_context():
        return [Event.from_json(body) for body in store.session.scalars(sa.select(
            store.InboxEvent.body).order_by(store.InboxEvent.source, store.InboxEvent.seq))]


def _reset(app) -> None:
    """Evaluation's database emptied: every table, the inbox and the chains' heads too."""
    from services.evaluation.models import db
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()


def replayed(app, log, order: list[int], copies: list[int]) -> tuple[str, str]:
    """The cards after the log is applied afresh in `order`, then `copies` again."""
    _reset(app)
    apply_events(app, *[log[i] for i in order], *[log[i] for i in copies])
    with app.app_context():  # each event held once

        from services.evaluation.models import db, event_store
        assert db.session.scalar(sa.select(sa.func.count()).select_from(
            event_store.InboxEvent)) == len(log)
    return card(app), card(app, None)


def test_another_order_with_duplicates_gives_the_same_card(told):
    app, _ = told
    expected, log = (card(app), card(app, None)), the_log(app)
    order = list(range(len(log)))
    random.Random(7).shuffle(order)
    assert replayed(app, log, order, order[:5]) == expected


@given(data=st.data())
@settings(max_examples=8, deadline=None, phases=(Phase.explicit, Phase.generate, Phase.shrink),
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_permutation_with_duplicates_gives_the_same_card(told, data):
    """Property: however the log arrives (any order: an event ahead of its chain waits for
    the ones before it), and however often, the card as of a time is the same, byte for
    byte."""
    app, _ = told
    expected, log = (card(app), card(app, None)), the_log(app)
    order = data.draw(st.permutations(range(len(log))))
    copies = data.draw(st.lists(st.sampled_from(range(len(log))), max_size=6))
    assert replayed(app, log, list(order), copies) == expected
