"""Evaluation with many events in its projections: a generated event log put straight into
evaluation's inbox (its event log), projected by evaluation's own handlers, then a contract's
scorecard read again and again; and evaluation's rebuild timed on the same log."""
import json
import os
import sys
import time
from unittest import mock

import sqlalchemy as sa

from launcher.supervisor import ROOT
from tests.conftest import bearer
from tests.streams import FORGED, grant

from .stats import peak_rss_mb, percentile, timed_child

ROWS_PER_INSERT = 5000
CONTRACT = "k-bench"
BUYER = "b-bench"
PERIOD = {"from": "2026-01-01", "to": "2026-12-31"}  # the generated year, whole


def scorecard_path() -> str:
    return f"/contracts/{CONTRACT}/scorecard?from={PERIOD['from']}&to={PERIOD['to']}"


def award_contract(evaluation_app, token: str, communities: list[str]) -> dict:
    """The buyer governs the communities and the agency exists (as intake's first events
    say), then it awards the contract. Returns intake's chain head after those events, where
    the generated log goes on from: {source: (sequence, hash)}."""
    grant(evaluation_app, BUYER, communities, ("a-bench",))
    response = evaluation_app.test_client().post("/contracts", headers=bearer(token), json={
        "id": CONTRACT, "agency_id": "a-bench", "community_ids": communities,
        "period_start": PERIOD["from"], "period_end": PERIOD["to"],
        "budget": "3000000"})
    assert response.status_code == 201, response.text
    last = max((key for key in FORGED if key[0] == "/intake"), key=lambda key: key[1])
    return {"/intake": (last[1], FORGED[last].hash())}


def add_to_log(evaluation_app, events) -> int:
    """Events straight into evaluation's inbox, as if consumed (projections untouched)."""
    store = evaluation_app.extensions["socialwork"].store
    added, rows = 0, []
    with evaluation_app.app_context():
        for event in events:
            rows.append({"event_id": event.id, "source": event.source, "seq": event.sequence,
                         "type": event.short_type, "body": event.to_json(), "via": "bench"})
            if len(rows) == ROWS_PER_INSERT:
                added += _insert(store, rows)
        added += _insert(store, rows)
    return added


def _insert(store, rows: list) -> int:
    if rows:
        store.session.execute(sa.insert(store.InboxEvent), rows)
        store.session.commit()
    n = len(rows)
    rows.clear()
    return n


class BulkProjector:
    """evaluation's own handlers run over the events against a scratch SQLite database with
    evaluation's schema (no network round trip per row), the projections then copied into
    the measured database in bulk: a million events in minutes, not hours. The projections
    come out as evaluation's worker would have made them, in the same order."""

    def __init__(self, folder):
        from flask_migrate import upgrade

        from services.evaluation import create_app
        self.url = f"sqlite:///{folder / 'scratch-evaluation.db'}"
        with mock.patch.dict(os.environ, {"EVALUATION_DATABASE_URL": self.url,
                                          "SOCIALWORK_DATA_DIR": str(folder)}):
            self.app = create_app()
        with self.app.app_context():
            upgrade()

    def project(self, events: list) -> None:
        from services.evaluation.cli import apply_in_order
        from services.evaluation.models import db
        with self.app.app_context():
            for start in range(0, len(events), ROWS_PER_INSERT):
                apply_in_order(events[start:start + ROWS_PER_INSERT])
                db.session.commit()

    def copy_to(self, target_url: str) -> None:
        """Replace the target's projections (and tally) with the scratch database's."""
        from services.evaluation.models import EventTally
        from services.evaluation.projections import PROJECTION_TABLES
        source, target = sa.create_engine(self.url), sa.create_engine(target_url)
        tables = [model.__table__ for model in (EventTally, *PROJECTION_TABLES)]
        with source.connect() as read, target.begin() as write:
            for table in tables:
                write.execute(table.delete())
                rows = read.execution_options(yield_per=ROWS_PER_INSERT).execute(
                    table.select())
                for chunk in rows.mappings().partitions():
                    write.execute(table.insert(), [dict(row) for row in chunk])
            if write.dialect.name == "postgresql":  # new acts continue after the copied ids
                write.execute(sa.text("SELECT setval(pg_get_serial_sequence('act', 'id'), "
                                      "COALESCE(max(id), 1)) FROM act"))
        with target.connect() as conn:  # the statistics autovacuum would gather in time
            conn.execute(sa.text("ANALYZE"))
            conn.commit()
        source.dispose()
        target.dispose()


def rebuild(env: dict) -> dict:
    """evaluation's rebuild-projections in its own process: events/s and peak memory."""
    _, _, output = timed_child([sys.executable, "-m", "bench.scorecard"], env, ROOT)
    result = json.loads(output.strip().splitlines()[-1])
    return {**result, "rate": result["events"] / result["seconds"]}


def latencies(evaluation_app, token: str, n: int) -> dict:
    """The scorecard read in process: the first read computes it (as after any new event),
    the n reads after it find it cached (nothing changed): ms."""
    from services.evaluation import scorecard as cards
    client, headers = evaluation_app.test_client(), bearer(token)
    cards._CARDS.clear()
    started = time.perf_counter()
    assert client.get(scorecard_path(), headers=headers).status_code == 200
    computed = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(scorecard_path(), headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return {"computed_ms": computed, "p50_ms": percentile(times, 50),
            "p99_ms": percentile(times, 99)}


def _rebuild_main() -> None:
    """What `rebuild` runs: the command's own function, timed inside the process."""
    from services.evaluation import create_app
    from services.evaluation.cli import rebuild as rebuild_projections
    app = create_app()
    with app.app_context():
        started = time.perf_counter()
        events = rebuild_projections()
        seconds = time.perf_counter() - started
    # the process's own high-water mark (VmHWM: of its own memory since its exec; the
    # rusage a parent reads counts the parent's size at the fork too, which grows with
    # the events it generated)
    print(json.dumps({"events": events, "seconds": seconds,
                      "peak_mb": peak_rss_mb(os.getpid())}))


if __name__ == "__main__":
    _rebuild_main()
