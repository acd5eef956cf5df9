"""The community micro-fund: a hand-built fund for each voting rule taken through its whole
cycle (proposing, supports, review, notice, voting online and on paper, results, delivery),
and what the API refuses on the way."""
from decimal import Decimal

import pytest

from shared import allocation
from tests.test_casework import RESIDENTS, World

R = RESIDENTS  # r-c1-1 … r-c1-8, registered in c1


@pytest.fixture
def world(backend):
    return World(backend)


def phases(year: int) -> dict:
    return {"proposing": f"{year}-03-01", "review": f"{year}-03-15",
            "notice": f"{year}-03-20", "voting": f"{year}-03-28",
            "results": f"{year}-04-05", "delivery": f"{year}-04-10"}


def fund_body(year=2026, **overrides):
    body = {"community_id": "c1", "year": year, "amount": "10000.00", "min_supports": 2,
            "voting_rule": "approval", "notice_days": 7, "phases": phases(year)}
    body.update(overrides)
    return body


class Fund:
    """One fund driven through the API by worker w1."""

    def __init__(self, world, **body):
        self.world, self.year = world, body.get("year", 2026)
        made = world.post("/funds", fund_body(**body), world.w1)
        assert made.status_code == 201, made.json
        self.id, self.path = made.json["id"], f"/funds/{made.json['id']}"

    def post(self, tail, body):
        return self.world.post(self.path + tail, body, self.world.w1)

    def day(self, month_day: str) -> str:
        return f"{self.year}-{month_day}"

    def project(self, title, cost, proposer="resident", ref=None, **extra):
        body = {"title": title, "description": f"{title}：居民提出", "category": "works",
                "location": "3号楼", "estimated_cost": cost, "beneficiaries": 120,
                "proposer_kind": proposer, "proposed_on": self.day("03-02"), **extra}
        if ref:
            body["proposer_ref"] = ref
        made = self.post("/projects", body)
        assert made.status_code == 201, made.json
        return made.json["id"]

    def support(self, project, *residents):
        for resident in residents:
            done = self.post(f"/projects/{project}/supports",
                             {"resident_ref": resident, "on": self.day("03-05")})
            assert done.status_code == 201, done.json

    def to(self, phase, on, **extra):
        return self.post("/phase", {"phase": phase, "on": self.day(on), **extra})

    def feasible(self, project, price):
        done = self.post(f"/projects/{project}/review", {
            "feasible": True, "price": price, "price_explanation": "按市场询价",
            "on": self.day("03-16")})
        assert done.status_code == 200, done.json

    def vote(self, resident, projects, channel="online", meeting=None):
        body = {"resident_ref": resident, "channel": channel, "project_ids": projects,
                "cast_on": self.day("03-29")}
        if meeting:
            body["meeting_id"] = meeting
        return self.post("/ballots", body)


def meeting(world, on: str, attendees) -> str:
    topic = world.post("/council/topics", {
        "community_id": "c1", "title": "微实事", "description": "微实事项目投票与实施",
        "proposer_kind": "residents_committee", "proposed_on": on}, world.w1).json["id"]
    made = world.post("/council/meetings", {
        "community_id": "c1", "date": on, "start": "19:00", "end": "21:00",
        "location": "社区议事厅", "topic_ids": [topic], "facilitated_by": "resident",
        "attendee_refs": list(attendees), "minutes": "微实事"}, world.w1)
    assert made.status_code == 201, made.json
    return made.json["id"]


def approval_story(world):
    """Approval voting on 10,000 yuan: P1 5,000 (4 votes), P3 3,000 and P2 4,000 tie at 3
    (the cheaper P3 first), P2 no longer fits the 2,000 left and is skipped, P6 1,500 (2
    votes) still fits; P4 declined, P5 short of supports; r1 votes online and again on
    paper, r3 on paper and again online: each counted once, the first recorded. P1,
    P4 and P5 are residents' (r1, r2, r3), P3 an organisation's, P2 and P6 the agency's."""
    fund = Fund(world)
    org = world.post("/organizations", {
        "community_id": "c1", "name": "楼道互助队", "kind": "mutual_aid",
        "formed_on": "2026-02-01", "leader_refs": [R[5]], "member_refs": R[5:7]},
        world.w1).json["id"]
    p = {"P1": fund.project("加装扶手", "5200.00", ref=R[0]),
         "P2": fund.project("楼道照明", "4000.00", proposer="agency"),
         "P3": fund.project("共享工具屋", "3000.00", proposer="resident_organization",
                            organization_id=org),
         "P4": fund.project("私家车位", "2000.00", ref=R[1]),
         "P5": fund.project("宠物乐园", "2500.00", ref=R[2]),
         "P6": fund.project("读书角", "1500.00", proposer="agency")}
    for name in ("P1", "P2", "P3", "P4", "P6"):
        fund.support(p[name], R[6], R[7])
    fund.support(p["P5"], R[6])
    assert fund.to("review", "03-15").status_code == 200
    fund.feasible(p["P1"], "5000.00")
    for name, price in (("P2", "4000.00"), ("P3", "3000.00"), ("P6", "1500.00")):
        fund.feasible(p[name], price)
    declined = fund.post(f"/projects/{p['P4']}/review", {
        "feasible": False, "reason": "占用公共空间，不符合资金用途", "on": fund.day("03-16")})
    assert declined.status_code == 200 and declined.json["status"] == "declined"
    assert fund.to("notice", "03-20").status_code == 200
    assert fund.post("/objections", {"project_id": p["P2"], "text": "照明已由物业负责",
                                     "on": fund.day("03-21")}).status_code == 201
    assert fund.to("voting", "03-28").status_code == 200
    paper = meeting(world, "2026-03-29", [R[0], R[2], R[3]])
    assert fund.vote(R[0], [p["P1"], p["P2"], p["P3"]]).status_code == 201
    assert fund.vote(R[1], [p["P1"], p["P3"], p["P6"]]).status_code == 201
    assert fund.vote(R[2], [p["P1"], p["P2"]], "paper", paper).status_code == 201
    assert fund.vote(R[3], [p["P1"], p["P2"], p["P3"], p["P6"]], "paper",
                     paper).status_code == 201
    twice = fund.vote(R[0], [p["P6"]], "paper", paper)
    assert twice.status_code == 409 and twice.json["error"]["code"] == "already_voted"
    assert twice.json["error"]["channel"] == "online"
    assert fund.vote(R[2], [p["P6"]]).json["error"]["channel"] == "paper"
    assert fund.to("results", "04-05").status_code == 200
    return fund, p


def test_approval_fund_allocates_in_vote_order_skipping_what_no_longer_fits(world):
    fund, p = approval_story(world)
    results = world.get(fund.path + "/results", world.buyer).json
    order = [(o["project_id"], o["votes"], o["funded"], o["reason"]) for o in results["outcomes"]]
    assert order == [(p["P1"], 4, True, "funded"), (p["P3"], 3, True, "funded"),
                     (p["P2"], 3, False, "does_not_fit"), (p["P6"], 2, True, "funded")]
    assert (results["voters"], results["voters_online"], results["voters_paper"]) == (4, 2, 2)
    assert results["totals"]["allocated"] == "9500.00"
    assert [d["status"] for d in results["declined"]] == ["declined", "unsupported"]
    assert "resident_ref" not in str(results) and R[0] not in str(results)  # 公示: no one named
    published = world.events("fund.results_published")[0].data
    assert published["allocated"] == "9500.00" and published["voters_paper"] == 2
    assert [o["project_id"] for o in published["outcomes"]] == [o[0] for o in order]
    statuses = {x["id"]: x["status"] for x in world.get(fund.path + "/projects", world.w1).json}
    assert [statuses[p[n]] for n in sorted(p)] == [
        "funded", "unfunded", "funded", "declined", "unsupported", "funded"]
    assert len(world.events("fund.ballot_cast")) == 4


def delivered_story(world):
    """The approval story carried on: its funded projects taken up by the council on 10
    April; P1 (r1 leading) cost 5,200 and is done, P3 cost 2,800 and is under way."""
    fund, p = approval_story(world)
    early = meeting(world, "2026-04-01", R[:3])
    assert fund.to("delivery", "04-10", meeting_id=early).status_code == 422
    takes_up = meeting(world, "2026-04-10", R[:5])
    assert fund.to("delivery", "04-10", meeting_id=takes_up).status_code == 200
    projects = {x["id"]: x for x in world.get(fund.path + "/projects", world.w1).json}
    for name, cost in (("P1", "5200.00"), ("P3", "2800.00")):
        done = fund.post(f"/projects/{p[name]}/delivery", {
            "actual_cost": cost, "leader_refs": [R[0]], "on": fund.day("06-01")})
        assert done.status_code == 200, done.json
    assert world.post(f"/council/decisions/{projects[p['P1']]['decision_id']}/progress", {
        "status": "done", "progress": 100, "on": "2026-06-01"}, world.w1).status_code == 201
    return fund, p, projects


def test_funded_projects_become_council_decisions_carried_out(world):
    fund, p, projects = delivered_story(world)
    decision = projects[p["P1"]]["decision_id"]
    assert decision and projects[p["P2"]]["decision_id"] is None
    made = {e.data["decision_id"]: e.data for e in world.events("council.decision_made")}
    assert made[decision]["votes_for"] == 4 and made[decision]["outcome"] == "adopted"
    topics = [e.data for e in world.events("council.topic_proposed")][-3:]
    kinds = [t["proposer_kind"] for t in topics]
    assert kinds == ["resident", "resident_organization", "social_worker"]
    assert fund.post(f"/projects/{p['P2']}/delivery", {
        "actual_cost": "100.00", "on": fund.day("05-01")}).status_code == 409
    totals = world.get(fund.path, world.buyer).json["totals"]
    assert totals == {"amount": "10000.00", "allocated": "9500.00", "spent": "8000.00",
                      "remaining": "2000.00"}
    delivered = world.events("fund.project_delivered")[0].data
    assert delivered["decision_id"] == decision and delivered["leader_refs"] == [R[0]]


def test_knapsack_ballots_stay_within_the_fund_and_a_tie_goes_to_the_cheaper(world):
    fund = Fund(world, year=2025, amount="6000.00", voting_rule="knapsack", min_supports=0)
    q = [fund.project(title, cost, proposer="agency") for title, cost in (
        ("健身器材", "4000.00"), ("垃圾分类亭", "3000.00"), ("议事角", "2000.00"))]
    assert fund.to("review", "03-15").status_code == 200
    for project, price in zip(q, ("4000.00", "3000.00", "2000.00")):
        fund.feasible(project, price)
    assert fund.to("notice", "03-20").status_code == 200
    assert fund.to("voting", "03-28").status_code == 200
    over = fund.vote(R[0], [q[0], q[1]])
    assert over.status_code == 422 and "project_ids" in over.json["error"]["fields"]
    paper = meeting(world, "2025-03-29", [R[3]])
    for resident, chosen in ((R[0], [q[0], q[2]]), (R[1], [q[1], q[2]]), (R[2], [q[0]]),
                             (R[3], [q[1]])):
        assert fund.vote(resident, chosen).status_code == 201
    assert fund.vote(R[3], [q[0]], "paper", paper).status_code == 409
    assert fund.to("results", "04-05").status_code == 200
    outcomes = world.get(fund.path + "/results", world.w1).json["outcomes"]
    assert [(o["project_id"], o["votes"], o["funded"]) for o in outcomes] == [
        (q[2], 2, True), (q[1], 2, True), (q[0], 2, False)]


def test_every_action_belongs_to_its_phase(world):
    fund = Fund(world)
    project = fund.project("加装扶手", "5000.00", ref=R[0])
    wrong = fund.post(f"/projects/{project}/review",
                      {"feasible": True, "price": "10.00", "on": fund.day("03-16")})
    assert wrong.status_code == 409 and wrong.json["error"]["code"] == "wrong_phase"
    assert fund.vote(R[0], [project]).status_code == 409
    assert fund.to("voting", "03-28").json["error"]["code"] == "phase_order"
    assert fund.to("review", "03-14").json["error"]["code"] == "phase_not_due"
    fund.support(project, R[1], R[2])
    again = fund.post(f"/projects/{project}/supports", {"resident_ref": R[1],
                                                        "on": fund.day("03-05")})
    assert again.status_code == 409
    assert fund.to("review", "03-15").status_code == 200
    assert fund.to("notice", "03-20").json["error"]["code"] == "review_unfinished"
    assert fund.post("/projects", {}).status_code == 422  # validation before the phase


@pytest.mark.parametrize("change, field", [
    ({"amount": "0"}, "amount"), ({"amount": "-5"}, "amount"),
    ({"amount": "100000000.01"}, "amount"), ({"amount": "12.345"}, "amount"),
    ({"amount": "NaN"}, "amount"), ({"amount": "1e999999"}, "amount"),
    ({"voting_rule": "ranked"}, "voting_rule"), ({"proposers": ["mayor"]}, "proposers"),
    ({"year": 2025, "phases": phases(2026)}, "year"), ({"notice_days": 0}, "notice_days"),
    ({"phases": {**phases(2026), "review": "2026-02-01"}}, "phases"),
    ({"phases": {**phases(2026), "voting": "2026-03-22"}}, "phases"),
    ({"phases": {"proposing": "2026-03-01"}}, "phases"),
])
def test_a_bad_fund_is_refused_with_the_field(world, change, field):
    response = world.post("/funds", fund_body(**change), world.w1)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]


def test_funds_stay_in_their_scope(world):
    fund = Fund(world)
    assert world.post("/funds", fund_body(), world.w1).status_code == 409  # one a year
    assert world.get(fund.path, world.other).status_code == 404
    assert world.get(fund.path, world.foreign_buyer).status_code == 404
    project = {"title": "x", "description": "x", "category": "goods", "location": "x",
               "estimated_cost": "100.00", "beneficiaries": 3, "proposer_kind": "agency",
               "proposed_on": "2026-03-02"}
    assert world.post(fund.path + "/projects", project, world.buyer).status_code == 403
    assert world.post(fund.path + "/projects", project, world.other).status_code == 404
    assert world.post("/funds", fund_body(community_id="c2", year=2027,
                                          phases=phases(2027)), world.w1).status_code == 403
    assert world.get(fund.path + "/ballots", world.buyer).status_code == 403


def test_proposers_follow_the_rules(world):
    fund = Fund(world, proposers=["resident"])
    base = {"title": "x", "description": "x", "category": "goods", "location": "x",
            "estimated_cost": "100.00", "beneficiaries": 3, "proposed_on": "2026-03-02"}
    for extra, field in (({"proposer_kind": "agency"}, "proposer_kind"),
                         ({"proposer_kind": "resident"}, "proposer_ref"),
                         ({"proposer_kind": "resident", "proposer_ref": "r-c2-1"},
                          "proposer_ref"),
                         ({"proposer_kind": "resident", "proposer_ref": R[0],
                           "estimated_cost": "10000.01"}, "estimated_cost"),
                         ({"proposer_kind": "resident", "proposer_ref": R[0],
                           "proposed_on": "2026-02-28"}, "proposed_on")):
        response = fund.post("/projects", {**base, **extra})
        assert response.status_code == 422 and field in response.json["error"]["fields"], (
            extra, response.json)


def test_the_allocation_rule_on_its_own():
    """The first ballot of each resident counts, in any order and with copies; ties go to
    the cheaper, then the earlier proposal."""
    a, b, c = (allocation.Candidate(name, n, Decimal(cost)) for name, n, cost in (
        ("a", 1, "50"), ("b", 2, "30"), ("c", 3, "30")))
    ballots = [(3, "r1", ["a"]), (1, "r1", ["b"]), (2, "r2", ["c", "b"]), (2, "r2", ["c", "b"])]
    votes = allocation.count_votes(ballots)
    assert votes == {"b": 2, "c": 1}
    assert allocation.count_votes(reversed(ballots)) == votes
    outcomes = allocation.allocate(Decimal("60"), [a, b, c], {"a": 1, "b": 1, "c": 1})
    assert [(o.project_id, o.funded) for o in outcomes] == [
        ("b", True), ("c", True), ("a", False)]


@pytest.mark.parametrize("tail, body", [
    ("/projects", {"title": "x" * 201}), ("/projects", {"estimated_cost": True}),
    ("/projects", {"beneficiaries": "many"}), ("/projects", []),
    ("/phase", {"phase": "closing", "on": "2026-04-01"}), ("/phase", {"phase": "review"}),
    ("/ballots", {"resident_ref": R[0], "channel": "online", "project_ids": "p1",
                  "cast_on": "2026-03-29"}),
    ("/ballots", {"resident_ref": R[0], "channel": "online", "project_ids": [],
                  "cast_on": "2026-03-29"}),
    ("/objections", {"text": "", "on": "2026-03-21"}),
    ("/projects/nope/supports", {"resident_ref": 5, "on": "yesterday"}),
    ("/projects/nope/review", {"feasible": "perhaps", "on": "2026-03-16"}),
    ("/projects/nope/delivery", {"actual_cost": "1e5000", "on": "2026-05-01"}),
])
def test_malformed_input_is_a_422_with_its_field(world, tail, body):
    fund = Fund(world)
    response = fund.post(tail, body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["fields"]


def test_an_unknown_fund_or_project_is_not_found(world):
    fund = Fund(world)
    assert world.get("/funds/nope", world.w1).status_code == 404
    assert fund.post("/projects/nope/supports", {"resident_ref": R[0],
                                                 "on": "2026-03-05"}).status_code == 404
