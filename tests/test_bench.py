"""The benchmark runs end to end on a tiny size and writes well-formed results (its figures
are measurements, not assertions: see docs/BENCHMARKS.md)."""
import json

import pytest

from bench.__main__ import TARGETS, main
from bench.stats import servers_cpu, servers_cpu_spent
from tests.conftest import require_servers

TINY = ["--repeats", "2", "--messages", "200", "--needs", "20", "--rates", "10",
        "--scorecard-rates", "5", "--seconds", "1", "--sizes", "500,1000", "--reads", "2",
        "--portfolio-sizes", "400", "--portfolio-communities", "12",
        "--portfolio-contracts", "4", "--portfolio-reads", "2"]
PORTFOLIO = [f"portfolio_400.{view}_{q}_ms" for view in ("page", "whole") for q in ("p50", "p99")]


def run(tmp_path, *args) -> dict:
    out = tmp_path / "results.json"
    main([*TINY, "--out", str(out), *args])
    return json.loads(out.read_text())


def assert_figures(results: dict, names) -> None:
    for name in names:
        figure = results["figures"][name]
        assert len(figure["runs"]) == 2 and figure["median"] >= 0, name
        assert figure["median"] == pytest.approx(sum(figure["runs"]) / 2, abs=0.01)


@pytest.mark.slow
def test_the_whole_benchmark_on_the_servers(tmp_path):
    require_servers()
    results = run(tmp_path)
    assert results["machine"]["backend"] == "real" and results["machine"]["cpus"] >= 1
    assert_figures(results, [
        "raw_publish", "raw_publish_confirmed", "raw_consume_ack", "relay", "delivery", "e2e",
        "minimal",
        "e2e.p50_ms", "e2e.p99_ms", "http.record_need_10.p99_ms",
        "http.record_need_10.errors", "http.scorecard_5.p99_ms", "scorecard_500.p99_ms",
        "scorecard_1000.p50_ms", *PORTFOLIO])
    assert results["figures"]["rebuild_1000"]["median"] > 0
    # every end-to-end run proved each need's effect exactly once
    for detail in results["figures"]["e2e.p99_ms"]["detail"]:
        assert set(detail["counts"].values()) == {20}
        assert detail["http"]["errors"] == 0
    assert set(results["ratios"]) == {"relay/raw_publish", "relay/raw_publish_confirmed",
                                      "delivery/raw_consume", "e2e/raw_consume",
                                      "e2e/minimal"}
    assert {"relay >= 0.5 x raw publish without confirms",
            "delivery >= 0.5 x raw consume-and-ack",
            "end to end >= 0.5 x the minimal endpoint"} <= set(results["targets"]) <= \
        set(TARGETS)
    assert any(k.endswith("evaluation-worker") for k in results["peak_memory_mb"])
    # what a recorded need cost each process: the API, the event path, the servers, the load
    for detail in results["figures"]["http.record_need_10.cpu_ms"]["detail"]:
        assert {"intake-api", "intake-relay", "evaluation-worker", "PostgreSQL",
                "load generator"} <= set(detail["by_process"])
        assert all(ms > 0 for ms in detail["by_process"].values())


def test_the_broker_and_relay_on_the_embedded_default(tmp_path):
    results = run(tmp_path, "--embedded", "--only", "broker,relay")
    assert results["machine"]["backend"] == "embedded"
    assert_figures(results, ["raw_publish", "raw_consume_ack", "relay"])


def test_the_portfolio_on_the_embedded_default(tmp_path):
    results = run(tmp_path, "--embedded", "--only", "portfolio")
    assert_figures(results, PORTFOLIO)


def test_the_servers_cpu_counts_what_ended_backends_spent_and_never_less_than_nothing():
    postmaster, kept, ended = (1, "s1"), (2, "s2"), (3, "s3")
    before = {postmaster: ("PostgreSQL", 1.0, 50.0), kept: ("PostgreSQL", 2.0, 0.0),
              ended: ("PostgreSQL", 40.0, 0.0), (9, "s9"): ("RabbitMQ", 5.0, 0.0)}
    # the ended backend spent 0.5 s more and handed its 40.5 s to the postmaster; a new
    # backend started and spent 0.25 s; the broker 1 s
    after = {postmaster: ("PostgreSQL", 1.0, 90.5), kept: ("PostgreSQL", 2.25, 0.0),
             (4, "s4"): ("PostgreSQL", 0.25, 0.0), (9, "s9"): ("RabbitMQ", 6.0, 0.0)}
    assert servers_cpu_spent(before, after) == {"PostgreSQL": 1.0, "RabbitMQ": 1.0}
    # a backend read at the first reading that ended but was not yet reaped at the second
    # (or a reading that raced with its end): what it had is no negative cost
    unreaped = {**after, postmaster: ("PostgreSQL", 1.0, 50.0)}
    assert servers_cpu_spent(before, unreaped) == {"PostgreSQL": 0.5, "RabbitMQ": 1.0}
    # a pid used again by a new process is a new process
    reused = {**after, (3, "s7"): ("PostgreSQL", 0.125, 0.0)}
    assert servers_cpu_spent(before, reused)["PostgreSQL"] == 1.125


def test_the_servers_cpu_reading_sees_this_machines_database():
    require_servers()
    reading = servers_cpu()
    assert "PostgreSQL" in {server for server, _, _ in reading.values()}
    assert all(own >= 0 and reaped >= 0 for _, own, reaped in reading.values())
