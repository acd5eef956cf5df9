"""Each service's migrations build exactly the schema its models describe, on both databases,
and readiness reports a database that lags behind."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

SERVICES = ("intake", "casework", "evaluation")


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_match_the_models(backend, service):
    app = backend.app(service)  # upgraded to head
    db = app.extensions["socialwork"].spec.db
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_readiness_reports_a_database_behind_its_migrations(backend):
    from flask_migrate import downgrade
    app = backend.app("evaluation")
    client = app.test_client()
    assert client.get("/readyz").json["checks"]["migrations"] is True
    with app.app_context():
        downgrade(revision="base")
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["checks"]["migrations"] is False
