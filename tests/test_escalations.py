"""Each escalation the trust-boundary issue reproduced with ordinary accounts, as its own
test: jurisdiction (who may contract where, and what a contract lets a buyer read, in space
and in time), the survey contact release, and personal data at intake. Every one of these
passed through before the boundary was made data."""
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from shared import clock
from shared.events import Event
from shared.release import CLOSE_MARGIN, sample_cap
from tests.conftest import bearer, remember_pii
from tests.helpers import seed_community
from tests.streams import apply_events, forge, grant
from tests.test_casework import RESIDENTS, World, contract_event, session
from tests.test_intake import make_id, register

TODAY = clock.today()


def published(app, short_type: str) -> list[Event]:
    store = app.extensions["socialwork"].store
    with app.app_context():
        return [Event.from_json(b) for b in store.session.scalars(sa.select(
            store.OutboxEvent.body).where(store.OutboxEvent.type == short_type))]


def contract_body(**overrides) -> dict:
    return {"id": "k1", "agency_id": "a1", "community_ids": ["c1"], "budget": "300000",
            "period_start": "2026-01-01", "period_end": "2026-12-31", **overrides}


@pytest.fixture
def evaluation(backend):
    app = backend.app("evaluation")
    grant(app, "b1", ("c1",), ("a1",))
    grant(app, "b2", ("c2",), ("a2",))
    return app, app.test_client(), backend


# -- jurisdiction ------------------------------------------------------------------------------

def test_a_buyer_that_governs_nothing_cannot_award_itself_a_contract(evaluation):
    app, client, backend = evaluation
    stranger = bearer(backend.token("buyer_auditor", buyer_id="b-nobody"))
    response = client.post("/contracts", json=contract_body(), headers=stranger)
    assert response.status_code == 403 and response.json["error"]["code"] == "out_of_scope"
    assert published(app, "contract.awarded") == []


def test_a_buyer_contracts_only_in_its_own_communities(evaluation):
    app, client, backend = evaluation
    b1 = bearer(backend.token("buyer_auditor", buyer_id="b1"))
    response = client.post("/contracts", json=contract_body(community_ids=["c1", "c2"]),
                           headers=b1)
    assert response.status_code == 403 and "c2" in response.json["error"]["message"]
    assert published(app, "contract.awarded") == []


def test_a_contract_goes_only_to_an_agency_that_exists(evaluation):
    app, client, backend = evaluation
    b1 = bearer(backend.token("buyer_auditor", buyer_id="b1"))
    response = client.post("/contracts", json=contract_body(agency_id="a-ghost"), headers=b1)
    assert response.status_code == 422 and "agency_id" in response.json["error"]["fields"]
    assert response.json["error"]["fields_zh"]["agency_id"][0].startswith("没有该在册社工机构")
    # an agency ops stopped: no new contracts, none widened to it
    apply_events(app, forge("agency.updated", {"agency_id": "a1", "name": "a1", "active": False,
                                               "updated_at": "2026-02-01T00:00:00Z"}))
    assert client.post("/contracts", json=contract_body(), headers=b1).status_code == 422


def test_a_buyer_cannot_widen_its_contract_into_another_buyers_community(evaluation):
    app, client, backend = evaluation
    b1 = bearer(backend.token("buyer_auditor", buyer_id="b1"))
    assert client.post("/contracts", json=contract_body(), headers=b1).status_code == 201
    widened = client.patch("/contracts/k1", json={"reason": "扩大范围",
                                                  "community_ids": ["c1", "c2"]}, headers=b1)
    assert widened.status_code == 403 and widened.json["error"]["code"] == "out_of_scope"
    handed = client.patch("/contracts/k1", json={"reason": "换机构", "agency_id": "a-ghost"},
                          headers=b1)
    assert handed.status_code == 422
    assert client.get("/contracts/k1", headers=b1).json["version"] == 1
    assert published(app, "contract.amended") == []


def test_only_ops_keep_the_jurisdiction_and_every_change_is_an_event(backend):
    app = backend.app("intake")
    for community in ("c1", "c2"):
        seed_community(app, community)
    client = app.test_client()
    ops = bearer(backend.token("ops_admin"))
    body = {"id": "b1", "name": "某街道办事处", "kind": "street_office", "community_ids": ["c1"]}
    # a clerk is refused; a buyer's or an agency's token is not even one intake takes
    for role, scope, status in (("intake_clerk", {"community_ids": ["c1"]}, 403),
                                ("buyer_auditor", {"buyer_id": "b1"}, 401),
                                ("agency_admin", {"agency_id": "a1"}, 401)):
        token = bearer(backend.token(role, **scope))
        assert client.post("/buyers", json=body, headers=token).status_code == status
        assert client.post("/agencies", json={"id": "a1", "name": "x"},
                           headers=token).status_code == status
    assert client.post("/buyers", json={**body, "community_ids": ["c9"]},
                       headers=ops).json["error"]["fields"]["community_ids"]
    assert client.post("/buyers", json=body, headers=ops).status_code == 201
    assert client.post("/buyers", json=body, headers=ops).status_code == 409
    assert client.patch("/buyers/b1", json={"community_ids": ["c1", "c2"]},
                        headers=ops).json["community_ids"] == ["c1", "c2"]
    assert client.post("/agencies", json={"id": "a1", "name": "阳光社工"},
                       headers=ops).status_code == 201
    assert client.patch("/agencies/a1", json={"active": False},
                        headers=ops).json["active"] is False
    assert [e.data["community_ids"] for e in published(app, "jurisdiction.updated")] == [
        ["c1"], ["c1", "c2"]]
    assert [e.data["active"] for e in published(app, "agency.updated")] == [True, False]


def test_a_buyer_reads_an_agencys_records_only_within_its_contracts_period(backend):
    """b1 bought a1's work in c1 for the first half of 2026, b2 for the second half: each
    sees the records of its own half only, however it asks."""
    world = World(backend)
    apply_events(world.app, forge("contract.awarded", {
        "contract_id": "k1", "buyer_id": "b1", "agency_id": "a1", "community_ids": ["c1"],
        "period_start": "2020-01-01", "period_end": "2026-06-30", "version": 2,
        "budget": "1.00", "reason": "缩短"}, 500, source="/evaluation"),
        contract_event("k3", "b3", "a1", "c1", 501))
    early = world.post("/sessions", session(date="2026-03-02"), world.w1).json
    late = world.post("/sessions", session(date="2026-09-01"), world.w1).json
    b3 = bearer(backend.token("buyer_auditor", buyer_id="b3"))
    assert [s["id"] for s in world.get("/sessions", world.buyer).json] == [early["id"]]
    assert world.get(f"/sessions/{late['id']}", world.buyer).status_code == 404
    assert world.get("/sessions?date_from=2026-07-01", world.buyer).json == []
    assert {s["id"] for s in world.get("/sessions", b3).json} == {early["id"], late["id"]}
    fix = world.post("/corrections", {"record_type": "session", "record_id": late["id"],
                                      "reason": "补登", "changes": {"attendee_refs":
                                                                  RESIDENTS[:5]}}, world.w1)
    assert fix.status_code == 201
    assert world.get("/corrections", world.buyer).json == []
    assert len(world.get("/corrections", b3).json) == 1


def test_a_buyer_reads_a_contracts_figures_and_events_only_within_it(evaluation):
    app, client, backend = evaluation
    b1 = bearer(backend.token("buyer_auditor", buyer_id="b1"))
    assert client.post("/contracts", json=contract_body(period_start="2026-03-01",
                                                        period_end="2026-06-30"),
                       headers=b1).status_code == 201
    before = client.get("/contracts/k1/scorecard?from=2025-01-01", headers=b1)
    assert before.status_code == 422 and before.json["error"]["fields"]["from"]
    after = client.get("/contracts/k1/evidence?measure=sessions&to=2026-12-31", headers=b1)
    assert after.status_code == 422 and after.json["error"]["fields_zh"]["to"][0].startswith(
        "晚于合同期")
    assert client.post("/contracts/k1/verifications", headers=b1, json={
        "kind": "session", "size": 1, "from": "2026-01-01"}).status_code == 422
    # events in c1: a1's in the period, a1's after it, another agency's in it
    def delivered(sid, day, agency):
        return forge("session.delivered", {
            "session_id": sid, "agency_id": agency, "community_id": "c1",
            "method": "group_work", "mode": "in_person", "case_id": None,
            "worker_ids": ["w1"], "led_by": "agency", "leader_refs": [], "attendee_refs": [],
            "date": day, "start": "09:00", "end": "10:00", "hours": 1.0}, source="/casework")
    events = [delivered("s1", "2026-04-01", "a1"), delivered("s2", "2026-09-01", "a1"),
              delivered("s3", "2026-04-02", "a9"), delivered("s4", "2026-02-01", "a1")]
    formed = forge("organization.formed", {  # before the period: still counted, still shown
        "organization_id": "o1", "agency_id": "a1", "community_id": "c1", "kind": "兴趣",
        "status": "active", "formed_on": "2025-11-01", "leader_refs": ["r1"],
        "member_refs": ["r1"]}, source="/casework")
    apply_events(app, *events, formed)
    ours, later, theirs, earlier = (client.get(f"/contracts/k1/events/{e.id}", headers=b1)
                                    for e in events)
    assert ours.status_code == 200 and ours.json["event"]["id"] == events[0].id
    assert later.status_code == earlier.status_code == theirs.status_code == 404
    assert client.get(f"/contracts/k1/events/{formed.id}", headers=b1).status_code == 200


# -- the survey contact release ----------------------------------------------------------------

@pytest.fixture
def surveyed(backend):
    """A contract on c1 for 2026 with 200 residents projected, and its evaluator."""
    app = backend.app("evaluation")
    grant(app)
    residents = [forge("resident.registered", {
        "resident_ref": f"r{i:03}", "community_id": "c1", "grid_id": "g1",
        "household_ref": None, "household_type": "nuclear", "age_band": "35-59",
        "gender": "female", "flags": [], "registered_on": "2025-01-01"})
        for i in range(1, 201)]
    apply_events(app, *residents)
    client = app.test_client()
    b1 = bearer(backend.token("buyer_auditor", buyer_id="b1"))
    assert client.post("/contracts", json=contract_body(), headers=b1).status_code == 201
    return app, client, bearer(backend.token("evaluator", contract_id="k1"))


def test_a_wave_cannot_outlast_its_contract(surveyed):
    _, client, evaluator = surveyed
    wave = {"id": "w1", "kind": "baseline", "opens_on": "2026-02-01"}
    forever = client.post("/contracts/k1/waves", headers=evaluator,
                          json={**wave, "closes_on": "9999-12-31"})
    assert forever.status_code == 422 and "closes_on" in forever.json["error"]["fields"]
    margin = date(2026, 12, 31) + CLOSE_MARGIN
    assert client.post("/contracts/k1/waves", headers=evaluator, json={
        **wave, "closes_on": str(margin + timedelta(days=1))}).status_code == 422
    assert client.post("/contracts/k1/waves", headers=evaluator, json={
        **wave, "closes_on": str(margin)}).status_code == 201


def test_a_sample_cannot_take_the_whole_frame(surveyed):
    app, client, evaluator = surveyed
    assert client.post("/contracts/k1/waves", headers=evaluator, json={
        "id": "w1", "kind": "baseline", "opens_on": "2026-02-01",
        "closes_on": "2026-03-01"}).status_code == 201
    cap = sample_cap(200)
    assert cap == 40
    for size in (200, cap + 1):
        whole = client.post("/contracts/k1/waves/w1/sample", headers=evaluator,
                            json={"size": size})
        assert whole.status_code == 422, whole.json
        assert whole.json["error"]["fields"]["size"] == [
            f"At most {cap} more of the frame's 200 residents may be drawn for this contract"]
    assert published(app, "survey.sample_drawn") == []
    assert client.post("/contracts/k1/waves/w1/sample", headers=evaluator,
                       json={"size": cap // 2}).status_code == 201
    # nor by wave after wave: the contract's waves share the cap (a panel asks the same)
    assert client.post("/contracts/k1/waves", headers=evaluator, json={
        "id": "w2", "kind": "follow_up", "opens_on": "2026-06-01",
        "closes_on": "2026-07-01"}).status_code == 201
    more = client.post("/contracts/k1/waves/w2/sample", headers=evaluator,
                       json={"size": cap // 2 + 1})
    assert more.status_code == 422 and more.json["error"]["fields_zh"]["size"] == [
        f"本合同的抽样框 200 名居民中最多还可抽取 {cap - cap // 2} 名"]
    assert client.post("/contracts/k1/waves/w2/sample", headers=evaluator,
                       json={"size": cap - cap // 2}).status_code == 201


@pytest.fixture
def releasing(backend):
    """Intake with residents in c1 and c2, a contract on c1 as evaluation published it."""
    app = backend.app("intake")
    for community in ("c1", "c2"):
        seed_community(app, community)
    client = app.test_client()
    refs = {}
    for i, community in enumerate(("c1", "c1", "c2")):
        clerk = bearer(backend.token("intake_clerk", community_ids=[community]))
        made = register(client, clerk, community_id=community, grid_id=f"{community}-g1",
                        name=f"居民{i}", phone=f"1390000000{i}",
                        id_number=make_id(date(1960, 1, 1), f"12{i}"))
        assert made.status_code == 201, made.json
        refs.setdefault(community, []).append(made.json["ref"])
    return app, client, refs, backend


def contract_for_intake(period_end: date, seq: int, version: int = 1) -> Event:
    data = {"contract_id": "k1", "buyer_id": "b1", "agency_id": "a1", "community_ids": ["c1"],
            "period_start": str(period_end - timedelta(days=300)),
            "period_end": str(period_end), "budget": "1.00"}
    if version > 1:
        data["version"] = version
    return forge("contract.amended" if version > 1 else "contract.awarded", data, seq,
                 source="/evaluation")


def drawn(refs, release_until, seq: int, wave: str = "w1") -> Event:
    return forge("survey.sample_drawn", {"contract_id": "k1", "wave_id": wave, "seed": 1,
                                         "resident_refs": sorted(refs),
                                         "release_until": release_until}, seq,
                 source="/evaluation")


def test_intake_releases_only_what_the_contract_bounds(releasing):
    app, client, refs, backend = releasing
    evaluator = bearer(backend.token("evaluator", contract_id="k1", sub="eval-firm"))
    apply_events(app, contract_for_intake(TODAY + timedelta(days=60), 1),
                 drawn(refs["c1"] + refs["c2"], "9999-12-31", 2))
    released = client.get("/survey-waves/w1/contacts", headers=evaluator)
    assert released.status_code == 200
    # the resident of another community is never released, whatever the draw said
    assert sorted(c["resident_ref"] for c in released.json) == sorted(refs["c1"])
    from services.intake.models import SurveyRelease, db
    with app.app_context():
        until = {r.release_until for r in db.session.scalars(sa.select(SurveyRelease))}
    assert until == {TODAY + timedelta(days=60) + CLOSE_MARGIN}


def test_a_release_expires_with_its_contract(releasing):
    app, client, refs, backend = releasing
    evaluator = bearer(backend.token("evaluator", contract_id="k1"))
    apply_events(app, contract_for_intake(TODAY + timedelta(days=60), 1),
                 drawn(refs["c1"], str(TODAY + timedelta(days=30)), 2))
    assert client.get("/survey-waves/w1/contacts", headers=evaluator).status_code == 200
    # the buyer ends the contract early: the release ends with it and its margin
    apply_events(app, contract_for_intake(TODAY - CLOSE_MARGIN - timedelta(days=1), 3, 2))
    expired = client.get("/survey-waves/w1/contacts", headers=evaluator)
    assert expired.status_code == 403 and expired.json["error"]["code"] == "release_expired"


def test_intake_refuses_a_draw_beyond_the_cap(releasing, monkeypatch):
    app, client, refs, backend = releasing
    monkeypatch.setattr("services.intake.surveys.sample_cap", lambda frame: 1)
    evaluator = bearer(backend.token("evaluator", contract_id="k1"))
    assert apply_events(app, contract_for_intake(TODAY + timedelta(days=60), 1),
                        drawn(refs["c1"], str(TODAY + timedelta(days=30)), 2)) == [
        "applied", "applied"]
    assert client.get("/survey-waves/w1/contacts", headers=evaluator).status_code == 404


# -- personal data at intake -------------------------------------------------------------------

@pytest.fixture
def intake(backend):
    app = backend.app("intake")
    for community in ("c1", "c2"):
        seed_community(app, community)
    client = app.test_client()
    c1 = bearer(backend.token("intake_clerk", community_ids=["c1"], sub="clerk-c1"))
    c2 = bearer(backend.token("intake_clerk", community_ids=["c2"], sub="clerk-c2"))
    return app, client, c1, c2, backend


def access_log(client, backend, **filters) -> list[dict]:
    ops = bearer(backend.token("ops_admin"))
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    return client.get(f"/access-log?{query}", headers=ops).json


def test_the_duplicate_check_names_a_resident_only_within_the_clerks_communities(intake):
    app, client, c1, c2, backend = intake
    ref = register(client, c1).json["ref"]
    same_id = register(client, c2, community_id="c2", grid_id="c2-g1", phone="13700137000")
    assert same_id.status_code == 409
    assert same_id.json["error"]["code"] == "possible_duplicate"
    assert ref not in same_id.get_data(as_text=True)
    assert "resident_ref" not in same_id.json["error"]
    mine = register(client, c1, id_number=make_id(date(1950, 1, 1), "333"))  # same phone
    assert mine.status_code == 409 and mine.json["error"]["resident_ref"] == ref
    checks = access_log(client, backend, action="duplicate_check")
    assert sorted((e["actor"], e["resident_ref"], e["fields"][0]) for e in checks) == [
        ("clerk-c1", ref, "phone"), ("clerk-c2", ref, "id_number")]
    # in a roster too: the row fails without the reference, the check is logged
    sheet = ("姓名,性别,网格,身份证号\n重复者,女,c2-g1," + make_id(date(1948, 3, 9), "124")
             + "\n").encode()
    result = client.post("/residents/import", headers=c2, data={
        "community_id": "c2", "file": (__import__("io").BytesIO(sheet), "r.csv")}).json
    assert result["imported"] == 0 and ref not in str(result["failed"])
    assert len(access_log(client, backend, action="duplicate_check")) == 3


@pytest.mark.parametrize("fragment", [" ", "  ", "张", " 张 "])
def test_a_name_search_needs_two_characters(intake, fragment):
    _, client, c1, _, _ = intake
    register(client, c1)
    response = client.get(f"/residents?name={fragment}", headers=c1)
    assert response.status_code == 422 and response.json["error"]["fields"]["name"]
    assert response.json["error"]["fields_zh"]["name"] == ["请至少输入姓名中的两个字"]


def test_a_name_search_decrypts_only_what_the_blind_index_finds(intake, monkeypatch):
    app, client, c1, _, _ = intake
    people = ["王建国", "李建国", "王建华", "赵国建", *(f"居民{i:02}号" for i in range(40))]
    for i, name in enumerate(people):
        assert register(client, c1, name=name, phone=f"139{i:08}",
                        id_number=make_id(date(1950, 1, 1) + timedelta(days=i), "111")
                        ).status_code == 201
    from services.intake.privacy import Vault
    opened = []
    real_open = Vault.open
    monkeypatch.setattr(Vault, "open", lambda self, token: opened.append(token) or
                        real_open(self, token))
    found = client.get("/residents?name=建国", headers=c1).json
    assert sorted(r["name"] for r in found) == ["李建国", "王建国"]
    # "赵国建" holds 国建 but not 建国: the index names 2 residents, 2 names are opened
    assert len(opened) == 2
    opened.clear()
    assert [r["name"] for r in client.get("/residents?name=国建", headers=c1).json] == ["赵国建"]
    assert len(opened) == 1
    renamed = found[0]["ref"]
    client.patch(f"/residents/{renamed}", json={"name": "王振华"}, headers=c1)
    assert {r["ref"] for r in client.get("/residents?name=振华", headers=c1).json} == {renamed}
    old_name = client.get("/residents?name=建国", headers=c1).json
    assert renamed not in {r["ref"] for r in old_name}


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def test_a_fullwidth_id_number_or_phone_is_the_same_person(intake):
    app, client, c1, _, _ = intake
    number = make_id(date(1948, 3, 9), "124")
    ref = register(client, c1, id_number=number).json["ref"]
    again = register(client, c1, id_number=fullwidth(number), phone="13600136000")
    assert again.status_code == 409 and again.json["error"]["resident_ref"] == ref
    spaced = f"{number[:6]} {number[6:14]}-{number[14:]}"
    assert register(client, c1, id_number=fullwidth(spaced),
                    phone="13600136000").status_code == 409
    phone = register(client, c1, id_number=make_id(date(1950, 2, 2), "135"),
                     phone=fullwidth("138-0013-8000"))
    assert phone.status_code == 409 and phone.json["error"]["resident_ref"] == ref
    sheet = ("姓名,性别,网格,身份证号\n张秀英,女,c1-g1," + fullwidth(number) + "\n").encode()
    result = client.post("/residents/import", headers=c1, data={
        "community_id": "c1", "file": (__import__("io").BytesIO(sheet), "r.csv")}).json
    assert result["imported"] == 0 and ref in str(result["failed"][0]["errors"])
    found = client.get(f"/residents?id_number={fullwidth(number)}", headers=c1).json
    assert [r["ref"] for r in found] == [ref]


def test_ops_reading_need_descriptions_is_logged(intake):
    app, client, c1, _, backend = intake
    from tests.helpers import need_payload
    need = client.post("/needs", json=need_payload("c1"), headers=c1).json
    ops = bearer(backend.token("ops_admin", sub="ops-1"))
    assert client.get("/needs", headers=c1).status_code == 200
    assert access_log(client, backend, action="need_read") == []  # the clerk's own work
    assert client.get("/needs", headers=ops).json[0]["description"]
    assert client.get(f"/needs/{need['id']}", headers=ops).status_code == 200
    logged = access_log(client, backend, action="need_read")
    assert [(e["actor"], e["need_id"], e["fields"]) for e in logged] == [
        ("ops-1", need["id"], ["description"])] * 2


def test_names_and_numbers_registered_before_the_blind_index_are_found(backend):
    """The migration indexes existing names and re-hashes identifiers as now normalised."""
    from flask_migrate import downgrade, upgrade
    app = backend.app("intake")
    seed_community(app, "c1")
    vault = app.extensions["intake_vault"]
    number = make_id(date(1948, 3, 9), "124")
    with app.app_context():
        db = app.extensions["socialwork"].spec.db
        downgrade(revision="acc0d98d8f45")
        db.session.execute(sa.text(
            "INSERT INTO resident (id, ref, community_id, grid_id, gender, age_band, flags, "
            "name_sealed, id_number_sealed, id_number_hash, registered_by, registered_on, "
            "registered_at, updated_at) VALUES ('old-1', 'r-old', 'c1', 'c1-g1', 'female', "
            "'70-79', '[]', :name, :number, :hash, 'clerk', '2020-01-01', "
            "'2020-01-01 00:00:00', '2020-01-01 00:00:00')"), {
            "name": vault.seal("欧阳秀英"), "number": vault.seal(fullwidth(number)),
            "hash": vault.blind("id", fullwidth(number))})  # as the old code hashed it
        db.session.commit()
        upgrade()
    remember_pii("欧阳秀英", number)
    client = app.test_client()
    c1 = bearer(backend.token("intake_clerk", community_ids=["c1"]))
    assert [r["ref"] for r in client.get("/residents?name=秀英", headers=c1).json] == ["r-old"]
    assert register(client, c1, id_number=number).json["error"]["resident_ref"] == "r-old"
