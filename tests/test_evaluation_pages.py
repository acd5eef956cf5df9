"""Evaluation's audit pages through Flask's test client, on the hand-made story of
test_measures: exports, drill-down to records and events, anomalies, trends and cohorts,
and the follow-up verification workflow, each within the buyer's scope."""
from markupsafe import escape

import pytest

from tests.conftest import bearer, mint
from tests.streams import grant
from tests.test_measures import STORY, feed
from tests.test_pages import FIELD_ERROR, add_user, login, post, text

HALF = "from=2026-01-01&to=2026-06-30"


@pytest.fixture
def evaluation(embedded):
    app = embedded.app("evaluation")
    grant(app)
    feed(app, STORY)
    buyer = bearer(embedded.token("buyer_auditor", buyer_id="b1"))
    assert app.test_client().post("/contracts", headers=buyer, json={
        "id": "k1", "agency_id": "a1", "community_ids": ["c1"], "budget": "240000",
        "period_start": "2026-01-01", "period_end": "2026-12-31",
        "targets": {"sessions": 4}}).status_code == 201
    add_user(app, "buyer1", "buyer_auditor", buyer_id="b1")
    add_user(app, "buyer2", "buyer_auditor", buyer_id="b2")
    return app


def test_scorecard_drills_down_to_records_events_and_exports(evaluation):
    client, _ = login(evaluation, "buyer1")
    card = text(client.get(f"/ui/contracts/k1?{HALF}"))
    drill = f"/ui/contracts/k1/evidence/dependency_ratio?{HALF}"
    assert drill.replace("&", "&amp;") in card and "队列留存" in card
    assert "/ui/contracts/k1/export?format=csv" in card
    page = text(client.get(drill))
    # s3 is after the period (a cell: the page's token may hold "s3")
    assert "<td>s1</td>" in page and "a-2" in page and "<td>s3</td>" not in page
    event_link = page.split('href="/ui/contracts/k1/events/')[1].split('"')[0]
    event = text(client.get(f"/ui/contracts/k1/events/{event_link}"))
    assert "session.delivered" in event and "/sessions/s1" in event
    csv = client.get(f"/ui/contracts/k1/evidence/dependency_ratio/export?format=csv&{HALF}")
    assert csv.status_code == 200 and "evidence-k1-dependency_ratio" in csv.headers[
        "Content-Disposition"] and "s1" in text(csv)
    xlsx = client.get("/ui/contracts/k1/export?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert client.get("/ui/contracts/k1/export?format=pdf").status_code == 422
    paged = text(client.get(f"{drill}&offset=5"))
    assert paged.count('href="/ui/contracts/k1/events/') < page.count(
        'href="/ui/contracts/k1/events/')


def test_anomalies_are_grouped_by_check_in_both_languages(evaluation, embedded):
    found = evaluation.test_client().get("/contracts/k1/anomalies", headers=bearer(
        embedded.token("buyer_auditor", buyer_id="b1"))).json
    assert found["flags"]  # the story holds some
    client, _ = login(evaluation, "buyer1")
    page = text(client.get("/ui/contracts/k1/anomalies"))
    english = text(client.get("/ui/contracts/k1/anomalies?lang=en"))
    for flag in found["flags"]:
        assert flag["title_zh"] in page and str(escape(flag["title_en"])) in english
        assert all(f"/ui/contracts/k1/events/{e}" in page for e in flag["event_ids"])
    assert page.count("<section") == len({f["check"] for f in found["flags"]})


def test_another_buyer_sees_none_of_the_audit_pages(evaluation):
    client, _ = login(evaluation, "buyer2")
    for path in ("/ui/contracts/k1/evidence/breadth", "/ui/contracts/k1/export",
                 "/ui/contracts/k1/anomalies", "/ui/contracts/k1/verifications"):
        assert client.get(path).status_code == 404, path
    assert post(client, "/ui/contracts/k1/verifications", {"kind": "session", "size": "1"},
                "/ui/contracts").status_code == 404


def test_verification_workflow(evaluation):
    client, _ = login(evaluation, "buyer1")
    path = "/ui/contracts/k1/verifications"
    invalid = post(client, path, {"kind": "bogus", "size": "0"})
    assert invalid.status_code == 422 and len(FIELD_ERROR.findall(text(invalid))) == 2
    drawn = post(client, path, {"kind": "session", "size": "2", "from": "2026-01-01",
                                "to": "2026-06-30", "seed": "7"})
    assert drawn.status_code == 302
    sample = drawn.location
    items = text(client.get(sample)).count('name="result"')
    assert items == 2
    action = f"{sample}/items/1"
    missing = post(client, action, {"result": "confirmed"}, sample)
    assert missing.status_code == 422 and "method" in text(missing)
    assert post(client, action, {"result": "confirmed", "method": "call", "note": "好"},
                sample).status_code == 302
    page = text(client.get(sample))
    assert page.count('name="result"') == 1 and "好" in page
    assert 'id="verified-share">100%' in text(client.get(path))
    assert client.post(f"{sample}/items/2", data={"result": "confirmed",
                                                  "method": "call"}).status_code == 400


def test_only_a_buyer_draws_samples(evaluation):
    client = evaluation.test_client()
    with client.session_transaction() as session:  # an agency token in a page session
        session["token"] = mint("agency_admin", "admin1", agency_id="a1")
    assert client.get("/ui/contracts/k1/verifications").status_code == 403
    add_user(evaluation, "ops1", "ops_admin")
    ops, _ = login(evaluation, "ops1")
    refused = post(ops, "/ui/contracts/k1/verifications", {"kind": "session", "size": "1"})
    assert refused.status_code == 422 and "暂无抽查样本" in text(refused)
