"""Intake: residents with personal data kept safe, needs and their life cycle, bulk import."""
import io
import json
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from services.intake import idcard
from shared import clock, idnumber, keys
from shared.events import Event
from tests.conftest import bearer, remember_pii
from tests.helpers import seed_community


def make_id(born: date, serial: str = "123", region: str = "500103") -> str:
    first17 = f"{region}{born:%Y%m%d}{serial}"
    return first17 + idnumber.check_digit(first17)


@pytest.fixture
def intake(backend):
    app = backend.app("intake")
    for community in ("c1", "c2"):
        seed_community(app, community, grid_ids=("g1", "g2"))
    client = app.test_client()
    clerk = bearer(backend.token("intake_clerk", community_ids=["c1"], sub="clerk-1"))
    return app, client, clerk, backend


def register(client, clerk, **overrides):
    body = {"community_id": "c1", "grid_id": "c1-g1", "name": "张秀英",
            "id_number": make_id(date(1948, 3, 9), "124"), "phone": "13800138000",
            "flags": ["living_alone"]}
    body.update(overrides)
    remember_pii(body.get("name"), body.get("phone"), body.get("id_number"))
    return client.post("/residents", json=body, headers=clerk)


def outbox_events(app) -> list[Event]:
    store = app.extensions["socialwork"].store
    with app.app_context():
        return [Event.from_json(b) for b in store.session.scalars(
            sa.select(store.OutboxEvent.body).order_by(store.OutboxEvent.seq))]


# -- identity numbers ------------------------------------------------------------------------

def test_id_numbers_are_checked_by_format_check_digit_and_birth_date():
    good = make_id(date(1990, 1, 31))
    assert idcard.id_problem(good) is None
    assert idnumber.birth_date_of(good) == date(1990, 1, 31)
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    assert "check digit" in idcard.id_problem(wrong_check)
    assert "17 digits" in idcard.id_problem(good[:17])
    first17 = "50010319901331123"  # month 13
    assert "birth date" in idcard.id_problem(first17 + idnumber.check_digit(first17))
    ends_in_x = next(i for i in (make_id(date(1971, 6, 1), str(n)) for n in range(100, 999))
                     if i.endswith("X"))
    assert idcard.id_problem(idcard.normalise_id(" " + ends_in_x.lower() + " ")) is None


def test_gender_comes_from_the_seventeenth_digit():
    assert idnumber.gender_of(make_id(date(1980, 1, 1), "121")) == "male"
    assert idnumber.gender_of(make_id(date(1980, 1, 1), "122")) == "female"


# -- residents -------------------------------------------------------------------------------

def test_registration_derives_demographics_and_publishes_no_personal_data(intake):
    app, client, clerk, _ = intake
    response = register(client, clerk)
    assert response.status_code == 201, response.json
    resident = response.json
    assert resident["ref"].startswith("r-") and resident["gender"] == "female"
    assert resident["age_band"] == "70-79"
    assert resident["flags"] == ["elderly", "living_alone"]
    event = outbox_events(app)[-1]
    assert event.short_type == "resident.registered"
    assert event.data["resident_ref"] == resident["ref"]
    assert event.data["age_band"] == "70-79" and event.data["grid_id"] == "c1-g1"
    assert "张秀英" not in event.to_json() and "13800138000" not in event.to_json()


def test_personal_data_is_encrypted_at_rest(intake):
    app, client, clerk, _ = intake
    id_number = make_id(date(1948, 3, 9), "124")
    register(client, clerk)
    db = app.extensions["socialwork"].spec.db
    with app.app_context():
        rows = db.session.execute(sa.text("SELECT * FROM resident")).mappings().all()
    dump = json.dumps([dict(r) for r in rows], default=str, ensure_ascii=False)
    for secret in ("张秀英", "13800138000", id_number, "1948-03-09"):
        assert secret not in dump
    assert rows[0]["id_number_hash"] and len(rows[0]["id_number_hash"]) == 64


def test_the_same_person_twice_is_a_409_with_the_existing_reference(intake):
    _, client, clerk, _ = intake
    first = register(client, clerk).json["ref"]
    again = register(client, clerk, phone="13900139000")  # same ID number
    assert again.status_code == 409
    assert again.json["error"]["code"] == "duplicate_resident"
    assert again.json["error"]["resident_ref"] == first
    same_phone = register(client, clerk, id_number=make_id(date(1950, 1, 1), "135"),
                          phone="138-0013-8000")
    assert same_phone.status_code == 409 and same_phone.json["error"]["resident_ref"] == first
    spaced = register(client, clerk, id_number=" " + make_id(date(1948, 3, 9), "124") + " ",
                      phone=None)
    assert spaced.status_code == 409


@pytest.mark.parametrize("overrides, field, zh", [
    ({"id_number": "500103194803091230"}, "id_number", "校验位"),
    ({"id_number": "50010319480309123"}, "id_number", "身份证号应为"),
    ({"birth_date": "1950-01-01"}, "birth_date", "出生日期"),
    ({"gender": "male"}, "gender", "性别"),
    ({"phone": "12345"}, "phone", "电话"),
    ({"grid_id": "c2-g1"}, "grid_id", "网格"),
    ({"name": "x" * 51}, "name", "长度"),
    ({"flags": ["famous"]}, "flags", "必须是"),
    ({"id_number": None, "gender": None}, "gender", "性别"),
    ({"community_id": "nowhere"}, "community_id", None),
])
def test_bad_resident_input_is_a_422_naming_the_field(intake, overrides, field, zh):
    _, client, clerk, backend = intake
    if overrides.get("community_id") == "nowhere":
        clerk = bearer(backend.token("intake_clerk", community_ids=["nowhere"]))
    response = register(client, clerk, **overrides)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]
    if zh:
        assert zh in json.dumps(response.json["error"]["fields_zh"][field], ensure_ascii=False)


def test_clerks_reach_only_their_own_community(intake):
    _, client, clerk, backend = intake
    ref = register(client, clerk).json["ref"]
    stranger = bearer(backend.token("intake_clerk", community_ids=["c2"]))
    assert register(client, stranger, phone="13700137000",
                    id_number=make_id(date(1960, 5, 5))).status_code == 403
    assert client.get(f"/residents/{ref}", headers=stranger).status_code == 404
    assert client.get("/residents?name=张秀", headers=stranger).json == []
    assert client.get("/residents?phone=13800138000", headers=stranger).json == []
    assert client.patch(f"/residents/{ref}", json={"grid_id": "c2-g1"},
                        headers=stranger).status_code == 404
    ops = bearer(backend.token("ops_admin"))
    assert client.get(f"/residents/{ref}", headers=ops).status_code == 403


def test_every_read_of_personal_data_is_logged(intake):
    _, client, clerk, backend = intake
    ref = register(client, clerk).json["ref"]
    other = register(client, clerk, name="王建国", id_number=make_id(date(1985, 7, 7), "131"),
                     phone="13911112222").json["ref"]
    found = client.get("/residents?name=建国&purpose=回访核实", headers=clerk).json
    assert [(r["ref"], r["name"]) for r in found] == [(other, "王建国")]
    by_phone = client.get("/residents?phone=13800138000", headers=clerk).json
    assert [r["ref"] for r in by_phone] == [ref]
    detail = client.get(f"/residents/{ref}?purpose=个案评估", headers=clerk).json
    assert detail["personal"]["name"] == "张秀英"
    assert detail["personal"]["birth_date"] == "1948-03-09"
    assert client.get("/residents?name=张&phone=1", headers=clerk).status_code == 422
    ops = bearer(backend.token("ops_admin"))
    assert client.get("/access-log", headers=clerk).status_code == 403
    log = client.get("/access-log?actor=clerk-1", headers=ops)
    entries = [(e["action"], e["resident_ref"], e["purpose"]) for e in log.json]
    assert entries == [("read", ref, "个案评估"), ("search", ref, "resident lookup"),
                       ("search", other, "回访核实")]
    assert json.loads(log.headers["X-Pagination"])["total"] == 3
    assert client.get(f"/access-log?resident_ref={other}", headers=ops).json[0]["fields"] == [
        "name"]


def test_updates_publish_only_demographic_changes(intake):
    app, client, clerk, _ = intake
    ref = register(client, clerk).json["ref"]
    before = len(outbox_events(app))
    assert client.patch(f"/residents/{ref}", json={"phone": "13600136000"},
                        headers=clerk).status_code == 200
    assert len(outbox_events(app)) == before  # a new phone is nobody else's business
    moved = client.patch(f"/residents/{ref}", json={"grid_id": "c1-g2",
                                                    "flags": ["disability"]}, headers=clerk)
    assert moved.status_code == 200 and moved.json["flags"] == ["disability", "elderly"]
    event = outbox_events(app)[-1]
    assert event.short_type == "resident.updated" and event.data["grid_id"] == "c1-g2"
    second = register(client, clerk, name="李四", id_number=make_id(date(1990, 2, 2), "151"),
                      phone="13500135000").json["ref"]
    clash = client.patch(f"/residents/{second}", json={"phone": "13600136000"}, headers=clerk)
    assert clash.status_code == 409 and clash.json["error"]["resident_ref"] == ref


def test_keys_rotate_without_losing_data(backend, tmp_path):
    from cryptography.fernet import Fernet

    from services.intake.residents import vault
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    backend.env["INTAKE_DATA_KEYS"] = old
    app = backend.app("intake")
    seed_community(app, "c1")
    clerk = bearer(backend.token("intake_clerk", community_ids=["c1"]))
    ref = register(app.test_client(), clerk).json["ref"]
    backend.env["INTAKE_DATA_KEYS"] = f"{new},{old}"
    rotated = backend.app("intake")
    assert rotated.test_cli_runner().invoke(args=["rotate-keys"]).output.startswith(
        "re-encrypted 1")
    backend.env["INTAKE_DATA_KEYS"] = new
    only_new = backend.app("intake")
    detail = only_new.test_client().get(f"/residents/{ref}", headers=clerk).json
    assert detail["personal"]["name"] == "张秀英"
    with only_new.app_context():
        assert vault().open(vault().seal("x")) == "x"


# -- needs -----------------------------------------------------------------------------------

def need(client, clerk, **overrides):
    body = {"community_id": "c1", "category": "elderly_care", "urgency": "routine",
            "channel": "grid_visit", "description": "独居老人行动不便，需要上门助浴"}
    body.update(overrides)
    return client.post("/needs", json=body, headers=clerk)


def test_a_residents_need_takes_the_residents_grid_and_reference(intake):
    app, client, clerk, _ = intake
    ref = register(client, clerk).json["ref"]
    created = need(client, clerk, resident_ref=ref)
    assert created.status_code == 201
    body = created.json
    assert body["grid_id"] == "c1-g1" and body["resident_ref"] == ref
    assert body["status"] == "reported" and body["reported_by"] == "clerk-1"
    event = outbox_events(app)[-1]
    assert event.data["resident_ref"] == ref and "description" not in event.data
    assert event.data["reported_at"].endswith("Z")


def test_anonymous_and_household_needs(intake):
    _, client, clerk, _ = intake
    household = client.post("/households", json={"community_id": "c1", "grid_id": "c1-g2",
                                                 "household_type": "elderly_only",
                                                 "address": "3栋2单元501"}, headers=clerk)
    assert household.status_code == 201
    by_household = need(client, clerk, household_ref=household.json["ref"])
    assert by_household.json["grid_id"] == "c1-g2"
    anonymous = need(client, clerk, category="public_environment", channel="online")
    assert anonymous.json["resident_ref"] is None and anonymous.json["grid_id"] is None
    assert need(client, clerk, resident_ref="r-0000000000000000").status_code == 422
    assert need(client, clerk, household_ref="h-nope").status_code == 422


@pytest.mark.parametrize("overrides, expected", [
    ({"urgency": "urgent", "category": "elderly_care"}, True),
    ({"urgency": "urgent", "category": "public_environment"}, False),
    ({"urgency": "priority", "category": "child_youth"}, False),
    ({"urgency": "routine", "category": "employment", "safety_concern": True}, True),
])
def test_the_urgent_safety_rule(intake, overrides, expected):
    _, client, clerk, _ = intake
    created = need(client, clerk, **overrides).json
    assert created["safety_flag"] is expected
    if overrides.get("safety_concern"):
        assert created["urgency"] == "urgent"


def test_a_vulnerable_residents_urgent_need_is_a_safety_case(intake):
    _, client, clerk, _ = intake
    ref = register(client, clerk).json["ref"]  # elderly, living alone
    assert need(client, clerk, resident_ref=ref, urgency="urgent",
                category="public_environment").json["safety_flag"] is True


@pytest.mark.parametrize("overrides, field", [
    ({"category": "astrology"}, "category"),
    ({"urgency": "whenever"}, "urgency"),
    ({"channel": "carrier_pigeon"}, "channel"),
    ({"description": ""}, "description"),
    ({"description": "长" * 4001}, "description"),
    ({"reported_at": "2020-01-01T08:00:00"}, "reported_at"),
    ({"grid_id": "c2-g1"}, "grid_id"),
    ({"community_id": None}, "community_id"),
])
def test_bad_needs_are_422_naming_the_field(intake, overrides, field):
    _, client, clerk, _ = intake
    response = need(client, clerk, **overrides)
    assert response.status_code == 422 and field in response.json["error"]["fields"]


def test_a_need_in_an_unknown_community_is_a_422_and_stores_nothing(intake):
    """The community is checked by its foreign key as the need is written: the failed write
    is rolled back, event and all, and the clerk is told which field."""
    app, client, clerk, backend = intake
    before = len(outbox_events(app))
    nowhere = bearer(backend.token("intake_clerk", community_ids=["nowhere"]))
    response = need(client, nowhere, community_id="nowhere")
    assert response.status_code == 422
    assert response.json["error"]["fields_zh"]["community_id"] == ["社区不存在"]
    assert len(outbox_events(app)) == before
    assert need(client, clerk).status_code == 201  # the session is sound again


def test_a_need_cannot_be_reported_in_the_future(intake):
    _, client, clerk, _ = intake
    later = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    response = need(client, clerk, reported_at=later)
    assert response.status_code == 422
    assert response.json["error"]["fields_zh"]["reported_at"] == ["报告时间不能晚于现在"]


def test_the_status_life_cycle_is_recorded_and_enforced(intake):
    app, client, clerk, _ = intake
    need_id = need(client, clerk).json["id"]
    triaged = client.post(f"/needs/{need_id}/triage", json={
        "status": "triaged", "urgency": "priority", "note": "电话回访确认"}, headers=clerk)
    assert triaged.status_code == 200 and triaged.json["urgency"] == "priority"
    event = outbox_events(app)[-1]
    assert event.short_type == "need.triaged" and event.data["urgency"] == "priority"
    missing = client.post(f"/needs/{need_id}/triage", json={"status": "referred"},
                          headers=clerk)
    assert missing.status_code == 422 and "referred_to" in missing.json["error"]["fields"]
    referred = client.post(f"/needs/{need_id}/triage", json={
        "status": "referred", "referred_to": "街道残联"}, headers=clerk)
    assert referred.json["status"] == "referred"
    closed = client.post(f"/needs/{need_id}/close", json={"status": "resolved"},
                         headers=clerk)
    assert closed.json["status"] == "resolved"
    late = client.post(f"/needs/{need_id}/withdraw", json={"reason": "duplicate"},
                       headers=clerk)
    assert late.status_code == 409 and late.json["error"]["code"] == "invalid_transition"
    assert "不能从 resolved" in late.json["error"]["message_zh"]
    history = client.get(f"/needs/{need_id}", headers=clerk).json["history"]
    assert [(h["status"], h["changed_by"]) for h in history] == [
        ("reported", "clerk-1"), ("triaged", "clerk-1"), ("referred", "clerk-1"),
        ("resolved", "clerk-1")]
    assert history[1]["note"] == "电话回访确认"


def test_withdrawal_publishes_its_event(intake):
    app, client, clerk, _ = intake
    need_id = need(client, clerk).json["id"]
    response = client.post(f"/needs/{need_id}/withdraw", json={"reason": "moved_away"},
                           headers=clerk)
    assert response.json["status"] == "withdrawn"
    assert outbox_events(app)[-1].data == {
        "need_id": need_id, "community_id": "c1", "reason": "moved_away",
        "withdrawn_at": outbox_events(app)[-1].data["withdrawn_at"]}
    assert client.post(f"/needs/{need_id}/triage", json={"status": "triaged"},
                       headers=clerk).status_code == 409


def test_the_need_follows_its_case(intake):
    from tests.streams import apply_events, forge
    app, client, clerk, _ = intake
    need_id = need(client, clerk).json["id"]
    case = {"case_id": "k-1", "agency_id": "a1", "community_id": "c1", "resident_ref": "r-x",
            "need_id": need_id}
    opened = forge("case.opened", {**case, "worker_id": "w1", "opened_on": "2026-03-01"}, 1,
                   source="/casework")
    closed = forge("case.closed", {**case, "outcome": "goals_met", "goal_outcomes": [],
                                   "closed_on": "2026-05-01"}, 2, source="/casework")
    assert apply_events(app, opened, closed, closed) == ["applied", "applied", "duplicate"]
    body = client.get(f"/needs/{need_id}", headers=clerk).json
    assert body["status"] == "resolved" and body["case_id"] == "k-1"
    assert [(h["status"], h["changed_by"]) for h in body["history"]] == [
        ("reported", "clerk-1"), ("in_service", f"event:{opened.id}"),
        ("resolved", f"event:{closed.id}")]


def test_needs_are_filtered_and_paged(intake):
    _, client, clerk, backend = intake
    ref = register(client, clerk).json["ref"]
    old = (datetime.now(timezone.utc) - timedelta(days=40)).isoformat()
    need(client, clerk, reported_at=old, category="health")
    for _ in range(3):
        need(client, clerk, resident_ref=ref, urgency="priority")
    need(client, clerk, grid_id="c1-g2", category="employment")
    ops = bearer(backend.token("ops_admin"))
    other = bearer(backend.token("intake_clerk", community_ids=["c2"]))
    need(client, other, community_id="c2")

    def ids(query, headers=clerk):
        response = client.get(f"/needs?{query}", headers=headers)
        assert response.status_code == 200, response.json
        return response

    assert len(ids("").json) == 5
    assert len(ids("", ops).json) == 6
    assert len(ids("urgency=priority").json) == 3
    assert len(ids(f"resident_ref={ref}").json) == 3
    assert [n["category"] for n in ids("grid_id=c1-g2").json] == ["employment"]
    cutoff = (clock.today() - timedelta(days=10)).isoformat()
    assert [n["category"] for n in ids(f"reported_to={cutoff}").json] == ["health"]
    assert len(ids(f"reported_from={cutoff}").json) == 4
    page = ids("page=2&page_size=2")
    assert len(page.json) == 2
    assert json.loads(page.headers["X-Pagination"])["total"] == 5
    assert client.get("/needs?status=lost", headers=clerk).status_code == 422


# -- bulk import -----------------------------------------------------------------------------

def roster_csv(rows) -> bytes:
    lines = ["姓名,性别,身份证号,电话,网格,标记"] + [",".join(r) for r in rows]
    return "\n".join(lines).encode("utf-8-sig")


def test_bulk_import_takes_good_rows_and_reports_bad_ones(intake):
    app, client, clerk, _ = intake
    good1, good2 = make_id(date(1955, 4, 4), "112"), make_id(date(2015, 9, 1), "111")
    rows = [["刘淑芬", "女", good1, "13711110001", "c1-g1", "独居、低保"],
            ["赵强", "男", "500103195504041110", "13711110002", "c1-g1", ""],
            ["", "男", make_id(date(1970, 1, 1), "113"), "", "c1-g2", ""],
            ["刘淑芬", "女", good1, "", "c1-g1", ""],
            ["陈小明", "男", good2, "", "c1-g2", ""],
            ["周敏", "女", make_id(date(1982, 2, 2), "114"), "", "c9-g9", ""]]
    for r in rows:
        remember_pii(r[0], r[3], r[2])
    before = len(outbox_events(app))
    response = client.post("/residents/import", headers=clerk, data={
        "community_id": "c1", "file": (io.BytesIO(roster_csv(rows)), "名册.csv")})
    assert response.status_code == 200, response.json
    result = response.json
    assert result["imported"] == 2
    failed = {f["row"]: f for f in result["failed"]}
    assert set(failed) == {3, 4, 5, 7}
    assert "id_number" in failed[3]["errors"] and "校验位" in failed[3]["errors_zh"][
        "id_number"][0]
    assert "name" in failed[4]["errors"]
    assert "already registered" in failed[5]["errors"]["row"][0]
    assert "grid_id" in failed[7]["errors"]
    events = outbox_events(app)[before:]
    assert [e.short_type for e in events] == ["resident.registered"] * 2
    assert events[0].data["flags"] == ["elderly", "living_alone", "low_income"]
    assert events[1].data["age_band"] == "0-17" and "child" in events[1].data["flags"]


def test_a_migrated_roster_keeps_each_residents_registration_date(intake):
    app, client, clerk, _ = intake
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    future = register(client, clerk, registered_on=tomorrow)
    assert future.status_code == 422 and "registered_on" in future.json["error"]["fields"]
    assert register(client, clerk, registered_on="1899-12-31").status_code == 422
    given = register(client, clerk, registered_on="2019-05-06")
    assert given.status_code == 201 and given.json["registered_on"] == "2019-05-06"
    sheet = "姓名,性别,网格,登记日期\n王芳,女,c1-g1,2018-02-03\n李娜,女,c1-g1," + tomorrow
    response = client.post("/residents/import", headers=clerk, data={
        "community_id": "c1", "file": (io.BytesIO(sheet.encode("utf-8-sig")), "r.csv")})
    assert response.json["imported"] == 1
    assert [(f["row"], list(f["errors"])) for f in response.json["failed"]] == [
        (3, ["registered_on"])]
    events = [e for e in outbox_events(app) if e.short_type == "resident.registered"]
    assert [e.data["registered_on"] for e in events] == ["2019-05-06", "2018-02-03"]


def test_bulk_import_from_excel_flags_ids_stored_as_numbers(intake):
    from openpyxl import Workbook
    app, client, clerk, _ = intake
    book = Workbook()
    sheet = book.active
    sheet.append(["name", "gender", "birth_date", "id_number", "grid_id"])
    sheet.append(["孙丽", "female", datetime(1966, 6, 6), make_id(date(1966, 6, 6), "126"),
                  "c1-g1"])
    sheet.append(["钱伟", "male", None, 500103196606061230, "c1-g1"])
    remember_pii("孙丽", None, make_id(date(1966, 6, 6), "126"))
    remember_pii("钱伟", None, None)
    raw = io.BytesIO()
    book.save(raw)
    raw.seek(0)
    response = client.post("/residents/import", headers=clerk, data={
        "community_id": "c1", "file": (raw, "roster.xlsx")})
    assert response.json["imported"] == 1
    assert response.json["failed"][0]["row"] == 3
    assert "text" in response.json["failed"][0]["errors"]["id_number"][0]


def test_bulk_import_refuses_what_it_cannot_read(intake):
    _, client, clerk, backend = intake
    no_name = client.post("/residents/import", headers=clerk, data={
        "community_id": "c1", "file": (io.BytesIO(b"phone\n1380000\n"), "x.csv")})
    assert no_name.status_code == 422 and "file" in no_name.json["error"]["fields"]
    garbage = client.post("/residents/import", headers=clerk, data={
        "community_id": "c1", "file": (io.BytesIO(b"\x00\xff\xfe"), "x.xlsx")})
    assert garbage.status_code == 422
    no_file = client.post("/residents/import", headers=clerk, data={"community_id": "c1"})
    assert no_file.status_code == 422
    other = bearer(backend.token("intake_clerk", community_ids=["c2"]))
    assert client.post("/residents/import", headers=other, data={
        "community_id": "c1", "file": (io.BytesIO(roster_csv([])), "x.csv")}
    ).status_code == 403


def test_production_refuses_to_start_without_its_secrets(backend, monkeypatch):
    from shared.config import ConfigError
    backend.env["SOCIALWORK_ENV"] = "production"
    monkeypatch.delenv("INTAKE_DATA_KEYS")
    with pytest.raises(ConfigError, match="INTAKE_DATA_KEYS"):
        backend.app("intake")
    monkeypatch.delenv("CASEWORK_SIGNING_KEY")
    keys.forget()
    with pytest.raises(ConfigError, match="CASEWORK_SIGNING_KEY"):
        backend.app("casework")
