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


def test_contracts_recorded_before_versions_get_their_history(backend):
    """The migration that added contract terms keeps existing contracts whole."""
    from flask_migrate import downgrade, upgrade
    import sqlalchemy as sa
    app = backend.app("evaluation")
    db = app.extensions["socialwork"].spec.db
    with app.app_context():
        downgrade(revision="b17d3da0400c")  # the initial schema
        db.session.execute(sa.text(
            "INSERT INTO contract (id, buyer_id, agency_id, community_ids, period_start, "
            "period_end, budget, version, created_at) VALUES ('old', 'b1', 'a1', '[\"c1\"]', "
            "'2025-01-01', '2025-12-31', 1000, 1, '2025-01-01 00:00:00')"))
        db.session.commit()
        upgrade()
        row = db.session.execute(sa.text(
            "SELECT c.milestones, v.version, v.reason FROM contract c JOIN contract_version v "
            "ON v.contract_id = c.id WHERE c.id = 'old'")).one()
        db.session.rollback()
    milestones = row[0] if isinstance(row[0], list) else __import__("json").loads(row[0])
    assert milestones == [] and row[1] == 1 and row[2] == "recorded before versions were kept"


def test_topics_recorded_before_supports_start_with_none(backend):
    """The migration that added residents' supports counts existing topics at zero, not due."""
    from flask_migrate import downgrade, upgrade
    import sqlalchemy as sa
    app = backend.app("casework")
    db = app.extensions["socialwork"].spec.db
    with app.app_context():
        downgrade(revision="a3e1f0c2d4b5")  # evidence files, before supports
        db.session.execute(sa.text(
            "INSERT INTO council_topic (id, agency_id, community_id, title, description, "
            "proposer_kind, need_ids, channel, proposed_on, status) VALUES ('old', 'a1', 'c1', "
            "'加装电梯', 'x', 'social_worker', '[]', 'in_person', '2026-03-01', 'proposed')"))
        db.session.commit()
        upgrade()
        row = db.session.execute(sa.text(
            "SELECT supports, qualified_on FROM council_topic WHERE id = 'old'")).one()
        supports = db.session.execute(sa.text(
            "SELECT count(*) FROM council_topic_support")).scalar()
        db.session.rollback()
    assert tuple(row) == (0, None) and supports == 0
