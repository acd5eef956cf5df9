"""Faults on the event path: the broker stopped and started mid-stream, a consumer and a
relay killed with SIGKILL, a purged queue. Afterwards every event's effect is present exactly
once (the tally is a counter, so a double apply would show), and nothing is parked. And a
source's first two events appended at the same moment; pooled database connections cut."""
import threading

import pytest
import sqlalchemy as sa

from shared import deadletters
from tests.conftest import PG_ADMIN, bearer, rabbitmqctl
from tests.helpers import count, need_payload, running_platform, seed_community, wait_until
from tests.streams import messaging, need_data, produce_needs, queued, tally, unpublished

N = 2500  # the broker-restart stream: some before the stop, 1000 during it, the rest after
N_KILL = 1200


def _producer(app, community: str, n: int, gate=None, pause_at=None):
    progress = []
    thread = threading.Thread(target=produce_needs, args=(app, community, n, progress, gate,
                                                          pause_at), daemon=True)
    thread.start()
    return thread, progress


def _assert_exactly_once(b, apps, community: str, n: int):
    intake, casework, evaluation = apps
    wait_until(lambda: tally(evaluation, community) >= n and queued(casework, community) >= n,
               300, f"{n} events applied at casework and evaluation", interval=1)
    assert tally(evaluation, community) == n
    assert queued(casework, community) == n
    store = evaluation.extensions["socialwork"].store
    assert count(evaluation, store.InboxEvent, store.InboxEvent.type == "need.reported") == n
    assert count(evaluation, store.ParkedEvent) == 0
    assert unpublished(intake) == 0
    cfg = messaging(b)
    for app in (casework, evaluation):
        rt = app.extensions["socialwork"]
        assert deadletters.list_parked(cfg, rt.queues) == []


def _apps(b):
    return b.app("intake"), b.app("casework"), b.app("evaluation")


@pytest.mark.exclusive  # every other test's broker stops too
def test_broker_stopped_and_started_mid_stream(real, tmp_path):
    apps = _apps(real)
    with running_platform(real, tmp_path):
        thread, progress = _producer(apps[0], "c-broker", N)
        wait_until(lambda: tally(apps[2], "c-broker") >= 500, 120, "the stream to flow")
        rabbitmqctl("stop_app")
        try:
            written = len(progress)
            wait_until(lambda: len(progress) >= min(N, written + 1000), 120,
                       "events recorded while the broker is down")
        finally:
            rabbitmqctl("start_app")
            rabbitmqctl("await_startup")
        thread.join(timeout=300)
        _assert_exactly_once(real, apps, "c-broker", N)


def test_consumer_and_relay_killed_mid_stream(isolated, tmp_path):
    apps = _apps(isolated)
    with running_platform(isolated, tmp_path) as platform:
        # the producer waits at the gate after the first half, so that however the machine's
        # load sets the pace, the stream still flows when the relay is killed
        gate = threading.Event()
        thread, progress = _producer(apps[0], "c-kill", N_KILL, gate, N_KILL // 2)
        wait_until(lambda: tally(apps[2], "c-kill") >= 300, 180, "the stream to flow")
        platform.kill("evaluation-worker")
        platform.kill("casework-worker")
        gate.set()
        wait_until(lambda: unpublished(apps[0]) > 0, 60, "a relay batch in flight",
                   interval=0.01)
        platform.kill("intake-relay")
        written = len(progress)
        wait_until(lambda: len(progress) >= min(N_KILL, written + 300), 120,
                   "events recorded while relay and consumers are dead")
        for name in ("intake-relay", "casework-worker", "evaluation-worker"):
            platform.start(name)
        thread.join(timeout=300)
        _assert_exactly_once(isolated, apps, "c-kill", N_KILL)


def test_a_purged_queue_is_repaired_from_the_event_log(isolated, tmp_path):
    intake, casework, evaluation = _apps(isolated)
    with running_platform(isolated, tmp_path) as platform:
        platform.stop("casework-worker")
        produce_needs(intake, "c-purge", 50)
        wait_until(lambda: tally(evaluation, "c-purge") == 50, 60, "evaluation to have all")
        wait_until(lambda: unpublished(intake) == 0, 60, "the relay to publish all")
        rt = casework.extensions["socialwork"]
        from shared import bus
        with bus.connect(messaging(isolated)) as conn:
            purged = rt.queues.main(conn.default_channel).purge()
        assert purged == 50
        platform.start("casework-worker")
        wait_until(lambda: queued(casework, "c-purge") == 50, 60,
                   "backfill from intake's event log")
        store = rt.store
        assert count(casework, store.InboxEvent, store.InboxEvent.via == "backfill") == 50
        assert queued(casework, "c-purge") == 50


@pytest.mark.parametrize("victim", ["intake-api"])
def test_api_restart_keeps_the_outbox(isolated, tmp_path, victim):
    """Events committed before an API dies are published after: the outbox is the truth."""
    intake, casework, evaluation = _apps(isolated)
    with running_platform(isolated, tmp_path) as platform:
        platform.stop("intake-relay")
        produce_needs(intake, "c-api", 20)
        platform.kill(victim)
        platform.start("intake-relay")
        wait_until(lambda: tally(evaluation, "c-api") == 20, 60, "all 20 after the restart")
        platform.start(victim)
        assert queued(casework, "c-api") == 20 or wait_until(
            lambda: queued(casework, "c-api") == 20, 60, "casework")
        assert scalar_inbox_vias(evaluation) <= {"broker", "backfill"}


def scalar_inbox_vias(app) -> set:
    store = app.extensions["socialwork"].store
    with app.app_context():
        return set(store.session.scalars(sa.select(store.InboxEvent.via).distinct()))


def _sessions_on(database: str, waiting_on_a_lock: bool = False) -> int:
    """PostgreSQL's sessions on a database (only those waiting for a lock, if asked)."""
    import psycopg
    lock = " AND wait_event_type = 'Lock'" if waiting_on_a_lock else ""
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s" + lock,
                            (database,)).fetchone()[0]


def test_two_first_events_of_a_source_at_once_both_commit(real):
    """The first event of a source makes its head row. A second append while the first has
    not committed waits for that row, then follows it: sequences 1 and 2, no error."""
    from services.intake.models import db, event_store
    from shared import outbox
    app = real.app("intake")
    first_appended, outcome = threading.Event(), {}

    def append(name: str) -> None:
        with app.app_context():
            try:
                if name == "second":
                    first_appended.wait(30)
                event = outbox.append(event_store, "need.reported", f"need/{name}",
                                      need_data(name, "c-first"))
                if name == "first":
                    first_appended.set()
                    wait_until(lambda: _sessions_on(f"{real.name}_intake", True), 30,
                               "the second append to wait for the head row")
                db.session.commit()
                outcome[name] = event.sequence
            except Exception as exc:  # reported by the assertion below
                outcome[name] = repr(exc)
                first_appended.set()
    threads = [threading.Thread(target=append, args=(n,)) for n in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcome == {"first": 1, "second": 2}


def test_a_connection_cut_while_idle_is_replaced_before_it_is_used(real, monkeypatch):
    """Pooled connections are not pinged on every checkout, only after sitting idle: one
    the database cut meanwhile (a restart, a firewall) is replaced, and the request that
    takes it from the pool succeeds."""
    import psycopg

    from services.intake.models import Need
    app, database = real.app("intake"), f"{real.name}_intake"
    seed_community(app, "c-cut")
    client = app.test_client()
    clerk = bearer(real.token("intake_clerk", community_ids=["c-cut"]))
    assert client.post("/needs", json=need_payload("c-cut"), headers=clerk).status_code == 201
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = %s", (database,))
    wait_until(lambda: _sessions_on(database) == 0, 30, "the pooled connections cut")
    monkeypatch.setattr("shared.db.PING_AFTER_IDLE", 0.0)  # they have been idle long enough
    response = client.post("/needs", json=need_payload("c-cut"), headers=clerk)
    assert response.status_code == 201, response.json
    assert count(app, Need) == 2


def test_a_connection_made_before_a_fork_stays_with_the_parent(real):
    """gunicorn forks its workers from a master that imported the app (preload_app): a
    pooled connection made before the fork is never used by a child, which connects anew,
    and the parent's own connection still works after the child is gone."""
    import os

    from services.intake.models import db
    app = real.app("intake")
    backend_pid = sa.text("SELECT pg_backend_pid()")
    with app.app_context():
        parents = db.session.scalar(backend_pid)
        db.session.rollback()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: report which server process answered it, then leave
        try:
            with app.app_context():
                os.write(write, str(db.session.scalar(backend_pid)).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    answered_child = int(os.read(read, 32) or 0)
    os.close(read)
    assert answered_child not in (0, parents)
    with app.app_context():
        assert db.session.scalar(backend_pid) == parents


@pytest.fixture
def settled():
    """gc.freeze() is for the whole process: the test process is given its heap back."""
    import gc
    gc.unfreeze()
    yield gc.get_freeze_count
    gc.unfreeze()


def test_gunicorn_forks_its_workers_from_a_settled_heap(settled, monkeypatch, tmp_path):
    """A full collection in a worker walks only what its requests made, not the preloaded app
    (100-300 ms with the GIL held otherwise: every request of the worker waits)."""
    import runpy

    from launcher.supervisor import ROOT
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    conf = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    conf["pre_fork"](None, None)
    assert settled() > 0


@pytest.mark.parametrize("command", ["worker", "relay"])
def test_a_worker_and_a_relay_settle_their_heap_before_they_run(embedded, settled,
                                                                monkeypatch, command):
    from shared import cli
    frozen_when_run = []
    loop = {"worker": cli.EventConsumer, "relay": cli.Relay}[command]
    monkeypatch.setattr(loop, "run_forever", lambda self: frozen_when_run.append(settled()))
    monkeypatch.setattr(cli, "on_stop", lambda callback: None)
    monkeypatch.setattr(cli, "setup_logging", lambda *names: None)
    result = embedded.app("intake").test_cli_runner().invoke(args=[command])
    assert result.exit_code == 0, result.output
    assert frozen_when_run and frozen_when_run[0] > 0
