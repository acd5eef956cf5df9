"""Cases: opened from a need in the intake queue (or for a resident met in the field), goals
on the goal-attainment scale, assessments, notes and referrals, closing with an outcome per
goal. Opening, goals and closing publish their events."""

import sqlalchemy as sa

from shared import clock
from shared.errors import ApiError
from shared.i18n import bilingual

from .evidence import check_residents, publish
from .models import Case, CaseGoal, CaseNote, QueuedNeed, db
from .access import require_served

NEEDS_RESIDENT = bilingual("An anonymous need needs resident_ref to open a case",
                           "匿名需求开案时须指明居民编号")
EVERY_GOAL = bilingual("Give an attainment for every goal of the case, and only those",
                       "须为本个案的每个目标（且仅限这些目标）给出达成度")
CLOSED = bilingual("The case is closed", "个案已结案")


def open_case(data: dict, claims) -> Case:
    need = None
    if data.get("need_id"):
        need = db.session.get(QueuedNeed, data["need_id"])
        if need is None:
            raise ApiError(404, f"Need {data['need_id']} is not in the intake queue",
                           "该需求不在受理队列中")
        require_served(claims, need.community_id, clock.today())
        if need.status != "awaiting":
            raise ApiError(409, f"Need {need.need_id} is already {need.status}",
                           f"该需求当前状态为 {need.status}，不能再开案")
        need.status = "opened"
    community_id = need.community_id if need else data["community_id"]
    opened_on = data.get("opened_on") or clock.today()
    require_served(claims, community_id, opened_on)
    resident_ref = data.get("resident_ref") or (need.resident_ref if need else None)
    if not resident_ref:
        raise ApiError(422, NEEDS_RESIDENT, fields={"resident_ref": [NEEDS_RESIDENT]})
    check_residents(community_id, [resident_ref], "resident_ref")
    case = Case(agency_id=claims.agency_id, community_id=community_id,
                resident_ref=resident_ref, need_id=need.need_id if need else None,
                worker_id=claims.sub, opened_on=opened_on)
    return publish(case, "case.opened", lambda c: {
        "case_id": c.id, "agency_id": c.agency_id, "community_id": c.community_id,
        "resident_ref": c.resident_ref, "need_id": c.need_id, "worker_id": c.worker_id,
        "opened_on": c.opened_on.isoformat()})


def _open(case: Case) -> Case:
    if case.status != "open":
        raise ApiError(409, f"Case {case.id} is closed", CLOSED)
    return case


def set_goal(case: Case, data: dict) -> CaseGoal:
    _open(case)
    goal = CaseGoal(case_id=case.id, set_on=data.get("set_on") or clock.today(),
                    domain=data["domain"], description=data["description"],
                    baseline=data["baseline"])
    return publish(goal, "case.goal_set", lambda g: {
        "case_id": case.id, "goal_id": g.id, "domain": g.domain, "baseline": g.baseline,
        "set_on": g.set_on.isoformat()})


def add_note(case: Case, data: dict, author: str) -> CaseNote:
    _open(case)
    note = CaseNote(case_id=case.id, kind=data["kind"], text=data["text"],
                    referred_to=data.get("referred_to"), author=author)
    db.session.add(note)
    return note


def goals_of(case: Case) -> list[CaseGoal]:
    return db.session.scalars(sa.select(CaseGoal).where(CaseGoal.case_id == case.id)
                              .order_by(CaseGoal.set_on, CaseGoal.id)).all()


def close_case(case: Case, data: dict) -> Case:
    _open(case)
    goals = {g.id: g for g in goals_of(case)}
    given = {o["goal_id"]: o["attainment"] for o in data["goal_outcomes"]}
    if set(given) != set(goals) or len(given) != len(data["goal_outcomes"]):
        raise ApiError(422, fields={"goal_outcomes": [EVERY_GOAL]})
    for goal_id, attainment in given.items():
        goals[goal_id].attainment = attainment
    case.status, case.outcome = "closed", data["outcome"]
    case.closed_on = data.get("closed_on") or clock.today()
    if case.need_id:
        db.session.get(QueuedNeed, case.need_id).status = "closed"
    return publish(case, "case.closed", lambda c: {
        "case_id": c.id, "agency_id": c.agency_id, "community_id": c.community_id,
        "resident_ref": c.resident_ref, "need_id": c.need_id, "outcome": c.outcome,
        "goal_outcomes": [{"goal_id": g, "attainment": a} for g, a in sorted(given.items())],
        "closed_on": c.closed_on.isoformat()})
