"""The pages, through Flask's test client: login, sessions, language, CSRF, scope, and each
page's main job for clerks (intake), social workers (casework) and buyers (evaluation)."""
import io
import re

import pytest

from shared import auth
from tests.conftest import bearer, mint
from tests.helpers import seed_community
from tests.streams import apply_events, forge, grant, need_data
from tests.test_casework import contract_event, resident_event
from tests.test_casework import session as session_body
from tests.test_files import photo

PASSWORD = "correct-horse-9"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FIELD_ERROR = re.compile(r'class="field-error">([^<]+)<')


def add_user(app, user_id, role, **scope):
    """Through the ops command, as production creates users."""
    args = ["create-user", "--id", user_id, "--name", f"{user_id} 名", "--role", role,
            "--password", PASSWORD]
    for community in scope.get("community_ids", ()):
        args += ["--community", community]
    for key, option in (("agency_id", "--agency"), ("buyer_id", "--buyer"),
                        ("contract_id", "--contract")):
        if scope.get(key):
            args += [option, scope[key]]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output


def csrf_of(client, path) -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def login(app, user_id, password=PASSWORD, lang=None):
    client = app.test_client()
    if lang:
        client.get(f"/ui/lang/{lang}")
    response = client.post("/ui/login", data={"username": user_id, "password": password,
                                              "csrf_token": csrf_of(client, "/ui/login")})
    return client, response


def post(client, path, data, form_page=None):
    data = {**data, "csrf_token": csrf_of(client, form_page or path)}
    return client.post(path, data=data)


def text(response) -> str:
    return response.get_data(as_text=True)


# -- intake: login, language, CSRF, clerk pages --------------------------------------------

@pytest.fixture
def intake(embedded):
    app = embedded.app("intake")
    seed_community(app, "c1")
    seed_community(app, "c2")
    add_user(app, "clerk1", "intake_clerk", community_ids=["c1"])
    add_user(app, "ops1", "ops_admin")
    return app


def test_login_session_language_and_logout(intake):
    anonymous = intake.test_client()
    assert anonymous.get("/ui/needs").status_code == 302
    assert "/ui/login" in anonymous.get("/ui/needs").location
    _, wrong = login(intake, "clerk1", "wrong-password")
    assert wrong.status_code == 401 and "用户名或密码错误" in text(wrong)
    client, response = login(intake, "clerk1")
    assert response.status_code == 302
    page = client.get("/ui/needs")
    assert page.status_code == 200 and "需求" in text(page) and 'lang="zh-CN"' in text(page)
    client.get("/ui/lang/en")
    assert "Needs" in text(client.get("/ui/needs")) and "需求列表" not in text(client.get("/ui/needs"))
    # the session holds a JWT the APIs take
    with client.session_transaction() as session:
        claims = auth.decode(session["token"], "intake")
    assert claims.role == "intake_clerk" and claims.community_ids == ("c1",)
    assert post(client, "/ui/logout", {}, "/ui/needs").status_code == 302
    assert client.get("/ui/needs").status_code == 302


def test_an_expired_session_asks_to_log_in_again(intake):
    client, _ = login(intake, "clerk1")
    with client.session_transaction() as session:
        session["token"] = mint("intake_clerk", "clerk1", ttl=-5, community_ids=["c1"])
    response = client.get("/ui/needs")
    assert response.status_code == 302 and "/ui/login" in response.location


def attempt(app, user: str, password: str, address: str):
    """A login from a client at `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client.post("/ui/login", data={"username": user, "password": password,
                                          "csrf_token": csrf_of(client, "/ui/login")})


def test_a_stranger_guessing_from_one_address_does_not_lock_the_user_out(backend):
    """Failures are counted per account and address: the guesser is stopped after five,
    the user logs in from elsewhere as ever (before, five guesses locked the account for
    everyone for 15 minutes)."""
    app = backend.app("intake")
    add_user(app, "clerk1", "intake_clerk", community_ids=["c1"])
    for _ in range(5):
        assert attempt(app, "clerk1", "nope", "203.0.113.9").status_code == 401
    stopped = attempt(app, "clerk1", PASSWORD, "203.0.113.9")  # even the right password
    assert stopped.status_code == 429 and "此处尝试次数过多" in text(stopped)
    assert attempt(app, "clerk1", PASSWORD, "198.51.100.7").status_code == 302


def test_many_addresses_lock_an_account_only_for_minutes(backend, monkeypatch):
    from datetime import datetime, timedelta, timezone

    from shared.web import users
    app = backend.app("intake")
    add_user(app, "clerk1", "intake_clerk", community_ids=["c1"])
    for i in range(users.MAX_FAILURES - 1):
        assert attempt(app, "clerk1", "nope", f"203.0.113.{i // 5}").status_code == 401
    locked = attempt(app, "clerk1", "nope", "203.0.113.50")
    assert locked.status_code == 429 and "尝试次数过多" in text(locked)
    assert attempt(app, "clerk1", PASSWORD, "198.51.100.7").status_code == 429
    later = datetime.now(timezone.utc) + users.LOCKOUT + timedelta(seconds=1)
    monkeypatch.setattr(users, "datetime", type("Later", (), {"now": lambda tz=None: later}))
    assert attempt(app, "clerk1", PASSWORD, "198.51.100.7").status_code == 302
    add_user(app, "clerk1", "intake_clerk", community_ids=["c1"])  # ops may also reset it


def test_one_address_trying_many_accounts_is_throttled(embedded):
    app = embedded.app("intake")
    statuses = [attempt(app, f"user{i}", "nope", "203.0.113.77").status_code
                for i in range(31)]
    assert statuses[:30] == [401] * 30 and statuses[30] == 429
    assert attempt(app, "user0", "nope", "198.51.100.7").status_code == 401


def test_a_forged_post_is_rejected(intake):
    client, _ = login(intake, "clerk1")
    response = client.post("/ui/needs/new", data={"community_id": "c1", "category": "health",
                                                  "urgency": "routine", "channel": "walk_in",
                                                  "description": "伪造"})
    assert response.status_code == 400
    assert "csrf_token" not in text(response) or "表单已过期" in text(response)
    assert intake.test_client().post("/ui/login", data={"username": "clerk1",
                                                        "password": PASSWORD}).status_code == 400


def test_record_a_need_shows_errors_by_the_field_then_its_history(intake):
    client, _ = login(intake, "clerk1")
    invalid = post(client, "/ui/needs/new", {"community_id": "c1", "category": "health",
                                             "urgency": "whenever"})
    assert invalid.status_code == 422
    reasons = FIELD_ERROR.findall(text(invalid))
    assert "缺少必填字段" in reasons and any("必须是以下之一" in r for r in reasons)
    elsewhere = post(client, "/ui/needs/new", {
        "community_id": "c2", "category": "health", "urgency": "routine",
        "channel": "walk_in", "description": "别的社区"})
    assert elsewhere.status_code == 422 and "不在本令牌的权限范围内" in text(elsewhere)
    created = post(client, "/ui/needs/new", {
        "community_id": "c1", "category": "elderly_care", "urgency": "urgent",
        "channel": "hotline", "description": "独居老人摔倒", "safety_concern": "on"})
    assert created.status_code == 302
    page = text(client.get(created.location))
    assert "独居老人摔倒" in page and "已报告" in page and "安全" in page
    listed = text(client.get("/ui/needs?category=elderly_care&urgency=urgent"))
    assert "独居老人摔倒" in listed
    assert "独居老人摔倒" not in text(client.get("/ui/needs?category=health"))
    assert client.get("/ui/needs?reported_from=yesterday").status_code == 200


def test_register_a_resident_and_import_a_roster(intake):
    client, _ = login(intake, "clerk1")
    response = post(client, "/ui/residents/new", {
        "community_id": "c1", "grid_id": "c1-g1", "name": "张三", "gender": "male",
        "birth_date": "1950-02-03", "flags": "living_alone"})
    assert response.status_code == 200 and "已登记" in text(response)
    missing = post(client, "/ui/residents/new", {"community_id": "c1", "name": "李四"},
                   "/ui/residents/new")
    assert missing.status_code == 422 and "缺少必填字段" in FIELD_ERROR.findall(text(missing))
    roster = "姓名,性别,网格\n王五,男,c1-g1\n赵六,女,nowhere\n".encode()
    imported = client.post("/ui/residents/import", data={
        "community_id": "c1", "csrf_token": csrf_of(client, "/ui/residents/new"),
        "file": (io.BytesIO(roster), "名册.csv")})
    page = text(imported)
    assert imported.status_code == 200 and "已导入 1 位居民" in page and "该网格不属于此社区" in page
    no_file = client.post("/ui/residents/import", data={
        "community_id": "c1", "csrf_token": csrf_of(client, "/ui/residents/new")})
    assert no_file.status_code == 422 and "请以表单字段 file 上传名册" in FIELD_ERROR.findall(
        text(no_file))


def test_roles_reach_only_their_own_pages(intake, embedded):
    ops, _ = login(intake, "ops1")
    assert ops.get("/ui/needs").status_code == 200
    assert ops.get("/ui/needs/new").status_code == 403
    refused = intake.test_cli_runner().invoke(args=[  # not a role that logs in here
        "create-user", "--id", "b1", "--name", "b", "--role", "buyer_auditor", "--buyer", "b1",
        "--password", PASSWORD])
    assert refused.exit_code == 2 and "does not log in here" in refused.output
    stranger = intake.test_client()  # a token of another service's role in the session
    with stranger.session_transaction() as session:
        session["token"] = embedded.token("social_worker", agency_id="a1")
    refused = stranger.get("/ui/needs")  # not a token intake takes: not logged in here
    assert refused.status_code == 302 and "/ui/login" in refused.location
    with stranger.session_transaction() as session:  # one intake takes, of another role
        session["token"] = embedded.token("evaluator", contract_id="k1")
    assert stranger.get("/ui/needs").status_code == 403


def test_an_agency_worker_finds_residents_by_name_for_a_sign_in_list(intake, embedded):
    clerk = bearer(embedded.token("intake_clerk", community_ids=["c1"]))
    api = intake.test_client()
    for name in ("陈一梅", "陈一兰"):
        assert api.post("/residents", json={"community_id": "c1", "grid_id": "c1-g1",
                                            "name": name, "gender": "female"},
                        headers=clerk).status_code == 201
    search = {"kind": "name_search", "issuer": "casework", "audience": ["intake"]}
    worker = bearer(embedded.token("social_worker", agency_id="a1", sub="w1",
                                   community_ids=["c1"], **search))
    origin = {"Origin": embedded.env["CASEWORK_URL"]}  # where casework's pages are
    found = api.get("/residents?name=陈一&purpose=sign-in", headers={**worker, **origin})
    assert found.status_code == 200 and {r["name"] for r in found.json} == {"陈一梅", "陈一兰"}
    assert found.headers["Access-Control-Allow-Origin"] == origin["Origin"]
    elsewhere = bearer(embedded.token("social_worker", agency_id="a1", community_ids=["c2"],
                                      **search))
    assert api.get("/residents?name=陈一", headers=elsewhere).json == []
    assert api.get("/residents?phone=13800000000", headers=worker).status_code == 403
    refused = api.get("/needs", headers=worker)  # a name-search token is good for nothing else
    assert refused.status_code == 403 and refused.json["error"]["code"] == "wrong_token_kind"
    session_token = bearer(embedded.token("social_worker", agency_id="a1", sub="w1",
                                          community_ids=["c1"]))  # a worker's own session
    assert api.get("/residents?name=陈", headers=session_token).status_code == 401
    ops = bearer(embedded.token("ops_admin"))
    log = api.get("/access-log?actor=w1", headers=ops).json
    assert len(log) == 2 and {e["role"] for e in log} == {"social_worker"}


# -- casework ----------------------------------------------------------------------------

@pytest.fixture
def casework(embedded):
    app = embedded.app("casework")
    apply_events(app, contract_event("k1", "b1", "a1", "c1", 1),
                 contract_event("k2", "b2", "a2", "c2", 2),
                 *[resident_event(f"r-c1-{i}", "c1", i) for i in range(1, 5)],
                 forge("need.reported", need_data("n1", "c1", resident_ref="r-c1-1",
                                                  grid_id="c1-g1"), 5))
    for worker, agency in (("w1", "a1"), ("x1", "a2")):  # each on its agency's roster
        admin = bearer(embedded.token("agency_admin", agency_id=agency))
        assert app.test_client().post("/workers", json={"id": worker, "name": "李社工"},
                                      headers=admin).status_code == 201
    add_user(app, "w1", "social_worker", agency_id="a1")
    add_user(app, "x1", "social_worker", agency_id="a2")
    return app


def test_a_social_worker_takes_a_need_into_a_case_and_works_it(casework):
    client, _ = login(casework, "w1")
    queue = text(client.get("/ui/queue"))
    assert "r-c1-1" in queue and "开案" in queue
    opened = post(client, "/ui/cases", {"need_id": "n1"}, "/ui/queue")
    assert opened.status_code == 302
    case_path = opened.location
    assert "r-c1-1" in text(client.get("/ui/cases"))
    bad_goal = post(client, case_path + "/goals", {"domain": "社会支持"}, case_path)
    assert bad_goal.status_code == 422 and "缺少必填字段" in FIELD_ERROR.findall(text(bad_goal))
    assert post(client, case_path + "/goals", {"domain": "社会支持", "baseline": "-1",
                                               "description": "每周参加一次活动"},
                case_path).status_code == 302
    assert post(client, case_path + "/notes", {"kind": "assessment", "text": "初次评估"},
                case_path).status_code == 302
    page = text(client.get(case_path))
    assert "每周参加一次活动" in page and "初次评估" in page
    case_id = case_path.rsplit("/", 1)[1]
    session_page = text(client.get(f"/ui/sessions/new?case_id={case_id}&community_id=c1"))
    assert 'data-token="' in session_page and "r-c1-1" not in session_page
    token = re.search(r'data-token="([^"]+)"', session_page).group(1)
    assert auth.decode(token, "intake").community_ids == ("c1",)  # the search scope
    logged = post(client, "/ui/sessions/new", {
        "community_id": "c1", "method": "casework", "case_id": case_id, "topic": "家访",
        "date": "2026-03-02", "start": "09:00", "end": "10:30", "location": "居民家中",
        "worker_ids": "w1", "attendee_refs": "r-c1-1"}, "/ui/sessions/new")
    assert logged.status_code == 302
    assert "家访" in text(client.get(logged.location))
    assert "家访" in text(client.get(case_path))
    late = post(client, "/ui/sessions/new", {
        "community_id": "c1", "method": "group_work", "topic": "小组", "date": "2026-03-02",
        "start": "11:00", "end": "10:00", "location": "活动室", "worker_ids": "w1"},
        "/ui/sessions/new")
    assert late.status_code == 422 and len(FIELD_ERROR.findall(text(late))) >= 1


def test_capacity_building_and_the_council_board(casework):
    client, _ = login(casework, "w1")
    assert post(client, "/ui/activities", {
        "community_id": "c1", "kind": "training", "topic": "志愿者培训", "led_by": "agency",
        "date": "2026-03-03", "start": "14:00", "end": "16:00", "location": "活动室",
        "worker_ids": "w1", "attendee_refs": "r-c1-2, r-c1-3"}).status_code == 302
    assert "志愿者培训" in text(client.get("/ui/activities"))
    assert post(client, "/ui/council/topics", {
        "community_id": "c1", "title": "加装电梯", "description": "老楼加装电梯",
        "proposer_kind": "resident", "proposer_ref": "r-c1-2",
        "proposed_on": "2026-03-01"}, "/ui/council").status_code == 302
    board = text(client.get("/ui/council"))
    topic_id = re.search(r'name="topic_ids" value="([^"]+)"', board).group(1)
    assert post(client, "/ui/council/meetings", {
        "community_id": "c1", "date": "2026-03-05", "start": "19:00", "end": "20:30",
        "location": "议事厅", "attendee_refs": "r-c1-2, r-c1-3, r-c1-4", "topic_ids": topic_id,
        "minutes": "讨论加装电梯"}, "/ui/council").status_code == 302
    board = text(client.get("/ui/council"))
    meeting_id = re.search(r'name="meeting_id">\s*<option value="">—</option>\s*'
                           r'<option value="([^"]+)"', board).group(1)
    no_votes = post(client, "/ui/council/decisions", {"meeting_id": meeting_id,
                                                      "topic_id": topic_id}, "/ui/council")
    assert no_votes.status_code == 422 and "缺少必填字段" in FIELD_ERROR.findall(text(no_votes))
    assert post(client, "/ui/council/decisions", {
        "meeting_id": meeting_id, "topic_id": topic_id, "outcome": "adopted",
        "decision_mode": "delegated", "votes_for": "3", "votes_against": "0",
        "abstentions": "0", "decided_on": "2026-03-05", "summary": "同意加装"},
        "/ui/council").status_code == 302
    board = text(client.get("/ui/council"))
    decision_id = re.search(r'id="decision-([^"]+)"', board).group(1)
    assert post(client, f"/ui/council/decisions/{decision_id}/progress", {
        "status": "in_progress", "progress": "40", "on": "2026-03-20", "note": "已报审批"},
        "/ui/council").status_code == 302
    assert "已报审批" in text(client.get("/ui/council"))


def test_another_agencys_worker_sees_none_of_it(casework):
    client, _ = login(casework, "w1")
    case_path = post(client, "/ui/cases", {"need_id": "n1"}, "/ui/queue").location
    stranger, _ = login(casework, "x1")
    assert "r-c1-1" not in text(stranger.get("/ui/queue"))
    assert stranger.get(case_path).status_code == 404
    assert "r-c1-1" not in text(stranger.get("/ui/cases"))


# -- evaluation --------------------------------------------------------------------------

@pytest.fixture
def evaluation(embedded):
    app = embedded.app("evaluation")
    grant(app)
    buyer = bearer(embedded.token("buyer_auditor", buyer_id="b1"))
    contract = {"id": "k1", "agency_id": "a1", "community_ids": ["c1"],
                "period_start": "2026-01-01", "period_end": "2026-06-30", "budget": "300000",
                "targets": {"cases": 10, "sessions": 40, "service_hours": 80, "activities": 6},
                "milestones": [{"id": "m1", "due": "2026-06-30", "share": 1.0}]}
    assert app.test_client().post("/contracts", json=contract,
                                  headers=buyer).status_code == 201
    add_user(app, "buyer1", "buyer_auditor", buyer_id="b1")
    add_user(app, "buyer2", "buyer_auditor", buyer_id="b2")
    return app


def test_a_buyer_reads_its_contracts_scorecard(evaluation):
    client, _ = login(evaluation, "buyer1")
    assert "k1" in text(client.get("/ui/contracts"))
    card = client.get("/ui/contracts/k1?from=2026-01-01&to=2026-03-31")
    page = text(card)
    assert card.status_code == 200 and page.count("<svg") == 6
    assert "参与阶梯" in page and "居民主导比例" in page and "2026-03" in page
    english = text(client.get("/ui/contracts/k1?lang=en"))
    assert "Outputs against targets" in english and "median days from topic proposed" in english
    wrong = client.get("/ui/contracts/k1?from=2026-04-01&to=2026-03-01")
    assert wrong.status_code == 422 and FIELD_ERROR.findall(text(wrong))


def test_a_buyer_cannot_see_another_buyers_contract(evaluation):
    client, _ = login(evaluation, "buyer2")
    # the contract's link, not the two letters (a random CSRF token may hold them)
    assert "/ui/contracts/k1" not in text(client.get("/ui/contracts"))
    assert client.get("/ui/contracts/k1").status_code == 404


def test_a_worker_photographs_evidence_onto_a_session_from_its_page(casework):
    w1 = bearer(mint("social_worker", "w1", agency_id="a1"))
    made = casework.test_client().post("/sessions", headers=w1, json=session_body(
        attendee_refs=["r-c1-1"]))
    assert made.status_code == 201, made.json
    sid = made.json["id"]
    client, _ = login(casework, "w1")
    assert f"/ui/records/session/{sid}/files" in text(client.get("/ui/sessions"))
    page_path = f"/ui/records/session/{sid}/files"
    page = text(client.get(page_path))
    assert 'accept="image/*,application/pdf"' in page and 'capture="environment"' in page
    assert "暂无文件" in page and f"/ui/sessions/{sid}/sign-in-sheet" in page
    refused = client.post(page_path, content_type="multipart/form-data", data={
        "csrf_token": csrf_of(client, page_path),
        "file": (io.BytesIO(b"<html></html>"), "photo.jpg")})
    assert refused.status_code == 422 and "JPEG、PNG、HEIC 或 PDF" in text(refused)
    uploaded = client.post(page_path, content_type="multipart/form-data", data={
        "csrf_token": csrf_of(client, page_path),
        "file": (io.BytesIO(photo()), "IMG_0001.jpg")})
    assert uploaded.status_code == 302
    gallery = text(client.get(uploaded.headers["Location"]))
    thumb = re.search(r'<img src="([^"]+)"', gallery).group(1).replace("&amp;", "&")
    assert "拍摄于 2026-03-10 09:30" in gallery
    assert casework.test_client().get(thumb).mimetype == "image/jpeg"  # the link alone
    sheet = client.get(f"/ui/sessions/{sid}/sign-in-sheet")
    assert sheet.status_code == 200 and sheet.mimetype == "application/pdf"
    other, _ = login(casework, "x1")
    assert other.get(page_path).status_code == 404
