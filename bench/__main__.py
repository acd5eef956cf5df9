"""`python -m bench` (`make bench`): how fast the platform carries events and answers, each
figure the median of several runs and set against the broker's own limit measured in the
same run (the machine is shared, so ratios travel better than absolute figures).

Runs on this machine's RabbitMQ and PostgreSQL, each part in its own virtual host and
databases, dropped afterwards; `--embedded` runs on the embedded default instead.
Prints a table and writes bench/results.json (docs/BENCHMARKS.md explains each figure)."""
import argparse
import itertools
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from launcher.supervisor import ROOT
from tests.conftest import Backend
from tests.helpers import wait_until
from tests.streams import FORGED

from . import broker, pipeline, portfolio, scorecard
from .minimal import Minimal
from .stats import Figures, machine, own_peak_rss_mb, server_versions
from .synth import Generator, community_ids, typical_message

# the suite's fast timings would distort a benchmark: the platform's defaults apply here
TEST_ONLY_SETTINGS = ("SOCIALWORK_SYNC_INTERVAL", "SOCIALWORK_RETRY_DELAY",
                      "SOCIALWORK_MAX_ATTEMPTS", "SOCIALWORK_RELAY_IDLE", "GUNICORN_WORKERS")
TARGETS = {  # name: (figure or ratio, comparison, bound)
    "relay >= 0.5 x raw publish without confirms": ("relay/raw_publish", ">=", 0.5),
    "delivery >= 0.5 x raw consume-and-ack": ("delivery/raw_consume", ">=", 0.5),
    "end to end >= 0.5 x the minimal endpoint": ("e2e/minimal", ">=", 0.5),
    "rebuild >= 20,000 events/s at 10k events": ("rebuild_10000", ">=", 20000),
    "scorecard computed p99 < 300 ms at 1M events":
        ("scorecard_1000000.computed_ms", "<", 300),
    "scorecard p99 < 100 ms at 1M events": ("scorecard_1000000.p99_ms", "<", 100),
    "portfolio page computed p99 < 1 s at 1M events":
        ("portfolio_1000000.page_p99_ms", "<", 1000),
    "recording a need p99 < 50 ms at 200 req/s": ("http.record_need_200.p99_ms", "<", 50),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--embedded", action="store_true",
                   help="SQLite + the filesystem broker instead of PostgreSQL + RabbitMQ")
    p.add_argument("--repeats", type=int, default=3, help="runs per figure (median taken)")
    p.add_argument("--messages", type=int, default=20000,
                   help="messages per broker baseline run and outbox rows per relay run")
    p.add_argument("--needs", type=int, default=3000,
                   help="needs per delivery and end-to-end run")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients end to end")
    p.add_argument("--rates", default="50,100,200", help="request rates for recording needs")
    p.add_argument("--scorecard-rates", default="5,10,20",
                   help="request rates for reading the scorecard (on the smallest size)")
    p.add_argument("--seconds", type=float, default=20, help="seconds per fixed-rate run")
    p.add_argument("--sizes", default="10000,100000",
                   help="events in evaluation's projections for scorecard latency, ascending "
                        "(add 1000000 for the 1M figure: it takes about half an hour)")
    p.add_argument("--rebuild-max", type=int, default=10000,
                   help="time evaluation's rebuild-projections at sizes up to this")
    p.add_argument("--communities", type=int, default=40,
                   help="communities the generated events are spread over")
    p.add_argument("--contract-communities", type=int, default=4,
                   help="of which the scored contract covers this many")
    p.add_argument("--reads", type=int, default=20, help="scorecard reads per size")
    p.add_argument("--portfolio-sizes", default="100000",
                   help="events in evaluation's projections for the portfolio, ascending")
    p.add_argument("--portfolio-communities", type=int, default=1000,
                   help="communities the portfolio's events are spread over")
    p.add_argument("--portfolio-contracts", type=int, default=200,
                   help="the buyer's contracts, each over an equal share of the communities")
    p.add_argument("--portfolio-reads", type=int, default=5,
                   help="uncached portfolio reads per run, of the page and of the whole")
    p.add_argument("--only", default="broker,relay,platform,scorecard,portfolio",
                   help="parts to run, comma-separated")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    return p.parse_args(argv)


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


class Bench:
    def __init__(self, args):
        self.args, self.figures = args, Figures()
        self.kind = "embedded" if args.embedded else "real"
        self.tmp = Path(tempfile.mkdtemp(prefix="socialwork-bench-"))
        self.memory: dict[str, float] = {}
        self.notes: dict[str, object] = {}

    @contextmanager
    def backend(self):
        # empty databases, migrated as they are used: templates are dropped at the end of a
        # test session, which a benchmark run is not
        b = Backend(self.kind, self.tmp, templates=False)
        FORGED.clear()  # a new log: forged chains start again from its first event
        for key in TEST_ONLY_SETTINGS:
            b.env.pop(key, None)
        try:
            yield b
        finally:
            b.drop()

    def log(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    # -- 1 and 2: the broker's limit and the relay -----------------------------------------

    def broker_and_relay(self, parts) -> None:
        a = self.args
        body = typical_message()
        self.notes["message_bytes"] = len(body)
        with self.backend() as b:
            cfg = pipeline_cfg(b)
            if "broker" in parts:
                for run in range(a.repeats):
                    self.log(f"broker baseline, run {run + 1}")
                    if self.kind == "real":
                        rates = broker.pika_rates(b.env["SOCIALWORK_BROKER_URL"], body,
                                                  a.messages, max(500, a.messages // 10))
                    else:
                        rates = broker.kombu_rates(cfg, body, a.messages)
                    for name, rate in rates.items():
                        self.figures.add(f"raw_{name}", rate, "msg/s")
            if "relay" in parts:
                intake = b.app("intake")
                for run in range(a.repeats):
                    self.log(f"relay, run {run + 1}")
                    self.figures.add("relay", pipeline.relay_rate(intake, cfg, a.messages),
                                     "rows/s")

    # -- 3 and 4: the running platform -------------------------------------------------------

    def platform(self) -> None:
        a = self.args
        with self.backend() as b:
            intake_app, evaluation_app = b.app("intake"), b.app("evaluation")
            env = pipeline.RunningPlatform(b, ("intake", "evaluation"), self.tmp / "logs")
            try:
                env.start("evaluation-worker")
                wait_until(lambda: queue_ready(b, "evaluation.events"), 60,
                           "evaluation's queue")
                env.start("intake-api", "evaluation-api", "intake-relay")
                env.ready()
                arrivals = pipeline.Arrivals(intake_app, evaluation_app)
                for run in range(a.repeats):
                    self.log(f"delivery, run {run + 1}")
                    result = pipeline.delivery(env, arrivals, a.needs)
                    self.figures.add("delivery", result["rate"], "events/s")

                def clerk(community_id):
                    return b.token("intake_clerk", community_ids=[community_id])
                minimal = Minimal(intake_app.config["SQLALCHEMY_DATABASE_URI"],
                                  {**os.environ, **b.env})
                with minimal:
                    for run in range(a.repeats):
                        self.log(f"end to end, run {run + 1}")
                        result = pipeline.end_to_end(env, arrivals, clerk, a.needs,
                                                     a.clients)
                        self.figures.add("e2e", result["rate"], "events/s")
                        self.figures.add("e2e.p50_ms", result["p50_ms"], "ms")
                        self.figures.add("e2e.p99_ms", result["p99_ms"], "ms",
                                         http=result["http"], counts=result["counts"])
                        self.log(f"the minimal endpoint, run {run + 1}")
                        self.figures.add("minimal", pipeline.minimal_rate(
                            minimal.url, clerk("minimal"), a.needs, a.clients), "requests/s")
                self.fixed_rates(env, b, clerk)
            finally:
                env.stop_all()
                self.memory.update({f"platform: {k}": v for k, v in env.memory.items()})

    def fixed_rates(self, env, b, clerk) -> None:
        from tests.helpers import seed_community
        community_id = "http-bench"
        seed_community(b.app("intake"), community_id)
        request = pipeline.need_request(env.url("intake"), clerk(community_id), community_id)
        for rate in _ints(self.args.rates):
            for run in range(self.args.repeats):
                self.log(f"recording needs at {rate}/s, run {run + 1}")
                self.add_load(f"http.record_need_{rate}",
                              pipeline.fixed_rate(env, request["url"], request, rate,
                                                  self.args.seconds))

    def add_load(self, name: str, result: dict) -> None:
        self.figures.add(f"{name}.p50_ms", result["p50_ms"], "ms")
        self.figures.add(f"{name}.p99_ms", result["p99_ms"], "ms")
        self.figures.add(f"{name}.errors", result["errors"], "requests", statuses=result[
            "statuses"], achieved_rate=result["achieved_rate"])
        self.figures.add(f"{name}.cpu_ms", sum(result["cpu_ms"].values()), "ms/request",
                         by_process=result["cpu_ms"])

    # -- 5: the scorecard with many events ---------------------------------------------------

    def scorecards(self) -> None:
        a = self.args
        sizes = _ints(a.sizes)
        communities = community_ids(a.communities)
        generator = Generator(communities)
        with self.backend() as b:
            app = b.app("evaluation")
            buyer = b.token("buyer_auditor", buyer_id=scorecard.BUYER)
            generator.chain.heads.update(
                scorecard.award_contract(app, buyer, communities[:a.contract_communities]))
            projector = scorecard.BulkProjector(self.tmp)
            logged = 0
            for size in sizes:
                self.log(f"scorecard: generating and projecting events up to {size}")
                events = generator.events(size - logged)
                while chunk := list(itertools.islice(events, 50000)):
                    logged += scorecard.add_to_log(app, chunk)
                    projector.project(chunk)
                projector.copy_to(b.env["EVALUATION_DATABASE_URL"] if self.kind == "real"
                                  else app.config["SQLALCHEMY_DATABASE_URI"])
                for run in range(a.repeats if size <= a.rebuild_max else 0):
                    self.log(f"scorecard: evaluation's rebuild from {logged} events, "
                             f"run {run + 1}")
                    with b.environ():
                        rebuilt = scorecard.rebuild({**os.environ})
                    self.figures.add(f"rebuild_{size}", rebuilt["rate"], "events/s")
                    self.memory[f"rebuild-projections at {size} events"] = max(
                        rebuilt["peak_mb"], self.memory.get(
                            f"rebuild-projections at {size} events", 0))
                for run in range(a.repeats):
                    self.log(f"scorecard at {size} events, run {run + 1}")
                    with b.environ():
                        result = scorecard.latencies(app, buyer, a.reads)
                    self.figures.add(f"scorecard_{size}.computed_ms", result["computed_ms"],
                                     "ms")
                    self.figures.add(f"scorecard_{size}.p50_ms", result["p50_ms"], "ms")
                    self.figures.add(f"scorecard_{size}.p99_ms", result["p99_ms"], "ms")
                if size == sizes[0]:
                    self.scorecard_over_http(b, buyer, size)
                self.save()

    # -- 6: a city's portfolio ---------------------------------------------------------------

    def portfolios(self) -> None:
        a = self.args
        communities = community_ids(a.portfolio_communities)
        generator = Generator(communities, seed=25)
        with self.backend() as b:
            app = b.app("evaluation")
            buyer = b.token("buyer_auditor", buyer_id=portfolio.BUYER)
            generator.chain.heads.update(portfolio.award_contracts(
                app, buyer, communities, a.portfolio_contracts))
            (self.tmp / "portfolio").mkdir(exist_ok=True)
            projector = scorecard.BulkProjector(self.tmp / "portfolio")
            logged = 0
            for size in _ints(a.portfolio_sizes):
                self.log(f"portfolio: generating and projecting events up to {size}")
                events = generator.events(size - logged)
                while chunk := list(itertools.islice(events, 50000)):
                    logged += len(chunk)
                    projector.project(chunk)
                projector.copy_to(b.env["EVALUATION_DATABASE_URL"] if self.kind == "real"
                                  else app.config["SQLALCHEMY_DATABASE_URI"])
                for run in range(a.repeats):
                    self.log(f"portfolio at {size} events, run {run + 1}")
                    with b.environ():
                        result = portfolio.latencies(app, buyer, a.portfolio_reads,
                                                     a.portfolio_contracts)
                    for key, ms in result.items():
                        self.figures.add(f"portfolio_{size}.{key}", ms, "ms")
                self.save()

    def scorecard_over_http(self, b, buyer: str, size: int) -> None:
        env = pipeline.RunningPlatform(b, ("evaluation",), self.tmp / "logs-scorecard")
        try:
            env.start("evaluation-api")
            env.ready()
            url = env.url("evaluation") + scorecard.scorecard_path()
            request = {"method": "GET", "headers": {"Authorization": f"Bearer {buyer}"}}
            for rate in _ints(self.args.scorecard_rates):
                for run in range(self.args.repeats):
                    self.log(f"reading the scorecard at {rate}/s ({size} events), "
                             f"run {run + 1}")
                    self.add_load(f"http.scorecard_{rate}",
                                  pipeline.fixed_rate(env, url, request, rate,
                                                      self.args.seconds))
        finally:
            env.stop_all()
            self.memory.update({f"scorecard API at {size} events: {k}": v
                                for k, v in env.memory.items()})

    # -- the report ------------------------------------------------------------------------

    def ratios(self) -> dict:
        f = self.figures
        return {k: v for k, v in {
            "relay/raw_publish": f.ratio("relay", "raw_publish"),
            "relay/raw_publish_confirmed": f.ratio("relay", "raw_publish_confirmed"),
            "delivery/raw_consume": f.ratio("delivery", "raw_consume_ack"),
            "e2e/raw_consume": f.ratio("e2e", "raw_consume_ack"),
            "e2e/minimal": f.ratio("e2e", "minimal"),
        }.items() if v is not None}

    def targets(self, ratios: dict) -> dict:
        out = {}
        for name, (key, op, bound) in TARGETS.items():
            value = ratios.get(key, self.figures.median(key))
            if value is not None:
                met = value >= bound if op == ">=" else value < bound
                out[name] = {"value": value, "bound": f"{op} {bound}", "met": met}
        return out

    def run(self) -> dict:
        a = self.args
        parts = set(a.only.split(","))
        self.facts = {**machine(), "backend": self.kind,
                      "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        if self.kind == "real":
            from tests.conftest import PG_ADMIN
            self.facts.update(server_versions(PG_ADMIN))
        try:
            if parts & {"broker", "relay"}:
                self.broker_and_relay(parts)
                self.save()
            if "platform" in parts:
                self.platform()
                self.save()
            if "scorecard" in parts:
                self.scorecards()
            if "portfolio" in parts:
                self.portfolios()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.memory["bench runner"] = own_peak_rss_mb()
        return self.save()

    def save(self) -> dict:
        """The results so far, written out: a long run interrupted keeps what it measured."""
        self.facts["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        ratios = self.ratios()
        results = {"machine": self.facts,
                   "parameters": {k: str(v) for k, v in vars(self.args).items()},
                   "notes": self.notes, "figures": self.figures.figures, "ratios": ratios,
                   "targets": self.targets(ratios), "peak_memory_mb": self.memory}
        self.args.out.parent.mkdir(parents=True, exist_ok=True)
        self.args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        return results


def pipeline_cfg(backend):
    from shared.config import MessagingConfig
    with backend.environ():
        return MessagingConfig()


def queue_ready(backend, name: str) -> bool:
    from kombu import Queue
    from shared import bus
    try:
        with bus.connect(pipeline_cfg(backend)) as conn:
            Queue(name)(conn.default_channel).queue_declare(passive=True)
        return True
    except Exception:  # not declared yet: the worker is still starting
        return False


def table(results: dict) -> str:
    lines = [f"{'figure':<42} {'median':>12}  unit        runs"]
    for name, figure in results["figures"].items():
        lines.append(f"{name:<42} {figure['median']:>12,.2f}  {figure['unit']:<10}  "
                     f"{', '.join(f'{r:,.1f}' for r in figure['runs'])}")
    lines.append("")
    lines += [f"{name:<42} {value:>12.3f}" for name, value in results["ratios"].items()]
    lines.append("")
    for name, target in results["targets"].items():
        lines.append(f"{'MET ' if target['met'] else 'MISS'} {name}: {target['value']}")
    lines.append("")
    lines += [f"peak memory {name:<50} {mb:>8} MB"
              for name, mb in results["peak_memory_mb"].items()]
    return "\n".join(lines)


def _interrupted(*_):
    raise KeyboardInterrupt  # so every backend's databases and vhost are dropped on the way


def main(argv=None) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)
    results = Bench(args).run()
    print(table(results))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
