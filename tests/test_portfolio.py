"""The buyer's city portfolio: every contract it may see with the scorecard's own total,
dimensions and monthly trend over the contract's period (or the part of it asked for), as
known at a time; sorted and paged; a buyer sees its own contracts only. On the hand-made story
of test_measures, entered day by day, so a date in the middle of it changes the figures."""
import pytest

from tests.conftest import bearer
from tests.streams import grant
from tests.test_measures import RECORDED, STORY, feed
from tests.test_pages import add_user, login, text

CONTRACTS = [  # (buyer, id, agency, communities, period)
    ("b1", "k1", "a1", ["c1"], ("2026-01-01", "2026-12-31")),
    ("b1", "k2", "a2", ["c1"], ("2026-01-01", "2026-06-30")),
    ("b1", "k3", "a1", ["c2"], ("2026-03-01", "2026-12-31")),  # nothing happened in c2
    ("b2", "k9", "a1", ["c1"], ("2026-01-01", "2026-12-31")),
]


@pytest.fixture
def evaluation(backend):
    app = backend.app("evaluation")
    grant(app)
    grant(app, "b2", ("c1",))
    feed(app, STORY, RECORDED)
    for buyer, contract_id, agency, communities, (start, end) in CONTRACTS:
        response = app.test_client().post("/contracts", headers=bearer(backend.token(
            "buyer_auditor", buyer_id=buyer)), json={
            "id": contract_id, "agency_id": agency, "community_ids": communities,
            "budget": "240000", "period_start": start, "period_end": end,
            "targets": {"sessions": 4}})
        assert response.status_code == 201, response.text
    return app


def get(app, token, path):
    response = app.test_client().get(path, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json


@pytest.mark.parametrize("as_of", [None, "2026-04-01"])
def test_every_figure_is_the_contracts_own_scorecard_and_trend(evaluation, backend, as_of):
    buyer = backend.token("buyer_auditor", buyer_id="b1")
    known = f"&as_of={as_of}" if as_of else ""
    found = get(evaluation, buyer, f"/portfolio?limit=10{known}")
    assert found["total_contracts"] == 3 and (found["as_of"] is not None) == bool(as_of)
    assert [c["contract_id"] for c in found["contracts"]] == ["k1", "k2", "k3"]
    for entry in found["contracts"]:
        k = next(c for c in CONTRACTS if c[1] == entry["contract_id"])
        assert (entry["from"], entry["to"]) == k[4]  # the whole period by default
        period = f"from={k[4][0]}&to={k[4][1]}{known}"
        card = get(evaluation, buyer, f"/contracts/{k[1]}/scorecard?{period}")
        trends = get(evaluation, buyer, f"/contracts/{k[1]}/trends?{period}")
        assert (entry["total"], entry["band"]) == (card["total"], card["band"])
        assert entry["dimensions"] == [
            {key: d[key] for key in ("key", "name_zh", "name_en", "weight", "score", "band")}
            for d in card["dimensions"]]
        assert entry["trend"] == trends["months"]
    k1 = found["contracts"][0]
    assert k1["total"] is not None and found["contracts"][2]["total"] is None  # c2: no data
    if as_of:  # known by April: less than the whole story
        assert k1["trend"] != get(evaluation, buyer, "/portfolio")["contracts"][0]["trend"]


def test_a_range_narrows_each_period_and_drops_contracts_it_misses(evaluation, backend):
    buyer = backend.token("buyer_auditor", buyer_id="b1")
    found = get(evaluation, buyer, "/portfolio?from=2026-07-01&to=2026-09-30")
    assert [(c["contract_id"], c["from"], c["to"]) for c in found["contracts"]] == [
        ("k1", "2026-07-01", "2026-09-30"), ("k3", "2026-07-01", "2026-09-30")]
    card = get(evaluation, buyer, "/contracts/k1/scorecard?from=2026-07-01&to=2026-09-30")
    assert found["contracts"][0]["total"] == card["total"]


def test_sorted_by_total_either_way_without_a_total_last_and_paged(evaluation, backend):
    buyer = backend.token("buyer_auditor", buyer_id="b1")
    totals = {c["contract_id"]: c["total"]
              for c in get(evaluation, buyer, "/portfolio")["contracts"]}
    with_total = sorted((k for k in totals if totals[k] is not None), key=totals.get)
    assert len(with_total) == 2 and totals["k3"] is None
    up = get(evaluation, buyer, "/portfolio?sort=total")["contracts"]
    down = get(evaluation, buyer, "/portfolio?sort=total&order=desc")["contracts"]
    assert [c["contract_id"] for c in up] == [*with_total, "k3"]
    assert [c["contract_id"] for c in down] == [*reversed(with_total), "k3"]
    page = get(evaluation, buyer, "/portfolio?sort=agency_id&order=desc&limit=1&offset=1")
    assert page["total_contracts"] == 3 and [c["contract_id"] for c in page[
        "contracts"]] == ["k1"]  # a2's k2, then a1's k1 and k3 by id
    by_start = get(evaluation, buyer, "/portfolio?sort=period_start&order=desc")
    assert by_start["contracts"][0]["contract_id"] == "k3"


def test_each_caller_sees_its_own_contracts(evaluation, backend):
    def ids(token):
        return [c["contract_id"] for c in get(evaluation, token, "/portfolio")["contracts"]]
    assert ids(backend.token("buyer_auditor", buyer_id="b2")) == ["k9"]
    assert ids(backend.token("buyer_auditor", buyer_id="b3")) == []
    assert ids(backend.token("agency_admin", agency_id="a2")) == ["k2"]
    assert ids(backend.token("evaluator", contract_id="k3")) == ["k3"]
    assert ids(backend.token("ops_admin")) == ["k1", "k2", "k3", "k9"]


@pytest.mark.parametrize("query, field", [
    ("sort=budget", "sort"), ("order=up", "order"), ("limit=0", "limit"),
    ("limit=201", "limit"), ("offset=-1", "offset"), ("as_of=yesterday", "as_of"),
    ("from=2026-05-01&to=2026-04-01", "to")])
def test_bad_queries_are_422_naming_the_field(evaluation, backend, query, field):
    response = evaluation.test_client().get(f"/portfolio?{query}", headers=bearer(
        backend.token("buyer_auditor", buyer_id="b1")))
    assert response.status_code == 422 and field in str(response.json), response.json


def test_the_buyers_portfolio_page_in_both_languages(evaluation):
    add_user(evaluation, "buyer1", "buyer_auditor", buyer_id="b1")
    client, _ = login(evaluation, "buyer1")
    page = text(client.get("/ui/portfolio"))
    assert "合同总览" in page and "每月参与人数" in page
    assert all(f"/ui/contracts/{k}?" in page for k in ("k1", "k2", "k3")) \
        and "/ui/contracts/k9" not in page  # the token in the page may hold "k9"
    english = text(client.get("/ui/portfolio?lang=en&sort=total&order=desc"))
    assert "Participants by month" in english and "Total score ↓" in english
    assert english.index("/ui/contracts/k3?") > english.index("/ui/contracts/k1?")
    paged = text(client.get("/ui/portfolio?offset=2"))
    assert "/ui/contracts/k3?" in paged and "/ui/contracts/k1?" not in paged
    assert "Previous" in text(client.get("/ui/portfolio?offset=2&lang=en"))
    bad = client.get("/ui/portfolio?sort=budget")
    assert bad.status_code == 422
