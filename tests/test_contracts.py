"""Contracts as first-class records: terms, milestones, targets and the indicator framework,
versioned on every change, published for casework."""
import pytest
import sqlalchemy as sa

from services.evaluation.framework import DEFAULT_TEMPLATE, MEASURES
from shared.events import Event
from tests.conftest import bearer
from tests.streams import grant


@pytest.fixture
def evaluation(backend):
    app = backend.app("evaluation")
    grant(app)
    return app, app.test_client(), backend


def contract(**overrides):
    body = {"id": "k1", "agency_id": "a1", "community_ids": ["c1"],
            "period_start": "2026-01-01", "period_end": "2026-12-31", "budget": "300000",
            "milestones": [{"id": "m1", "due": "2026-06-30", "share": 0.4},
                           {"id": "m2", "due": "2026-12-31", "share": 0.6, "min_score": 70}],
            "targets": {"cases": 60, "service_hours": 1200, "sessions": 200,
                        "activities": 48}}
    body.update(overrides)
    return body


def events_of(app) -> list[Event]:
    store = app.extensions["socialwork"].store
    with app.app_context():
        return [Event.from_json(b) for b in store.session.scalars(
            sa.select(store.OutboxEvent.body).order_by(store.OutboxEvent.seq))]


def test_the_default_template_covers_the_four_dimensions_and_every_weight_adds_up():
    assert [d["key"] for d in DEFAULT_TEMPLATE] == ["institutional", "environmental",
                                                    "technological", "psychological"]
    assert sum(d["weight"] for d in DEFAULT_TEMPLATE) == 100
    for dimension in DEFAULT_TEMPLATE:
        assert sum(i["weight"] for i in dimension["indicators"]) == 100
        assert all(i["measure"] in MEASURES for i in dimension["indicators"])
    monitored = {i["measure"] for d in DEFAULT_TEMPLATE for i in d["indicators"]
                 if i["weight"] == 0}
    assert {"breadth", "representativeness_gap"} <= monitored


def test_a_contract_gets_the_default_framework_and_its_first_version(evaluation):
    app, client, backend = evaluation
    buyer = bearer(backend.token("buyer_auditor", buyer_id="b1", sub="auditor-1"))
    created = client.post("/contracts", json=contract(), headers=buyer)
    assert created.status_code == 201, created.json
    body = created.json
    assert [d["key"] for d in body["framework"]] == [d["key"] for d in DEFAULT_TEMPLATE]
    assert body["milestones"][1] == {"id": "m2", "due": "2026-12-31", "share": 0.6,
                                     "min_score": 70}
    assert body["targets"]["service_hours"] == 1200 and body["version"] == 1
    versions = client.get("/contracts/k1/versions", headers=buyer).json
    assert [(v["version"], v["reason"], v["changed_by"]) for v in versions] == [
        (1, "awarded", "auditor-1")]
    awarded = events_of(app)[-1]
    assert awarded.short_type == "contract.awarded" and awarded.data["community_ids"] == ["c1"]


def test_amendments_are_new_versions_and_published(evaluation):
    app, client, backend = evaluation
    buyer = bearer(backend.token("buyer_auditor", buyer_id="b1"))
    client.post("/contracts", json=contract(), headers=buyer)
    framework = client.get("/contracts/k1", headers=buyer).json["framework"]
    framework[0]["weight"], framework[1]["weight"] = 35, 20
    amended = client.patch("/contracts/k1", json={
        "reason": "中期评估后调整权重", "framework": framework,
        "community_ids": ["c1", "c2"]}, headers=buyer)
    assert amended.status_code == 200, amended.json
    assert amended.json["version"] == 2 and amended.json["community_ids"] == ["c1", "c2"]
    versions = client.get("/contracts/k1/versions", headers=buyer).json
    assert [v["terms"]["framework"][0]["weight"] for v in versions] == [30, 35]
    assert versions[0]["terms"]["community_ids"] == ["c1"]
    event = events_of(app)[-1]
    assert event.short_type == "contract.amended"
    # the reason is free text no consumer needs: it stays with the versions, off the bus
    assert event.data["version"] == 2 and "reason" not in event.data
    assert event.type.endswith(".v2")


@pytest.mark.parametrize("change, field", [
    ({"framework": [{**DEFAULT_TEMPLATE[0], "weight": 100,
                     "indicators": [{"measure": "happiness", "weight": 100, "target": 1}]}]},
     "framework.0.indicators.0.measure"),
    ({"framework": [{**d, "weight": 20} for d in DEFAULT_TEMPLATE]}, "framework"),
    ({"milestones": [{"id": "m", "due": "2026-03-01", "share": 0.7},
                     {"id": "n", "due": "2026-06-01", "share": 0.5}]}, "milestones"),
    ({"milestones": [{"id": "m", "due": "2027-03-01", "share": 0.5}]}, "milestones"),
    ({"period_end": "2025-01-01"}, "period_end"),
    ({"budget": "-1"}, "budget"),
])
def test_terms_that_cannot_be_scored_or_paid_are_refused(evaluation, change, field):
    _, client, backend = evaluation
    buyer = bearer(backend.token("buyer_auditor", buyer_id="b1"))
    response = client.post("/contracts", json=contract(**change), headers=buyer)
    assert response.status_code == 422 and field in response.json["error"]["fields"], \
        response.json
    assert client.get("/contracts", headers=buyer).json == []


def test_contracts_are_seen_by_their_buyer_and_agency_only(evaluation):
    _, client, backend = evaluation
    buyer = bearer(backend.token("buyer_auditor", buyer_id="b1"))
    client.post("/contracts", json=contract(), headers=buyer)
    other_buyer = bearer(backend.token("buyer_auditor", buyer_id="b2"))
    agency = bearer(backend.token("agency_admin", agency_id="a1"))
    other_agency = bearer(backend.token("agency_admin", agency_id="a2"))
    assert client.get("/contracts/k1", headers=other_buyer).status_code == 404
    assert client.patch("/contracts/k1", json={"reason": "x" * 3, "budget": "1"},
                        headers=other_buyer).status_code == 404
    assert client.get("/contracts/k1", headers=agency).status_code == 200
    assert client.get("/contracts", headers=other_agency).json == []
    assert client.patch("/contracts/k1", json={"reason": "改预算", "budget": "1"},
                        headers=agency).status_code == 403
    assert client.post("/contracts", json=contract(id="k2"), headers=agency).status_code == 403
    template = client.get("/templates/default", headers=agency).json
    assert len(template["measures"]) == len(MEASURES)
