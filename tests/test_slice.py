"""The thin vertical slice, as real processes (gunicorn APIs, workers, relays) on each backend:
a contract tells casework who serves where; a need reaches casework's queue and evaluation's
counts; a case opened at casework moves the need at intake to in service."""
import requests
import sqlalchemy as sa

from tests.conftest import bearer, remember_pii
from tests.helpers import (need_payload, register_jurisdiction, running_platform, seed_community,
                           wait_until)


def test_need_to_case_round_trip(isolated, tmp_path):
    b = isolated
    buyer = bearer(b.token("buyer_auditor", buyer_id="b1"))
    clerk = bearer(b.token("intake_clerk", community_ids=["c1"]))
    worker = bearer(b.token("social_worker", agency_id="a1", sub="w1"))
    ops = bearer(b.token("ops_admin"))
    seed_community(b.app("intake"), "c1")
    # checks far apart, so that what is asserted below, the broker carrying every event, does
    # not hang on the machine's load: a check two seconds on may backfill what a busy relay
    # has not yet published (backfill is tested as the repair path in test_faults)
    with running_platform(b, tmp_path, env={"SOCIALWORK_SYNC_INTERVAL": "30"}) as p:
        intake, casework, evaluation = (p.url(s) for s in ("intake", "casework", "evaluation"))
        register_jurisdiction(intake, evaluation, ops)
        contract = requests.post(evaluation + "/contracts", headers=buyer, json={
            "id": "k1", "agency_id": "a1", "community_ids": ["c1"], "budget": "300000",
            "period_start": "2020-01-01", "period_end": "2099-12-31"})
        assert contract.status_code == 201, contract.text
        admin = bearer(b.token("agency_admin", agency_id="a1"))  # w1 on a1's roster first
        assert requests.post(casework + "/workers", json={"id": "w1", "name": "李社工"},
                             headers=admin).status_code == 201
        remember_pii("黄桂兰")
        resident = requests.post(intake + "/residents", headers=clerk, json={
            "community_id": "c1", "grid_id": "c1-g1", "name": "黄桂兰", "gender": "female",
            "birth_date": "1946-02-02", "flags": ["living_alone"]}).json()
        need = requests.post(intake + "/needs", headers=clerk, json=need_payload(
            "c1", resident_ref=resident["ref"])).json()
        assert need["grid_id"] == "c1-g1"

        def queued():
            queue = requests.get(casework + "/intake-queue", headers=worker).json()
            return [n for n in queue if n["need_id"] == need["id"]]
        assert wait_until(queued, 60, "the need in casework's intake queue")[0]["category"] == \
            "elderly_care"

        case = requests.post(casework + "/cases", json={"need_id": need["id"]}, headers=worker)
        assert case.status_code == 201, case.text
        again = requests.post(casework + "/cases", json={"need_id": need["id"]}, headers=worker)
        assert again.status_code == 409

        def in_service():
            current = requests.get(f"{intake}/needs/{need['id']}", headers=clerk).json()
            return current if current["status"] == "in_service" else None
        current = wait_until(in_service, 60, "the need to follow its case")
        assert current["case_id"] == case.json()["id"]
        assert [h["status"] for h in current["history"]] == ["reported", "in_service"]

        expected = {"resident.registered": 1, "need.reported": 1, "case.opened": 1,
                    "jurisdiction.updated": 1, "agency.updated": 1}

        def counted():  # the two sources' events reach evaluation in either order
            counts = requests.get(evaluation + "/event-counts", headers=ops).json()["by_type"]
            return counts == expected
        wait_until(counted, 60, "evaluation's counts")
        # another agency sees nothing of this queue and cannot open cases from it
        other = bearer(b.token("agency_admin", agency_id="a2"))
        assert requests.get(casework + "/intake-queue", headers=other).json() == []
        stranger = requests.post(casework + "/cases", json={"need_id": need["id"]},
                                 headers=other)
        assert stranger.status_code == 403
        # a buyer sees the counts of its own contracts' communities only
        foreign = bearer(b.token("buyer_auditor", buyer_id="b2"))
        assert requests.get(evaluation + "/event-counts", headers=foreign).json()["total"] == 0
        # the broker carried them: backfill is the repair path, not the normal one
        evaluation_app = b.app("evaluation")
        store = evaluation_app.extensions["socialwork"].store
        with evaluation_app.app_context():
            assert set(store.session.scalars(sa.select(store.InboxEvent.via))) == {"broker"}
        # workers and relays report health and what they did
        for name in ("intake-relay", "evaluation-worker", "casework-worker"):
            assert requests.get(p.probe_url(name) + "/healthz").json()["status"] == "ok"
        assert requests.get(p.probe_url("evaluation-worker") + "/metrics").status_code == 401
        consumed = requests.get(p.probe_url("evaluation-worker") + "/metrics",
                                headers=ops).text
        assert 'socialwork_events_consumed_total{outcome="applied",service="evaluation",' \
               'via="broker"} 5.0' in consumed
        published = requests.get(p.probe_url("intake-relay") + "/metrics", headers=ops).text
        assert 'socialwork_events_published_total{service="intake"} 4.0' in published
        report = requests.get(evaluation + "/events/integrity", headers=ops).json()
        assert sorted((r["source"], r["head"], r["intact"]) for r in report) == [
            ("/casework", 1, True), ("/intake", 4, True)]
