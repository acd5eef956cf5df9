"""Keys and the production posture: a service on real servers refuses to start without its
keys unless development keys are asked for; a caller its records no longer hold is refused
with a token still valid; a milestone waits for a whole event log; parking is idempotent."""
import logging

import pytest
import sqlalchemy as sa

from shared import bus, config, keys
from shared.config import ConfigError
from shared.consumer import EventConsumer
from shared.publisher import Publisher
from tests.conftest import bearer
from tests.streams import Chain, messaging, need_data

KEY_VARIABLES = [f"{s.upper()}_{k}" for s in config.SERVICES
                 for k in ("SIGNING_KEY", "PUBLIC_KEYS")]


def test_real_servers_need_real_keys_unless_development_is_said(real, monkeypatch, caplog):
    real.ensure("casework")  # its database, migrated while the keys are still there
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name)
    monkeypatch.delenv("SOCIALWORK_ENV", raising=False)
    keys.forget()
    with pytest.raises(ConfigError, match="CASEWORK_SIGNING_KEY"):
        real.app("casework")  # PostgreSQL and RabbitMQ: production is the default posture
    real.env["SOCIALWORK_ENV"] = "development"
    keys.forget()
    with caplog.at_level(logging.WARNING):
        app = real.app("casework")
    assert "public development keys" in caplog.text
    assert keys.signing_key("casework").public_key() == \
        keys.development_key("casework").public_key()
    assert app.test_client().get("/healthz").status_code == 200


def test_the_embedded_default_takes_development_keys_but_production_does_not(
        embedded, monkeypatch):
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name)
    keys.forget()
    embedded.app("evaluation")  # make run: no server, no keys to set
    embedded.env["SOCIALWORK_ENV"] = "production"
    keys.forget()
    with pytest.raises(ConfigError, match="EVALUATION_SIGNING_KEY"):
        embedded.app("evaluation")


def test_a_private_key_must_match_its_public_keys(embedded, monkeypatch):
    other = keys.development_key("intake")
    monkeypatch.setenv("CASEWORK_SIGNING_KEY", keys.raw_private(other))
    keys.forget()
    with pytest.raises(ConfigError, match="does not match"):
        embedded.app("casework")


def test_the_token_command_needs_the_key_file_in_production(embedded, tmp_path):
    app = embedded.app("intake")
    embedded.env["SOCIALWORK_ENV"] = "production"
    with embedded.environ():
        refused = app.test_cli_runner().invoke(args=["token", "--role", "ops_admin"])
        assert refused.exit_code == 2 and "--private-key-file" in refused.output
        key_file = tmp_path / "intake.key"
        key_file.write_text(keys.raw_private(keys.signing_key("intake")))
        minted = app.test_cli_runner().invoke(args=["token", "--role", "ops_admin",
                                                    "--private-key-file", str(key_file)])
    assert minted.exit_code == 0, minted.output
    assert app.test_client().get("/access-log", headers=bearer(
        minted.output.strip())).status_code == 200


def test_a_worker_off_the_roster_is_refused_at_once(backend):
    app = backend.app("casework")
    client = app.test_client()
    admin = bearer(backend.token("agency_admin", agency_id="a1"))
    worker = bearer(backend.token("social_worker", agency_id="a1", sub="w-left"))
    assert client.get("/cases", headers=worker).status_code == 403  # never on the roster
    assert client.post("/workers", json={"id": "w-left", "name": "离职社工"},
                       headers=admin).status_code == 201
    assert client.get("/cases", headers=worker).status_code == 200
    assert client.patch("/workers/w-left", json={"active": False},
                        headers=admin).status_code == 200
    app.extensions["on_roster"] = type(app.extensions["on_roster"])(seconds=5)  # a new process
    refused = client.get("/cases", headers=worker)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "not_on_roster"


def test_a_disabled_page_account_is_refused_with_its_session_token(embedded):
    from tests.test_pages import add_user, login
    app = embedded.app("intake")
    add_user(app, "clerk-x", "intake_clerk", community_ids=["c1"])
    client, _ = login(app, "clerk-x")
    with client.session_transaction() as session:
        issued = session["token"]
    assert client.get("/needs", headers=bearer(issued)).status_code == 200
    users = app.extensions["pages"].users
    with app.app_context():
        db = app.extensions["socialwork"].spec.db
        db.session.get(users, "clerk-x").active = False
        db.session.commit()
    app.extensions["accounts_active"] = type(app.extensions["accounts_active"])(seconds=5)
    refused = client.get("/needs", headers=bearer(issued))
    assert refused.status_code == 401 and refused.json["error"]["code"] == "account_disabled"


def test_parking_the_same_message_twice_makes_one_copy(backend):
    from shared import deadletters
    app = backend.app("evaluation")
    rt = app.extensions["socialwork"]
    cfg = messaging(backend)
    with app.app_context(), bus.connect(cfg) as conn:
        consumer = EventConsumer(rt.spec.name, rt.store, rt.spec.handlers, cfg)
        bus.declare(conn, *consumer.queues.all())
        consumer.control = Publisher(conn, cfg.confirm_timeout)
        forged = b'{"id": "x", "source": "/intake", "not": "an event"}'
        before = len(deadletters.list_parked(cfg, consumer.queues))
        assert consumer.dispatch(forged, "broker") == "parked"
        assert consumer.dispatch(forged, "broker") == "parked"  # redelivered after a crash
        assert len(deadletters.list_parked(cfg, consumer.queues)) == before + 1
        assert rt.store.session.scalar(sa.select(sa.func.count()).select_from(
            rt.store.ParkedEvent)) == 1


def test_a_milestone_waits_for_a_whole_event_log(backend):
    from tests.streams import apply_events, grant
    app = backend.app("evaluation")
    rt = app.extensions["socialwork"]
    client = app.test_client()
    buyer = bearer(backend.token("buyer_auditor", buyer_id="b1"))
    grant(app)  # intake's first events: the buyer's communities, the agency
    assert client.post("/contracts", headers=buyer, json={
        "id": "k-chain", "agency_id": "a1", "community_ids": ["c1"], "budget": "1000",
        "period_start": "2026-01-01", "period_end": "2026-12-31",
        "milestones": [{"id": "m1", "due": "2026-12-31", "share": 1}]}).status_code == 201
    intake = Chain("/intake", after_forged=True)
    assert apply_events(app, intake.event("need.reported", need_data("n1", "c1"))) == [
        "applied"]
    broken = intake.event("need.reported", need_data("n2", "c1"), tampered=True)
    cfg = messaging(backend)
    with app.app_context(), bus.connect(cfg) as conn:
        consumer = EventConsumer(rt.spec.name, rt.store, rt.spec.handlers, cfg)
        bus.declare(conn, *consumer.queues.all())
        consumer.control = Publisher(conn, cfg.confirm_timeout)
        assert consumer.dispatch(broken.to_json(), "broker") == "parked"
    refused = client.post("/contracts/k-chain/milestones/m1/close", headers=buyer)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "chain_unsettled"
    assert f"/intake: event {broken.sequence} contradicts the chain" in refused.json[
        "error"]["problems"]
    resolved = app.test_cli_runner().invoke(args=[
        "chain", "resolve", "--source", "/intake", "--seq", str(broken.sequence),
        "--reason", "checked"])
    assert resolved.exit_code == 0, resolved.output
    assert client.post("/contracts/k-chain/milestones/m1/close",
                       headers=buyer).status_code == 201
