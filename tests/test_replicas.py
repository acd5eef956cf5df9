"""Replicas: two of every worker and relay at once. One relay of a service leads (holds the
service's relay lock) and the others stand by; one worker at a time takes from a queue
(single active consumer). Killing one instance of each mid-stream loses and doubles nothing."""
import sqlalchemy as sa

from shared.leader import Leadership
from tests.conftest import PG_ADMIN
from tests.helpers import running_platform, wait_until
from tests.streams import tally
from tests.test_faults import _apps, _assert_exactly_once, _producer

N = 2000


def _engine(app):
    with app.app_context():
        return app.extensions["socialwork"].spec.db.engine


def test_one_relay_of_a_service_leads_at_a_time(backend):
    engine = _engine(backend.app("intake"))
    first, second = Leadership(engine, "intake-relay"), Leadership(engine, "intake-relay")
    other_job = Leadership(engine, "casework-relay")
    try:
        assert first.acquire() and first.confirm()
        assert not second.acquire() and not second.confirm()
        assert other_job.acquire()  # a lock per job
        first.release()
        assert second.acquire() and second.confirm()
        assert not first.acquire()
    finally:
        for leadership in (first, second, other_job):
            leadership.release()


def test_a_relay_whose_lock_connection_is_cut_lets_another_lead(real):
    engine = _engine(real.app("intake"))
    first, second = Leadership(engine, "intake-relay"), Leadership(engine, "intake-relay")
    try:
        assert first.acquire() and not second.acquire()
        with sa.create_engine(PG_ADMIN).connect() as admin:  # as a failover or an ops kill
            cut = admin.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND objid::bigint = (:key & 4294967295) AND database = "
                "(SELECT oid FROM pg_database WHERE datname = :db)"),
                {"key": first.key, "db": engine.url.database}).all()
        assert cut == [(True,)]
        wait_until(second.acquire, 10, "the standby to take the lock")
        assert not first.confirm() and not first.holding
    finally:
        first.release()
        second.release()


def test_two_of_every_worker_and_relay_one_of_each_killed_mid_stream(real, tmp_path):
    apps = _apps(real)
    with running_platform(real, tmp_path, replicas=2) as platform:
        thread, progress = _producer(apps[0], "c-replicas", N)
        wait_until(lambda: tally(apps[2], "c-replicas") >= 300, 180, "the stream to flow")
        # the first started of each kind is the one leading / consuming
        for name in ("intake-relay", "casework-worker", "evaluation-worker"):
            platform.kill(name)
        flowing = tally(apps[2], "c-replicas")
        wait_until(lambda: tally(apps[2], "c-replicas") >= min(N, flowing + 300), 180,
                   "the replicas to take over")
        thread.join(timeout=300)
        _assert_exactly_once(real, apps, "c-replicas", N)
        for name in ("intake-relay-2", "casework-worker-2", "evaluation-worker-2"):
            assert platform.procs[name].popen.poll() is None, f"{name} died"
