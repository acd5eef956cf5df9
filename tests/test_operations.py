"""Operations: a worker's /healthz tells the truth, the launcher's processes die with it,
`make run` refuses a taken port, the embedded broker's first start survives a crowd."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import requests

from tests.conftest import free_port
from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parent.parent


def _health(port: int) -> int:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
    except requests.RequestException:
        return 0


def test_worker_health_stays_true_across_sync_checks_and_fails_when_stuck(embedded, tmp_path):
    """The worker checks its sources every 0.3 s: /healthz is 200 across many checks; when a
    source accepts the connection and never answers, the loop is stuck in that check and
    /healthz says 503 until the check gives up."""
    embedded.app("casework")
    source = socket.socket()  # bound, not listening: connections are refused at once
    source.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{source.getsockname()[1]}"
    probe, log = free_port(), tmp_path / "worker.log"
    env = {**os.environ, **embedded.env, "SOCIALWORK_SYNC_INTERVAL": "0.3",
           "SOCIALWORK_STALE_AFTER": "2", "SOCIALWORK_PROBE_PORT": str(probe),
           "INTAKE_URL": url, "EVALUATION_URL": url}
    with open(log, "wb") as out:
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "services.casework",
                                   "worker"], env=env, cwd=ROOT, stdout=out,
                                  stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _health(probe) == 200, 30, "the worker's first healthy answer")

        def checks() -> int:
            return log.read_text().count("sync with /intake failed")
        first = checks()
        while checks() < first + 6:  # six more checks, each answered 200 on the way
            assert _health(probe) == 200, log.read_text()[-2000:]
            assert worker.poll() is None
        source.listen()  # now the source takes the call and never answers
        wait_until(lambda: _health(probe) == 503, 15, "503 while stuck in a sync check")
        source.close()  # the check fails at once, the loop turns again
        wait_until(lambda: _health(probe) == 200, 15, "200 once the loop turns again")
    finally:
        source.close()
        worker.terminate()
        worker.wait(timeout=30)


DECLARE_AT_ONCE = """
import os, sys, time
from kombu import Queue, binding
from shared import bus
from shared.config import MessagingConfig
i, go = int(sys.argv[1]), sys.argv[2]
cfg = MessagingConfig()
queue = Queue(f"q{i}.events", bindings=[binding(bus.EXCHANGE, routing_key=f"k{i}.{n}")
                                         for n in range(3)])
with bus.connect(cfg) as conn:
    conn.default_channel
    open(f"{go}.{i}", "w").close()
    deadline = time.monotonic() + 120
    while not os.path.exists(go):  # every process ready, then all declare at once
        if time.monotonic() > deadline:
            sys.exit("never told to start")
        time.sleep(0.001)
    bus.declare(conn, queue)
"""


def test_processes_declaring_at_once_on_a_fresh_embedded_broker_lose_no_binding(tmp_path):
    """Sixteen processes bind their queues to the one exchange at the same moment on a
    fresh broker folder: the binding file holds all 48 bindings and routes each key."""
    from kombu import Queue
    from shared import bus
    from shared.config import MessagingConfig
    processes, go = 16, tmp_path / "go"
    env = {**os.environ, "SOCIALWORK_DATA_DIR": str(tmp_path / "data")}
    env.pop("SOCIALWORK_BROKER_URL", None)
    children = [subprocess.Popen([sys.executable, "-c", DECLARE_AT_ONCE, str(i), str(go)],
                                 env=env, cwd=ROOT, stderr=subprocess.PIPE)
                for i in range(processes)]
    try:
        wait_until(lambda: len(list(tmp_path.glob("go.*"))) == processes
                   or any(c.poll() is not None for c in children), 60, "the children to connect")
        go.touch()
        failures = [c.stderr.read().decode() for c in children if c.wait(timeout=60)]
    finally:
        for child in children:  # none is left waiting for the signal to start
            if child.poll() is None:
                child.kill()
                child.wait()
    assert failures == []
    table = tmp_path / "data" / "broker" / "control" / "socialwork.events.exchange"
    bindings = {tuple(b) for b in json.loads(table.read_text())}
    assert {(key, queue) for key, _, queue in bindings} == {
        (f"k{i}.{n}", f"q{i}.events") for i in range(processes) for n in range(3)}
    with mock.patch.dict(os.environ, env), bus.connect(MessagingConfig()) as conn:
        producer = conn.Producer()
        for i in range(processes):
            producer.publish({"to": i}, exchange=bus.EXCHANGE, routing_key=f"k{i}.2")
        for i in range(processes):
            message = Queue(f"q{i}.events")(conn.default_channel).get(no_ack=True)
            assert message is not None and message.payload == {"to": i}


def _ready(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).ok
    except requests.RequestException:
        return False


def _launcher(backend, tmp_path, probe_base: int, **popen):
    env = {**os.environ, **backend.env}
    return subprocess.Popen([sys.executable, "-m", "launcher", "--no-scenario",
                             "--probe-base", str(probe_base)], env=env, cwd=ROOT,
                            stdout=open(tmp_path / "launcher.log", "wb"),
                            stderr=subprocess.STDOUT, **popen)


def _free_probe_base() -> int:
    """A base whose worker and relay probe ports (base+1…3, base+101…103) are all free."""
    from launcher.supervisor import PortTaken, check_ports_free
    for base in range(free_port() % 20000 + 20000, 60000, 97):
        try:
            check_ports_free([base + i for i in (1, 2, 3, 101, 102, 103)])
            return base
        except PortTaken:
            continue
    raise AssertionError("no free probe ports")


def test_launcher_killed_with_sigkill_takes_its_processes_with_it(embedded, tmp_path):
    import psutil
    launcher = _launcher(embedded, tmp_path, _free_probe_base())
    try:
        def started():
            return [p for p in psutil.Process(launcher.pid).children(recursive=True)
                    if "launcher" not in " ".join(p.cmdline())]
        wait_until(lambda: len(started()) >= 9, 120, "nine processes")
        wait_until(lambda: all(_ready(port) for port in embedded.ports.values()), 120,
                   "the platform to be ready", interval=0.5)
        processes = started()  # the nine and gunicorn's own workers
        launcher.kill()
        launcher.wait(timeout=10)
        wait_until(lambda: not [p for p in processes if p.is_running()
                                and p.status() != psutil.STATUS_ZOMBIE],
                   60, "every process of the launcher to be gone")
    except BaseException:
        print((tmp_path / "launcher.log").read_text()[-3000:])
        raise
    finally:
        if launcher.poll() is None:
            launcher.terminate()
            launcher.wait(timeout=60)


def test_launcher_refuses_a_taken_port_naming_it_and_its_holder(embedded, tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", embedded.ports["casework"]))
    holder.listen()
    try:
        launcher = _launcher(embedded, tmp_path, _free_probe_base())
        assert launcher.wait(timeout=60) == 2
        said = (tmp_path / "launcher.log").read_text()
        assert f"port {embedded.ports['casework']} is already in use by pid {os.getpid()}" \
            in said, said
        assert not (tmp_path / embedded.name / "casework.db").exists()  # nothing started
    finally:
        holder.close()


def test_a_process_that_exits_at_start_is_named_with_its_code_and_the_end_of_its_log(tmp_path):
    from launcher.supervisor import Platform, Proc
    platform = Platform(ports={"intake": free_port()}, log_dir=tmp_path,
                        probe_ports={"intake-worker": free_port(), "intake-relay": free_port()})
    platform.procs = {"intake-worker": Proc("intake-worker", [
        sys.executable, "-c", "print('no broker here'); raise SystemExit(3)"])}
    platform.start("intake-worker")
    with pytest.raises(TimeoutError) as said:
        platform.wait_ready(timeout=120)  # gives up at its exit, not at the timeout
    assert str(said.value).startswith("intake-worker exited (3)"), said.value
    assert "no broker here" in str(said.value), said.value
