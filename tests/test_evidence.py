"""Evidence and audit on the hand-made story of test_measures: drill-down from figures to
events and records, anomaly flags, follow-up verification, trends, exports and who may see
what. Every expected answer is worked out here from the story."""
import csv
import io
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from services.evaluation import anomalies, measures
from tests.conftest import bearer
from tests.streams import FORGED, apply_events, forge, grant, need_data
from tests.test_measures import PERIOD, RECORDED, STORY, feed, session

FIRST_HALF = "from=2026-01-01&to=2026-06-30"


@pytest.fixture
def evaluation(backend):
    app = backend.app("evaluation")
    grant(app)
    feed(app, STORY, RECORDED)
    buyer = bearer(backend.token("buyer_auditor", buyer_id="b1", sub="auditor-1"))
    created = app.test_client().post("/contracts", headers=buyer, json={
        "id": "k1", "agency_id": "a1", "community_ids": ["c1"], "budget": "240000",
        "period_start": "2026-01-01", "period_end": "2026-12-31",
        "targets": {"sessions": 4}})
    assert created.status_code == 201, created.json
    return app


@pytest.fixture
def buyer(backend):
    return bearer(backend.token("buyer_auditor", buyer_id="b1", sub="auditor-1"))


def test_a_figure_drills_down_to_its_records_and_events(evaluation, buyer):
    client = evaluation.test_client()
    body = client.get(f"/contracts/k1/evidence?measure=dependency_ratio&{FIRST_HALF}",
                      headers=buyer).json
    # s3 is after the period and s4 in another community; resident-led: t1, t3, s2, a-2
    led = {r["record_id"]: r["resident_led"] for r in body["records"]}
    assert led == {"s1": False, "a-1": False, "t1": True, "t2": False, "t3": True,
                   "s2": True, "a-2": True}
    assert body["total"] == 7 and sum(led.values()) / len(led) == pytest.approx(0.5714, 1e-3)
    s1 = next(r for r in body["records"] if r["record_id"] == "s1")
    assert s1["on"] == "2026-02-01" and len(s1["event_ids"]) == 1
    event = client.get(f"/contracts/k1/events/{s1['event_ids'][0]}", headers=buyer).json
    assert event["event"]["data"]["session_id"] == "s1"
    assert event["record"]["kind"] == "session" and event["record"]["url"].endswith(
        "/sessions/s1")
    # a topic's drill-down carries its proposal, decision and progress events
    topics = client.get(f"/contracts/k1/evidence?measure=follow_through&{FIRST_HALF}",
                        headers=buyer).json["records"]
    t1 = next(r for r in topics if r["record_id"] == "t1")
    types = [client.get(f"/contracts/k1/events/{e}", headers=buyer).json["event"]["type"]
             for e in t1["event_ids"]]
    assert sorted(types) == ["cn.socialwork.council.decision_made.v1",
                             "cn.socialwork.council.decision_progressed.v1",
                             "cn.socialwork.council.topic_proposed.v1"]
    # acts name the resident by pseudonym only, and page
    page = client.get(f"/contracts/k1/evidence?measure=breadth&{FIRST_HALF}&limit=2&offset=1",
                      headers=buyer).json
    assert len(page["records"]) == 2 and page["total"] > 2
    assert set(page["records"][0]) == {"record_kind", "record_id", "on", "resident_ref",
                                       "act", "rung", "event_ids", "files"}


def test_evidence_outside_the_contract_is_not_shown(evaluation, buyer, backend):
    client = evaluation.test_client()
    with evaluation.app_context():
        from services.evaluation.models import RecordEvent, db
        s4 = db.session.scalar(sa.select(RecordEvent.event_id).where(
            RecordEvent.record_id == "s4"))
    assert client.get(f"/contracts/k1/events/{s4}", headers=buyer).status_code == 404
    other = bearer(backend.token("buyer_auditor", buyer_id="b2"))
    assert client.get("/contracts/k1/evidence?measure=breadth", headers=other).status_code == 404
    bad = client.get("/contracts/k1/evidence?measure=height", headers=buyer)
    assert bad.status_code == 422 and "measure" in bad.json["error"]["fields"]


def test_the_agency_sees_its_own_scorecard_only(evaluation, backend):
    client = evaluation.test_client()
    own = bearer(backend.token("agency_admin", agency_id="a1"))
    assert client.get(f"/contracts/k1/scorecard?{FIRST_HALF}", headers=own).status_code == 200
    assert client.get(f"/contracts/k1/evidence?measure=cases&{FIRST_HALF}",
                      headers=own).json["total"] == 1
    other = bearer(backend.token("agency_admin", agency_id="a2"))
    assert client.get("/contracts/k1/scorecard", headers=other).status_code == 404
    clerk = bearer(backend.token("intake_clerk", community_ids=["c1"]))
    assert client.get("/contracts/k1/scorecard", headers=clerk).status_code == 401  # not for it


def test_anomalies_are_flagged_with_their_events(evaluation, buyer):
    apply_events(
        evaluation,
        # r1 was in s1 (09:00-11:00) on 1 February, and here from 10:00
        forge(*_timed(_worker(session("clash", "2026-02-01", ["r1"]), "w2"), "10:00", "12:00"),
              source="/casework"),
        # w9 works 06:00-13:00 and 13:00-20:00: 14 hours in a day
        forge(*_timed(_worker(session("long1", "2026-03-02", ["r2"]), "w9"), "06:00",
                      "13:00", 7.0), source="/casework"),
        forge(*_timed(_worker(session("long2", "2026-03-02", ["r3"]), "w9"), "13:00",
                      "20:00", 7.0), source="/casework"),
        # nine sign-ins where eight residents are registered, one of them unknown here
        forge(*session("crowd", "2026-03-03", [f"r{i}" for i in range(1, 10)]),
              source="/casework"))
    late = [forge(*_worker(session(f"late{i}", f"2026-02-0{i}", ["r7"]), "w7"),
                  source="/casework", time="2026-04-15T10:00:00Z") for i in range(1, 6)]
    # four late records on another day: not a burst
    few = [forge(*session(f"few{i}", f"2026-02-1{i}", ["r8"]), source="/casework",
                 time="2026-04-20T10:00:00Z") for i in range(4)]
    apply_events(evaluation, *late, *few)
    # an event of each source held after one that has not arrived: both chains show a gap
    for source, short in (("/casework", "session.delivered"), ("/intake", "need.reported")):
        ahead = 2 + max(n for s, n in FORGED if s == source)
        data = session("ahead", "2026-03-04", ["r1"])[1] if source == "/casework" else \
            need_data("n-ahead", "c1")
        assert apply_events(evaluation, forge(short, data, ahead, source=source)) == [
            "waiting"]
    with evaluation.app_context():
        found = anomalies.flags(PERIOD)
    by_check = {}
    for flag in found["flags"]:
        by_check.setdefault(flag["check"], []).append(flag)
    clash = by_check["overlapping_sign_in"]
    assert [(f["detail"]["resident_ref"], f["detail"]["on"]) for f in clash] == [
        ("r1", date(2026, 2, 1))]
    assert len(clash[0]["event_ids"]) == 2
    hours = by_check["impossible_hours"]
    assert [(f["detail"]["worker_id"], f["detail"]["hours"], f["detail"]["records"])
            for f in hours] == [("w9", 14.0, ["long1", "long2"])]
    crowd = by_check["attendance_over_registered"]
    assert [(f["detail"]["record_id"], f["detail"]["attendees"], f["detail"]["registered"])
            for f in crowd] == [("crowd", 9, 8)]
    assert [f["detail"]["residents"] for f in by_check["unregistered_attendees"]] == [1]
    bursts = by_check["late_entry_burst"]
    assert [(f["detail"]["recorded_on"], f["detail"]["records"], f["detail"]["oldest_on"])
            for f in bursts] == [(date(2026, 4, 15), 5, date(2026, 2, 1))]
    assert set(bursts[0]["event_ids"]) == {e.id for e in late}
    assert {f["detail"]["source"] for f in by_check["source_integrity"]} == {
        "/casework", "/intake"}
    assert found["counts"]["overlapping_sign_in"] == 1
    body = evaluation.test_client().get(f"/contracts/k1/anomalies?{FIRST_HALF}",
                                        headers=buyer).json
    assert body["counts"] == found["counts"]
    assert body["flags"][0]["title_zh"] and body["flags"][0]["title_en"]
    assert body["total"] == len(found["flags"]) == sum(found["counts"].values())
    page = evaluation.test_client().get(f"/contracts/k1/anomalies?{FIRST_HALF}&limit=2&"
                                        "offset=1", headers=buyer).json
    assert page["counts"] == body["counts"] and page["offset"] == 1
    assert page["flags"] == body["flags"][1:3]  # the same flags, a page at a time


def _timed(item, start, end, hours=2.0):
    short, data = item
    return short, {**data, "start": start, "end": end, "hours": hours}


def _worker(item, worker):
    short, data = item
    return short, {**data, "worker_ids": [worker]}


def test_follow_up_verification_becomes_an_indicator(evaluation, buyer, backend):
    client = evaluation.test_client()
    drawn = client.post("/contracts/k1/verifications", headers=buyer, json={
        "kind": "session", "size": 5, "from": "2026-01-01", "to": "2026-06-30", "seed": 7})
    assert drawn.status_code == 201, drawn.json
    sample = drawn.json
    # the sessions held in c1 in the period: s1 and s2 (s3 is later, s4 elsewhere)
    assert sample["population"] == 2 and sorted(i["record_id"] for i in sample["items"]) == [
        "s1", "s2"]
    again = client.post("/contracts/k1/verifications", headers=buyer, json={
        "kind": "session", "size": 5, "from": "2026-01-01", "to": "2026-06-30", "seed": 7})
    assert [i["record_id"] for i in again.json["items"]] == [
        i["record_id"] for i in sample["items"]]  # the same seed draws the same sample
    url = f"/contracts/k1/verifications/{sample['id']}/items"
    first = client.post(f"{url}/1", headers=buyer, json={"result": "confirmed",
                                                         "method": "visit"})
    assert first.status_code == 200 and first.json["verified_by"] == "auditor-1"
    assert client.post(f"{url}/2", headers=buyer, json={
        "result": "not_confirmed", "method": "call", "note": "无人记得此活动"}).status_code == 200
    assert client.post(f"{url}/1", headers=buyer, json={
        "result": "not_confirmed", "method": "call"}).status_code == 409
    bad = client.post(f"{url}/2", headers=buyer, json={"result": "maybe", "method": "call"})
    assert bad.status_code == 422 and "result" in bad.json["error"]["fields"]
    assert client.post(f"{url}/9", headers=buyer, json={
        "result": "confirmed", "method": "call"}).status_code == 404
    agency = bearer(backend.token("agency_admin", agency_id="a1"))
    assert client.post("/contracts/k1/verifications", headers=agency, json={
        "kind": "session", "size": 1}).status_code == 403
    empty = client.post("/contracts/k1/verifications", headers=buyer, json={
        "kind": "session", "size": 1, "from": "2026-11-01", "to": "2026-11-30"})
    assert empty.status_code == 422 and "kind" in empty.json["error"]["fields"]
    card = client.get(f"/contracts/k1/scorecard?{FIRST_HALF}", headers=buyer).json
    technological = next(d for d in card["dimensions"] if d["key"] == "technological")
    verified = next(i for i in technological["indicators"]
                    if i["measure"] == "verified_share")
    assert verified["value"] == 0.5  # one confirmed of the two reached
    evidence = client.get(f"/contracts/k1/evidence?measure=verified_share&{FIRST_HALF}",
                          headers=buyer).json["records"]
    # the second draw (same seed) is not yet verified
    assert sorted(str(r["result"]) for r in evidence) == ["None", "None", "confirmed",
                                                          "not_confirmed"]


def test_trends_and_cohort_retention(evaluation, buyer):
    body = evaluation.test_client().get(f"/contracts/k1/trends?{FIRST_HALF}",
                                        headers=buyer).json
    assert [m["month"] for m in body["months"]] == [f"2026-0{i}" for i in range(1, 7)]
    # February: r1, r3 attended s1; r4 trained; r2 and r6 joined o1, which r6 leads
    assert body["months"][1]["ladder"] == {"served": 5, "participant": 5, "contributor": 2,
                                           "co_decider": 2, "leader": 1}
    assert body["months"][0]["ladder"]["participant"] == 0  # only r1's case in January
    february, march = body["cohorts"]
    assert (february["cohort"], february["size"]) == ("2026-02", 5)
    # all five again in March; r4 and r6 in April; r2 and r6 in May; nobody in June
    assert [r["value"] for r in february["retained"]] == [1.0, 0.4, 0.4, 0.0]
    assert (march["cohort"], march["size"]) == ("2026-03", 1)  # r5
    assert [r["value"] for r in march["retained"]] == [1.0, 0.0, 0.0]


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_exports_name_the_contract_and_the_as_of_date(evaluation, buyer):
    client = evaluation.test_client()
    got = client.get(f"/contracts/k1/scorecard/export?format=csv&{FIRST_HALF}", headers=buyer)
    assert got.status_code == 200 and got.mimetype == "text/csv"
    assert "scorecard-k1-2026-06-30.csv" in got.headers["Content-Disposition"]
    rows = _rows(got.get_data(as_text=True))
    meta = {r[0]: r[1] for r in rows[:6]}
    assert meta["合同 / contract"] == "k1" and meta["止 / to"] == "2026-06-30"
    assert meta["记录截至 / recorded as of"] == "导出时 / at export"
    header = rows[8]
    dependency = next(r for r in rows[9:] if r[1] == "dependency_ratio")
    assert dependency[header.index("value")] == "0.5714"
    assert next(r for r in rows if r[:2] == ["output", "sessions"])[6:8] == ["4", "2"]
    # the ladder of the half-year: r1-r6 took part, r7 and r8 did not
    assert next(r for r in rows[9:] if r[1] == "participant")[7] == "6"

    book = client.get(f"/contracts/k1/evidence/export?measure=dependency_ratio&{FIRST_HALF}",
                      headers=buyer)
    assert book.status_code == 200 and book.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(book.data)).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0][:2] == ["合同 / contract", "k1"] and cells[3][1] == "2026-06-30"
    assert cells[7][:2] == ["指标 / measure", "dependency_ratio"]
    header = cells[9]
    assert sorted(r[header.index("record_id")] for r in cells[10:]) == [
        "a-1", "a-2", "s1", "s2", "t1", "t2", "t3"]
    bad = client.get("/contracts/k1/scorecard/export?format=pdf", headers=buyer)
    assert bad.status_code == 422 and "format" in bad.json["error"]["fields"]


def test_rebuilding_keeps_the_evidence_index(evaluation):
    from services.evaluation.cli import rebuild
    from services.evaluation.models import Act, RecordEvent, db

    def snapshot():
        with evaluation.app_context():
            return (sorted(db.session.execute(sa.select(
                RecordEvent.event_id, RecordEvent.record_id, RecordEvent.on)).all()),
                sorted(db.session.execute(sa.select(Act.event_id, Act.resident_ref,
                                                    Act.starts, Act.ends)).all()))
    before = snapshot()
    with evaluation.app_context():
        rebuild()
    assert snapshot() == before and len(before[0]) == len(STORY)
    with evaluation.app_context():
        assert measures.trend(PERIOD)[1]["ladder"]["leader"] == 1


def _snapshot(app) -> dict:
    from services.evaluation.framework import default_framework
    from services.evaluation.scorecard import compute
    with app.app_context():
        return {"card": compute(default_framework(), PERIOD),
                "trend": measures.trend(PERIOD), "cohorts": measures.cohort_retention(PERIOD),
                "flags": anomalies.flags(PERIOD)["counts"]}


def _deliver(app, events) -> list[str]:
    """Deliver in the order given; an event whose cause has not arrived fails and is tried
    again after the rest, as the worker's retry queue does."""
    from shared.inbox import HandlerFailed
    outcomes, pending = [], list(events)
    for _ in range(3):
        failed = []
        for event in pending:
            try:
                outcomes += apply_events(app, event)
            except HandlerFailed:
                failed.append(event)
        pending = failed
    assert not pending
    return outcomes


def test_out_of_order_and_duplicate_delivery_gives_the_same_figures(backend):
    sources = {"resident.registered": "/intake", "need.reported": "/intake"}
    events = [forge(short, data, source=sources.get(short, "/casework"))
              for short, data in STORY]
    in_order = backend.app("evaluation")
    apply_events(in_order, *events)
    expected = _snapshot(in_order)
    with in_order.app_context():  # the same database, emptied, takes the shuffled stream
        from services.evaluation.models import db
        from services.evaluation.projections import PROJECTION_TABLES
        store = in_order.extensions["socialwork"].store
        for table in (store.InboxEvent, store.SourceHead, *PROJECTION_TABLES):
            db.session.execute(sa.delete(table))
        db.session.commit()
    shuffled = [*reversed(events), *events[:5]]  # a decision's progress before the decision
    outcomes = _deliver(in_order, shuffled)  # held until what comes before it arrives
    assert outcomes.count("applied") + outcomes.count("waiting") == len(events)
    assert outcomes.count("duplicate") == 5
    assert _snapshot(in_order) == expected


def test_an_amendment_mid_period_leaves_a_closed_milestone_as_agreed(evaluation, buyer):
    client = evaluation.test_client()
    client.patch("/contracts/k1", headers=buyer, json={
        "reason": "add a milestone", "milestones": [
            {"id": "h1", "due": "2026-06-30", "share": 0.5}]})
    closed = client.post("/contracts/k1/milestones/h1/close", headers=buyer)
    assert closed.status_code == 201 and closed.json["contract_version"] == 2
    framework = client.get("/contracts/k1", headers=buyer).json["framework"]
    framework[0]["weight"], framework[3]["weight"] = 50, 15  # institutional up, psych down
    amended = client.patch("/contracts/k1", headers=buyer, json={
        "reason": "中期调整", "framework": framework, "community_ids": ["c1", "c2"]})
    assert amended.status_code == 200 and amended.json["version"] == 3
    # nothing happened since the close: under the terms it was closed on, nothing changed
    kept = client.get("/contracts/k1/milestones/h1", headers=buyer).json
    assert kept["card"] == closed.json["card"]
    assert kept["post_close_changes"]["indicators"] == []
    assert kept["post_close_changes"]["total_now"] == closed.json["card"]["total"]
    # today's card for the same half-year follows the new weights and takes in c2's session
    now = client.get(f"/contracts/k1/scorecard?{FIRST_HALF}", headers=buyer).json
    assert now["contract_version"] == 3 and now["outputs"]["sessions"] == 3
    assert [d["weight"] for d in now["dimensions"]] == [50, 25, 10, 15]
    # a late session of May changes the closed period's figures: shown, not absorbed
    apply_events(evaluation, forge(*session("s-late", "2026-05-05", ["r7"]),
                                   source="/casework"))
    changed = client.get("/contracts/k1/milestones/h1", headers=buyer).json
    assert changed["card"] == closed.json["card"]
    assert {c["measure"] for c in changed["post_close_changes"]["indicators"]} >= {
        "breadth", "dependency_ratio"}


def test_measures_about_residents_follow_the_grid(evaluation):
    g1 = measures.Scope(("c1",), PERIOD.start, PERIOD.end, "g1")
    g2 = measures.Scope(("c1",), PERIOD.start, PERIOD.end, "g2")
    with evaluation.app_context():
        # g1: r1-r3 registered, all three took part; g2: r4-r8, of whom r4, r5, r6
        assert measures.breadth(g1) == {"value": 1.0, "numerator": 3, "denominator": 3}
        assert measures.breadth(g2) == {"value": 0.6, "numerator": 3, "denominator": 5}
        # the one case closed was r1's (g1); r4 was the one trained (g2)
        assert measures.service_to_participation(g2)["denominator"] == 0
        assert measures.service_to_participation(g1)["denominator"] == 1
        assert measures.capacity_to_leadership(g1)["converted"]["denominator"] == 0
        assert measures.capacity_to_leadership(g2)["converted"]["denominator"] == 1
        # registered volunteers: r2 (g1) and r5 (g2)
        assert measures.volunteer_activation(g1)["active"]["denominator"] == 1
        assert [c["size"] for c in measures.cohort_retention(g2)] == [2, 1]  # r4, r6; r5


def test_a_flag_names_a_bounded_number_of_its_events(evaluation):
    late = [forge(*_worker(session(f"b{i}", "2026-01-20", []), f"w-{i}"), source="/casework",
                  time="2026-05-01T09:00:00Z") for i in range(anomalies.SHOWN + 5)]
    apply_events(evaluation, *late)
    with evaluation.app_context():
        burst = next(f for f in anomalies.late_entry_bursts(PERIOD))
    assert burst["detail"]["records"] == burst["events"] == anomalies.SHOWN + 5
    assert len(burst["event_ids"]) == anomalies.SHOWN


def test_a_records_link_keeps_its_id_one_path_segment(evaluation):
    """An id from an event holding `/`, `?` or `#` still names one record at casework."""
    from services.evaluation.evidence import record_link
    from services.evaluation.models import RecordEvent
    with evaluation.app_context():
        link = record_link(RecordEvent(record_kind="session", record_id="s1/../cases?x=1#y",
                                       community_id="c1", on=date(2026, 3, 1)))
    assert link["url"].endswith("/sessions/s1%2F..%2Fcases%3Fx%3D1%23y")
