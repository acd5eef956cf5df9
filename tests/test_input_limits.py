"""No input gives a 500: each malformed input found from outside, on both backends (PostgreSQL
refuses NUL where SQLite keeps it), is refused with a 413 or a 422 naming the field and
the reason; exports never hand a spreadsheet a formula."""
import io
import re
import time
import zipfile
from datetime import timedelta

import openpyxl
import pytest

from services.evaluation import exports
from shared import clock
from shared.api import MAX_PAGE
from shared.inputs import MAX_BODY_BYTES
from tests.conftest import bearer
from tests.test_authorization import casework_world, evaluation_world, intake_world

TOMORROW = str(clock.today() + timedelta(days=1))
NEED = {"community_id": "c1", "category": "health", "urgency": "routine",
        "channel": "walk_in", "description": "x"}


@pytest.fixture
def intake(backend):
    world = intake_world(backend)
    return world, world.app.test_client(), bearer(backend.token("intake_clerk",
                                                                community_ids=["c1"]))


def refused(response, status: int = 422) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    error = response.json["error"]
    assert error["message"] and error["message_zh"]
    return error.get("fields", {})


def test_a_body_over_the_limit_is_a_413_saying_so(intake):
    _, client, clerk = intake
    body = b'{"description": "' + b"x" * MAX_BODY_BYTES + b'"}'
    response = client.post("/needs", data=body, content_type="application/json",
                           headers=clerk)
    refused(response, 413)
    assert response.json["error"]["code"] == "too_large"


@pytest.mark.parametrize("body, field, reason", [
    ("[" * 100_000 + "]" * 100_000, "json", "Nested more than"),
    ('{"a": ' * 40 + "1" + "}" * 40, "a.a.a", "Nested more than"),
    ('{"community_id": "c1", "budget": ' + "9" * 5000 + "}", "json", "more than 30 digits"),
    ('{"community_id": "c1", "n": Infinity}', "json", "Not a finite number"),
    ('{"community_id": "c1", "n": NaN}', "json", "Not a finite number"),
    ('{"community_id": "c1", "n": 1e999999}', "json", "Not a finite number"),
    ('{"community_id": "c1", "description": "a\\ud800b"}', "description", "lone surrogate"),
    ('{"community_id": "c1", "description": "a\\u0000b"}', "description", "NUL"),
    ('{"community_id": "c1", "x\\u0000": 1}', "json", "NUL"),
    ('{"community_id": ["c1", {"k": "\\udfff"}]}', "community_id[1].k", "lone surrogate"),
    (b'{"description": "\xff"}', "json", "not valid UTF-8 JSON"),
])
def test_malformed_json_is_a_422_naming_where(intake, body, field, reason):
    _, client, clerk = intake
    fields = refused(client.post("/needs", data=body, content_type="application/json",
                                 headers=clerk))
    where = [k for k in fields if k == field or k.startswith(field + ".")]
    assert where and any(reason in r for r in fields[where[0]]), fields


@pytest.mark.parametrize("query, field", [
    (f"/needs?page={10**25}", "page"), (f"/needs?page={MAX_PAGE + 1}", "page"),
    (f"/events?after={10**25}", "after"), ("/needs?community_id=c%00", "community_id"),
    (f"/events/count?after=0&upto={2**64}", "upto"),
])
def test_query_numbers_and_strings_are_bounded(intake, backend, query, field):
    _, client, clerk = intake
    headers = clerk if query.startswith("/needs") else bearer(backend.token("ops_admin"))
    assert field in refused(client.get(query, headers=headers))


@pytest.mark.parametrize("birth_date", [TOMORROW, "0001-01-01", "9999-12-31"])
def test_a_birth_date_is_a_past_day_within_range(intake, birth_date):
    _, client, clerk = intake
    assert "birth_date" in refused(client.post("/residents", headers=clerk, json={
        "community_id": "c1", "grid_id": "c1-g1", "name": "未来人", "birth_date": birth_date}))


@pytest.mark.parametrize("ids", [["c1", "c1"], [f"c{i}" for i in range(10_000)]])
def test_a_buyers_communities_are_bounded_and_distinct(intake, backend, ids):
    _, client, _ = intake
    ops = bearer(backend.token("ops_admin"))
    assert "community_ids" in refused(client.post("/buyers", headers=ops, json={
        "id": "b9", "name": "街道", "kind": "street_office", "community_ids": ids}))


def _sheet_declaring(dimension: str) -> bytes:
    """A few KB of .xlsx with two rows, whose worksheet declares `dimension`."""
    book = openpyxl.Workbook()
    book.active.append(["姓名", "性别", "网格"])
    book.active.append(["张三", "男", "c1-g1"])
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*" ?/>',
                              f'<dimension ref="{dimension}"/>'.encode(), data)
                assert dimension.encode() in data
            dst.writestr(item, data)
    return out.getvalue()


@pytest.mark.parametrize("dimension", ["A1:C1000000", "A1:XFD2"])
def test_an_excel_roster_declaring_a_huge_sheet_is_refused_before_it_is_read(
        intake, dimension):
    _, client, clerk = intake
    sheet = _sheet_declaring(dimension)
    assert len(sheet) < 10_000
    started = time.monotonic()
    fields = refused(client.post("/residents/import", headers=clerk, data={
        "community_id": "c1", "file": (io.BytesIO(sheet), "roster.xlsx")}))
    assert "declares more than" in fields["file"][0]
    assert time.monotonic() - started < 5


def test_an_excel_roster_of_the_declared_size_still_imports(intake):
    _, client, clerk = intake
    response = client.post("/residents/import", headers=clerk, data={
        "community_id": "c1", "file": (io.BytesIO(_sheet_declaring("A1:C2")), "roster.xlsx")})
    assert response.status_code == 200, response.json
    assert response.json["imported"] == 1


@pytest.fixture
def casework(backend):
    return casework_world(backend)


@pytest.mark.parametrize("path, body, field", [
    ("/cases/{case_id}/goals", {"domain": "社会支持", "description": "x", "baseline": -1,
                                "set_on": TOMORROW}, "set_on"),
    ("/council/decisions/{decision_id}/progress", {"status": "in_progress", "progress": 10,
                                                   "on": TOMORROW}, "on"),
    ("/sessions", {"date": "9999-12-31"}, "date"),
])
def test_casework_past_facts_are_not_in_the_future(casework, backend, path, body, field):
    worker = bearer(backend.token("social_worker", agency_id="a1", sub="w1"))
    client = casework.app.test_client()
    assert field in refused(client.post(path.format(**casework.params), headers=worker,
                                        json=body))


def test_an_organisation_update_is_not_dated_in_the_future(casework, backend):
    worker = bearer(backend.token("social_worker", agency_id="a1", sub="w1"))
    client = casework.app.test_client()
    url = f"/organizations/{casework.params['organization_id']}"
    assert "on" in refused(client.patch(url, headers=worker,
                                        json={"status": "active", "on": TOMORROW}))


@pytest.fixture
def evaluation(backend):
    world = evaluation_world(backend)
    return world, world.app.test_client(), bearer(backend.token("buyer_auditor",
                                                                buyer_id="b1"))


CONTRACT = {"id": "k9", "agency_id": "a1", "community_ids": ["c1"], "budget": "1000",
            "period_start": "2026-01-01", "period_end": "2026-12-31"}


@pytest.mark.parametrize("change, field", [
    ({"budget": "1e999999"}, "budget"), ({"budget": "Infinity"}, "budget"),
    ({"community_ids": ["c1", "c1"]}, "community_ids"),
    ({"community_ids": [f"c{i}" for i in range(10_000)]}, "community_ids"),
    ({"period_start": "0001-01-01"}, "period_start"),
    ({"period_start": "1910-01-01"}, "period_start"),  # a contract of 117 years
    ({"period_end": "9999-12-31"}, "period_end"),
])
def test_contract_terms_are_bounded(evaluation, change, field):
    _, client, buyer = evaluation
    assert field in refused(client.post("/contracts", headers=buyer,
                                        json={**CONTRACT, **change}))


def test_a_contract_amendment_cannot_stretch_the_period_past_the_limit(evaluation):
    _, client, buyer = evaluation
    assert "period_end" in refused(client.patch("/contracts/k1", headers=buyer, json={
        "reason": "延长", "period_end": "2199-12-31"}))


def test_trends_from_year_one_are_refused_at_once(evaluation):
    _, client, buyer = evaluation
    started = time.monotonic()
    fields = refused(client.get("/contracts/k1/trends?from=0001-01-01", headers=buyer))
    assert "from" in fields and time.monotonic() - started < 5


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_never_hand_a_spreadsheet_a_formula(fmt):
    header, rows = exports.records_table([
        {"grid_id": "=1+2", "name": "+cmd|' /C calc'!A0", "note": "@SUM(A1)",
         "minus": "-2+3", "count": -3, "plain": "c1-g1", "control": "g\x0e1"}])
    body = exports.download(fmt, "x", [("合同 / contract", "=HYPERLINK(1)")], header,
                            rows).get_data()
    if fmt == "csv":
        text = body.decode("utf-8-sig")
        assert "'=1+2" in text and "'+cmd" in text and "'@SUM(A1)" in text
        assert "'-2+3" in text and "'=HYPERLINK(1)" in text and ",-3," in text
        return
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)
    values = {c.value for c in cells}
    assert {"'=1+2", "'@SUM(A1)", "'=HYPERLINK(1)", -3, "c1-g1", "g1"} <= values
