"""The benchmark runs end to end on a tiny size and writes well-formed results (its figures
are measurements, not assertions: see docs/BENCHMARKS.md)."""
import json

import pytest

from bench.__main__ import TARGETS, main
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
