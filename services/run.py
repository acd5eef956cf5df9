"""Runs the whole platform on one machine: for each service its API under gunicorn, its
worker and its relay, as separate processes; restarts one that dies; stops all on Ctrl-C.

`python -m services.run` (what `make run` calls) uses the embedded default unless the
environment names PostgreSQL and RabbitMQ URLs.
"""
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from shared import config

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict = field(default_factory=dict)
    popen: subprocess.Popen | None = None
    restarts: int = 0


def default_probe_ports(ports: dict) -> dict:
    """Health/metrics ports of workers (9101…) and relays (9201…), in service order."""
    out = {}
    for i, service in enumerate(ports):
        out[f"{service}-worker"] = 9101 + i
        out[f"{service}-relay"] = 9201 + i
    return out


@dataclass
class Platform:
    env: dict = field(default_factory=lambda: dict(os.environ))
    ports: dict = field(default_factory=lambda: dict(config.DEFAULT_PORTS))
    log_dir: Path | None = None
    probe_ports: dict | None = None
    procs: dict = field(default_factory=dict)

    def __post_init__(self):
        self.probe_ports = self.probe_ports or default_probe_ports(self.ports)
        for service, port in self.ports.items():
            self.env.setdefault(f"{service.upper()}_URL", f"http://127.0.0.1:{port}")
        flask = [sys.executable, "-m", "flask", "--app"]
        for service, port in self.ports.items():
            app = f"services.{service}"
            self.procs[f"{service}-api"] = Proc(f"{service}-api", [
                sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF),
                "-b", f"127.0.0.1:{port}", "--name", f"{service}-api", f"{app}.wsgi:app"])
            for kind in ("worker", "relay"):
                name = f"{service}-{kind}"
                self.procs[name] = Proc(name, flask + [app, kind], env={
                    "SOCIALWORK_PROBE_PORT": str(self.probe_ports[name])})

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def probe_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.probe_ports[name]}"

    def migrate_databases(self) -> None:
        """Bring every service's database to the newest migration (Flask-Migrate)."""
        for service in self.ports:
            subprocess.run([sys.executable, "-m", "flask", "--app", f"services.{service}",
                            "db", "upgrade"], env=self.env, cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self, name: str) -> None:
        proc = self.procs[name]
        out = subprocess.DEVNULL
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{name}.log", "ab")
        proc.popen = subprocess.Popen(proc.argv, env={**self.env, **proc.env}, cwd=ROOT,
                                      stdout=out,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    def start_all(self) -> None:
        self.migrate_databases()
        # consumers first, so their queues exist before the relays publish
        for kind in ("worker", "api", "relay"):
            for name in self.procs:
                if name.endswith(kind):
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

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for service in self.ports:
            while True:
                try:
                    if requests.get(self.url(service) + "/readyz", timeout=2).ok:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{service} not ready after {timeout}s")
                time.sleep(0.2)

    def supervise_once(self) -> None:
        """Restart any process that died (not one we stopped)."""
        for proc in self.procs.values():
            if proc.popen and proc.popen.poll() is not None:
                proc.restarts += 1
                print(f"{proc.name} exited ({proc.popen.returncode}); restarting", flush=True)
                self.start(proc.name)


def banner(platform: Platform) -> str:
    lines = ["", "社区社会工作服务平台已启动 / The platform is running:"]
    for service in platform.ports:
        url = platform.url(service)
        lines.append(f"  {service:<11} {url}   (API docs: {url}/openapi.json; health of "
                     f"worker :{platform.probe_ports[service + '-worker']}, relay "
                     f":{platform.probe_ports[service + '-relay']})")
    lines += ["", "Tokens for each role (development key):",
              "  .venv/bin/flask --app services.intake token --role intake_clerk --community c1",
              "  .venv/bin/flask --app services.casework token --role agency_admin --agency a1",
              "  .venv/bin/flask --app services.casework token --role social_worker --agency a1"
              " --sub w1   (once the agency admin has put w1 on the roster: POST /workers)",
              "  .venv/bin/flask --app services.evaluation token --role buyer_auditor --buyer b1",
              "  .venv/bin/flask --app services.evaluation token --role ops_admin",
              "Pages: <service URL>/ui/login; users: .venv/bin/flask --app services.<name> "
              "create-user (docs/OPERATIONS.md)",
              "Press Ctrl-C to stop. 按 Ctrl-C 停止。"]
    return "\n".join(lines)


def main() -> None:
    platform = Platform(log_dir=config.data_dir() / "logs")
    stopping = False

    def _stop(*_):
        nonlocal stopping
        stopping = True
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    platform.start_all()
    try:
        platform.wait_ready()
        print(banner(platform), flush=True)
        print(f"Logs: {platform.log_dir}", flush=True)
        while not stopping:
            platform.supervise_once()
            time.sleep(1)
    finally:
        print("stopping...", flush=True)
        platform.stop_all()


if __name__ == "__main__":
    main()
