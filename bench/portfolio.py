"""A city's portfolio: many contracts of one buyer over many communities (each contract a
few of them), a generated year of events projected as in bench/scorecard.py, then the
buyer's portfolio read uncached (every card computed, as after any new event): the first
page (50 contracts by id, what the page shows) and the whole portfolio sorted by total (every
contract's card)."""
import time

from tests.conftest import bearer
from tests.streams import FORGED, grant

from .scorecard import PERIOD
from .stats import percentile

BUYER = "b-city"
AGENCY = "a-bench"
PAGE = "/portfolio?limit=50"
WHOLE = "/portfolio?sort=total&order=desc&limit=200"


def contract_id(i: int) -> str:
    return f"k-city-{i:03d}"


def award_contracts(evaluation_app, token: str, communities: list[str], contracts: int):
    """The buyer governs every community and awards `contracts` contracts, each over an
    equal share of them. Returns intake's chain head after the reference events, where the
    generated log goes on from."""
    grant(evaluation_app, BUYER, communities, (AGENCY,))
    share = max(1, len(communities) // contracts)
    client = evaluation_app.test_client()
    for i in range(contracts):
        mine = communities[i * share % len(communities):][:share]
        response = client.post("/contracts", headers=bearer(token), json={
            "id": contract_id(i), "agency_id": AGENCY, "community_ids": mine,
            "period_start": PERIOD["from"], "period_end": PERIOD["to"], "budget": "500000"})
        assert response.status_code == 201, response.text
    last = max((key for key in FORGED if key[0] == "/intake"), key=lambda key: key[1])
    return {"/intake": (last[1], FORGED[last].hash())}


def latencies(evaluation_app, token: str, reads: int, contracts: int) -> dict:
    """Each read with the card cache emptied first: ms for the page and for the whole."""
    from services.evaluation import scorecard as cards
    client, headers = evaluation_app.test_client(), bearer(token)
    out = {}
    for name, path in (("page", PAGE), ("whole", WHOLE)):
        times = []
        for _ in range(reads):
            cards._CARDS.clear()
            started = time.perf_counter()
            response = client.get(path, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
            assert response.json["total_contracts"] == contracts, response.json
        out[f"{name}_p50_ms"] = percentile(times, 50)
        out[f"{name}_p99_ms"] = percentile(times, 99)
    return out
