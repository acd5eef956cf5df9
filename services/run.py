"""Runs the whole platform on one machine: for each service its API under gunicorn, its
worker and its relay, as separate processes; restarts one that dies; stops all on Ctrl-C.

`python -m services.run` (what `make run` calls) uses the embedded default unless the
environment names PostgreSQL and RabbitMQ URLs. On a first start (no community at intake)
it loads the T-community scenario through the APIs (`--residents`, `--months`, … choose its
size, `--no-scenario` skips it), waits until evaluation has consumed every event, prints the
contract scorecard, then keeps serving.
"""
import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from services.scenario.cli import knob_arguments, knobs_from, load
from services.scenario.client import Client
from services.scenario.plan import BUYER
from services.scenario.report import scorecards
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


def default_probe_ports(ports: dict, base: int = 9100) -> dict:
    """Health/metrics ports of workers (9101…) and relays (9201…), in service order."""
    out = {}
    for i, service in enumerate(ports):
        out[f"{service}-worker"] = base + 1 + i
        out[f"{service}-relay"] = base + 101 + i
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
        """Bring every service's database to the newest migration (services/migrate.py)."""
        done = subprocess.run([sys.executable, "-m", "services.migrate", *self.ports],
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


DEV_PASSWORD = "dev-password-1"  # development only: never created in production mode
# the scenario's people as page users: (service, login id, name, role, scope options)
PAGE_USERS = (
    ("intake", "clerk-c1", "c1 受理员", "intake_clerk", ["--community", "c1"]),
    ("casework", "admin-a1", "a1 机构管理员", "agency_admin", ["--agency", "a1"]),
    ("casework", "a1-c1-w1", "社工1", "social_worker", ["--agency", "a1"]),  # its roster id
    ("evaluation", "auditor", "街道办审计员", "buyer_auditor", ["--buyer", BUYER]),
)


def embedded_development() -> bool:
    """The embedded default (SQLite, filesystem broker) outside production mode."""
    return (not config.is_production() and config.broker_url().startswith("filesystem")
            and all(config.database_url(s).startswith("sqlite") for s in config.SERVICES))


def create_page_users(platform: Platform) -> None:
    for service, user_id, name, role, scope in PAGE_USERS:
        subprocess.run([sys.executable, "-m", "flask", "--app", f"services.{service}",
                        "create-user", "--id", user_id, "--name", name, "--role", role,
                        "--password", DEV_PASSWORD, *scope], env=platform.env, cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)


def page_logins(platform: Platform) -> list[str]:
    return ["", f"Pages (development users, password {DEV_PASSWORD}):"] + [
        f"  {role:<14} {platform.url(service)}/ui/login   user {user_id}"
        for service, user_id, _, role, _ in PAGE_USERS]


def banner(platform: Platform, logins: bool = False) -> str:
    lines = ["", "社区社会工作服务平台已启动 / The platform is running:"]
    for service in platform.ports:
        url = platform.url(service)
        lines.append(f"  {service:<11} {url}   (API docs: {url}/openapi.json; health of "
                     f"worker :{platform.probe_ports[service + '-worker']}, relay "
                     f":{platform.probe_ports[service + '-relay']})")
    token = ".venv/bin/flask --app services.{} token --role"
    lines += ["", "Tokens for each role (development key), for the scenario's people:",
              f"  clerk of c1:          {token.format('intake')} intake_clerk --community c1",
              f"  agency a1's admin:    {token.format('casework')} agency_admin --agency a1",
              f"  a social worker:      {token.format('casework')} social_worker --agency a1"
              " --sub a1-c1-w1",
              f"  the street office:    {token.format('evaluation')} buyer_auditor"
              f" --buyer {BUYER}",
              f"  the evaluator of k-a1: {token.format('evaluation')} evaluator --contract k-a1",
              f"  ops:                  {token.format('evaluation')} ops_admin",
              f"The scorecard: curl -H \"Authorization: Bearer $TOKEN\" "
              f"{platform.url('evaluation')}/contracts/k-a1/scorecard",
              "Pages: <service URL>/ui/login; users: .venv/bin/flask --app services.<name> "
              "create-user (docs/OPERATIONS.md)",
              "Press Ctrl-C to stop. 按 Ctrl-C 停止。"]
    if logins:
        lines[-1:-1] = page_logins(platform)
    return "\n".join(lines)


def arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m services.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    knob_arguments(parser)
    parser.add_argument("--no-scenario", action="store_true",
                        help="start empty: load nothing, print no scorecard")
    parser.add_argument("--probe-base", type=int, default=9100,
                        help="workers' probes listen on base+1…, relays' on base+101…")
    parser.add_argument("--timeout", type=float, default=3600,
                        help="seconds to wait for evaluation to catch up")
    return parser.parse_args(argv)


def first_start(client: Client) -> bool:
    """No community registered yet: the databases are empty."""
    return not client.get("intake", "/communities")


def show_the_year(platform: Platform, args) -> None:
    """Load the scenario into empty databases, wait for evaluation, print the scorecard."""
    client = Client({s: platform.url(s) for s in platform.ports}, threads=args.threads)
    if first_start(client):
        print("首次启动：载入T社区情景 / First start: loading the T-community scenario "
              "through the APIs", flush=True)
        load(knobs_from(args), client=client, timeout=args.timeout)
        if embedded_development():
            create_page_users(platform)
    else:
        print("已有数据，跳过载入 / Data present: not loading the scenario again "
              "(make clean for a fresh start)", flush=True)
        client.wait_for_evaluation(args.timeout)
    print("\n" + scorecards(client), flush=True)


def main(argv=None) -> None:
    args = arguments(argv)
    ports = {s: urlsplit(config.service_url(s)).port for s in config.SERVICES}
    platform = Platform(ports=ports, log_dir=config.data_dir() / "logs",
                        probe_ports=default_probe_ports(ports, args.probe_base))

    def _stop(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        print(f"starting the platform (data in {config.data_dir()}) ...", flush=True)
        platform.start_all()
        platform.wait_ready()
        if not args.no_scenario:
            show_the_year(platform, args)
        print(banner(platform, logins=not args.no_scenario
                     and embedded_development()), flush=True)
        print(f"Logs: {platform.log_dir}", flush=True)
        while True:
            platform.supervise_once()
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping...", flush=True)
        platform.stop_all()


if __name__ == "__main__":
    main()
