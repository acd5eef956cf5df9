"""Liveness and readiness, the two endpoints that need no token, and the checks behind them."""
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Response, current_app

from . import auth, bus
from .api import Blueprint
from .metrics import exposition
from .runtime import current_service

blp = Blueprint("health", __name__, description="Liveness and readiness (no token needed)")


def broker_ok() -> bool:
    try:
        with bus.connect(current_service().messaging) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


def database_ok() -> bool:
    session = current_service().spec.db.session
    try:
        session.execute(sa.text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        session.rollback()


def migrations_current() -> bool:
    """The database is at the newest migration this code knows."""
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


@blp.get("/healthz")
def healthz():
    return {"status": "ok", "service": current_service().spec.name}


@blp.get("/readyz")
def readyz():
    checks = {"database": database_ok(), "broker": broker_ok(),
              "migrations": migrations_current()}
    ready = all(checks.values())
    return {"status": "ready" if ready else "not_ready", "checks": checks}, 200 if ready else 503


@blp.get("/metrics")
def prometheus_metrics():
    """Prometheus exposition of this API (all gunicorn workers); needs an ops_admin token."""
    auth.require("ops_admin")
    body, content_type = exposition()
    return Response(body, content_type=content_type)
