"""docker-compose.yml, proven without a Docker engine: it passes `docker-compose config`,
it refuses to render without its secrets, and every service's command runs natively with
its compose environment (hosts mapped to this machine's RabbitMQ and PostgreSQL) until the
platform is ready, carries a need through to evaluation, and stops cleanly."""
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import yaml

from launcher.supervisor import ROOT
from deploy.topology import definitions, entrypoint
from tests.conftest import CI, bearer, free_port
from tests.helpers import need_payload, wait_until

APP_PROCESSES = {f"{s}-{k}" for s in ("intake", "casework", "evaluation")
                 for k in ("api", "worker", "relay")}


def env_file(tmp_path, filled: bool = True) -> Path:
    from deploy.keys import generate
    keys = generate()  # what `python -m deploy.keys` prints
    lines = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        key = line.split("=", 1)[0]
        if filled and key in keys:
            line = f"{key}={keys[key]}"
        lines.append(line)
    path = tmp_path / ("filled.env" if filled else "empty.env")
    path.write_text("\n".join(lines) + "\n")
    return path


def compose(env: Path, *args: str) -> subprocess.CompletedProcess:
    if not shutil.which("docker-compose"):
        message = "docker-compose is not installed (.ci/run installs Debian's package)"
        pytest.fail(message) if CI else pytest.skip(message)
    from deploy.keys import generate
    secrets = generate()  # the suite's own are in its environment: compose reads the file only
    clean = {k: v for k, v in os.environ.items() if k not in secrets}
    return subprocess.run(["docker-compose", "-f", str(ROOT / "docker-compose.yml"),
                           "--env-file", str(env), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=clean)


def rendered(tmp_path) -> dict:
    result = compose(env_file(tmp_path), "config")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_config_is_valid_and_complete(tmp_path):
    services = rendered(tmp_path)["services"]
    assert APP_PROCESSES | {"rabbitmq", "postgres", "migrate"} == set(services)
    for name in APP_PROCESSES:
        service = services[name]
        assert service["restart"] == "unless-stopped" and service["healthcheck"]["test"]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
        if not name.endswith("-api"):  # `docker-compose up --scale` makes replicas of it
            assert "ports" not in service and "container_name" not in service, name
        assert service["environment"]["SOCIALWORK_ENV"] == "production"
        holds_keys = "INTAKE_DATA_KEYS" in service["environment"]
        assert holds_keys == name.startswith("intake"), name
        own = name.split("-")[0]  # its own signing key only; every service's public keys
        assert {k for k in service["environment"] if k.endswith("_SIGNING_KEY")} == {
            f"{own.upper()}_SIGNING_KEY"}, name
        assert all(f"{s.upper()}_PUBLIC_KEYS" in service["environment"]
                   for s in ("intake", "casework", "evaluation"))
        assert "POSTGRES_PASSWORD" not in service["environment"]
        # its own broker user, never the administrator's
        broker = urlsplit(service["environment"]["SOCIALWORK_BROKER_URL"])
        assert broker.username == f"socialwork-{name.split('-')[0]}", name
    migrate = services["migrate"]["environment"]  # no broker, nothing to sign
    assert "SOCIALWORK_BROKER_URL" not in migrate
    assert not [k for k in migrate if k.endswith("_SIGNING_KEY")]
    assert {"INTAKE_DATA_KEYS", "INTAKE_HASH_KEY"} <= set(migrate)  # it re-indexes names
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["rabbitmq"]["healthcheck"] and services["postgres"]["healthcheck"]


def test_compose_refuses_to_render_without_secrets(tmp_path):
    result = compose(env_file(tmp_path, filled=False), "config")
    assert result.returncode != 0 and "in .env" in result.stderr


def test_the_rabbitmq_definitions_file_is_what_the_code_declares():
    committed = json.loads((ROOT / "deploy/rabbitmq/definitions.json").read_text())
    assert committed == json.loads(json.dumps(definitions())), \
        "regenerate: python -m deploy.topology > deploy/rabbitmq/definitions.json"
    assert (ROOT / "deploy/rabbitmq/entrypoint.sh").read_text() == entrypoint(), \
        "regenerate: python -m deploy.topology --entrypoint > deploy/rabbitmq/entrypoint.sh"
    queues = {q["name"]: q for q in committed["queues"]}
    assert queues["evaluation.events"]["arguments"]["x-queue-type"] == "quorum"
    assert queues["casework.events"]["arguments"]["x-dead-letter-exchange"] == "socialwork.dead"


def _native_env(service: dict, real, ports: dict, data_dir: Path) -> dict:
    """The compose environment with compose's hosts mapped to this machine: the servers'
    URLs point at the test's own databases and virtual host, the APIs at free ports."""
    env = {k: str(v) for k, v in service.get("environment", {}).items()}
    for key in ("SOCIALWORK_BROKER_URL", "INTAKE_DATABASE_URL", "CASEWORK_DATABASE_URL",
                "EVALUATION_DATABASE_URL"):
        if key not in env:  # the migrate job reaches no broker
            continue
        compose_host = urlsplit(env[key]).hostname
        assert compose_host in ("rabbitmq", "postgres")
        env[key] = real.env[key]
    for api, port in ports.items():
        key = f"{api.split('-')[0].upper()}_URL"
        assert urlsplit(env[key]).hostname == api
        env[key] = f"http://127.0.0.1:{port}"
    return {**os.environ, **env, "SOCIALWORK_DATA_DIR": str(data_dir),
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}


def test_every_compose_command_runs_natively(real, tmp_path):
    services = rendered(tmp_path)["services"]
    real.ensure(empty=True)  # the migrate job makes the schema
    ports = {f"{s}-api": free_port() for s in ("intake", "casework", "evaluation")}
    migrate = services["migrate"]
    unsigned = {k: v for k, v in _native_env(migrate, real, ports, tmp_path).items()
                if not k.endswith("_SIGNING_KEY")}  # as compose gives it: none
    done = subprocess.run(migrate["command"], env=unsigned,
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    running, probes = {}, {}
    try:
        for name in sorted(APP_PROCESSES):
            service = services[name]
            env = _native_env(service, real, ports, tmp_path)
            if name in ports:
                env["PORT"], env["GUNICORN_BIND"] = str(ports[name]), f"127.0.0.1:{ports[name]}"
            else:
                probes[name] = free_port()
                env["SOCIALWORK_PROBE_PORT"], env["SOCIALWORK_PROBE_HOST"] = (
                    str(probes[name]), "127.0.0.1")
            log = open(tmp_path / f"{name}.log", "wb")
            running[name] = subprocess.Popen(service["command"], env=env, cwd=ROOT,
                                             stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True)

        def ready():
            urls = [f"http://127.0.0.1:{p}/readyz" for p in ports.values()]
            urls += [f"http://127.0.0.1:{p}/healthz" for p in probes.values()]
            try:
                return all(requests.get(u, timeout=2).status_code == 200 for u in urls)
            except requests.RequestException:
                return False
        wait_until(ready, 90, "every API ready and every worker and relay healthy", 0.5)

        from shared import auth, keys
        intake_key = keys.private_key_from(
            services["intake-api"]["environment"]["INTAKE_SIGNING_KEY"])
        ops = bearer(auth.mint("ops_admin", "ops", issuer="intake", key=intake_key))
        clerk = bearer(auth.mint("intake_clerk", "clerk", issuer="intake", key=intake_key,
                                 community_ids=["c-compose"]))
        intake = f"http://127.0.0.1:{ports['intake-api']}"
        assert requests.post(intake + "/communities", json={"id": "c-compose", "name": "T"},
                             headers=ops).status_code == 201
        assert requests.post(intake + "/needs", json=need_payload("c-compose"),
                             headers=clerk).status_code == 201
        counts = f"http://127.0.0.1:{ports['evaluation-api']}/event-counts"
        wait_until(lambda: requests.get(counts, headers=ops).json()["by_type"].get(
            "need.reported") == 1, 60, "the need at evaluation")
    finally:
        for popen in running.values():
            if popen.poll() is None:
                os.killpg(popen.pid, signal.SIGTERM)
        codes = {}
        for name, popen in running.items():
            try:
                codes[name] = popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(popen.pid, signal.SIGKILL)
                codes[name] = "killed"
    assert codes == {name: 0 for name in running}, codes
