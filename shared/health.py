"""Liveness and readiness, the two endpoints that need no token."""
from flask import Response

from . import auth, bus
from .api import Blueprint
from .metrics import exposition
from .service import current_service, database_ok, migrations_current

blp = Blueprint("health", __name__, description="Liveness and readiness (no token needed)")


def broker_ok() -> bool:
    try:
        with bus.connect(current_service().messaging) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


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
