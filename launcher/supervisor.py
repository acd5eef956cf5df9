"""Runs the platform's processes on one machine: for each service its API under gunicorn,
its worker and its relay (or several replicas of each), as separate processes; restarts one
that dies; stops them all. Each process is told by the kernel to stop when the supervisor
dies, however it dies (PR_SET_PDEATHSIG, Linux), so none is left holding the ports; and the
supervisor starts nothing while a port it needs is held by another process."""
import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

from shared import config

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform == "linux" \
    else None  # loaded here: the child between fork and exec should only call it


def _die_with(parent: int):
    """A child's last step before exec: the kernel sends it SIGTERM when the thread that
    started it dies (a supervisor killed with SIGKILL included); a parent gone already
    (it died before this ran) means the child should not start at all."""
    def preexec():
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)
    return preexec if _LIBC is not None else None


class PortTaken(RuntimeError):
    """A port the platform needs is held by another process; says which port and which."""


def holder_of(port: int) -> str:
    """Who listens on 127.0.0.1:port (or all addresses): "pid 123 (gunicorn: master …)"."""
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            if conn.pid is None:
                return "a process this user cannot see"
            try:
                command = " ".join(psutil.Process(conn.pid).cmdline()) or "?"
            except psutil.Error:
                command = "?"
            return f"pid {conn.pid} ({command[:120]})"
    return "an unknown process"


def check_ports_free(ports) -> None:
    """Raise PortTaken naming the first port that cannot be bound and its holder."""
    for port in ports:
        with socket.socket() as probe:
            # as a server binds: a port a closed connection left in TIME_WAIT is free
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                raise PortTaken(
                    f"端口 {port} 已被占用 / port {port} is already in use by "
                    f"{holder_of(port)}: stop it (another `make run`?) or choose other "
                    "ports (INTAKE_URL, CASEWORK_URL, EVALUATION_URL, --probe-base)") from None


@dataclass
class Proc:
    """One process of the platform, as the supervisor knows it."""

    name: str                            # <service>-api, -worker or -relay[-<replica>]
    argv: list[str]
    env: dict = field(default_factory=dict)  # on top of the platform's environment
    popen: subprocess.Popen | None = None    # the running process, once started
    restarts: int = 0                        # how often it died and was started again


def replica_name(service: str, kind: str, replica: int) -> str:
    """The first of a kind is `<service>-<kind>`; further replicas are numbered from 2."""
    return f"{service}-{kind}" + (f"-{replica + 1}" if replica else "")


def default_probe_ports(ports: dict, replicas: int = 1, base: int = 9100) -> dict:
    """Health/metrics ports of workers (9101…) and relays (9201…), in service order; a
    further replica's 20 above the one before."""
    out = {}
    for r in range(replicas):
        for i, service in enumerate(ports):
            out[replica_name(service, "worker", r)] = base + 1 + i + 20 * r
            out[replica_name(service, "relay", r)] = base + 101 + i + 20 * r
    return out


@dataclass
class Platform:
    """The nine processes of the three services (more with replicas of the workers and
    relays), started, watched and stopped together."""

    env: dict = field(default_factory=lambda: dict(os.environ))
    ports: dict = field(default_factory=lambda: dict(config.DEFAULT_PORTS))  # service -> API
    log_dir: Path | None = None  # one log file per process; none: their output is dropped
    probe_ports: dict | None = None  # process -> health/metrics port of a worker or relay
    procs: dict = field(default_factory=dict)  # name -> Proc
    replicas: int = 1  # of each worker and relay (an API scales with gunicorn's workers)

    def __post_init__(self):
        self.probe_ports = self.probe_ports or default_probe_ports(self.ports, self.replicas)
        for service, port in self.ports.items():
            self.env.setdefault(f"{service.upper()}_URL", f"http://127.0.0.1:{port}")
        flask = [sys.executable, "-m", "flask", "--app"]
        for service, port in self.ports.items():
            app = f"services.{service}"
            self.procs[f"{service}-api"] = Proc(f"{service}-api", [
                sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF),
                "-b", f"127.0.0.1:{port}", "--name", f"{service}-api", f"{app}.wsgi:app"])
            for kind in ("worker", "relay"):
                for replica in range(self.replicas):
                    name = replica_name(service, kind, replica)
                    self.procs[name] = Proc(name, flask + [app, kind], env={
                        "SOCIALWORK_PROBE_PORT": str(self.probe_ports[name])})

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def probe_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.probe_ports[name]}"

    def migrate_databases(self) -> None:
        """Bring every service's database to the newest migration (deploy/migrate.py)."""
        done = subprocess.run([sys.executable, "-m", "deploy.migrate", *self.ports],
                              env=self.env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"the databases could not be migrated:\n{done.stderr}")

    def start(self, name: str) -> None:
        proc = self.procs[name]
        out = subprocess.DEVNULL
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{name}.log", "ab")
        proc.popen = subprocess.Popen(proc.argv, env={**self.env, **proc.env}, cwd=ROOT,
                                      stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True,
                                      preexec_fn=_die_with(os.getpid()))

    def start_all(self) -> None:
        check_ports_free([*self.ports.values(), *self.probe_ports.values()])
        self.migrate_databases()
        # consumers first, so their queues exist before the relays publish
        for kind in ("worker", "api", "relay"):
            for name in self.procs:
                if name.split("-")[1] == kind:
                    self.start(name)

    def signal(self, name: str, sig: int) -> None:
        popen = self.procs[name].popen
        if popen and popen.poll() is None:
            os.killpg(popen.pid, sig)
            popen.wait(timeout=30)

    def stop(self, name: str) -> None:
        self.signal(name, signal.SIGTERM)

    def kill(self, name: str) -> None:
        self.signal(name, signal.SIGKILL)

    def stop_all(self, grace: float = 15) -> None:
        """SIGTERM to every process at once, SIGKILL to whatever outlives the grace period."""
        running = [p.popen for p in self.procs.values() if p.popen and p.popen.poll() is None]
        for popen in running:
            os.killpg(popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for popen in running:
            try:
                popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(popen.pid, signal.SIGKILL)
                popen.wait()

    def wait_ready(self, timeout: float = 180) -> None:
        """Until every process started is ready: an API answers /readyz, a worker or relay
        /healthz (a worker once it consumes: its queue exists, so nothing a relay publishes
        from then on is routed nowhere and left to the sources' check to repair). Nine
        processes importing the stack at once take a while on a busy two-core machine."""
        deadline = time.monotonic() + timeout
        for name, proc in self.procs.items():
            if not proc.popen:
                continue
            service, kind = name.split("-")[:2]
            url = (self.url(service) + "/readyz" if kind == "api"
                   else self.probe_url(name) + "/healthz")
            while not self._answers(url):
                if proc.popen.poll() is not None or time.monotonic() > deadline:
                    raise TimeoutError(self._not_ready(name, timeout))
                time.sleep(0.2)

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            return requests.get(url, timeout=2).ok
        except requests.RequestException:
            return False

    def _not_ready(self, name: str, timeout: float) -> str:
        """Why a process is not ready: it exited, or it still is not after the timeout;
        and the end of its log, which says what it was doing."""
        code = self.procs[name].popen.poll()
        why = f"exited ({code})" if code is not None else f"not ready after {timeout:g}s"
        log = self.log_dir / f"{name}.log" if self.log_dir else None
        tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
        return f"{name} {why}" + (f"; the end of its log:\n{tail}" if tail else "")

    def supervise_once(self) -> None:
        """Restart any process that died (not one we stopped)."""
        for proc in self.procs.values():
            if proc.popen and proc.popen.poll() is not None:
                proc.restarts += 1
                print(f"{proc.name} exited ({proc.popen.returncode}); restarting", flush=True)
                self.start(proc.name)
