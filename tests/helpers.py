"""Helpers for tests that run the platform as real processes and wait on conditions."""
import os
import time
from contextlib import contextmanager

import sqlalchemy as sa

from launcher.supervisor import Platform


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    """Poll `predicate` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@contextmanager
def running_platform(backend, tmp_path, replicas: int = 1, env: dict | None = None):
    backend.ensure()
    from launcher.supervisor import replica_name
    from tests.conftest import free_port
    platform = Platform(env={**os.environ, **backend.env, **(env or {})}, ports=dict(backend.ports),
                        log_dir=tmp_path / f"logs-{backend.name}", replicas=replicas,
                        probe_ports={replica_name(s, k, r): free_port() for s in backend.ports
                                     for k in ("worker", "relay") for r in range(replicas)})
    platform.start_all()
    try:
        platform.wait_ready()
        yield platform
    except BaseException:
        dump_logs(platform)
        raise
    finally:
        platform.stop_all()


def dump_logs(platform, lines: int = 30) -> None:
    if not platform.log_dir or not platform.log_dir.exists():
        return
    for log in sorted(platform.log_dir.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        print(f"----- {log.name} -----")
        print("\n".join(tail))


def scalar(app, statement):
    """Run one query in an app's own database."""
    with app.app_context():
        db = app.extensions["socialwork"].spec.db
        try:
            return db.session.scalar(statement)
        finally:
            db.session.rollback()


def count(app, model, *where) -> int:
    return scalar(app, sa.select(sa.func.count()).select_from(model).where(*where))


def need_payload(community_id: str, **overrides) -> dict:
    payload = {"community_id": community_id, "category": "elderly_care", "urgency": "routine",
               "channel": "walk_in", "description": "独居老人需要助餐服务"}
    payload.update(overrides)
    return payload


def seed_community(intake_app, community_id: str, grid_ids=("g1",)) -> None:
    """Reference data a test needs before it records anything in a community."""
    from services.intake.models import Community, Grid, db
    with intake_app.app_context():
        db.session.add(Community(id=community_id, name=f"{community_id} 社区"))
        db.session.flush()
        for grid_id in grid_ids:
            db.session.add(Grid(id=f"{community_id}-{grid_id}", community_id=community_id,
                                name=f"{grid_id} 网格"))
        db.session.commit()


def register_jurisdiction(intake_url: str, evaluation_url: str, ops: dict, buyer: str = "b1",
                          communities=("c1",), agencies=("a1",)) -> None:
    """Through intake's API, as ops keep it: `agencies` exist and `buyer` governs
    `communities`; returns once evaluation has the events (awards are checked there)."""
    import requests
    for agency in agencies:
        made = requests.post(intake_url + "/agencies", headers=ops, timeout=10,
                             json={"id": agency, "name": f"{agency} 社工机构"})
        assert made.status_code == 201, made.text
    made = requests.post(intake_url + "/buyers", headers=ops, timeout=10, json={
        "id": buyer, "name": f"{buyer} 街道办事处", "kind": "street_office",
        "community_ids": list(communities)})
    assert made.status_code == 201, made.text

    def learnt():
        counts = requests.get(evaluation_url + "/event-counts", headers=ops,
                              timeout=10).json()["by_type"]
        return counts.get("jurisdiction.updated", 0) >= 1 and counts.get(
            "agency.updated", 0) >= len(agencies)
    wait_until(learnt, 60, "evaluation to learn the jurisdiction")
