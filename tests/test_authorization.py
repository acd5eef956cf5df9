"""The authorization matrix: every operation each service's /openapi.json lists, for every
role, with a token of the scope the records belong to ("own") and of another ("other"), and
with no token, an expired one, one whose claims are malformed and one issued for another
service. Each role presents the token its holder can have for the service (a worker's at
intake is the name-search token casework gives its sign-in pages); a role that can have none
for a service is a 401 there in every row. The tables below say what each role may do; a role
left out of a row is refused (403). An operation /openapi.json lists without a row here fails
the test, and so does a row for an operation that is gone.

A cell reads: OK, the caller passes the access check (the domain may still say 409 or 422:
the records are shared by every cell, in table order); 403, refused; 404, not found
(a record outside the scope looks like none at all)."""
import io
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest

from shared import auth, clock
from tests.conftest import bearer, sign
from tests.helpers import seed_community
from tests.streams import apply_events, forge, grant

OK, REFUSED, NOT_FOUND, UNAUTHENTICATED = "OK", 403, 404, 401
ANY = (OK, OK)             # whatever the scope (a role without one, or a list of one's own)
MINE = (OK, NOT_FOUND)     # another scope's record is not found
IN_SCOPE = (OK, REFUSED)   # an action in another scope is refused
PUBLIC = "public"          # no token needed: every cell 200
ROLES = auth.ROLES
DENIALS = ("no token", "expired", "malformed claims", "for another service")
# a resident's token is only for the resident doors: a 401 at every operation listed here
DEFAULT_SCOPES = {"resident": ({"community_ids": ["c1"]}, {"community_ids": ["c2"]})}

COMMON = {  # every service has these (shared/)
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): {"ops_admin": ANY},
    ("GET", "/events"): {"service": ANY, "ops_admin": ANY},
    ("GET", "/events/count"): {"service": ANY, "ops_admin": ANY},
    ("GET", "/events/integrity"): {"ops_admin": ANY, "buyer_auditor": ANY},
}
QUERIES = {"/events/count": "?after=0&upto=1", "/residents": "?name=张秀&purpose=matrix",
           "/evidence": "?measure=sessions", "/evidence/export": "?measure=sessions",
           "/survey-change": "?instrument=sociopolitical_control"}

CLERK, AGENCY = ("intake_clerk",), ("social_worker", "agency_admin")

INTAKE = {
    ("POST", "/communities"): {"ops_admin": ANY},
    ("GET", "/communities"): {"intake_clerk": ANY, "ops_admin": ANY},
    ("POST", "/communities/{community_id}/grids"): {"intake_clerk": IN_SCOPE, "ops_admin": ANY},
    ("GET", "/communities/{community_id}/grids"): {"intake_clerk": IN_SCOPE,
                                                   "ops_admin": ANY},
    ("POST", "/buyers"): {"ops_admin": ANY},
    ("GET", "/buyers"): {"ops_admin": ANY},
    ("GET", "/buyers/{buyer_id}"): {"ops_admin": ANY},
    ("PATCH", "/buyers/{buyer_id}"): {"ops_admin": ANY},
    ("POST", "/agencies"): {"ops_admin": ANY},
    ("GET", "/agencies"): {"ops_admin": ANY},
    ("PATCH", "/agencies/{agency_id}"): {"ops_admin": ANY},
    ("POST", "/households"): {"intake_clerk": IN_SCOPE},
    ("POST", "/residents"): {"intake_clerk": IN_SCOPE},
    ("POST", "/residents/import"): {"intake_clerk": IN_SCOPE},
    # a list of one's own: another community's clerk or worker finds none of these
    ("GET", "/residents"): {"intake_clerk": ANY, "social_worker": ANY, "agency_admin": ANY},
    ("GET", "/residents/{ref}"): {"intake_clerk": MINE},
    ("POST", "/residents/{ref}/invitation"): {"intake_clerk": MINE},
    ("PATCH", "/residents/{ref}"): {"intake_clerk": MINE},
    ("GET", "/survey-waves/{wave_id}/contacts"): {"evaluator": MINE},
    ("GET", "/access-log"): {"ops_admin": ANY},
    ("POST", "/needs"): {"intake_clerk": IN_SCOPE},
    ("GET", "/needs"): {"intake_clerk": ANY, "ops_admin": ANY},
    ("GET", "/needs/{need_id}"): {"intake_clerk": MINE, "ops_admin": ANY},
    ("PATCH", "/needs/{need_id}"): {"intake_clerk": MINE},
    ("POST", "/needs/{need_id}/triage"): {"intake_clerk": MINE},
    ("POST", "/needs/{need_id}/withdraw"): {"intake_clerk": MINE},
    ("POST", "/needs/{need_id}/close"): {"intake_clerk": MINE},
    # the resident door: residents' tokens only
    ("POST", "/resident/needs"): {"resident": MINE},  # a resident on the roster there
    ("GET", "/resident/needs"): {"resident": MINE},
}

READERS = {"social_worker": ANY, "agency_admin": ANY, "buyer_auditor": ANY}
RECORD = {"social_worker": MINE, "agency_admin": MINE, "buyer_auditor": MINE}
RECORDS_ACTION = {"social_worker": MINE, "agency_admin": MINE}
WRITE = {"social_worker": IN_SCOPE, "agency_admin": IN_SCOPE}

FILES = "/records/{record_type}/{record_id}/files"
CASEWORK = {
    ("GET", "/workers"): {"social_worker": ANY, "agency_admin": ANY},
    ("POST", "/workers"): {"agency_admin": ANY},  # into its own agency's roster
    ("PATCH", "/workers/{worker_id}"): {"agency_admin": MINE},
    ("GET", "/residents"): {"social_worker": ANY, "agency_admin": ANY},
    ("GET", "/intake-queue"): {"social_worker": ANY, "agency_admin": ANY},
    ("POST", "/cases"): WRITE,
    ("GET", "/cases"): READERS,
    ("GET", "/cases/{case_id}"): RECORD,
    ("POST", "/cases/{case_id}/goals"): RECORDS_ACTION,
    ("POST", "/cases/{case_id}/notes"): RECORDS_ACTION,
    ("POST", "/cases/{case_id}/close"): RECORDS_ACTION,
    ("POST", "/sessions"): WRITE,
    ("GET", "/sessions"): READERS,
    ("GET", "/sessions/{session_id}"): RECORD,
    ("GET", "/sessions/{session_id}/sign-in-sheet"): RECORDS_ACTION,
    ("POST", "/activities"): WRITE,
    ("GET", "/activities"): READERS,
    ("POST", "/volunteers"): WRITE,
    ("GET", "/volunteers"): READERS,
    ("POST", "/organizations"): WRITE,
    ("GET", "/organizations"): READERS,
    ("PATCH", "/organizations/{organization_id}"): RECORDS_ACTION,
    ("POST", "/council/topics"): WRITE,
    ("GET", "/council/topics"): READERS,
    ("POST", "/council/meetings"): WRITE,
    ("GET", "/council/meetings"): READERS,
    ("POST", "/council/meetings/{meeting_id}/decisions"): RECORDS_ACTION,
    ("GET", "/council/decisions"): READERS,
    ("POST", "/council/decisions/{decision_id}/progress"): RECORDS_ACTION,
    ("GET", "/council/decisions/{decision_id}/progress"): RECORD,
    ("POST", "/corrections"): RECORDS_ACTION,
    ("GET", "/corrections"): READERS,
    ("POST", "/funds"): WRITE,
    ("GET", "/funds"): READERS,
    ("GET", "/funds/{fund_id}"): RECORD,
    ("POST", "/funds/{fund_id}/projects"): RECORDS_ACTION,
    ("GET", "/funds/{fund_id}/projects"): RECORD,
    ("POST", "/funds/{fund_id}/projects/{project_id}/supports"): RECORDS_ACTION,
    ("POST", "/funds/{fund_id}/phase"): RECORDS_ACTION,
    ("POST", "/funds/{fund_id}/projects/{project_id}/review"): RECORDS_ACTION,
    ("POST", "/funds/{fund_id}/objections"): RECORDS_ACTION,
    ("GET", "/funds/{fund_id}/objections"): RECORD,
    ("POST", "/funds/{fund_id}/ballots"): RECORDS_ACTION,
    ("GET", "/funds/{fund_id}/ballots"): {"social_worker": MINE, "agency_admin": MINE},
    ("GET", "/funds/{fund_id}/results"): RECORD,
    ("POST", "/funds/{fund_id}/projects/{project_id}/delivery"): RECORDS_ACTION,
    ("POST", FILES): RECORDS_ACTION,
    ("GET", FILES): RECORD,
    ("GET", FILES + "/{digest}"): RECORD,
    ("GET", FILES + "/{digest}/thumbnail"): RECORD,
    ("POST", FILES + "/{digest}/hide"): RECORDS_ACTION,  # after the reads: it hides the file
    ("GET", "/records/{record_type}/{record_id}/sign-in"): {
        "social_worker": MINE, "agency_admin": MINE},
    ("POST", "/records/{record_type}/{record_id}/sign-in"): RECORDS_ACTION,
    # the resident door: residents' tokens only (every other role's is a 401 there)
    ("POST", "/resident/sign-ins"): {"resident": IN_SCOPE},  # the record's community only
    ("GET", "/resident/funds"): {"resident": ANY},
    ("GET", "/resident/funds/{fund_id}"): {"resident": MINE},
    ("POST", "/resident/funds/{fund_id}/projects"): {"resident": MINE},
    ("POST", "/resident/funds/{fund_id}/projects/{project_id}/supports"): {"resident": MINE},
    ("POST", "/resident/funds/{fund_id}/ballot"): {"resident": MINE},
    ("POST", "/resident/council/topics"): {"resident": ANY},
    ("GET", "/resident/council/topics"): {"resident": ANY},
    ("GET", "/resident/council/topics/open"): {"resident": ANY},
    ("POST", "/resident/council/topics/{topic_id}/support"): {"resident": MINE},
    ("GET", "/resident/participation"): {"resident": ANY},
    ("GET", "/resident/results"): {"resident": ANY},
}
RESIDENT_DOOR = "/resident/"

CONTRACT_READERS = {"buyer_auditor": MINE, "agency_admin": MINE, "social_worker": MINE,
                    "evaluator": MINE, "ops_admin": ANY}
SURVEY_READERS = {**CONTRACT_READERS, "evaluator": MINE}
COMMISSIONING = {"evaluator": MINE, "buyer_auditor": MINE}
BUYER = {"buyer_auditor": MINE}
LISTS = {"buyer_auditor": ANY, "agency_admin": ANY, "social_worker": ANY, "evaluator": ANY,
         "ops_admin": ANY}
K = "/contracts/{contract_id}"
REVIEW = K + "/milestones/{milestone_id}/review"

EVALUATION = {
    ("GET", "/templates/default"): LISTS,
    ("POST", "/contracts"): {"buyer_auditor": IN_SCOPE},  # only where it governs
    ("GET", "/contracts"): LISTS,
    ("GET", K): CONTRACT_READERS,
    ("PATCH", K): BUYER,
    ("GET", K + "/versions"): CONTRACT_READERS,
    ("GET", K + "/scorecard"): CONTRACT_READERS,
    ("GET", K + "/scorecard/export"): CONTRACT_READERS,
    ("GET", K + "/trends"): CONTRACT_READERS,
    ("GET", "/portfolio"): LISTS,  # a list of one's own contracts, as GET /contracts
    ("GET", K + "/evidence"): CONTRACT_READERS,
    ("GET", K + "/evidence/export"): CONTRACT_READERS,
    ("GET", K + "/events/{event_id}"): CONTRACT_READERS,
    ("GET", K + "/anomalies"): CONTRACT_READERS,
    ("POST", K + "/verifications"): BUYER,
    ("GET", K + "/verifications"): CONTRACT_READERS,
    ("GET", K + "/verifications/{sample_id}"): CONTRACT_READERS,
    ("POST", K + "/verifications/{sample_id}/items/{position}"): BUYER,
    ("POST", K + "/milestones/{milestone_id}/close"): BUYER,
    ("GET", K + "/milestones/{milestone_id}"): CONTRACT_READERS,
    ("GET", "/event-counts"): {"buyer_auditor": ANY, "ops_admin": ANY},
    ("GET", "/instruments"): {**LISTS, "evaluator": ANY},
    ("GET", "/instruments/{key}/{version}"): {**LISTS, "evaluator": ANY},
    ("POST", K + "/waves"): COMMISSIONING,
    ("GET", K + "/waves"): SURVEY_READERS,
    ("GET", K + "/waves/{wave_id}"): SURVEY_READERS,
    ("POST", K + "/waves/{wave_id}/sample"): {"evaluator": MINE},
    ("GET", K + "/waves/{wave_id}/sample"): COMMISSIONING,
    ("POST", K + "/waves/{wave_id}/responses"): {"evaluator": MINE},
    ("POST", K + "/waves/{wave_id}/close"): COMMISSIONING,
    ("GET", K + "/waves/{wave_id}/scores"): COMMISSIONING,
    ("GET", K + "/survey-change"): SURVEY_READERS,
    ("GET", "/templates/sheet"): {**LISTS, "evaluator": ANY},
    ("POST", K + "/sheet"): BUYER,
    ("GET", K + "/sheet"): SURVEY_READERS,
    ("GET", K + "/sheet/versions"): SURVEY_READERS,
    ("GET", REVIEW): SURVEY_READERS,
    ("POST", REVIEW + "/items/{item_key}/self-assessment"): {"agency_admin": MINE},
    ("POST", REVIEW + "/items/{item_key}/score"): {"evaluator": MINE},
    ("POST", REVIEW + "/items/{item_key}/answer"): {"agency_admin": MINE},
    ("POST", REVIEW + "/decision"): BUYER,
    ("GET", K + "/milestones/{milestone_id}/report"): SURVEY_READERS,
    ("GET", K + "/milestones/{milestone_id}/report/pdf"): SURVEY_READERS,
    ("POST", K + "/ledger/budget"): BUYER,
    ("GET", K + "/ledger"): SURVEY_READERS,
    ("POST", K + "/ledger/receipts"): {"agency_admin": MINE},
    ("POST", K + "/ledger/expenses"): {"agency_admin": MINE},
    ("GET", K + "/ledger/receipts/{digest}"): SURVEY_READERS,
    ("GET", K + "/ledger/receipts/{digest}/thumbnail"): SURVEY_READERS,
}


# -- the records each matrix runs against, and what each request sends ---------------------

def receipt_png() -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 10)).save(out, "PNG")
    return out.getvalue()


def csv_roster() -> dict:
    sheet = "姓名,性别,网格\n矩阵测试,女,c1-g1\n".encode()
    return {"data": {"community_id": "c1", "file": (io.BytesIO(sheet), "roster.csv")}}


def intake_world(backend):
    app = backend.app("intake")
    for community in ("c1", "c2"):
        seed_community(app, community)
    client = app.test_client()
    clerk = bearer(backend.token("intake_clerk", community_ids=["c1"]))
    ops = bearer(backend.token("ops_admin"))
    ref = client.post("/residents", headers=clerk, json={
        "community_id": "c1", "grid_id": "c1-g1", "name": "张秀英", "gender": "female"}).json["ref"]
    need = client.post("/needs", headers=clerk, json={
        "community_id": "c1", "category": "health", "urgency": "routine",
        "channel": "walk_in", "description": "矩阵"}).json["id"]
    assert client.post("/buyers", headers=ops, json={
        "id": "b1", "name": "街道", "kind": "street_office",
        "community_ids": ["c1"]}).status_code == 201
    assert client.post("/agencies", headers=ops, json={"id": "a1", "name": "机构"}).status_code == 201
    today = clock.today()
    apply_events(app, forge("contract.awarded", {
        "contract_id": "k1", "buyer_id": "b1", "agency_id": "a1", "community_ids": ["c1"],
        "period_start": str(today - timedelta(days=30)),
        "period_end": str(today + timedelta(days=300)), "budget": "1.00"}, 1,
        source="/evaluation"), forge("survey.sample_drawn", {
            "contract_id": "k1", "wave_id": "w1", "seed": 1, "resident_refs": [ref],
            "release_until": str(today + timedelta(days=10))}, 2, source="/evaluation"))
    params = {"community_id": "c1", "ref": ref, "need_id": need, "wave_id": "w1",
              "buyer_id": "b1", "agency_id": "a1"}
    bodies = {
        ("POST", "/communities"): {"id": "c-new", "name": "新社区"},
        ("POST", "/communities/{community_id}/grids"): {"id": "c1-new", "name": "新网格"},
        ("POST", "/buyers"): {"id": "b-new", "name": "新街道", "kind": "street_office",
                              "community_ids": ["c1"]},
        ("PATCH", "/buyers/{buyer_id}"): {"name": "街道办"},
        ("POST", "/agencies"): {"id": "a-new", "name": "新机构"},
        ("PATCH", "/agencies/{agency_id}"): {"name": "机构"},
        ("POST", "/households"): {"community_id": "c1", "grid_id": "c1-g1",
                                  "household_type": "nuclear"},
        ("POST", "/residents"): {"community_id": "c1", "grid_id": "c1-g1", "name": "李四",
                                 "gender": "male"},
        ("POST", "/residents/import"): csv_roster,
        ("PATCH", "/residents/{ref}"): {"flags": ["living_alone"]},
        ("POST", "/needs"): {"community_id": "c1", "category": "health", "urgency": "routine",
                             "channel": "walk_in", "description": "矩阵"},
        ("PATCH", "/needs/{need_id}"): {"description": "更新"},
        ("POST", "/needs/{need_id}/triage"): {"status": "triaged"},
        ("POST", "/needs/{need_id}/withdraw"): {"reason": "duplicate"},
        ("POST", "/needs/{need_id}/close"): {"status": "resolved"},
    }
    scopes = {"intake_clerk": ({"community_ids": ["c1"]}, {"community_ids": ["c2"]}),
              "social_worker": ({"agency_id": "a1", "community_ids": ["c1"]},
                                {"agency_id": "a2", "community_ids": ["c2"]}),
              "agency_admin": ({"agency_id": "a1", "community_ids": ["c1"]},
                               {"agency_id": "a2", "community_ids": ["c2"]}),
              "buyer_auditor": ({"buyer_id": "b1"}, {"buyer_id": "b2"}),
              "evaluator": ({"contract_id": "k1"}, {"contract_id": "k2"}),
              "resident": ({"community_ids": ["c1"], "sub": ref},
                           {"community_ids": ["c2"], "sub": ref})}
    bodies[("POST", "/resident/needs")] = {"category": "health", "description": "矩阵"}
    return SimpleNamespace(app=app, table=INTAKE, params=params, bodies=bodies, scopes=scopes)


def casework_world(backend):
    from tests.test_casework import RESIDENTS, World, session
    w = World(backend)
    def post(path, body):
        return w.post(path, body, w.w1).json
    case = post("/cases", {"need_id": "n1"})["id"]
    sess = post("/sessions", session(date="2026-02-02"))
    org = post("/organizations", {"community_id": "c1", "name": "互助队", "kind": "mutual_aid",
                                  "formed_on": "2026-02-01", "leader_refs": [RESIDENTS[0]],
                                  "member_refs": RESIDENTS[:3]})["id"]
    topic = post("/council/topics", {"community_id": "c1", "title": "议题", "description": "x",
                                     "proposer_kind": "social_worker",
                                     "proposed_on": "2026-02-01"})["id"]
    timed = {"community_id": "c1", "start": "19:00", "end": "20:00", "location": "议事厅",
             "attendee_refs": RESIDENTS[:5]}
    meeting = post("/council/meetings", {**timed, "date": "2026-02-03", "topic_ids": [topic],
                                         "facilitated_by": "agency", "minutes": "讨论"})["id"]
    vote = {"votes_for": 3, "votes_against": 1, "abstentions": 1, "voter_refs": RESIDENTS[:5],
            "outcome": "adopted", "decision_mode": "consulted", "summary": "通过"}
    decision = post(f"/council/meetings/{meeting}/decisions", {"topic_id": topic, **vote})["id"]
    phases = {"proposing": "2026-03-01", "review": "2026-03-15", "notice": "2026-03-20",
              "voting": "2026-03-28", "results": "2026-04-05", "delivery": "2026-04-10"}
    fund = {"community_id": "c1", "year": 2026, "amount": "10000.00",
            "voting_rule": "approval", "phases": phases}
    fund_id = post("/funds", fund)["id"]
    project = {"title": "扶手", "description": "x", "category": "works", "location": "x",
               "estimated_cost": "100.00", "beneficiaries": 3, "proposer_kind": "agency",
               "proposed_on": "2026-03-02"}
    project_id = post(f"/funds/{fund_id}/projects", project)["id"]
    from tests.test_files import photo, upload
    w.session = sess["id"]
    digest = upload(w, photo(), "a.jpg", w.w1).json["digest"]
    params = {"worker_id": "w2", "case_id": case, "session_id": sess["id"],
              "organization_id": org, "meeting_id": meeting, "decision_id": decision,
              "fund_id": fund_id, "project_id": project_id, "topic_id": topic,
              "record_type": "session", "record_id": sess["id"], "digest": digest}
    bodies = {
        ("POST", "/workers"): {"id": "w-new", "name": "新社工"},
        ("PATCH", "/workers/{worker_id}"): {"name": "社工二"},
        ("POST", "/cases"): {"community_id": "c1", "resident_ref": RESIDENTS[1]},
        ("POST", "/cases/{case_id}/goals"): {"domain": "社会支持", "description": "x",
                                             "baseline": -1},
        ("POST", "/cases/{case_id}/notes"): {"kind": "note", "text": "x"},
        ("POST", "/cases/{case_id}/close"): {"outcome": "goals_met", "goal_outcomes": []},
        ("POST", "/sessions"): session(date="2026-02-10"),
        ("POST", "/activities"): {**timed, "date": "2026-02-11", "kind": "training",
                                  "topic": "培训", "led_by": "agency"},
        ("POST", "/volunteers"): {"community_id": "c1", "resident_ref": RESIDENTS[2]},
        ("POST", "/organizations"): {"community_id": "c1", "name": "新队", "kind": "兴趣",
                                     "formed_on": "2026-02-12", "leader_refs": [RESIDENTS[0]],
                                     "member_refs": RESIDENTS[:2]},
        ("PATCH", "/organizations/{organization_id}"): {"status": "active"},
        ("POST", "/council/topics"): {"community_id": "c1", "title": "议题二",
                                      "description": "x", "proposer_kind": "social_worker",
                                      "proposed_on": "2026-02-12"},
        ("POST", "/council/meetings"): {**timed, "date": "2026-02-13", "topic_ids": [topic],
                                        "facilitated_by": "agency", "minutes": "讨论"},
        ("POST", "/council/meetings/{meeting_id}/decisions"): {"topic_id": topic, **vote},
        ("POST", "/council/decisions/{decision_id}/progress"): {"status": "in_progress",
                                                                "progress": 10},
        ("POST", "/corrections"): {"record_type": "session", "record_id": sess["id"],
                                   "reason": "更正", "changes": {"mode": "online"}},
        ("POST", "/funds"): {**fund, "year": 2027, "phases": {
            k: v.replace("2026", "2027") for k, v in phases.items()}},
        ("POST", "/funds/{fund_id}/projects"): project,
        ("POST", "/funds/{fund_id}/projects/{project_id}/supports"): {
            "resident_ref": RESIDENTS[1], "on": "2026-03-05"},
        ("POST", "/funds/{fund_id}/phase"): {"phase": "review", "on": "2026-03-15"},
        ("POST", "/funds/{fund_id}/projects/{project_id}/review"): {
            "feasible": True, "price": "100.00", "on": "2026-03-16"},
        ("POST", "/funds/{fund_id}/objections"): {"text": "异议", "on": "2026-03-21"},
        ("POST", "/funds/{fund_id}/ballots"): {"resident_ref": RESIDENTS[0],
                                               "channel": "online",
                                               "project_ids": [project_id],
                                               "cast_on": "2026-03-29"},
        ("POST", "/funds/{fund_id}/projects/{project_id}/delivery"): {
            "actual_cost": "90.00", "on": "2026-05-01"},
        ("POST", FILES): lambda: {"content_type": "multipart/form-data", "data": {
            "file": (io.BytesIO(photo(colour=(7, 7, 7))), "b.jpg")}},
        ("POST", FILES + "/{digest}/hide"): {"reason": "无关照片"},
        ("POST", "/resident/funds/{fund_id}/projects"): {
            k: v for k, v in project.items() if not k.startswith("propos")},
        ("POST", "/resident/funds/{fund_id}/ballot"): {"project_ids": [project_id]},
        ("POST", "/resident/council/topics"): {"title": "矩阵", "description": "矩阵"},
        ("POST", "/records/{record_type}/{record_id}/sign-in"): {"resident_ref": RESIDENTS[0]},
        ("POST", "/resident/sign-ins"): {"record_type": "session", "record_id": sess["id"],
                                         "code": "0" * 12},
    }
    scopes = {"intake_clerk": ({"community_ids": ["c1"]}, {"community_ids": ["c2"]}),
              "social_worker": ({"agency_id": "a1", "sub": "w1"},
                                {"agency_id": "a2", "sub": "x1"}),
              "agency_admin": ({"agency_id": "a1"}, {"agency_id": "a2"}),
              "buyer_auditor": ({"buyer_id": "b1"}, {"buyer_id": "b2"}),
              "evaluator": ({"contract_id": "k1"}, {"contract_id": "k2"}),
              "resident": ({"community_ids": ["c1"], "sub": RESIDENTS[1]},
                           {"community_ids": ["c2"], "sub": "r-c2-1"})}
    return SimpleNamespace(app=w.app, table=CASEWORK, params=params, bodies=bodies,
                           scopes=scopes)


def evaluation_world(backend):
    app = backend.app("evaluation")
    grant(app, "b1", ("c1",), ("a1",))
    grant(app, "b2", ("c2",), ("a2",))
    client = app.test_client()
    b1 = bearer(backend.token("buyer_auditor", buyer_id="b1"))
    evaluator = bearer(backend.token("evaluator", contract_id="k1"))
    contract = {"id": "k1", "agency_id": "a1", "community_ids": ["c1"], "budget": "1000",
                "period_start": "2026-01-01", "period_end": "2026-12-31",
                "milestones": [{"id": "m1", "due": "2026-06-30", "share": 1.0}]}
    assert client.post("/contracts", headers=b1, json=contract).status_code == 201
    residents = [forge("resident.registered", {
        "resident_ref": f"r{i}", "community_id": "c1", "grid_id": "g1", "household_ref": None,
        "household_type": "nuclear", "age_band": "35-59", "gender": "female", "flags": [],
        "registered_on": "2025-01-01"}, time="2026-01-02T03:00:00Z") for i in range(1, 5)]
    delivered = forge("session.delivered", {
        "session_id": "s1", "agency_id": "a1", "community_id": "c1", "method": "group_work",
        "mode": "in_person", "case_id": None, "worker_ids": ["w1"], "led_by": "agency",
        "leader_refs": [], "attendee_refs": ["r1"], "date": "2026-03-01", "start": "09:00",
        "end": "10:00", "hours": 1.0}, source="/casework", time="2026-03-01T03:00:00Z")
    apply_events(app, *residents, delivered)
    sample = client.post("/contracts/k1/verifications", headers=b1, json={
        "kind": "session", "size": 1}).json["id"]
    assert client.post("/contracts/k1/milestones/m1/close", headers=b1).status_code == 201
    assert client.post("/contracts/k1/waves", headers=evaluator, json={
        "id": "w1", "kind": "baseline", "opens_on": "2026-02-01",
        "closes_on": "2026-03-01"}).status_code == 201
    assert client.post("/contracts/k1/waves/w1/sample", headers=evaluator,
                       json={"size": 2, "seed": 1}).status_code == 201
    drawn = client.get("/contracts/k1/waves/w1/sample", headers=evaluator).json
    receipt = client.post("/contracts/k1/ledger/receipts", content_type="multipart/form-data",
                          headers=bearer(backend.token("agency_admin", agency_id="a1")),
                          data={"file": (io.BytesIO(receipt_png()), "receipt.png")})
    params = {"contract_id": "k1", "event_id": delivered.id, "sample_id": sample,
              "position": 1, "milestone_id": "m1", "key": "sociopolitical_control",
              "version": 1, "wave_id": "w1", "item_key": "project_management",
              "digest": receipt.json["digest"]}
    bodies = {
        ("POST", "/contracts"): {**contract, "id": "k-new"},
        ("PATCH", K): {"reason": "调整预算", "budget": "2000"},
        ("POST", K + "/verifications"): {"kind": "session", "size": 1},
        ("POST", K + "/verifications/{sample_id}/items/{position}"): {"result": "confirmed",
                                                                      "method": "call"},
        ("POST", K + "/waves"): {"id": "w-new", "kind": "follow_up", "opens_on": "2026-06-01",
                                 "closes_on": "2026-07-01"},
        ("POST", K + "/waves/{wave_id}/sample"): {"size": 1},
        ("POST", K + "/sheet"): {},
        ("POST", REVIEW + "/items/{item_key}/self-assessment"): {"points": "10", "note": "自评"},
        ("POST", REVIEW + "/items/{item_key}/score"): {"points": "10", "comment": "评语"},
        ("POST", REVIEW + "/items/{item_key}/answer"): {"text": "申辩"},
        ("POST", REVIEW + "/decision"): {"decision": "hold", "reason": "待核实"},
        ("POST", K + "/ledger/budget"): {"lines": [{"key": "personnel", "label_zh": "人员经费",
                                                   "label_en": "Personnel", "amount": "2000"}]},
        ("POST", K + "/ledger/receipts"): lambda: {
            "content_type": "multipart/form-data",
            "data": {"file": (io.BytesIO(receipt_png()), "receipt.png")}},
        ("POST", K + "/ledger/expenses"): {"spent_on": "2026-02-01", "amount": "10.00",
                                           "line": "personnel", "payee_kind": "staff",
                                           "description": "督导费"},
        ("POST", K + "/waves/{wave_id}/responses"): {
            "resident_ref": drawn[0]["resident_ref"], "instrument": "service_satisfaction",
            "answered_on": "2026-02-10", "answers": {}},
    }
    scopes = {"intake_clerk": ({"community_ids": ["c1"]}, {"community_ids": ["c2"]}),
              "social_worker": ({"agency_id": "a1"}, {"agency_id": "a2"}),
              "agency_admin": ({"agency_id": "a1"}, {"agency_id": "a2"}),
              "buyer_auditor": ({"buyer_id": "b1"}, {"buyer_id": "b2"}),
              "evaluator": ({"contract_id": "k1"}, {"contract_id": "k2"})}
    return SimpleNamespace(app=app, table=EVALUATION, params=params, bodies=bodies,
                           scopes=scopes)


WORLDS = {"intake": intake_world, "casework": casework_world, "evaluation": evaluation_world}


# -- the matrix --------------------------------------------------------------------------------

def denial_token(kind: str, service: str) -> dict:
    """An ops_admin token, signed by the service itself, but wrong in one way."""
    if kind == "no token":
        return {}
    now = int(time.time())
    claims = {"iss": service, "aud": [service], "sub": "matrix", "role": "ops_admin",
              "kind": "session", "iat": now, "exp": now + 600}
    if kind == "expired":
        claims.update(iat=now - 660, exp=now - 60)
    if kind == "malformed claims":  # a signed token whose role is a list
        claims.update(role=["ops_admin"])
    if kind == "for another service":
        claims.update(aud=[s for s in auth.SERVICES if s != service])
    return bearer(sign(claims, service))


def token_at(backend, service: str, role: str, claims: dict,
             door: bool = False) -> dict | None:
    """The token a holder of `role` can present at `service` (or at its resident door), or
    None if it can have none."""
    if door or role == "resident":
        return bearer(backend.token(role, **claims)) if door and role == "resident" else None
    if service in auth.AUDIENCES[role]:
        issuer = service if role in ("ops_admin", "service") else auth.HOME[role]
        return bearer(backend.token(role, issuer=issuer, **claims))
    if role in ("social_worker", "agency_admin") and service == "intake":
        return bearer(backend.token(role, kind="name_search", issuer="casework",
                                    audience=["intake"], **claims))
    return None


def operations(app, service: str) -> set[tuple[str, str]]:
    spec = app.test_client().get("/openapi.json", headers=bearer(auth.mint(
        "ops_admin", "matrix", issuer=service))).json
    return {(method.upper(), path) for path, item in spec["paths"].items()
            for method in item if method in ("get", "post", "patch", "put", "delete")}


def request(world, client, method: str, path: str, headers: dict):
    url = path.format(**world.params) + next(
        (q for suffix, q in QUERIES.items() if path.endswith(suffix)), "")
    body = world.bodies.get((method, path))
    kwargs = body() if callable(body) else ({"json": body} if body is not None else {})
    return client.open(url, method=method, headers=headers, **kwargs)


def passes(expected, status: int) -> bool:
    if expected == OK:
        return status < 400 or status in (409, 422)
    return status == expected


@pytest.mark.parametrize("service", WORLDS)
def test_the_authorization_matrix(backend, service):
    world = WORLDS[service](backend)
    table = {**COMMON, **world.table}
    listed = operations(world.app, service)
    assert listed - set(table) == set(), "operations without a row in the matrix"
    assert set(table) - listed == set(), "rows for operations the service no longer has"
    client, wrong = world.app.test_client(), []
    for (method, path), row in table.items():
        cells = [(kind, None, denial_token(kind, service),
                  200 if row == PUBLIC else UNAUTHENTICATED) for kind in DENIALS]
        for role in ROLES:
            for scope, claims in zip(("own", "other"), world.scopes.get(
                    role, DEFAULT_SCOPES.get(role, ({}, {})))):
                headers = token_at(backend, service, role, claims,
                                   door=path.startswith(RESIDENT_DOOR))
                if row == PUBLIC:
                    expected = 200
                elif headers is None:
                    expected, headers = UNAUTHENTICATED, bearer(backend.token(role, **claims))
                else:
                    expected = row.get(role, (REFUSED, REFUSED))[scope == "other"]
                cells.append((scope, role, headers, expected))
        for scope, role, headers, expected in cells:
            status = request(world, client, method, path, headers).status_code
            if not passes(expected, status):
                wrong.append(f"{method} {path} as {role or '-'} ({scope}): {status}, "
                             f"expected {expected}")
            assert status != 500, f"{method} {path} as {role} ({scope}): 500"
    assert wrong == [], "\n".join(wrong)
