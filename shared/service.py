"""The application factory all three services share: each hands over its spec (name,
database, event store, handlers, blueprints) and gets the same API surface, health, auth,
errors, event log and ops commands."""
from flask import Flask, g, request
from flask_migrate import Migrate
from flask_smorest import Api

import logging

from . import auth, cli, clock, config, errors, eventlog, health, inputs, keys, metrics
from .db import engine_options
from .logging import current_traceparent, new_traceparent, reset_traceparent, set_traceparent
from .runtime import Runtime, ServiceSpec, current_service


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


log = logging.getLogger(__name__)


def create_service_app(spec: ServiceSpec, test_config: dict | None = None) -> Flask:
    if not (test_config or {}).get("SIGNS_NOTHING"):  # the migration job holds no signing key
        keys.check_configured(spec.name)  # no keys, no service: it says which variable is missing
    clock.check_configured()  # a simulated clock only in development
    if warning := config.development_warning():
        log.warning(warning)
    url = config.database_url(spec.name)
    if url.startswith("sqlite:///"):
        config.data_dir().mkdir(parents=True, exist_ok=True)
    app = Flask(f"services.{spec.name}")
    app.config.update(
        SQLALCHEMY_DATABASE_URI=url,
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
    for blueprint in (health.blp, eventlog.blp, *spec.blueprints):
        api.register_blueprint(blueprint)
    errors.init_app(app)  # after Api, so our JSON error shape wins
    auth.init_app(app)
    inputs.init_app(app)  # after auth: nobody's body is read before they are known
    app.before_request(_trace_in)
    app.before_request(clock.request_started)
    app.after_request(_trace_out)
    app.teardown_request(_trace_reset)
    app.teardown_request(clock.request_ended)
    cli.register(app)
    return app
