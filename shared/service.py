"""The application factory all three services share: each hands over its name, database,
event store, handlers and blueprints, and gets the same API surface, health, auth, errors,
event log and ops commands."""
import gc
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import sqlalchemy as sa
from flask import Flask, current_app, g, request
from flask_migrate import Migrate
from flask_smorest import Api

from . import auth, bus, config, errors, metrics
from .db import engine_options
from .eventstore import EventStore
from .logging import current_traceparent, new_traceparent, reset_traceparent, set_traceparent


@dataclass
class ServiceSpec:
    name: str
    title: str
    db: object
    store: EventStore
    handlers: dict
    blueprints: list = field(default_factory=list)
    # called with a batch's events before they are applied, in the same transaction, so a
    # service can load at once what its handlers will look up
    prepare: Callable | None = None

    @property
    def source(self) -> str:
        return self.store.source

    @property
    def migrations(self) -> Path:
        """Each service's Alembic scripts live in services/<name>/migrations."""
        return Path(__file__).resolve().parent.parent / "services" / self.name / "migrations"


@dataclass
class Runtime:
    spec: ServiceSpec
    messaging: config.MessagingConfig

    @property
    def store(self) -> EventStore:
        return self.spec.store

    @property
    def queues(self) -> bus.ServiceQueues:
        return bus.service_queues(self.spec.name, self.spec.handlers, self.messaging)


def current_service() -> Runtime:
    return current_app.extensions["socialwork"]


def _trace_in():
    g.trace_token = set_traceparent(request.headers.get("traceparent") or new_traceparent())
    g.timer = metrics.Timer()


def _trace_out(response):
    response.headers["traceparent"] = current_traceparent() or ""
    endpoint = request.url_rule.rule if request.url_rule else "unmatched"
    service = current_service().spec.name
    metrics.REQUESTS.labels(service, request.method, endpoint, response.status_code).inc()
    if "timer" in g:
        metrics.LATENCY.labels(service, request.method, endpoint).observe(g.timer.seconds())
    return response


def _trace_reset(_exc):
    token = g.pop("trace_token", None)
    if token is not None:
        reset_traceparent(token)


def create_service_app(spec: ServiceSpec, test_config: dict | None = None) -> Flask:
    url = config.database_url(spec.name)
    if url.startswith("sqlite:///"):
        config.data_dir().mkdir(parents=True, exist_ok=True)
    app = Flask(f"services.{spec.name}")
    app.config.update(
        SQLALCHEMY_DATABASE_URI=url,
        JWT_KEY=config.jwt_key(),
        API_TITLE=spec.title,
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={"components": {"securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
            "security": [{"bearerAuth": []}]},
    )
    app.config.update(test_config or {})
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS",
                          engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))
    app.json.ensure_ascii = False
    spec.db.init_app(app)
    Migrate(app, spec.db, directory=str(spec.migrations), render_as_batch=True,
            compare_type=True)
    app.extensions["socialwork"] = Runtime(spec, config.MessagingConfig())

    api = Api(app)
    from .eventlog import blp as eventlog_blp
    from .health import blp as health_blp
    for blueprint in (health_blp, eventlog_blp, *spec.blueprints):
        api.register_blueprint(blueprint)
    errors.init_app(app)  # after Api, so our JSON error shape wins
    auth.init_app(app)
    app.before_request(_trace_in)
    app.after_request(_trace_out)
    app.teardown_request(_trace_reset)

    from .cli import register
    register(app)
    return app


def migrations_current() -> bool:
    """The database is at the newest migration this code knows."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    migrate = current_app.extensions["migrate"]
    head = ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory)
                                       ).get_current_head()
    session = current_service().spec.db.session
    try:  # on the session's own connection: a second one would wait on SQLite's lock
        return MigrationContext.configure(session.connection()).get_current_revision() == head
    except Exception:
        return False
    finally:
        session.rollback()


def database_ok() -> bool:
    session = current_service().spec.db.session
    try:
        session.execute(sa.text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        session.rollback()


def on_stop(callback) -> None:
    """Stop a long-running loop cleanly on SIGTERM (docker, supervisors) and SIGINT."""
    signal.signal(signal.SIGTERM, callback)
    signal.signal(signal.SIGINT, callback)


def settle_heap() -> None:
    """Called once a long-running process has started, before it serves: what start-up
    built (modules, the app, its mappings, most of the heap) never becomes garbage, so keep
    it out of the cycle collector's sight. Each full collection otherwise walks all of it
    with the GIL held, 100-300 ms in which the process answers nothing."""
    gc.freeze()
