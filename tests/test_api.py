"""The HTTP surface every service shares: tokens, JSON errors, OpenAPI, the event log."""
import time

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared import keys
from tests.conftest import bearer, sign
from tests.helpers import need_payload, seed_community


@pytest.fixture
def intake(backend):
    app = backend.app("intake")
    for community in ("c1", "c2"):
        seed_community(app, community)
    return app, app.test_client(), backend


def test_health_needs_no_token(intake):
    _, client, _ = intake
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"] == {
        "database": True, "broker": True, "migrations": True}


@pytest.mark.parametrize("path", ["/needs", "/openapi.json", "/events", "/events/integrity",
                                  "/metrics"])
def test_every_other_endpoint_needs_a_token(intake, path):
    _, client, _ = intake
    response = client.get(path)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthenticated"
    assert response.json["error"]["message_zh"]


def _claims(**extra):
    now = int(time.time())
    return {"iss": "intake", "aud": ["intake"], "sub": "u1", "role": "intake_clerk",
            "kind": "session", "community_ids": ["c1"], "iat": now, "exp": now + 3600,
            **extra}


def _signed(issuer: str = "intake", key=None, **extra) -> str:
    """A token with these claims, signed by a service's key (the environment's)."""
    claims = {k: v for k, v in _claims(iss=issuer, **extra).items() if v is not DROP}
    return sign(claims, issuer, key)


DROP = object()
TEN_YEARS = 10 * 365 * 86400


# tokens are made when the test runs, not when it is collected
@pytest.mark.parametrize("make_token, code", [
    (lambda: _signed(exp=int(time.time()) - 5), "token_expired"),
    (lambda: _signed(key=Ed25519PrivateKey.generate()), "token_invalid"),
    (lambda: _signed(role="mayor"), "token_invalid"),
    (lambda: _signed(community_ids=DROP), "token_invalid"),
    (lambda: _signed(exp=DROP), "token_invalid"),
    (lambda: "not-a-jwt", "token_invalid"),
    (lambda: _signed(aud=["casework"]), "token_invalid"),
    (lambda: _signed(exp=int(time.time()) + TEN_YEARS), "token_invalid"),
    (lambda: _signed(role=["intake_clerk"]), "token_invalid"),
    (lambda: _signed(community_ids="c1"), "token_invalid"),
    (lambda: _signed(sub=7), "token_invalid"),
    (lambda: _signed(issuer="casework"), "token_invalid"),
    (lambda: _signed(issuer="evaluation", role="ops_admin"), "token_invalid"),
    (lambda: _signed(kind="service"), "token_invalid"),
    (lambda: _signed(iat=int(time.time()) + 3600, exp=int(time.time()) + 7200),
     "token_invalid"),
    (lambda: jwt.encode(_claims(), keys.raw_public(keys.signing_key("intake").public_key()),
                        "HS256"), "token_invalid"),
], ids=["expired", "wrong-key", "unknown-role", "no-scope", "no-exp", "garbage",
        "wrong-audience", "ten-years", "role-a-list", "scope-not-a-list", "sub-a-number",
        "clerk-vouched-by-casework", "ops-vouched-by-evaluation", "a-person-as-service",
        "issued-in-the-future", "hs256-with-the-public-key"])
def test_bad_tokens_are_refused(intake, make_token, code):
    _, client, _ = intake
    response = client.get("/needs", headers=bearer(make_token()))
    assert response.status_code == 401
    assert response.json["error"]["code"] == code


def test_a_token_accepted_before_is_refused_once_it_expires(intake, monkeypatch):
    """Valid tokens are remembered, so a client's next request skips checking its token
    again; the memory must not outlive the token."""
    _, client, _ = intake
    token = bearer(_signed(exp=int(time.time()) + 60))
    assert client.get("/needs", headers=token).status_code == 200
    later = time.time() + 61
    monkeypatch.setattr("shared.auth.time.time", lambda: later)
    response = client.get("/needs", headers=token)
    assert response.status_code == 401 and response.json["error"]["code"] == "token_expired"


def test_a_clerk_works_only_in_its_own_community(intake):
    _, client, backend = intake
    mine = bearer(backend.token("intake_clerk", community_ids=["c1"]))
    other = bearer(backend.token("intake_clerk", community_ids=["c2"]))
    created = client.post("/needs", json=need_payload("c1"), headers=mine)
    assert created.status_code == 201
    need_id = created.json["id"]
    refused = client.post("/needs", json=need_payload("c1"), headers=other)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "out_of_scope"
    assert client.get(f"/needs/{need_id}", headers=other).status_code == 404
    assert client.get("/needs", headers=other).json == []
    assert [n["id"] for n in client.get("/needs", headers=mine).json] == [need_id]


def test_roles_outside_the_endpoint_are_forbidden(intake):
    _, client, backend = intake
    evaluator = bearer(backend.token("evaluator", contract_id="k1"))
    response = client.get("/needs", headers=evaluator)
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
    worker = bearer(backend.token("social_worker", agency_id="a1"))  # not for intake at all
    assert client.get("/needs", headers=worker).status_code == 401
    assert client.get("/events", headers=bearer(backend.token(
        "intake_clerk", community_ids=["c1"]))).status_code == 403


def test_invalid_input_is_422_with_each_field_and_reason(intake):
    app, client, backend = intake
    headers = bearer(backend.token("intake_clerk", community_ids=["c1"]))
    response = client.post("/needs", json={"community_id": "c1", "category": "astrology",
                                           "urgency": "routine", "channel": "walk_in",
                                           "description": "x" * 5000, "phone": "138"},
                           headers=headers)
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "invalid_input" and error["message_zh"] == "输入数据无效"
    assert set(error["fields"]) == {"category", "description", "phone"}
    assert "Must be one of" in error["fields"]["category"][0]
    assert error["fields_zh"]["category"][0].startswith("必须是以下之一")
    assert error["fields_zh"]["phone"] == ["未知字段"]
    with app.app_context():
        store = app.extensions["socialwork"].store
        assert store.session.scalar(sa.select(sa.func.count()).select_from(store.OutboxEvent)) == 0


def test_not_json_and_unknown_paths_are_json_errors(intake):
    _, client, backend = intake
    headers = bearer(backend.token("intake_clerk", community_ids=["c1"]))
    assert client.get("/needs/nope", headers=headers).json["error"]["code"] == "not_found"
    response = client.post("/needs", data="{",
                           headers={**headers, "Content-Type": "application/json"})
    assert response.status_code in (400, 422) and "error" in response.json


def test_openapi_is_generated_from_the_schemas(intake):
    _, client, backend = intake
    spec = client.get("/openapi.json", headers=bearer(backend.token("ops_admin"))).json
    assert spec["openapi"].startswith("3.")
    assert {"/needs", "/needs/{need_id}", "/events", "/events/count"} <= set(spec["paths"])
    need_in = spec["components"]["schemas"]["NeedIn"]
    assert "elderly_care" in need_in["properties"]["category"]["enum"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_event_log_serves_the_outbox_in_order(intake):
    _, client, backend = intake
    clerk = bearer(backend.token("intake_clerk", community_ids=["c1"]))
    ids = [client.post("/needs", json=need_payload("c1"), headers=clerk).json["id"]
           for _ in range(5)]
    service = bearer(backend.token("service"))
    page = client.get("/events?after=1&limit=2", headers=service).json
    assert page["head"] == 5 and page["next_after"] == 3
    assert [e["data"]["need_id"] for e in page["events"]] == ids[1:3]
    assert [e["sequence"] for e in page["events"]] == ["00000000000000000002",
                                                       "00000000000000000003"]
    count = client.get("/events/count?after=0&upto=4&types=need.reported", headers=service)
    assert count.json == {"source": "/intake", "head": 5, "count": 4}
    assert client.get("/events?types=case.opened", headers=service).json["events"] == []
    assert client.get("/events?limit=0", headers=service).status_code == 422


def test_metrics_count_requests_for_ops(intake):
    _, client, backend = intake
    clerk = bearer(backend.token("intake_clerk", community_ids=["c1"]))
    client.post("/needs", json=need_payload("c1"), headers=clerk)
    assert client.get("/metrics", headers=clerk).status_code == 403
    text = client.get("/metrics", headers=bearer(backend.token("ops_admin"))).text
    # the registry is the process's: other tests' requests (a 422, say) are counted too
    line = next(l for l in text.splitlines() if l.startswith("socialwork_http_requests_total")
                and 'endpoint="/needs"' in l and 'method="POST"' in l and 'status="201"' in l)
    assert float(line.rsplit(" ", 1)[1]) >= 1
    assert "socialwork_http_request_seconds_bucket" in text


def test_the_trace_follows_a_request_into_its_event_and_the_consumer_logs(intake, capsys):
    import json as _json
    import logging

    from shared.events import Event
    from shared.logging import reset_traceparent, set_traceparent, setup
    app, client, backend = intake
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    clerk = bearer(backend.token("intake_clerk", community_ids=["c1"]))
    response = client.post("/needs", json=need_payload("c1"),
                           headers={**clerk, "traceparent": trace})
    assert response.headers["traceparent"] == trace
    store = app.extensions["socialwork"].store
    with app.app_context():
        body = store.session.scalars(sa.select(store.OutboxEvent.body)).one()
    event = Event.from_json(body)
    assert event.traceparent == trace
    setup("casework", "worker")  # what a consumer does with it: its log lines carry the id
    token = set_traceparent(event.traceparent)
    try:
        logging.getLogger("shared.consumer").warning("applied %s", event.id)
    finally:
        reset_traceparent(token)
        logging.getLogger().handlers.clear()
    line = _json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert line["service"] == "casework" and line["process"] == "worker"
