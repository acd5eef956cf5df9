"""The interim and final evaluation: a contract's scoring sheet, the agency's self-assessment,
the evaluator's scores with their evidence, the agency's answers, the buyer's decision on the
payment and its grade; every act an event, the review rebuilt from them."""
from datetime import datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.evaluation import sheets
from shared import auth, clock
from shared.events import Event
from tests.conftest import bearer
from tests.streams import apply_events, forge, grant

K = "/contracts/k1"
M1 = K + "/milestones/m1/review"


def contract(**overrides):
    body = {"id": "k1", "agency_id": "a1", "community_ids": ["c1"], "budget": "100000.00",
            "period_start": "2026-01-01", "period_end": "2026-12-31",
            "milestones": [{"id": "m1", "due": "2026-06-30", "share": 0.4, "min_score": 80},
                           {"id": "m2", "due": "2026-12-31", "share": 0.6, "min_score": 60}]}
    return {**body, **overrides}


def recorded(app):
    """Four residents and a group session with one of them, recorded before the due date."""
    residents = [forge("resident.registered", {
        "resident_ref": f"r{i}", "community_id": "c1", "grid_id": "g1", "household_ref": None,
        "household_type": "nuclear", "age_band": "35-59", "gender": "female", "flags": [],
        "registered_on": "2025-01-01"}, time="2026-01-02T03:00:00Z") for i in range(1, 5)]
    delivered = forge("session.delivered", {
        "session_id": "s1", "agency_id": "a1", "community_id": "c1", "method": "group_work",
        "mode": "in_person", "case_id": None, "worker_ids": ["w1"], "led_by": "agency",
        "leader_refs": [], "attendee_refs": ["r1", "r2"], "date": "2026-03-01",
        "start": "09:00", "end": "11:00", "hours": 2.0}, source="/casework",
        time="2026-03-01T03:00:00Z")
    apply_events(app, *residents, delivered)


@pytest.fixture
def world(backend):
    app = backend.app("evaluation")
    grant(app, "b1", ("c1",), ("a1",))
    grant(app, "b2", ("c2",), ("a2",))
    client = app.test_client()
    people = {
        "buyer": bearer(backend.token("buyer_auditor", buyer_id="b1", sub="auditor-1")),
        "evaluator": bearer(backend.token("evaluator", contract_id="k1", sub="expert-1")),
        "agency": bearer(backend.token("agency_admin", agency_id="a1", sub="admin-1")),
        "worker": bearer(backend.token("social_worker", agency_id="a1")),
        "other_buyer": bearer(backend.token("buyer_auditor", buyer_id="b2")),
        "other_evaluator": bearer(backend.token("evaluator", contract_id="k2")),
        "other_agency": bearer(backend.token("agency_admin", agency_id="a2"))}
    assert client.post("/contracts", json=contract(), headers=people["buyer"]).status_code == 201
    assert client.post("/contracts", json=contract(id="k2", agency_id="a2", community_ids=[
        "c2"]), headers=people["other_buyer"]).status_code == 201
    recorded(app)
    return app, client, people


def review_events(app) -> list[Event]:
    store = app.extensions["socialwork"].store
    with app.app_context():
        return [Event.from_json(b) for b in store.session.scalars(
            sa.select(store.OutboxEvent.body).where(store.OutboxEvent.type.like("review.%"))
            .order_by(store.OutboxEvent.seq))]


def item(review: dict, key: str) -> dict:
    return next(i for i in review["items"] if i["key"] == key)


def test_a_sheet_self_assessed_scored_answered_and_decided_as_events_replayable(world):
    app, client, people = world
    buyer, evaluator, agency = people["buyer"], people["evaluator"], people["agency"]
    assert client.post(M1 + "/items/professional_practice/score", headers=evaluator, json={
        "points": "20", "comment": "过程记录完整"}).json["error"]["code"] == "no_sheet"
    defined = client.post(K + "/sheet", json={}, headers=buyer)
    assert defined.status_code == 201, defined.json
    assert defined.json["version"] == 1
    assert [i["key"] for i in defined.json["items"]] == [i["key"] for i in sheets.DEFAULT_ITEMS]

    # the evaluator waits for the agency's self-assessment on the items the agency goes first
    early = client.post(M1 + "/items/project_management/score", headers=evaluator, json={
        "points": "12", "comment": "方案完整"})
    assert early.status_code == 409 and early.json["error"]["code"] == "self_assessment_pending"
    for key, points in (("project_management", "14"), ("financial_management", "13.5")):
        done = client.post(M1 + f"/items/{key}/self-assessment", headers=agency, json={
            "points": points, "note": "按实施方案执行，详见月报"})
        assert done.status_code == 200, done.json
    assert client.post(M1 + "/items/professional_practice/self-assessment", headers=agency,
                       json={"points": "20", "note": "自评"}).status_code == 409
    assert client.post(M1 + "/items/project_management/self-assessment", headers=agency,
                       json={"points": "16", "note": "超过满分"}).status_code == 422

    # scores rest on the contract's own records; more than the maximum is refused
    stranger = client.post(M1 + "/items/professional_practice/score", headers=evaluator,
                           json={"points": "20", "comment": "x", "record_ids": ["s-none"]})
    assert stranger.status_code == 422 and "record_ids" in stranger.json["error"]["fields"]
    assert client.post(M1 + "/items/professional_practice/score", headers=evaluator, json={
        "points": "26", "comment": "x"}).status_code == 422
    assert client.post(M1 + "/items/outcomes/score", headers=evaluator, json={
        "points": "20", "comment": "x"}).json["error"]["code"] == "computed_item"
    long_comment = "小组活动签到与照片齐全，过程记录规范。" * 40
    scores = {"project_management": "12", "professional_practice": "20",
              "financial_management": "10.5", "satisfaction": "14"}
    for key, points in scores.items():
        scored = client.post(M1 + f"/items/{key}/score", headers=evaluator, json={
            "points": points, "comment": long_comment if key == "professional_practice"
            else "符合要求", "record_ids": ["s1"] if key == "professional_practice" else []})
        assert scored.status_code == 200, scored.json
    review = scored.json
    practice = item(review, "professional_practice")
    assert practice["score"]["comment"] == long_comment
    assert practice["score"]["records"][0]["kind"] == "session"
    assert len(practice["score"]["records"][0]["event_ids"]) == 1
    assert item(review, "project_management")["self"]["points"] == "14.00"

    # the agency answers a score once
    answered = client.post(M1 + "/items/professional_practice/answer", headers=agency,
                           json={"text": "另有三次活动的签到表已补交"})
    assert answered.status_code == 200, answered.json
    assert item(answered.json, "professional_practice")["answer"]["text"].startswith("另有")
    again = client.post(M1 + "/items/professional_practice/answer", headers=agency,
                        json={"text": "再次申辩"})
    assert again.status_code == 409 and again.json["error"]["code"] == "already_answered"
    assert client.post(M1 + "/items/satisfaction/answer", headers=people["worker"],
                       json={"text": "社工不能代表机构申辩"}).status_code == 403

    # the decision takes the card the milestone was closed on
    assert client.post(M1 + "/decision", headers=buyer, json={
        "decision": "approve"}).json["error"]["code"] == "milestone_not_closed"
    closed = client.post(K + "/milestones/m1/close", headers=buyer)
    assert closed.status_code == 201, closed.json
    card_total = Decimal(str(closed.json["card"]["total"]))
    review = client.get(M1, headers=agency).json
    outcomes = (card_total * 30 / 100).quantize(Decimal("0.01"))
    assert item(review, "outcomes")["points"] == str(outcomes) and review["card_closed"]
    total = Decimal("12") + Decimal("20") + outcomes + Decimal("10.5") + Decimal("14")
    assert Decimal(review["total"]) == total  # each item's weight is its maximum
    assert review["grade"] == sheets.grade(sheets.DEFAULT_BANDS, total)
    factor = min(Decimal(1), total / 80)
    recommended = (Decimal("100000.00") * Decimal("0.4") * factor).quantize(Decimal("0.01"))
    assert review["recommended"] == str(recommended) and review["full_share"] == "40000.00"

    # a reduction needs its reason and pays less than recommended
    refused = client.post(M1 + "/decision", headers=buyer, json={"decision": "reduce",
                                                                 "amount": "1000.00"})
    assert refused.status_code == 422 and "reason" in refused.json["error"]["fields"]
    too_much = client.post(M1 + "/decision", headers=buyer, json={
        "decision": "reduce", "amount": str(recommended), "reason": "x"})
    assert too_much.status_code == 422 and "amount" in too_much.json["error"]["fields"]
    assert client.post(M1 + "/decision", headers=evaluator, json={
        "decision": "approve"}).status_code == 403
    reduced = client.post(M1 + "/decision", headers=buyer, json={
        "decision": "reduce", "amount": "15000.00", "reason": "财务凭证不全，核减部分款项"})
    assert reduced.status_code == 200, reduced.json
    decision = reduced.json["decision"]
    assert (decision["decision"], decision["amount"], decision["recommended"]) == (
        "reduce", "15000.00", str(recommended))
    assert decision["reason"] == "财务凭证不全，核减部分款项"
    assert decision["grade"] == review["grade"]["grade"]
    assert client.post(M1 + "/items/satisfaction/score", headers=evaluator, json={
        "points": "15", "comment": "改分"}).json["error"]["code"] == "decided"

    # every act is an event; what people wrote travels as its digest only
    events = review_events(app)
    assert [e.short_type for e in events] == [
        "review.sheet_defined", *["review.item_self_assessed"] * 2,
        *["review.item_scored"] * 4, "review.item_answered", "review.milestone_decided"]
    assert all(long_comment not in e.to_json() for e in events)
    assert events[-1].data["amount"] == "15000.00" and events[-1].data["by"] == "auditor-1"

    # the review rebuilt from its events is the same, field for field
    before = client.get(M1, headers=buyer).json
    from services.evaluation.cli import rebuild
    with app.app_context():
        rebuild()
    assert client.get(M1, headers=buyer).json == before


def test_grade_bands_are_the_contracts_own(world):
    app, client, people = world
    buyer, evaluator = people["buyer"], people["evaluator"]
    assert [sheets.grade(sheets.DEFAULT_BANDS, Decimal(t))["label_zh"] for t in (
        "90", "89.99", "80", "79.99", "60", "59.99", "0")] == [
        "优秀", "良好", "良好", "合格", "合格", "不合格", "不合格"]
    items = [{"key": "practice", "title_zh": "专业服务", "title_en": "Practice",
              "max_points": "10", "weight": "60", "scorer": "evaluator"},
             {"key": "files", "title_zh": "档案", "title_en": "Files", "max_points": "5",
              "weight": "40", "scorer": "evaluator"}]
    bands = [{"grade": "a", "label_zh": "甲", "label_en": "A", "min": "85"},
             {"grade": "b", "label_zh": "乙", "label_en": "B", "min": "70"},
             {"grade": "c", "label_zh": "丙", "label_en": "C", "min": "0"}]
    wrong = client.post(K + "/sheet", headers=buyer, json={
        "items": [{**items[0], "weight": "50"}, items[1]], "bands": bands[:2]})
    assert wrong.status_code == 422
    assert set(wrong.json["error"]["fields"]) == {"items", "bands"}
    assert client.post(K + "/sheet", headers=buyer, json={}).json["version"] == 1
    assert client.post(K + "/sheet", headers=buyer, json={
        "items": items, "bands": bands}).json["version"] == 2
    versions = client.get(K + "/sheet/versions", headers=evaluator).json
    assert [len(v["items"]) for v in versions] == [5, 2]
    # 60 * 7.5/10 + 40 * 5/5 = 85: the lowest total of grade a
    for key, points in (("practice", "7.5"), ("files", "5")):
        review = client.post(M1 + f"/items/{key}/score", headers=evaluator, json={
            "points": points, "comment": "ok"}).json
    assert (review["total"], review["grade"]["label_zh"]) == ("85.00", "甲")
    review = client.post(M1 + "/items/practice/score", headers=evaluator, json={
        "points": "7.49", "comment": "ok"}).json
    assert (review["total"], review["grade"]["label_zh"]) == ("84.94", "乙")
    # a later sheet is for reviews not yet begun: m1 keeps version 2
    assert client.post(K + "/sheet", headers=buyer, json={}).json["version"] == 3
    assert client.get(M1, headers=buyer).json["sheet_version"] == 2
    assert client.get(K + "/milestones/m2/review", headers=buyer).json["sheet_version"] == 3


def test_a_hold_waits_for_the_decision_that_follows(world):
    app, client, people = world
    buyer, evaluator = people["buyer"], people["evaluator"]
    items = [{"key": "practice", "title_zh": "专业服务", "title_en": "Practice",
              "max_points": "100", "weight": "100", "scorer": "evaluator"}]
    client.post(K + "/sheet", headers=buyer, json={"items": items})
    client.post(M1 + "/items/practice/score", headers=evaluator, json={
        "points": "95", "comment": "优秀"})
    assert client.post(K + "/milestones/m1/close", headers=buyer).status_code == 201
    assert client.post(M1 + "/decision", headers=buyer, json={
        "decision": "hold"}).status_code == 422
    held = client.post(M1 + "/decision", headers=buyer, json={
        "decision": "hold", "reason": "待核实回访结果"}).json["decision"]
    assert (held["decision"], held["amount"], held["grade"]) == ("hold", "0.00", "excellent")
    approved = client.post(M1 + "/decision", headers=buyer, json={
        "decision": "approve"}).json["decision"]
    assert (approved["decision"], approved["amount"], approved["holds"]) == (
        "approve", "40000.00", 1)
    assert client.post(M1 + "/decision", headers=buyer, json={
        "decision": "hold", "reason": "再议"}).json["error"]["code"] == "decided"


def test_the_review_of_another_contract_is_refused(world):
    app, client, people = world
    client.post(K + "/sheet", headers=people["buyer"], json={})
    item_url = M1 + "/items/project_management"
    asks = [("GET", K + "/sheet", None), ("GET", M1, None), ("POST", K + "/sheet", {}),
            ("POST", item_url + "/self-assessment", {"points": "10", "note": "n"}),
            ("POST", item_url + "/score", {"points": "10", "comment": "c"}),
            ("POST", item_url + "/answer", {"text": "t"}),
            ("POST", M1 + "/decision", {"decision": "hold", "reason": "r"})]
    for who in ("other_buyer", "other_evaluator", "other_agency"):
        for method, url, body in asks:
            got = client.open(url, method=method, headers=people[who], json=body)
            assert got.status_code in (403, 404), (who, method, url, got.status_code)
            if method == "GET":
                assert got.status_code == 404, (who, url)
    for who, (_, url, body) in (("evaluator", asks[3]), ("agency", asks[4]),
                                ("evaluator", asks[6]), ("agency", asks[6]),
                                ("evaluator", asks[2]), ("worker", asks[3])):
        assert client.post(url, headers=people[who], json=body).status_code == 403, (who, url)


# -- the spending ledger --------------------------------------------------------------------

LEDGER = K + "/ledger"
LINES = [("personnel", "人员经费", "50000.00"), ("activities", "活动经费", "30000.00"),
         ("materials", "物资耗材", "9999.90"), ("management", "管理费用", "5000.10"),
         ("other", "其他", "5000.00")]


def budget(lines=LINES) -> dict:
    return {"lines": [{"key": k, "label_zh": zh, "label_en": k.title(), "amount": amount}
                      for k, zh, amount in lines]}


def receipt_photo() -> bytes:
    import io
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (120, 80), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def upload(client, token, data: bytes):
    import io
    return client.post(LEDGER + "/receipts", headers=token, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), "发票.png")})


def cost_per_outcome(client, token) -> float:
    card = client.get(K + "/scorecard?from=2026-01-01&to=2026-06-30", headers=token).json
    return next(i["value"] for d in card["dimensions"] for i in d["indicators"]
                if i["measure"] == "cost_per_outcome")


def test_the_ledger_sums_decimals_flags_entries_and_prices_outcomes_by_actual_spend(world):
    app, client, people = world
    buyer, agency = people["buyer"], people["agency"]
    # two residents newly taking part, none before the contract: two outcomes; until there
    # is a ledger, the budget prorated to the 181 days prices them
    assert cost_per_outcome(client, buyer) == round(100000 * 181 / 365 / 2, 2)
    expense = {"spent_on": "2026-02-01", "amount": "0.10", "line": "activities",
               "payee_kind": "supplier", "description": "活动茶歇"}
    early = client.post(LEDGER + "/expenses", headers=agency, json=expense)
    assert early.status_code == 409 and early.json["error"]["code"] == "no_budget"
    short = client.post(LEDGER + "/budget", headers=buyer, json=budget(LINES[:4]))
    assert short.status_code == 422 and "lines" in short.json["error"]["fields"]
    assert client.post(LEDGER + "/budget", headers=agency, json=budget()).status_code == 403
    made = client.post(LEDGER + "/budget", headers=buyer, json=budget())
    assert made.status_code == 201 and made.json["version"] == 1

    stored = upload(client, agency, receipt_photo())
    assert stored.status_code == 201, stored.json
    digest = stored.json["digest"]
    shown = client.get(f"{LEDGER}/receipts/{digest}", headers=people["evaluator"])
    assert shown.status_code == 200 and shown.mimetype == "image/png"
    assert client.get(f"{LEDGER}/receipts/{digest}/thumbnail", headers=buyer).status_code == 200
    assert upload(client, agency, b"not a receipt at all").status_code == 422

    entries = [("2026-02-01", "0.10", "activities", [digest]), ("2026-02-02", "0.20",
               "activities", [digest]), ("2026-02-03", "2999.70", "activities", [digest]),
               ("2026-03-01", "9999.90", "materials", [digest]),
               ("2026-04-01", "0.10", "materials", [digest]),
               ("2025-12-31", "5000.00", "personnel", [digest]),
               ("2026-07-15", "12000.00", "personnel", [])]
    for day, amount, line, receipts in entries:
        done = client.post(LEDGER + "/expenses", headers=agency, json={
            **expense, "spent_on": day, "amount": amount, "line": line,
            "receipt_digests": receipts})
        assert done.status_code == 201, done.json
    assert done.json["amount"] == "12000.00"
    for wrong, field in (({"line": "travel"}, "line"),
                         ({"receipt_digests": ["0" * 64]}, "receipt_digests"),
                         ({"amount": "0"}, "amount"), ({"spent_on": "2999-01-01"}, "spent_on")):
        refused = client.post(LEDGER + "/expenses", headers=agency, json={**expense, **wrong})
        assert refused.status_code == 422 and field in refused.json["error"]["fields"], wrong

    summary = client.get(LEDGER, headers=people["evaluator"]).json
    lines = {line["key"]: line for line in summary["lines"]}
    assert (lines["activities"]["spent"], lines["activities"]["execution_rate"]) == (
        "3000.00", "0.1000")
    assert (lines["materials"]["spent"], lines["materials"]["remaining"],
            lines["materials"]["over_budget"]) == ("10000.00", "-0.10", True)
    assert lines["personnel"]["spent"] == "17000.00" and not lines["personnel"]["over_budget"]
    assert (summary["budget"], summary["spent"], summary["execution_rate"]) == (
        "100000.00", "30000.00", "0.3000")
    flags = {(e["spent_on"], e["amount"]): e["flags"] for e in summary["expenses"]}
    assert flags[("2026-04-01", "0.10")] == ["over_budget"]
    assert flags[("2026-03-01", "9999.90")] == []
    assert flags[("2025-12-31", "5000.00")] == ["outside_period"]
    assert flags[("2026-07-15", "12000.00")] == ["no_receipt"]
    assert summary["flagged"] == 3
    # spent by the end of March, the entry before the period included
    assert client.get(LEDGER + "?to=2026-03-31", headers=buyer).json["spent"] == "17999.90"
    from services.evaluation.models import LedgerExpense
    with app.app_context():
        amounts = [e.amount for e in LedgerExpense.query.filter_by(line="activities")]
        assert all(isinstance(a, Decimal) for a in amounts) and sum(amounts) == Decimal("3000")

    # what was spent from January to June, over the same two outcomes
    assert cost_per_outcome(client, buyer) == 6500.0

    # the ledger is its events: rebuilt, the same
    store = app.extensions["socialwork"].store
    with app.app_context():
        types = list(store.session.scalars(sa.select(store.OutboxEvent.type).where(
            store.OutboxEvent.type.like("ledger.%")).order_by(store.OutboxEvent.seq)))
    assert types == ["ledger.budget_set"] + ["ledger.expense_recorded"] * len(entries)
    from services.evaluation.cli import rebuild
    with app.app_context():
        rebuild()
    assert client.get(LEDGER, headers=people["evaluator"]).json == summary


def outbox_size(app) -> int:
    store = app.extensions["socialwork"].store
    with app.app_context():
        return store.session.scalar(sa.select(sa.func.count()).select_from(store.OutboxEvent))


def test_amounts_and_points_are_taken_as_given_or_refused_never_rounded(world):
    """An amount of more than two decimals was rounded (10.005 yuan recorded as 10.00, a
    budget line of 99999.995 accepted as the contract's 100000.00) and one above what the
    columns hold was a 500 on PostgreSQL (stored regardless on SQLite): each is a 422 naming
    the field now, and nothing is recorded."""
    app, client, people = world
    buyer, agency, evaluator = people["buyer"], people["agency"], people["evaluator"]
    nearly = client.post(LEDGER + "/budget", headers=buyer, json=budget(
        [("personnel", "人员经费", "99999.995")]))
    assert nearly.status_code == 422, nearly.json
    assert "金额最多精确到分" in str(nearly.json["error"]["fields_zh"])
    assert client.post(LEDGER + "/budget", headers=buyer, json=budget()).status_code == 201
    expense = {"spent_on": "2026-02-01", "amount": "10.00", "line": "activities",
               "payee_kind": "supplier", "description": "活动茶歇"}
    before, events = client.get(LEDGER, headers=buyer).json, outbox_size(app)
    for amount in ("10.005", "0.001", "1e12", "999999999999.995", "1e15", "-0.01", "0"):
        refused = client.post(LEDGER + "/expenses", headers=agency,
                              json={**expense, "amount": amount})
        assert refused.status_code == 422 and "amount" in refused.json["error"]["fields"], (
            amount, refused.status_code, refused.json)
    for budget_text in ("12.345", "1e13", "999999999999.999"):
        refused = client.post("/contracts", headers=buyer,
                              json=contract(id="k-big", budget=budget_text))
        assert refused.status_code == 422 and "budget" in refused.json["error"]["fields"], (
            budget_text, refused.json)
    assert client.get("/contracts/k-big", headers=buyer).status_code == 404
    assert client.get(LEDGER, headers=buyer).json == before and outbox_size(app) == events

    # to the fen as written, trailing zeros or none
    top = "999999999999.99"
    for amount, kept in (("10.10", "10.10"), ("10.1000", "10.10"), (top, top)):
        done = client.post(LEDGER + "/expenses", headers=agency,
                           json={**expense, "amount": amount})
        assert done.status_code == 201 and done.json["amount"] == kept, done.json
    assert client.get(LEDGER, headers=buyer).json["spent"] == "1000000000020.19"

    # a score of more decimals than the sheet's two is refused too
    assert client.post(K + "/sheet", json={}, headers=buyer).status_code == 201
    score = M1 + "/items/professional_practice/score"
    refused = client.post(score, headers=evaluator, json={"points": "20.005", "comment": "x"})
    assert refused.status_code == 422 and "points" in refused.json["error"]["fields"]
    assert item(client.get(M1, headers=buyer).json, "professional_practice")["score"] is None
    kept = client.post(score, headers=evaluator, json={"points": "20.50", "comment": "x"})
    assert item(kept.json, "professional_practice")["score"]["points"] == "20.50"


def test_a_line_with_expenses_stays_in_the_budget(world):
    """A budget version that dropped a line with expenses took them out of the ledger's
    spending (0.00 of 1000.00 spent) while the cost per outcome still counted them: the line
    stays, its amount may change, and the two agree."""
    app, client, people = world
    buyer, agency = people["buyer"], people["agency"]
    assert client.post(LEDGER + "/budget", headers=buyer, json=budget()).status_code == 201
    assert client.post(LEDGER + "/expenses", headers=agency, json={
        "spent_on": "2026-02-01", "amount": "1000.00", "line": "other", "payee_kind": "other",
        "description": "场地清洁"}).status_code == 201
    without_other = [("personnel", "人员经费", "55000.00"), *LINES[1:4]]
    dropped = client.post(LEDGER + "/budget", headers=buyer, json=budget(without_other))
    assert dropped.status_code == 422 and "lines" in dropped.json["error"]["fields"]
    assert "已有支出记录" in str(dropped.json["error"]["fields_zh"])
    assert client.get(LEDGER, headers=buyer).json["budget_version"] == 1
    emptied = client.post(LEDGER + "/budget", headers=buyer, json=budget(
        [*without_other, ("other", "其他", "0.00")]))
    assert emptied.status_code == 201 and emptied.json["version"] == 2
    summary = client.get(LEDGER, headers=buyer).json
    assert summary["spent"] == "1000.00" and summary["expenses"][0]["flags"] == [
        "over_budget", "no_receipt"]
    assert cost_per_outcome(client, buyer) == 1000 / 2  # the same 1000.00 over two outcomes


def recount(events: list[dict], until: str | None = None, as_of: str | None = None) -> dict:
    """The ledger's figures from evaluation's published log alone (docs/MEASURES.md,
    docs/EVALUATION.md): the newest budget version set by `as_of`, the expenses spent by
    `until` and recorded by `as_of`, spent / budget to four decimals."""
    def known(e):
        return as_of is None or datetime.fromisoformat(e["time"].replace("Z", "+00:00")) <= \
            datetime.fromisoformat(as_of)
    budgets = [e["data"] for e in events if e["type"].endswith(".ledger.budget_set.v1")
               and known(e)]
    lines = {line["key"]: Decimal(line["amount"])
             for line in max(budgets, key=lambda d: d["version"])["lines"]}
    spent = dict.fromkeys(lines, Decimal(0))
    for e in events:
        d = e["data"]
        if e["type"].endswith(".ledger.expense_recorded.v1") and known(e) and (
                until is None or d["spent_on"] <= until):
            spent[d["line"]] += Decimal(d["amount"])
    total, budget_total = sum(spent.values()), sum(lines.values())
    return {"budget": str(budget_total), "spent": str(total.quantize(Decimal("0.01"))),
            "execution_rate": str((total / budget_total).quantize(Decimal("0.0001"))),
            "lines": {k: str(v.quantize(Decimal("0.01"))) for k, v in spent.items()}}


def shown(summary: dict) -> dict:
    return {"budget": summary["budget"], "spent": summary["spent"],
            "execution_rate": summary["execution_rate"],
            "lines": {line["key"]: line["spent"] for line in summary["lines"]}}


def test_the_ledger_and_its_cost_per_outcome_recounted_from_the_log(world, monkeypatch):
    """An outside recount from GET /events agrees with the ledger, the milestone's report and
    the cost per outcome, now and as of the milestone (its due date and late-entry days): an
    expense recorded after that allowance is in neither the report's spending nor its card.
    The report had counted it (its spending by line read the ledger as known now)."""
    app, client, people = world
    buyer, agency = people["buyer"], people["agency"]
    ops = bearer(auth.mint("ops_admin", "recount", issuer="evaluation"))
    monkeypatch.setenv(clock.SETTING, "header")

    def at(moment: str) -> dict:
        return {clock.HEADER: moment}
    assert client.post(LEDGER + "/budget", json=budget(), headers={
        **buyer, **at("2026-01-05T10:00:00+08:00")}).status_code == 201
    entries = [("2026-02-01", "3000.00", "activities", "2026-02-02T10:00:00+08:00"),
               ("2026-03-03", "8000.00", "materials", "2026-03-04T10:00:00+08:00"),
               ("2026-05-20", "2000.50", "materials", "2026-07-10T10:00:00+08:00"),  # late
               ("2026-06-10", "999.99", "personnel", "2026-08-01T10:00:00+08:00"),  # too late
               ("2026-07-05", "500.00", "other", "2026-07-06T10:00:00+08:00")]  # after due
    for day, amount, line, recorded in entries:
        assert client.post(LEDGER + "/expenses", headers={**agency, **at(recorded)}, json={
            "spent_on": day, "amount": amount, "line": line, "payee_kind": "supplier",
            "description": "按月记账"}).status_code == 201
    later = [("personnel", "人员经费", "45000.00"), ("activities", "活动经费", "35000.00"),
             *LINES[2:]]
    assert client.post(LEDGER + "/budget", json=budget(later), headers={
        **buyer, **at("2026-09-01T10:00:00+08:00")}).status_code == 201
    monkeypatch.delenv(clock.SETTING)
    assert client.post(K + "/sheet", json={}, headers=buyer).status_code == 201
    events = client.get("/events?limit=5000", headers=ops).json["events"]

    assert shown(client.get(LEDGER, headers=buyer).json) == recount(events)
    assert shown(client.get(LEDGER + "?to=2026-06-30", headers=buyer).json) == recount(
        events, "2026-06-30")
    report = client.get(K + "/milestones/m1/report", headers=buyer).json
    as_of = report["as_of"]
    assert as_of.startswith("2026-07-15T15:59:59")  # the allowance's last day, in China
    by_then = recount(events, "2026-06-30", as_of)
    assert by_then["spent"] == "13000.50" and by_then["budget"] == "100000.00"
    assert shown(report["spending"]) == by_then
    counted = [e["amount"] for e in report["spending"]["expenses"]]
    assert counted == ["3000.00", "8000.00", "2000.50"]

    # cost per outcome: the recounted spend over the story's two new participants (r1, r2)
    card = client.get(K + "/scorecard?from=2026-01-01&to=2026-06-30&as_of=2026-07-15",
                      headers=buyer).json
    then = next(i for d in card["dimensions"] for i in d["indicators"]
                if i["measure"] == "cost_per_outcome")
    assert then["value"] == round(float(by_then["spent"]) / 2, 2)
    assert cost_per_outcome(client, buyer) == round(
        float(recount(events, "2026-06-30")["spent"]) / 2, 2)


def test_the_ledger_of_another_contract_is_refused(world):
    app, client, people = world
    client.post(LEDGER + "/budget", headers=people["buyer"], json=budget())
    expense = {"spent_on": "2026-02-01", "amount": "10.00", "line": "activities",
               "payee_kind": "supplier", "description": "x"}
    for who in ("other_buyer", "other_evaluator", "other_agency"):
        assert client.get(LEDGER, headers=people[who]).status_code == 404, who
        assert client.post(LEDGER + "/budget", headers=people[who],
                           json=budget()).status_code in (403, 404), who
        assert client.post(LEDGER + "/expenses", headers=people[who],
                           json=expense).status_code in (403, 404), who
        assert upload(client, people[who], receipt_photo()).status_code in (403, 404), who
    assert client.post(LEDGER + "/expenses", headers=people["other_agency"],
                       json=expense).status_code == 404
    for who in ("evaluator", "worker", "buyer"):
        assert client.post(LEDGER + "/expenses", headers=people[who],
                           json=expense).status_code == 403, who
    digest = upload(client, people["agency"], receipt_photo()).json["digest"]
    assert client.get(f"{LEDGER}/receipts/{digest}",
                      headers=people["other_agency"]).status_code == 404
    assert client.get(f"/contracts/k2/ledger/receipts/{digest}",
                      headers=people["other_agency"]).status_code == 404


# -- the report -----------------------------------------------------------------------------

def test_the_report_renders_as_a_pdf_with_grade_total_log_heads_and_an_embedded_cjk_font(
        world, monkeypatch):
    import io
    from pypdf import PdfReader
    app, client, people = world
    buyer, evaluator, agency = people["buyer"], people["evaluator"], people["agency"]
    client.post(K + "/sheet", headers=buyer, json={})
    # the ledger kept as the year went: recorded in March, well within the card's as_of
    monkeypatch.setenv(clock.SETTING, "header")
    march = {clock.HEADER: "2026-03-02T12:00:00+08:00"}
    client.post(LEDGER + "/budget", headers={**buyer, **march}, json=budget())
    digest = upload(client, agency, receipt_photo()).json["digest"]
    assert client.post(LEDGER + "/expenses", headers={**agency, **march}, json={
        "spent_on": "2026-03-02", "amount": "880.50", "line": "activities",
        "payee_kind": "supplier", "description": "小组活动物资",
        "receipt_digests": [digest]}).status_code == 201
    monkeypatch.delenv(clock.SETTING)
    for key in ("project_management", "financial_management"):
        client.post(M1 + f"/items/{key}/self-assessment", headers=agency,
                    json={"points": "12", "note": "自评说明"})
    for key, points in (("project_management", "13"), ("professional_practice", "22"),
                        ("financial_management", "12"), ("satisfaction", "13")):
        assert client.post(M1 + f"/items/{key}/score", headers=evaluator, json={
            "points": points, "comment": f"{key} 评语：记录齐全", "record_ids": ["s1"]
            if key == "professional_practice" else []}).status_code == 200
    assert client.post(K + "/milestones/m1/close", headers=buyer).status_code == 201
    assert client.post(M1 + "/decision", headers=buyer, json={
        "decision": "approve"}).status_code == 200

    # a session recorded after the closing is not in the log the card was computed from
    apply_events(app, forge("session.delivered", {
        "session_id": "s-late", "agency_id": "a1", "community_id": "c1", "method": "group_work",
        "mode": "in_person", "case_id": None, "worker_ids": ["w1"], "led_by": "agency",
        "leader_refs": [], "attendee_refs": ["r3"], "date": "2026-06-01", "start": "09:00",
        "end": "10:00", "hours": 1.0}, source="/casework"))
    data = client.get(K + "/milestones/m1/report", headers=agency).json
    review = data["review"]
    heads = {h["source"]: h for h in data["heads"]}
    # four reference-data events and four residents from intake, one session from casework
    assert heads["/casework"]["sequence"] == 1 and heads["/intake"]["sequence"] == 8
    assert all(len(h["hash"]) == 64 for h in data["heads"])
    assert len(heads["/evaluation"]["hash"]) == 64
    assert {"record": "expense " + data["spending"]["expenses"][0]["id"][:12],
            "digest": digest} in data["evidence"]

    got = client.get(K + "/milestones/m1/report/pdf", headers=buyer)
    assert got.status_code == 200 and got.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(got.data))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "绩效评估报告" in text and review["grade"]["label_zh"] in text
    assert review["total"] in text and "880.50" in text
    for head in data["heads"]:
        assert head["hash"] in text.replace("\n", "") and str(head["sequence"]) in text
    fonts = {str(font["/BaseFont"]): font for page in reader.pages
             for font in page["/Resources"]["/Font"].values()}
    embedded = [name for name, font in fonts.items() if "WenQuanYi" in name]
    assert embedded, fonts.keys()
    descendant = fonts[embedded[0]]
    descriptor = (descendant["/DescendantFonts"][0]["/FontDescriptor"]
                  if "/DescendantFonts" in descendant else descendant["/FontDescriptor"])
    assert any(k in descriptor for k in ("/FontFile2", "/FontFile", "/FontFile3"))

    english = client.get(K + "/milestones/m1/report/pdf?lang=en", headers=evaluator)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(english.data)).pages)
    assert "Evaluation report" in text and review["grade"]["label_en"] in text
    assert client.get(K + "/milestones/m1/report/pdf",
                      headers=people["other_buyer"]).status_code == 404
    # a deployment without the font is told so
    from services.evaluation import report
    monkeypatch.setattr(report, "FONT", "NotRegisteredYet")
    monkeypatch.setattr(report, "FONT_FILE", "/nonexistent/font.ttc")
    missing = client.get(K + "/milestones/m1/report/pdf", headers=buyer)
    assert missing.status_code == 503 and missing.json["error"]["code"] == "report_font_missing"
    monkeypatch.undo()

    # the same report as a page, with its PDF one link away
    from tests.test_pages import add_user, login, text
    add_user(app, "buyer1", "buyer_auditor", buyer_id="b1")
    page_client, _ = login(app, "buyer1")
    page = page_client.get("/ui/contracts/k1/milestones/m1/report")
    assert page.status_code == 200
    shown = text(page)
    assert review["total"] in shown and review["grade"]["label_zh"] in shown
    assert all(h["hash"] in shown for h in data["heads"]) and digest in shown
    assert page_client.get("/ui/contracts/k1/milestones/m1/report/pdf").mimetype == \
        "application/pdf"
    assert "/ui/contracts/k1/milestones/m1/report" in text(page_client.get("/ui/contracts/k1"))


# -- the pages ------------------------------------------------------------------------------

def test_the_evaluator_scores_beside_the_evidence_and_the_buyer_decides_on_the_pages(world):
    from tests.test_pages import add_user, login, post, text
    app, client, people = world
    add_user(app, "expert1", "evaluator", contract_id="k1")
    add_user(app, "expert2", "evaluator", contract_id="k2")
    add_user(app, "buyer1", "buyer_auditor", buyer_id="b1")
    buyer_page, _ = login(app, "buyer1")
    none_yet = buyer_page.get("/ui" + M1)
    assert none_yet.status_code == 409 and "采用默认评分表" in text(none_yet)
    adopted = post(buyer_page, "/ui" + K + "/sheet", {"next": "/ui" + M1}, form_page="/ui" + M1)
    assert adopted.status_code == 302 and client.get(K + "/sheet", headers=people[
        "buyer"]).json["version"] == 1

    expert, _ = login(app, "expert1")
    page = expert.get("/ui" + M1)
    assert page.status_code == 200
    shown = text(page)
    # professional practice: its sessions beside it, to cite
    assert 'name="record_ids" value="s1"' in shown and "review-evidence" in shown
    assert expert.get("/ui/contracts/k1").status_code == 200  # the scorecard it evaluates
    scored = post(expert, "/ui" + M1 + "/items/professional_practice/score", {
        "points": "21", "comment": "抽查小组活动记录规范", "record_ids": "s1"},
        form_page="/ui" + M1)
    assert scored.status_code == 302
    review = client.get(M1, headers=people["buyer"]).json
    practice = item(review, "professional_practice")
    assert practice["score"]["points"] == "21.00"
    assert practice["score"]["records"][0]["record_id"] == "s1"
    too_many = post(expert, "/ui" + M1 + "/items/satisfaction/score", {
        "points": "16", "comment": "x"}, form_page="/ui" + M1)
    assert too_many.status_code == 422 and "超过该评分项的满分" in text(too_many)
    # no decision form for the evaluator; the buyer's is refused when posted by it
    assert 'name="decision"' not in shown
    refused = post(expert, "/ui" + M1 + "/decision", {"decision": "approve"},
                   form_page="/ui" + M1)
    assert refused.status_code == 422 and client.get(M1, headers=people[
        "buyer"]).json["decision"] is None
    other, _ = login(app, "expert2")
    assert other.get("/ui" + M1).status_code == 404
    assert other.get("/ui/contracts/k1/ledger").status_code == 404

    # the buyer's decision, with its reason, once every item is scored and the card closed
    for key in ("project_management", "financial_management"):
        client.post(M1 + f"/items/{key}/self-assessment", headers=people["agency"],
                    json={"points": "12", "note": "自评"})
    for key in ("project_management", "financial_management", "satisfaction"):
        client.post(M1 + f"/items/{key}/score", headers=people["evaluator"],
                    json={"points": "10", "comment": "符合要求"})
    client.post(K + "/milestones/m1/close", headers=people["buyer"])
    assert 'name="decision"' in text(buyer_page.get("/ui" + M1))
    missing = post(buyer_page, "/ui" + M1 + "/decision",
                   {"decision": "reduce", "amount": "100.00"}, form_page="/ui" + M1)
    assert missing.status_code == 422 and "暂缓或减付须说明理由" in text(missing)
    decided = post(buyer_page, "/ui" + M1 + "/decision", {
        "decision": "reduce", "amount": "100.00", "reason": "核减未达标部分"},
        form_page="/ui" + M1)
    assert decided.status_code == 302
    page = text(buyer_page.get("/ui" + M1))
    assert "核减未达标部分" in page and "100.00" in page and 'name="decision"' not in page
    # the payments table: recommended beside decided, and why
    payments = text(buyer_page.get("/ui/contracts/k1"))
    assert "减付 100.00" in payments and "核减未达标部分" in payments

    # the ledger page, for the buyer and the evaluator
    client.post(LEDGER + "/budget", headers=people["buyer"], json=budget())
    client.post(LEDGER + "/expenses", headers=people["agency"], json={
        "spent_on": "2026-02-01", "amount": "66.60", "line": "materials",
        "payee_kind": "supplier", "description": "彩纸与胶棒"})
    for reader in (buyer_page, expert):
        shown = text(reader.get("/ui/contracts/k1/ledger"))
        assert "物资耗材" in shown and "66.60" in shown and "无凭证" in shown
        assert 'name="spent_on"' not in shown  # expenses are the agency's to record


def test_the_agency_assesses_itself_answers_and_records_an_expense_on_its_pages(
        world, backend):
    """Over HTTP: casework's pages, where the agency signs in, call evaluation's API with
    the person's own token; evaluation keeps everything and checks the scope."""
    import threading
    from werkzeug.serving import make_server
    from tests.test_pages import add_user, login, post, text
    app, client, people = world
    client.post(K + "/sheet", headers=people["buyer"], json={})
    client.post(LEDGER + "/budget", headers=people["buyer"], json=budget())
    casework = backend.app("casework")
    add_user(casework, "admin1", "agency_admin", agency_id="a1")
    add_user(casework, "admin2", "agency_admin", agency_id="a2")
    port = int(backend.env["EVALUATION_URL"].rsplit(":", 1)[1])
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = "/ui/evaluation/k1"
    try:
        with backend.environ():
            agency, _ = login(casework, "admin1")
            listed = text(agency.get("/ui/evaluation"))
            assert f"{base}/milestones/m1" in listed and f"{base}/ledger" in listed
            page = agency.get(f"{base}/milestones/m1")
            assert page.status_code == 200 and "项目管理" in text(page)
            done = post(agency, f"{base}/milestones/m1/items/project_management/self-assessment",
                        {"points": "13", "note": "按方案执行"}, form_page=f"{base}/milestones/m1")
            assert done.status_code == 302
            too_many = post(agency, f"{base}/milestones/m1/items/financial_management/"
                            "self-assessment", {"points": "99", "note": "x"},
                            form_page=f"{base}/milestones/m1")
            assert too_many.status_code == 422 and "超过该评分项的满分" in text(too_many)
            client.post(M1 + "/items/project_management/score", headers=people["evaluator"],
                        json={"points": "12", "comment": "督导记录不全"})
            answered = post(agency, f"{base}/milestones/m1/items/project_management/answer",
                            {"text": "督导记录已补交"}, form_page=f"{base}/milestones/m1")
            assert answered.status_code == 302
            review = client.get(M1, headers=people["buyer"]).json
            managed = item(review, "project_management")
            assert managed["self"]["points"] == "13.00"
            assert managed["answer"]["text"] == "督导记录已补交"
            # an expense with its receipt photo, from the phone's camera
            import io
            agency.get(f"{base}/ledger")
            from tests.test_pages import csrf_of
            recorded = agency.post(f"{base}/ledger/expenses", data={
                "csrf_token": csrf_of(agency, f"{base}/ledger"), "spent_on": "2026-03-05",
                "amount": "320.00", "line": "activities", "payee_kind": "venue",
                "description": "社区活动场地租用",
                "receipt": (io.BytesIO(receipt_photo()), "IMG_2031.png")},
                content_type="multipart/form-data")
            assert recorded.status_code == 302, text(recorded)
            ledger = client.get(LEDGER, headers=people["buyer"]).json
            assert ledger["spent"] == "320.00" and len(ledger["expenses"][0]["receipts"]) == 1
            assert "社区活动场地租用" in text(agency.get(f"{base}/ledger"))
            # another agency's administrator finds neither
            other, _ = login(casework, "admin2")
            assert other.get(f"{base}/milestones/m1").status_code == 404
            assert other.get(f"{base}/ledger").status_code == 404
    finally:
        server.shutdown()
