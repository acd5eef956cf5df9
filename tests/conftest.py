"""Backends for the suite: the embedded default (SQLite files + kombu's filesystem broker) and
the real thing (PostgreSQL + RabbitMQ on this machine, each test session in its own databases
and RabbitMQ virtual host). Under CI=true a missing server fails the tests that need it."""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import uuid
from contextlib import contextmanager
from unittest import mock

import pytest

from deploy.keys import generate as generate_secrets
from shared import auth, keys

CI = os.environ.get("CI") == "true"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SERVICES = ("intake", "casework", "evaluation")
SECRETS = generate_secrets()  # real keys, as production has them: no development keys
os.environ.update(SECRETS)  # for every process the tests start, and the tests themselves
FAST = {"SOCIALWORK_SYNC_INTERVAL": "2", "SOCIALWORK_RETRY_DELAY": "0.2",
        "SOCIALWORK_MAX_ATTEMPTS": "3", "SOCIALWORK_RELAY_IDLE": "0.02",
        "GUNICORN_WORKERS": "2"}


def mint(role: str, sub: str, **scope) -> str:
    """A token as its role's own service would issue it (the environment's keys), for the
    services that role works with; `issuer`, `audience`, `kind`, `ttl` override."""
    issuer = scope.pop("issuer", auth.HOME.get(role, "intake"))
    kind = scope.pop("kind", "service" if role == "service" else "session")
    return auth.mint(role, sub, issuer=issuer, kind=kind, **scope)


def sign(claims: dict, issuer: str, key=None) -> str:
    """Any claims at all, signed as `issuer` signs its tokens (or with `key`)."""
    import jwt
    key = key or keys.signing_key(issuer)
    return jwt.encode(claims, key, auth.ALGORITHM, headers={"kid": keys.key_id(key.public_key())})


@pytest.fixture(autouse=True)
def _afresh():
    """Keys are read once per process: a test that changes them must not leak its own; and
    each test forges its own chains of events."""
    from tests.streams import FORGED
    FORGED.clear()
    yield
    keys.forget()


PII_SEEN: set[str] = set()
# bounded by anything but hex digits, so pieces of UUIDs and hashes do not count
ID_NUMBER = re.compile(r"(?<![0-9a-fA-F])\d{17}[\dXx](?![0-9a-fA-F])")
MOBILE = re.compile(r"(?<![0-9a-fA-F])1[3-9]\d{9}(?![0-9a-fA-F])")


def remember_pii(*values) -> None:
    """Personal data a test gave intake: no event may ever carry it."""
    PII_SEEN.update(str(v).strip() for v in values if v)


PUBLISHERS_OF_PERSONAL_CONTEXT = ("intake", "evaluation")  # residents; survey samples


def assert_no_pii_in_events(database_url: str, service: str) -> None:
    """Every event a service published in this backend, checked for names, phones, ID
    numbers."""
    import sqlalchemy as sa
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("event_outbox"):
                return
            bodies = conn.execute(sa.text("SELECT body FROM event_outbox")).scalars().all()
    finally:
        engine.dispose()
    for body in bodies:
        data = json.dumps(json.loads(body)["data"], ensure_ascii=False)
        leaked = [v for v in PII_SEEN if v in data]
        assert not leaked and not ID_NUMBER.search(data) and not MOBILE.search(data), \
            f"personal data in an event of {service}: {data}"


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def require_servers() -> None:
    missing = [name for name, port in (("RabbitMQ", 5672), ("PostgreSQL", 5432))
               if not _port_open(port)]
    if missing:
        message = f"{' and '.join(missing)} not reachable on 127.0.0.1"
        if CI:
            pytest.fail(f"{message}: required under CI=true")
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rabbitmqctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True,
                          text=True, timeout=120).stdout


def _psql(sql: str) -> None:
    import psycopg
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


class Backend:
    """One isolated set of databases and broker space, described as environment variables."""

    def __init__(self, kind: str, tmp_path, vhost: str | None = None, templates: bool = True):
        self.kind, self.name = kind, f"swt_{uuid.uuid4().hex[:10]}"
        self.templates = templates  # databases copied from migrated ones (see ensure)
        self.own_vhost = vhost is None
        self.vhost = vhost or self.name
        self.ports = {s: free_port() for s in SERVICES}
        self.env = {**FAST, "SOCIALWORK_DATA_DIR": str(tmp_path / self.name)}
        self.env.update({f"{s.upper()}_URL": f"http://127.0.0.1:{p}"
                         for s, p in self.ports.items()})
        if kind == "real":
            require_servers()
            if self.own_vhost:
                add_vhost(self.vhost)
            self.env["SOCIALWORK_BROKER_URL"] = f"amqp://guest:guest@127.0.0.1:5672/{self.vhost}"
            for s in SERVICES:  # created on first use: most tests need one service
                self.env[f"{s.upper()}_DATABASE_URL"] = (
                    f"postgresql://postgres@127.0.0.1:5432/{self.name}_{s}")
        self.created: set[str] = set()

    def ensure(self, *services: str, empty: bool = False) -> None:
        """Each service's database, at its newest migration (copied from a template made
        once per test process), or empty if asked or if this backend takes no templates."""
        for s in services or SERVICES:
            if self.kind == "real" and s not in self.created:
                template = "" if empty or not self.templates else (
                    f" TEMPLATE {_migrated_template(s)}")
                _psql(f"CREATE DATABASE {self.name}_{s}{template}")
            self.created.add(s)

    @contextmanager
    def environ(self):
        with mock.patch.dict(os.environ, self.env):
            yield

    def app(self, service: str):
        """An in-process app on this backend, its database migrated to the newest schema."""
        import importlib
        self.ensure(service)
        from flask_migrate import upgrade
        with self.environ():
            app = importlib.import_module(f"services.{service}").create_app()
            with app.app_context():
                upgrade()  # the migrations, as production applies them
        return app

    def token(self, role: str, **scope) -> str:
        return mint(role, scope.pop("sub", f"test-{role}"), **scope)

    def drop(self) -> None:
        from shared.config import database_url
        for service in PUBLISHERS_OF_PERSONAL_CONTEXT:
            if service in self.created:
                with self.environ():
                    url = database_url(service)
                assert_no_pii_in_events(url, service)
        if self.kind != "real":
            return
        for s in self.created:
            _psql(f"DROP DATABASE IF EXISTS {self.name}_{s} WITH (FORCE)")
        if self.own_vhost:
            rabbitmqctl("delete_vhost", self.vhost)


_TEMPLATES: dict[str, str] = {}  # service -> its database at the newest migration
_TEMPLATE_PREFIX = "swt_template_"


def _migrated_template(service: str) -> str:
    """A PostgreSQL database of the service migrated from empty to the newest revision, made
    on first use in this process: a test's database copied from it costs what an empty one
    does, where migrating each took half a second. Made by its own process, so no
    connection to it is left open (a template must have none)."""
    if service not in _TEMPLATES:
        name = f"{_TEMPLATE_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}_{service}"
        _psql(f"CREATE DATABASE {name}")
        _TEMPLATES[service] = name
        with tempfile.TemporaryDirectory() as data_dir:
            subprocess.run([sys.executable, "-m", "deploy.migrate", service], check=True,
                           capture_output=True, env={
                               **os.environ, **FAST, "SOCIALWORK_DATA_DIR": data_dir,
                               f"{service.upper()}_DATABASE_URL":
                               f"postgresql://postgres@127.0.0.1:5432/{name}"})
    return _TEMPLATES[service]


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


@pytest.fixture(scope="session", autouse=True)
def _drop_templates():
    """This process's templates, found by the pid in their names (the test modules import
    this file as `tests.conftest` besides pytest's `conftest`, each with its own
    `_TEMPLATES`), and any left by a test process that is gone (killed, interrupted)."""
    yield
    if not _port_open(5432):
        return
    import psycopg
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        names = [name for (name,) in conn.execute("SELECT datname FROM pg_database")
                 if name.startswith(_TEMPLATE_PREFIX)]
    for name in names:
        pid = int(name.removeprefix(_TEMPLATE_PREFIX).split("_")[0])
        if pid == os.getpid() or not _running(pid):
            _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def add_vhost(name: str) -> None:
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")


@pytest.fixture(scope="session")
def session_vhost():
    """One virtual host for tests that never consume from the broker (in-process API tests)."""
    require_servers()
    name = f"swt_api_{uuid.uuid4().hex[:8]}"
    add_vhost(name)
    yield name
    rabbitmqctl("delete_vhost", name)


@pytest.fixture(params=["embedded", "real"])
def backend(request, tmp_path):
    """Fresh databases of each kind for one in-process test; the broker space is shared."""
    vhost = request.getfixturevalue("session_vhost") if request.param == "real" else None
    b = Backend(request.param, tmp_path, vhost)
    yield b
    b.drop()


@pytest.fixture(params=["embedded", "real"])
def isolated(request, tmp_path):
    """A backend of each kind with its own broker space too: for tests that run processes."""
    b = Backend(request.param, tmp_path)
    yield b
    b.drop()


@pytest.fixture(scope="module", params=["embedded", "real"])
def isolated_module(request, tmp_path_factory):
    """As `isolated`, shared by the tests of one module (they keep to their own ids)."""
    b = Backend(request.param, tmp_path_factory.mktemp("backend"))
    yield b
    b.drop()


@pytest.fixture
def embedded(tmp_path):
    b = Backend("embedded", tmp_path)
    yield b
    b.drop()


@pytest.fixture
def real(tmp_path):
    b = Backend("real", tmp_path)
    yield b
    b.drop()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def pytest_collection_modifyitems(items):
    """Tests that run the platform's processes (the `isolated` fixture, or marked `slow`) go
    first, in their order: each takes tens of seconds, and left for the end they would
    finish the run on one xdist worker while the other sits idle."""
    items.sort(key=lambda item: not ("isolated" in item.fixturenames
                                     or item.get_closest_marker("slow")))
