"""The platform's own event path: the relay alone (in process), and the running platform
(intake's API under gunicorn, its relay, evaluation's worker and API as separate processes)
carrying needs into evaluation's projection."""
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from datetime import datetime

import sqlalchemy as sa
from kombu import Queue, binding

from launcher.supervisor import ROOT, Platform
from shared import bus, outbox
from shared.publisher import Publisher
from shared.relay import Relay
from tests.conftest import bearer, free_port
from tests.helpers import count, seed_community, wait_until
from tests.streams import need_data

from .broker import QUORUM, ROUTING_KEY
from .stats import (children, cpu_seconds, peak_rss_mb, percentile, servers_cpu,
                    servers_cpu_spent)

NEEDS_PER_COMMIT = 1000


def fill_outbox(intake_app, community_id: str, n: int) -> None:
    """n need.reported events appended to intake's outbox, as intake's own code appends them,
    many per transaction (how they get there is not what is measured)."""
    from services.intake.models import db, event_store
    with intake_app.app_context():
        for start in range(0, n, NEEDS_PER_COMMIT):
            for _ in range(start, min(n, start + NEEDS_PER_COMMIT)):
                need_id = str(uuid.uuid4())
                outbox.append(event_store, "need.reported", f"need/{need_id}",
                              need_data(need_id, community_id))
            db.session.commit()


def relay_rate(intake_app, cfg, n: int) -> float:
    """Outbox rows published with confirms and marked published, per second."""
    fill_outbox(intake_app, f"relay-{uuid.uuid4().hex[:6]}", n)
    queue = Queue(f"bench.relay.{uuid.uuid4().hex[:8]}", durable=True, queue_arguments=QUORUM,
                  bindings=[binding(bus.EXCHANGE, routing_key=ROUTING_KEY)])
    store = intake_app.extensions["socialwork"].store
    with intake_app.app_context(), bus.connect(cfg) as conn:
        bus.declare(conn, queue)
        relay, publisher = Relay(store, cfg, "intake"), Publisher(conn, cfg.confirm_timeout)
        started = time.perf_counter()
        while relay.publish_pending(publisher):
            pass
        elapsed = time.perf_counter() - started
        publisher.close()
        queue(conn.default_channel).delete()
    return relay.published / elapsed


class RunningPlatform:
    """Some of the platform's processes on a backend, started and stopped by name."""

    def __init__(self, backend, services, log_dir):
        backend.ensure(*services)
        ports = {s: backend.ports[s] for s in services}
        self.platform = Platform(env={**os.environ, **backend.env},
                                 ports=ports, log_dir=log_dir,
                                 probe_ports={f"{s}-{k}": free_port() for s in services
                                              for k in ("worker", "relay")})
        self.platform.migrate_databases()
        self.memory: dict[str, float] = {}

    def start(self, *names: str) -> None:
        for name in names:
            self.platform.start(name)

    def ready(self) -> None:
        self.platform.wait_ready()

    def url(self, service: str) -> str:
        return self.platform.url(service)

    def record_memory(self) -> None:
        """Peak resident memory of every running process (gunicorn: master and workers)."""
        for name, proc in self.platform.procs.items():
            if proc.popen and proc.popen.poll() is None:
                self.memory[name] = peak_rss_mb(proc.popen.pid)
                workers = [peak_rss_mb(pid) for pid in children(proc.popen.pid)]
                if workers:
                    self.memory[name + " (each worker, max)"] = max(w or 0 for w in workers)

    def stop(self, name: str) -> None:
        self.record_memory()
        self.platform.stop(name)

    def stop_all(self) -> None:
        self.record_memory()
        self.platform.stop_all()

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time so far of each running process (a gunicorn master with its workers)."""
        spent = {}
        for name, proc in self.platform.procs.items():
            if proc.popen and proc.popen.poll() is None:
                pid = proc.popen.pid
                spent[name] = sum(map(cpu_seconds, (pid, *children(pid))))
        return spent

    def load_with_cpu(self, spec: dict) -> dict:
        """A load run, with the CPU milliseconds each request cost each process, the
        database's and broker's and the load generator's included: what fills the machine's
        cores at that rate."""
        before, servers_before = self.cpu_seconds(), servers_cpu()
        result = run_load(spec)
        spent = {name: seconds - before.get(name, 0.0)
                 for name, seconds in self.cpu_seconds().items()}
        spent.update(servers_cpu_spent(servers_before, servers_cpu()))
        spent["load generator"] = result["cpu_seconds"]
        result["cpu_ms"] = {name: round(seconds * 1000 / result["requests"], 3)
                            for name, seconds in spent.items() if seconds > 0}
        return result


def run_load(spec: dict) -> dict:
    """The load generator as its own process (see bench/load.py), with its CPU time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([sys.executable, "-m", "bench.load", json.dumps(spec)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {**json.loads(out.stdout), "cpu_seconds": after.ru_utime + after.ru_stime
            - before.ru_utime - before.ru_stime}


def need_request(intake_url: str, token: str, community_id: str) -> dict:
    return {"url": intake_url + "/needs", "method": "POST", "headers": bearer(token),
            "body": {"community_id": community_id, "category": "elderly_care",
                     "urgency": "routine", "channel": "walk_in",
                     "description": "独居老人需要助餐服务 {i}"}}


class Arrivals:
    """What reached evaluation's projection for a community: the proof of exactly-once
    effect (tally, projected needs, inbox rows, intake's own needs all equal) and when."""

    def __init__(self, intake_app, evaluation_app):
        self.intake_app, self.evaluation_app = intake_app, evaluation_app

    def tally(self, community_id: str) -> int:
        from tests.streams import tally
        return tally(self.evaluation_app, community_id)

    def wait(self, community_id: str, n: int, timeout: float) -> float:
        """Until n needs are in the projection: the epoch second that was first seen (at
        most one short poll late)."""
        wait_until(lambda: self.tally(community_id) >= n, timeout,
                   f"{n} needs of {community_id} in evaluation", interval=0.02)
        return time.time()

    def check_exactly_once(self, community_id: str, n: int, recorded_at_intake: bool) -> dict:
        from services.evaluation.models import NeedFact
        from services.intake.models import Need
        counts = {"tally": self.tally(community_id),
                  "projected": count(self.evaluation_app, NeedFact,
                                     NeedFact.community_id == community_id),
                  "inbox": len(self.received(community_id))}
        if recorded_at_intake:
            counts["intake"] = count(self.intake_app, Need, Need.community_id == community_id)
        if set(counts.values()) != {n}:
            raise AssertionError(f"effect not exactly once for {n} events: {counts}")
        return counts

    def received(self, community_id: str) -> list[tuple[float, float]]:
        """(event time, applied at) in epoch seconds, per event of the community."""
        store = self.evaluation_app.extensions["socialwork"].store
        with self.evaluation_app.app_context():
            rows = store.session.execute(
                sa.select(store.InboxEvent.body, store.InboxEvent.received_at).where(
                    store.InboxEvent.type == "need.reported",
                    store.InboxEvent.body.contains(f'"community_id":"{community_id}"'))).all()
            store.session.rollback()
        return [(datetime.fromisoformat(json.loads(body)["time"]).timestamp(),
                 received_at.timestamp()) for body, received_at in rows]


def delivery(env, arrivals: Arrivals, n: int) -> dict:
    """An outbox backlog carried by the relay and the worker into the projection."""
    community_id = f"dlv-{uuid.uuid4().hex[:6]}"
    env.stop("intake-relay")
    fill_outbox(arrivals.intake_app, community_id, n)
    env.start("intake-relay")
    done = arrivals.wait(community_id, n, timeout=60 + n / 20)
    counts = arrivals.check_exactly_once(community_id, n, recorded_at_intake=False)
    # from when the first batch began to be applied (an inbox row's time is its
    # transaction's start, the same for a whole batch) to when the last was seen applied
    first = min(at for _, at in arrivals.received(community_id))
    return {"rate": n / (done - first), "counts": counts}


def end_to_end(env, arrivals: Arrivals, token_for, n: int, concurrency: int) -> dict:
    """n needs recorded through intake's API by `concurrency` clients as fast as they go,
    until all are in evaluation's projection."""
    community_id = f"e2e-{uuid.uuid4().hex[:6]}"
    seed_community(arrivals.intake_app, community_id)
    spec = {**need_request(env.url("intake"), token_for(community_id), community_id),
            "count": n, "concurrency": concurrency}
    load = run_load(spec)
    arrivals.wait(community_id, n - load["errors"], timeout=60 + n / 20)
    counts = arrivals.check_exactly_once(community_id, n, recorded_at_intake=True)
    received = arrivals.received(community_id)
    latencies = [(at - sent) * 1000 for sent, at in received]
    last = max(at for _, at in received)
    return {"rate": n / (last - load["first_sent"]), "p50_ms": percentile(latencies, 50),
            "p99_ms": percentile(latencies, 99), "http": load, "counts": counts}


def fixed_rate(env: RunningPlatform, url: str, request: dict, rate: float,
               seconds: float) -> dict:
    return env.load_with_cpu({**request, "url": url, "rate": rate, "seconds": seconds,
                              "concurrency": max(8, int(rate // 10))})


def minimal_rate(url: str, token: str, n: int, concurrency: int) -> float:
    """The minimal endpoint (bench/minimal.py) taking the same requests from as many clients
    as end to end does, as fast as they go: requests/s."""
    spec = {**need_request(url, token, "minimal"), "count": n, "concurrency": concurrency}
    load = run_load(spec)
    if load["errors"]:
        raise AssertionError(f"the minimal endpoint answered errors: {load['statuses']}")
    return load["requests"] / load["seconds"]
