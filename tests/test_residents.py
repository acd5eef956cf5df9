"""The residents' own channel (docs/RESIDENTS.md): sign-in with a texted one-time code or a
clerk's invitation, the resident token and what it opens, on both backends."""
import logging
import re
import statistics
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shared import auth
from shared.errors import ApiError
from tests.conftest import bearer, remember_pii
from tests.helpers import seed_community
from tests.test_pages import csrf_of, text

PHONE, OTHER_PHONE, UNKNOWN = "13912345678", "13812345670", "13700000001"
CODE = re.compile(r"验证码是 (\d{6})")


@pytest.fixture
def intake(backend, monkeypatch):
    monkeypatch.setenv("INTAKE_SMS_BACKEND", "log")  # the development gateway, on both
    app = backend.app("intake")
    seed_community(app, "c1")
    seed_community(app, "c2")
    app.clerk = bearer(backend.token("intake_clerk", community_ids=["c1"]))
    client = app.test_client()
    for name, phone in (("王秀兰", PHONE), ("李建国", OTHER_PHONE)):
        remember_pii(name, phone)
        answer = client.post("/residents", headers=app.clerk, json={
            "community_id": "c1", "grid_id": "c1-g1", "name": name, "gender": "female",
            "phone": phone})
        assert answer.status_code == 201, answer.json
    app.ref = answer.json["ref"]  # the second resident's
    return app


def ask_code(client, phone, caplog):
    """Ask for a code on the page; the development gateway's log line, waited for."""
    caplog.clear()
    answer = client.post("/r/signin", data={"phone": phone,
                                            "csrf_token": csrf_of(client, "/r/signin")})
    return answer


def texted_code(caplog, timeout=5.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in caplog.records:
            found = CODE.search(record.getMessage())
            if found:
                return found.group(1)
        time.sleep(0.02)
    raise AssertionError("no code was texted")


def enter(client, phone, code):
    return client.post("/r/signin/code", data={
        "phone": phone, "code": code, "csrf_token": csrf_of(client, "/r/signin")})


def signed_in_token(client) -> str:
    with client.session_transaction() as session:
        return session["resident_token"]


def test_a_resident_signs_in_with_a_texted_code(intake, caplog):
    caplog.set_level(logging.WARNING, logger="services.intake.sms")
    client = intake.test_client()
    assert client.get("/r/").headers["Location"].endswith("/r/signin")
    answer = ask_code(client, OTHER_PHONE, caplog)
    assert answer.status_code == 200
    assert "开发系统" in text(answer)  # the page says the code went to the log
    code = texted_code(caplog)
    assert OTHER_PHONE not in caplog.text  # the log names the number by its last digits only
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    assert enter(client, OTHER_PHONE, wrong).status_code == 401
    answer = enter(client, OTHER_PHONE, code)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/r/")
    assert "c1 社区" in text(client.get("/r/"))
    claims = auth.decode(signed_in_token(client), "intake:residents")
    assert (claims.role, claims.sub, claims.community_ids) == ("resident", intake.ref, ("c1",))
    assert enter(intake.test_client(), OTHER_PHONE, code).status_code == 401  # spent


def test_the_resident_token_opens_only_the_resident_doors(intake, caplog):
    caplog.set_level(logging.WARNING, logger="services.intake.sms")
    client = intake.test_client()
    ask_code(client, PHONE, caplog)
    enter(client, PHONE, texted_code(caplog))
    token = signed_in_token(client)
    payload = __import__("jwt").decode(token, options={"verify_signature": False})
    assert payload["aud"] == ["intake:residents", "casework:residents"]
    assert set(payload) == {"iss", "aud", "sub", "role", "kind", "iat", "exp", "community_ids"}
    assert PHONE not in token and payload["sub"].startswith("r-")
    api = intake.test_client()
    for path in ("/needs", "/residents?phone=" + PHONE + "&purpose=x", "/communities"):
        answer = api.get(path, headers=bearer(token))
        assert answer.status_code == 401 and answer.json["error"]["code"] == "token_invalid"
    for service in ("casework", "evaluation"):
        with pytest.raises(ApiError):
            auth.decode(token, service)
    clerk = intake.clerk["Authorization"].split()[1]
    with pytest.raises(ApiError):  # a resident door takes nobody else's token
        auth.decode(clerk, "intake:residents")
    with pytest.raises(ValueError):  # only intake vouches for a resident
        auth.mint("resident", "r-1", issuer="casework", community_ids=["c1"])


def test_a_code_expires_in_minutes_and_wrong_tries_spend_it(intake, caplog):
    from services.intake.models import ResidentCode, db
    caplog.set_level(logging.WARNING, logger="services.intake.sms")
    client = intake.test_client()
    ask_code(client, PHONE, caplog)
    code = texted_code(caplog)
    with intake.app_context():  # five minutes and a second later
        row = db.session.scalars(sa.select(ResidentCode)).one()
        assert row.expires_at - row.created_at == timedelta(minutes=5)
        row.expires_at = row.created_at - timedelta(seconds=1)
        db.session.commit()
    assert enter(client, PHONE, code).status_code == 401
    ask_code(client, PHONE, caplog)
    code = texted_code(caplog)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for _ in range(5):
        assert enter(client, PHONE, wrong).status_code == 401
    assert enter(client, PHONE, code).status_code == 401  # spent by the fifth wrong try


def test_codes_are_rate_limited_per_number_and_per_client(intake, caplog):
    caplog.set_level(logging.WARNING, logger="services.intake.sms")
    for phone in (PHONE, UNKNOWN):  # the same limit for a number not on the roster
        client = intake.test_client()
        statuses = [ask_code(client, phone, caplog).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
    client = intake.test_client()
    statuses = [ask_code(client, f"1360000{n:04d}", caplog).status_code for n in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # ten codes from this address in the window
    other = intake.test_client()
    answer = other.post("/r/signin", data={"phone": OTHER_PHONE,
                                           "csrf_token": csrf_of(other, "/r/signin")},
                        environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert answer.status_code == 200  # another address is not held up


def test_an_unknown_number_gets_the_same_answer_in_the_same_time(intake, caplog):
    """No enumeration: the page and its status are the same, and the time is of one class
    (medians within a few milliseconds, nothing is sent inside the request either way)."""
    caplog.set_level(logging.WARNING, logger="services.intake.sms")
    from services.intake.models import ResidentCode, db
    times = {PHONE: [], UNKNOWN: []}
    pages = {}
    for round_ in range(8):
        for phone in times:
            with intake.app_context():  # under the limits: the test measures, not the limit
                db.session.execute(sa.delete(ResidentCode))
                db.session.commit()
            client = intake.test_client()
            data = {"phone": phone, "csrf_token": csrf_of(client, "/r/signin")}
            started = time.perf_counter()
            answer = client.post("/r/signin", data=data)
            times[phone].append(time.perf_counter() - started)
            pages[phone] = (answer.status_code, text(answer).replace(phone, "NUMBER"))
            pages[phone] = (pages[phone][0], re.sub(r'value="[^"]+" name="csrf_token"|'
                                                    r'name="csrf_token" value="[^"]+"', "",
                                                    pages[phone][1]))
    assert pages[PHONE] == pages[UNKNOWN]
    known, unknown = (statistics.median(times[p]) for p in (PHONE, UNKNOWN))
    assert abs(known - unknown) < max(0.005, 0.5 * min(known, unknown)), (known, unknown)
    texted_code(caplog)  # and the known number did get its code


def test_a_clerk_hands_a_resident_a_one_time_invitation(intake):
    from services.intake.models import ResidentInvitation, db
    api = intake.test_client()
    answer = api.post(f"/residents/{intake.ref}/invitation", headers=intake.clerk)
    assert answer.status_code == 201
    url = answer.json["url"]
    path = url[url.index("/r/invitation/"):]
    other_clerk = bearer(auth.mint("intake_clerk", "clerk2", issuer="intake",
                                   community_ids=["c2"]))
    assert api.post(f"/residents/{intake.ref}/invitation",
                    headers=other_clerk).status_code == 404
    client = intake.test_client()
    assert client.get(path).status_code == 200  # opening the link spends nothing
    answer = client.post(path, data={"csrf_token": csrf_of(client, path)})
    assert answer.status_code == 302
    assert auth.decode(signed_in_token(client), "intake:residents").sub == intake.ref
    again = intake.test_client()
    assert again.post(path, data={"csrf_token": csrf_of(again, path)}).status_code == 401
    with intake.app_context():
        stored = db.session.scalars(sa.select(ResidentInvitation)).one()
        assert path.rsplit("/", 1)[1] not in stored.token_hash  # kept as a hash only
    answer = api.post(f"/residents/{intake.ref}/invitation", headers=intake.clerk)
    late = answer.json["url"][answer.json["url"].index("/r/invitation/"):]
    with intake.app_context():
        for row in db.session.scalars(sa.select(ResidentInvitation).where(
                ResidentInvitation.used_at.is_(None))):
            row.expires_at = row.created_at - timedelta(seconds=1)
        db.session.commit()
    client = intake.test_client()
    assert client.post(late, data={"csrf_token": csrf_of(client, late)}).status_code == 401


def test_without_a_gateway_the_page_says_to_ask_for_an_invitation(embedded, monkeypatch):
    monkeypatch.delenv("INTAKE_SMS_BACKEND", raising=False)
    monkeypatch.setenv("SOCIALWORK_ENV", "production")  # no development gateway
    app = embedded.app("intake")
    client = app.test_client()
    page = text(client.get("/r/signin"))
    assert "邀请" in page and 'name="phone"' not in page


def test_the_production_gateway_posts_to_its_url_with_its_key(monkeypatch):
    """The HTTP backend against a small server of the test's own on loopback."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from services.intake import sms
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["Authorization"], json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass
    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("INTAKE_SMS_URL", f"http://127.0.0.1:{server.server_port}/sms")
        monkeypatch.setenv("INTAKE_SMS_KEY", "k-123")
        gateway = sms.from_env()
        assert isinstance(gateway, sms.HttpGateway) and not gateway.development
        sms.dispatch(gateway, PHONE, "code 123456").result(timeout=10)
    finally:
        server.shutdown()
    assert received == [("Bearer k-123", {"to": PHONE, "text": "code 123456"})]
