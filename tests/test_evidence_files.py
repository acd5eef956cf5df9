"""Evidence files at evaluation: evidence.attached and evidence.hidden projected, each
record's files in the drill-down, and the three file anomalies, each on a hand-built story."""
import pytest

from tests.conftest import bearer
from tests.streams import grant
from tests.test_measures import feed, session

DIGEST = {n: f"{n:x}" * 64 for n in range(1, 6)}  # distinct fake SHA-256 digests
FIRST_HALF = "from=2026-01-01&to=2026-06-30"


def attached(record_id: str, day: str, digest: str, taken: str | None = None,
             record_type: str = "session", decision_id=None):
    return ("evidence.attached", {
        "record_type": record_type, "record_id": record_id, "decision_id": decision_id,
        "community_id": "c1", "record_on": day, "digest": digest, "media_type": "image/jpeg",
        "size": 1234, "captured_at": taken})


def hidden(record_id: str, digest: str):
    return ("evidence.hidden", {"record_type": "session", "record_id": record_id,
                                "community_id": "c1", "digest": digest})


STORY = [
    session("s1", "2026-02-01", ["r1"]),
    session("s2", "2026-02-08", ["r2"]),
    session("s3", "2026-02-15", ["r3"]),
    session("s4", "2026-02-22", ["r4"]),
    attached("s1", "2026-02-01", DIGEST[1], "2026-02-01T09:30:00"),  # a proper photo
    attached("s2", "2026-02-08", DIGEST[1], "2026-02-01T09:30:00"),  # s1's photo again
    attached("s3", "2026-02-15", DIGEST[3], "2025-11-02T10:00:00"),  # taken months before
    attached("s3", "2026-02-15", DIGEST[4], "2026-02-18T10:00:00"),  # 3 days: tolerated
    attached("s4", "2026-02-22", DIGEST[5]),                          # hidden afterwards
    hidden("s4", DIGEST[5]),
]


@pytest.fixture
def buyer(backend):
    return bearer(backend.token("buyer_auditor", buyer_id="b1", sub="auditor-1"))


@pytest.fixture
def evaluation(backend, buyer):
    app = backend.app("evaluation")
    grant(app)
    feed(app, STORY)
    created = app.test_client().post("/contracts", headers=buyer, json={
        "id": "k1", "agency_id": "a1", "community_ids": ["c1"], "budget": "240000",
        "period_start": "2026-01-01", "period_end": "2026-12-31",
        "evidence_required": ["session"]})
    assert created.status_code == 201, created.json
    assert created.json["evidence_required"] == ["session"]
    return app


def test_each_record_in_the_drill_down_shows_its_files(evaluation, buyer):
    body = evaluation.test_client().get(f"/contracts/k1/evidence?measure=sessions&"
                                        f"{FIRST_HALF}", headers=buyer).json
    files = {r["record_id"]: [f["digest"] for f in r["files"]] for r in body["records"]}
    # a record's files in the order of their digests
    assert files == {"s1": [DIGEST[1]], "s2": [DIGEST[1]], "s3": [DIGEST[3], DIGEST[4]],
                     "s4": []}  # s4's file was hidden
    s1 = next(r for r in body["records"] if r["record_id"] == "s1")
    assert s1["files"][0] == {"record_type": "session", "record_id": "s1",
                              "digest": DIGEST[1], "media_type": "image/jpeg", "size": 1234,
                              "captured_at": "2026-02-01T09:30:00"}
    assert len(s1["event_ids"]) == 2  # delivered, and its file attached


def test_the_three_file_anomalies(evaluation, buyer):
    body = evaluation.test_client().get(f"/contracts/k1/anomalies?{FIRST_HALF}",
                                        headers=buyer).json
    by_check = {}
    for flag in body["flags"]:
        by_check.setdefault(flag["check"], []).append(flag)
    assert body["counts"]["duplicate_file"] == 1
    duplicate = by_check["duplicate_file"][0]
    assert duplicate["detail"] == {"digest": DIGEST[1],
                                   "records": ["session/s1", "session/s2"]}
    assert duplicate["events"] == 2
    far = {f["detail"]["record"]: f["detail"]["days"] for f in by_check["capture_time_far"]}
    assert far == {"session/s3": -105, "session/s2": -7}  # s2's copy was taken a week before
    # s4's only file was hidden: the contract needs a file on every session
    assert [f["detail"]["record_id"] for f in by_check["missing_evidence"]] == ["s4"]
    for flag in body["flags"]:
        if flag["check"] in ("duplicate_file", "capture_time_far", "missing_evidence"):
            for event_id in flag["event_ids"]:  # each flag drills down to its events
                assert evaluation.test_client().get(f"/contracts/k1/events/{event_id}",
                                                    headers=buyer).status_code == 200


def test_without_the_contract_term_no_record_misses_evidence(evaluation, buyer):
    client = evaluation.test_client()
    changed = client.patch("/contracts/k1", headers=buyer, json={
        "reason": "凭证要求取消", "evidence_required": []})
    assert changed.status_code == 200, changed.json
    body = client.get(f"/contracts/k1/anomalies?{FIRST_HALF}", headers=buyer).json
    assert body["counts"]["missing_evidence"] == 0
    bad = client.patch("/contracts/k1", headers=buyer, json={
        "reason": "x" * 3, "evidence_required": ["volunteer"]})
    assert bad.status_code == 422 and "evidence_required" in bad.json["error"]["fields"]


def test_the_auditor_sees_the_workers_photo_in_the_drill_down(embedded):
    """End to end over HTTP: a worker's photo at casework, its event at evaluation, the
    drill-down page's thumbnail fetched from casework by the link casework gave the buyer."""
    import re
    import threading

    import requests
    from werkzeug.serving import make_server

    from tests.streams import apply_events
    from tests.test_files import photo, upload
    from tests.test_pages import add_user, login
    from tests.test_casework import World, session as session_body

    evaluation = embedded.app("evaluation")
    grant(evaluation)  # intake's reference events, before casework's world forges its own
    world = World(embedded)
    world.session = world.post("/sessions", session_body(), world.w1).json["id"]
    digest = upload(world, photo(), "IMG_0001.jpg", world.w1).json["digest"]
    assert set(apply_events(evaluation, *world.events())) == {"applied"}
    buyer = bearer(embedded.token("buyer_auditor", buyer_id="b1"))
    assert evaluation.test_client().post("/contracts", headers=buyer, json={
        "id": "k1", "agency_id": "a1", "community_ids": ["c1"], "budget": "1000",
        "period_start": "2026-01-01", "period_end": "2026-12-31"}).status_code == 201
    add_user(evaluation, "buyer1", "buyer_auditor", buyer_id="b1")
    port = int(embedded.env["CASEWORK_URL"].rsplit(":", 1)[1])
    server = make_server("127.0.0.1", port, world.app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with embedded.environ():
            client, _ = login(evaluation, "buyer1")
            page = client.get(f"/ui/contracts/k1/evidence/sessions?{FIRST_HALF}")
            assert page.status_code == 200
            html = page.get_data(as_text=True)
            thumbnail = re.search(r'<img src="([^"]+)"', html).group(1).replace("&amp;", "&")
            assert thumbnail.startswith(embedded.env["CASEWORK_URL"] + f"/files/{digest}")
            fetched = requests.get(thumbnail, timeout=5)
            assert fetched.status_code == 200 and fetched.headers["Content-Type"] == "image/jpeg"
            assert "拍摄于 2026-03-10 09:30" in html
            # another buyer's page lists no such record, and casework gives it no link
            add_user(evaluation, "buyer2", "buyer_auditor", buyer_id="b2")
            other, _ = login(evaluation, "buyer2")
            assert other.get("/ui/contracts/k1/evidence/sessions").status_code == 404
    finally:
        server.shutdown()


def test_a_verification_sample_carries_each_records_files(evaluation, buyer):
    client = evaluation.test_client()
    drawn = client.post("/contracts/k1/verifications", headers=buyer, json={
        "kind": "session", "size": 4, "from": "2026-01-01", "to": "2026-06-30"})
    assert drawn.status_code == 201, drawn.json
    sample = client.get(f"/contracts/k1/verifications/{drawn.json['id']}", headers=buyer).json
    files = {i["record_id"]: sorted(f["digest"] for f in i["files"]) for i in sample["items"]}
    assert files == {"s1": [DIGEST[1]], "s2": [DIGEST[1]], "s3": [DIGEST[3], DIGEST[4]],
                     "s4": []}
