"""The community micro-fund (民生微实事): a yearly sum per community that residents propose
projects for, the council reviews, the list is posted for objections (公示), residents vote
on, and the funded projects become council decisions carried out under the community's eyes.

The fund moves through its phases in order (FUND_PHASES), each on or after its planned date;
every action belongs to one phase, and outside it is a 409 with the reason. The count and the
allocation are shared/allocation.py's, so that evaluation computes the same results from the
events."""
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from shared import clock
from shared import allocation
from shared.errors import ApiError
from shared.i18n import bilingual
from shared.vocabulary import FUND_PHASES

from .access import require_served
from .council import decision_data, topic_data
from .evidence import check_residents, publish
from .models import (CouncilDecision, CouncilMeeting, CouncilTopic, Fund, FundBallot,
                     FundObjection, FundProject, FundSupport, Organization, db)

PHASE_DATES = {phase: f"{phase}_on" for phase in FUND_PHASES}
TOPIC_PROPOSER = {"resident": "resident", "resident_organization": "resident_organization",
                  "agency": "social_worker"}

NOT_INCREASING = bilingual("Each phase must start after the one before it",
                           "各阶段的开始日期须晚于前一阶段")
NOTICE_TOO_SHORT = bilingual("Voting may start only after the public notice's days",
                             "投票须在公示期满之后开始")
OTHER_YEAR = bilingual("Proposing starts in the fund's year", "征集阶段须在资金所属年度内开始")
NOT_ALLOWED_PROPOSER = bilingual("This fund's rules do not let this kind of proposer propose",
                                 "本资金的规则不允许此类提出人提出项目")
PROPOSER_NEEDED = bilingual("A resident's project names the resident who proposed it",
                            "居民提出的项目须注明提出人")
ORGANIZATION_NEEDED = bilingual("An organisation's project names the organisation",
                                "居民组织提出的项目须注明组织")
UNKNOWN_ORGANIZATION = bilingual("Not a resident organisation of this community",
                                 "不是本社区的居民组织")
NOT_FOR_THIS_PROPOSER = bilingual("Only for the kind of proposer it names",
                                  "只有相应类型的提出人才填写此项")
EXCEEDS_FUND = bilingual("More than the whole fund", "超过了资金总额")
BEFORE_PHASE = bilingual("Dated before the current phase began", "日期早于当前阶段的开始")
IN_FUTURE = bilingual("Cannot be dated in the future", "日期不能晚于今天")
PRICE_NEEDED = bilingual("A feasible project has a reviewed price", "可行的项目须有审定价格")
REASON_NEEDED = bilingual("A declined project has the reason", "不可行的项目须说明理由")
NOT_IN_FUND = bilingual("Projects must be feasible projects of this fund",
                        "所选项目须为本资金中审核可行的项目")
LISTED_TWICE = bilingual("A project is listed twice", "重复选择了同一项目")
OVER_BUDGET = bilingual("The projects chosen cost more than the fund",
                        "所选项目的总价超过了资金总额")
PAPER_AT_MEETING = bilingual("A paper ballot is entered from a council meeting of this "
                             "community", "纸质选票须来自本社区的一次议事会议")
ONLINE_NO_MEETING = bilingual("An online ballot has no meeting", "网上投票不关联会议")
VOTER_ATTENDED = bilingual("The voter must have attended the meeting",
                           "投票人必须出席了该次会议")
MEETING_NEEDED = bilingual("Delivery starts at a council meeting of this community",
                           "项目实施须由本社区的一次议事会议启动")
PHASE_ZH = {"proposing": "项目征集", "review": "审核", "notice": "公示", "voting": "投票",
            "results": "结果", "delivery": "实施"}


# -- the fund and its phases -----------------------------------------------------------------

def check_rules(data: dict) -> None:
    phases = data["phases"]
    dates = [phases[p] for p in FUND_PHASES]
    problems = {}
    for phase, before, after in zip(FUND_PHASES[1:], dates, dates[1:]):
        if after <= before:
            problems.setdefault("phases", {})[phase] = [NOT_INCREASING]
    if not problems and (phases["voting"] - phases["notice"]).days < data["notice_days"]:
        problems["phases"] = {"voting": [NOTICE_TOO_SHORT]}
    if phases["proposing"].year != data["year"]:
        problems["year"] = [OTHER_YEAR]
    if problems:
        raise ApiError(422, fields=problems)


def set_fund(data: dict, claims) -> Fund:
    require_served(claims, data["community_id"], data["phases"]["proposing"])
    check_rules(data)
    if db.session.scalar(sa.select(Fund.id).where(Fund.community_id == data["community_id"],
                                                  Fund.year == data["year"])):
        raise ApiError(409, f"{data['community_id']} already has a fund for {data['year']}",
                       "该社区本年度已设立微实事资金", code="fund_exists")
    phases = data.pop("phases")
    fund = Fund(agency_id=claims.agency_id, set_by=claims.sub, phase="proposing",
                phase_on=phases["proposing"], **data,
                **{PHASE_DATES[p]: day for p, day in phases.items()})
    return publish(fund, "fund.set", lambda f: {
        "fund_id": f.id, "agency_id": f.agency_id, "community_id": f.community_id,
        "year": f.year, "amount": money(f.amount), "proposers": f.proposers,
        "min_supports": f.min_supports, "voting_rule": f.voting_rule,
        "notice_days": f.notice_days,
        "phases": {p: getattr(f, PHASE_DATES[p]).isoformat() for p in FUND_PHASES}})


def money(value) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def require_phase(fund: Fund, phase: str) -> None:
    if fund.phase != phase:
        raise ApiError(409, f"The fund is in its {fund.phase} phase, not {phase}",
                       f"资金当前处于{PHASE_ZH[fund.phase]}阶段，此操作属于{PHASE_ZH[phase]}阶段",
                       code="wrong_phase", phase=fund.phase)


def check_day(fund: Fund, on: date, field: str = "on") -> None:
    if on < fund.phase_on:
        raise ApiError(422, fields={field: [BEFORE_PHASE]})
    if on > clock.today():
        raise ApiError(422, fields={field: [IN_FUTURE]})


def advance(fund: Fund, data: dict, claims) -> Fund:
    """To the next phase, on or after its planned date; what the move does is the phase's."""
    now = fund.phase
    following = FUND_PHASES[FUND_PHASES.index(now) + 1] if now != FUND_PHASES[-1] else None
    if data["phase"] != following:
        raise ApiError(409, f"From {now} the fund moves to {following or 'no other phase'}",
                       "资金须按阶段顺序推进", code="phase_order", phase=now)
    planned = getattr(fund, PHASE_DATES[following])
    if data["on"] < planned:
        raise ApiError(409, f"The {following} phase is planned from {planned}",
                       f"该阶段计划于 {planned} 开始", code="phase_not_due")
    if data["on"] > clock.today():
        raise ApiError(422, fields={"on": [IN_FUTURE]})
    ENTERING[following](fund, data, claims)
    fund.phase, fund.phase_on = following, data["on"]
    decisions = [{"project_id": p.id, "decision_id": p.decision_id}
                 for p in projects_of(fund, "funded") if following == "delivery"]
    return publish(fund, "fund.phase_changed", lambda f: {
        "fund_id": f.id, "community_id": f.community_id, "phase": f.phase,
        "on": f.phase_on.isoformat(), "decisions": decisions})


def projects_of(fund: Fund, *statuses: str) -> list[FundProject]:
    query = sa.select(FundProject).where(FundProject.fund_id == fund.id)
    if statuses:
        query = query.where(FundProject.status.in_(statuses))
    return db.session.scalars(query.order_by(FundProject.number)).all()


def _enter_review(fund: Fund, data: dict, claims) -> None:
    """Projects short of the minimum of supports do not reach review."""
    for project in projects_of(fund, "proposed"):
        if project.supports < fund.min_supports:
            project.status, project.reviewed_on = "unsupported", data["on"]
            reviewed_event(project)


def _enter_notice(fund: Fund, data: dict, claims) -> None:
    waiting = [p.number for p in projects_of(fund, "proposed")]
    if waiting:
        raise ApiError(409, f"Projects still to review: {waiting}",
                       "仍有项目尚未审核", code="review_unfinished", projects=waiting)


def _enter_voting(fund: Fund, data: dict, claims) -> None:
    """Nothing to do: the planned date already lies the notice's days after it began."""


def _enter_results(fund: Fund, data: dict, claims) -> None:
    outcomes = results_of(fund)
    by_id = {o.project_id: o for o in outcomes}
    for project in projects_of(fund, "feasible"):
        outcome = by_id[project.id]
        project.votes = outcome.votes
        project.status = "funded" if outcome.funded else "unfunded"
    turnout = turnout_of(fund)
    publish(fund, "fund.results_published", lambda f: {
        "fund_id": f.id, "community_id": f.community_id, "on": data["on"].isoformat(),
        "amount": money(f.amount),
        "allocated": money(sum((o.cost for o in outcomes if o.funded), Decimal(0))),
        "voters_online": turnout["online"], "voters_paper": turnout["paper"],
        "outcomes": [{"project_id": o.project_id, "votes": o.votes, "cost": money(o.cost),
                      "funded": o.funded, "rank": o.rank, "reason": o.reason}
                     for o in outcomes]})


def _enter_delivery(fund: Fund, data: dict, claims) -> None:
    """Each funded project becomes a council topic decided (adopted, delegated to the
    residents' vote) at the meeting that takes up the results; its follow-through is the
    council's progress."""
    meeting = db.session.get(CouncilMeeting, data.get("meeting_id") or "")
    if meeting is None or meeting.community_id != fund.community_id or \
            meeting.agency_id != fund.agency_id or meeting.date < fund.results_on:
        raise ApiError(422, fields={"meeting_id": [MEETING_NEEDED]})
    fund.meeting_id = meeting.id
    for project in projects_of(fund, "funded"):
        topic = publish(CouncilTopic(
            agency_id=fund.agency_id, community_id=fund.community_id, title=project.title,
            description=project.description, proposer_kind=TOPIC_PROPOSER[project.proposer_kind],
            proposer_ref=project.proposer_ref, need_ids=[], channel="council_meeting",
            proposed_on=project.proposed_on, status="decided"), "council.topic_proposed",
            topic_data)
        decision = publish(CouncilDecision(
            agency_id=fund.agency_id, community_id=fund.community_id, topic_id=topic.id,
            meeting_id=meeting.id, votes_for=project.votes, votes_against=0, abstentions=0,
            voter_refs=[], outcome="adopted", decision_mode="delegated",
            decided_on=data["on"], summary=f"微实事项目 #{project.number}"),
            "council.decision_made", decision_data)
        project.decision_id = decision.id


ENTERING = {"review": _enter_review, "notice": _enter_notice, "voting": _enter_voting,
            "results": _enter_results, "delivery": _enter_delivery}


# -- projects, supports, review, notice -------------------------------------------------------

def check_proposer(fund: Fund, data: dict) -> None:
    kind = data["proposer_kind"]
    if kind not in fund.proposers:
        raise ApiError(422, fields={"proposer_kind": [NOT_ALLOWED_PROPOSER]})
    for field, needed_by, missing in (("proposer_ref", "resident", PROPOSER_NEEDED),
                                      ("organization_id", "resident_organization",
                                       ORGANIZATION_NEEDED)):
        if kind == needed_by and not data.get(field):
            raise ApiError(422, fields={field: [missing]})
        if kind != needed_by and data.get(field):
            raise ApiError(422, fields={field: [NOT_FOR_THIS_PROPOSER]})
    if kind == "resident":
        check_residents(fund.community_id, [data["proposer_ref"]], "proposer_ref")
    if kind == "resident_organization":
        organization = db.session.get(Organization, data["organization_id"])
        if organization is None or organization.community_id != fund.community_id or \
                organization.agency_id != fund.agency_id:
            raise ApiError(422, fields={"organization_id": [UNKNOWN_ORGANIZATION]})


def propose(fund: Fund, data: dict) -> FundProject:
    require_phase(fund, "proposing")
    check_day(fund, data["proposed_on"], "proposed_on")
    check_proposer(fund, data)
    if data["estimated_cost"] > fund.amount:
        raise ApiError(422, fields={"estimated_cost": [EXCEEDS_FUND]})
    number = 1 + (db.session.scalar(sa.select(sa.func.max(FundProject.number)).where(
        FundProject.fund_id == fund.id)) or 0)
    project = FundProject(fund_id=fund.id, number=number, **data)
    return publish(project, "fund.project_proposed", lambda p: {
        "project_id": p.id, "fund_id": fund.id, "community_id": fund.community_id,
        "number": p.number, "category": p.category, "estimated_cost": money(p.estimated_cost),
        "beneficiaries": p.beneficiaries, "proposer_kind": p.proposer_kind,
        "proposer_ref": p.proposer_ref, "organization_id": p.organization_id,
        "proposed_on": p.proposed_on.isoformat()})


def project_of(fund: Fund, project_id: str) -> FundProject:
    project = db.session.get(FundProject, project_id)
    if project is None or project.fund_id != fund.id:
        raise ApiError(404, f"fund_project {project_id} not found", f"未找到项目 {project_id}")
    return project


def support(fund: Fund, project: FundProject, data: dict) -> FundSupport:
    require_phase(fund, "proposing")
    check_day(fund, data["on"])
    check_residents(fund.community_id, [data["resident_ref"]], "resident_ref")
    if db.session.get(FundSupport, (project.id, data["resident_ref"])):
        raise ApiError(409, "This resident already supports this project",
                       "该居民已支持过此项目", code="already_supported")
    project.supports += 1
    return publish(FundSupport(project_id=project.id, **data), "fund.project_supported",
                   lambda s: {"project_id": project.id, "fund_id": fund.id,
                              "community_id": fund.community_id,
                              "resident_ref": s.resident_ref, "on": s.on.isoformat()})


def reviewed_event(project: FundProject) -> None:
    fund = db.session.get(Fund, project.fund_id)
    publish(project, "fund.project_reviewed", lambda p: {
        "project_id": p.id, "fund_id": fund.id, "community_id": fund.community_id,
        "status": p.status, "price": None if p.price is None else money(p.price),
        "on": p.reviewed_on.isoformat()})


def review(fund: Fund, project: FundProject, data: dict) -> FundProject:
    """Consul's feasibility and price: feasible at a reviewed price (with its explanation),
    or declined with the reason."""
    require_phase(fund, "review")
    check_day(fund, data["on"])
    if project.status == "unsupported":
        raise ApiError(409, "The project did not reach the fund's minimum of supports",
                       "该项目未达到进入审核所需的支持人数", code="unsupported")
    if project.status != "proposed":
        raise ApiError(409, "The project is already reviewed", "该项目已审核",
                       code="already_reviewed")
    if data["feasible"]:
        if data.get("price") is None:
            raise ApiError(422, fields={"price": [PRICE_NEEDED]})
        if data["price"] > fund.amount:
            raise ApiError(422, fields={"price": [EXCEEDS_FUND]})
        project.status, project.price = "feasible", data["price"]
        project.price_explanation = data.get("price_explanation")
    else:
        if not data.get("reason"):
            raise ApiError(422, fields={"reason": [REASON_NEEDED]})
        project.status, project.decline_reason = "declined", data["reason"]
    project.reviewed_on = data["on"]
    reviewed_event(project)
    return project


def object_to(fund: Fund, data: dict, author: str) -> FundObjection:
    require_phase(fund, "notice")
    check_day(fund, data["on"])
    if data.get("project_id"):
        project_of(fund, data["project_id"])
    objection = FundObjection(fund_id=fund.id, recorded_by=author, **data)
    return publish(objection, "fund.objection_recorded", lambda o: {
        "objection_id": o.id, "fund_id": fund.id, "community_id": fund.community_id,
        "project_id": o.project_id, "on": o.on.isoformat()})


# -- voting ----------------------------------------------------------------------------------

def check_ballot(fund: Fund, data: dict) -> None:
    chosen = data["project_ids"]
    if len(set(chosen)) != len(chosen):
        raise ApiError(422, fields={"project_ids": [LISTED_TWICE]})
    prices = {p.id: p.price for p in projects_of(fund, "feasible")}
    if not set(chosen) <= set(prices):
        raise ApiError(422, fields={"project_ids": [NOT_IN_FUND]})
    if fund.voting_rule == "knapsack" and sum(prices[p] for p in chosen) > fund.amount:
        raise ApiError(422, fields={"project_ids": [OVER_BUDGET]})
    meeting_id = data.get("meeting_id")
    if data["channel"] == "online":
        if meeting_id:
            raise ApiError(422, fields={"meeting_id": [ONLINE_NO_MEETING]})
        return
    meeting = db.session.get(CouncilMeeting, meeting_id or "")
    if meeting is None or meeting.community_id != fund.community_id or \
            meeting.agency_id != fund.agency_id or meeting.date < fund.phase_on:
        raise ApiError(422, fields={"meeting_id": [PAPER_AT_MEETING]})
    if data["resident_ref"] not in meeting.attendee_refs:
        raise ApiError(422, fields={"resident_ref": [VOTER_ATTENDED]})


def cast(fund: Fund, data: dict, author: str) -> FundBallot:
    """One ballot per resident and fund: the first recorded, online or on paper, is the
    resident's; a second is refused (409 already_voted, naming the first's channel)."""
    require_phase(fund, "voting")
    check_day(fund, data["cast_on"], "cast_on")
    check_residents(fund.community_id, [data["resident_ref"]], "resident_ref")
    check_ballot(fund, data)
    first = db.session.scalar(sa.select(FundBallot).where(
        FundBallot.fund_id == fund.id, FundBallot.resident_ref == data["resident_ref"]))
    if first is not None:
        raise ApiError(409, f"This resident has already voted ({first.channel}, "
                       f"{first.cast_on})", "该居民已投过票，每人每期只计一票",
                       code="already_voted", channel=first.channel)
    ballot = FundBallot(fund_id=fund.id, recorded_by=author, **data)
    return publish(ballot, "fund.ballot_cast", lambda b: {
        "ballot_id": b.id, "fund_id": fund.id, "community_id": fund.community_id,
        "resident_ref": b.resident_ref, "channel": b.channel, "project_ids": b.project_ids,
        "cast_on": b.cast_on.isoformat()})


def ballots_of(fund: Fund) -> list[FundBallot]:
    return db.session.scalars(sa.select(FundBallot).where(FundBallot.fund_id == fund.id)
                              .order_by(FundBallot.cast_on, FundBallot.id)).all()


def turnout_of(fund: Fund) -> dict:
    ballots = ballots_of(fund)
    online = sum(1 for b in ballots if b.channel == "online")
    return {"online": online, "paper": len(ballots) - online, "voters": len(ballots)}


def results_of(fund: Fund) -> list[allocation.Outcome]:
    votes = allocation.count_votes(
        (i, b.resident_ref, b.project_ids) for i, b in enumerate(ballots_of(fund)))
    candidates = [allocation.Candidate(p.id, p.number, Decimal(p.price)) for p in
                  projects_of(fund, "feasible", "funded", "unfunded")]
    return allocation.allocate(Decimal(fund.amount), candidates, votes)


# -- delivery --------------------------------------------------------------------------------

def deliver(fund: Fund, project: FundProject, data: dict) -> FundProject:
    """What a funded project cost and which residents led it; its progress is its council
    decision's (POST /council/decisions/<id>/progress)."""
    require_phase(fund, "delivery")
    check_day(fund, data["on"])
    if project.status != "funded":
        raise ApiError(409, "Only a funded project is delivered", "只有获得资助的项目才能实施",
                       code="not_funded")
    check_residents(fund.community_id, data["leader_refs"], "leader_refs")
    project.actual_cost, project.leader_refs = data["actual_cost"], data["leader_refs"]
    return publish(project, "fund.project_delivered", lambda p: {
        "project_id": p.id, "fund_id": fund.id, "community_id": fund.community_id,
        "decision_id": p.decision_id, "actual_cost": money(p.actual_cost),
        "leader_refs": p.leader_refs, "on": data["on"].isoformat()})


def totals(fund: Fund) -> dict:
    """Allocated (the funded projects' reviewed prices), spent (their actual costs reported)
    and remaining (the fund less what was spent)."""
    funded = projects_of(fund, "funded")
    allocated = sum((p.price for p in funded), Decimal(0))
    spent = sum((p.actual_cost for p in funded if p.actual_cost is not None), Decimal(0))
    return {"amount": money(fund.amount), "allocated": money(allocated), "spent": money(spent),
            "remaining": money(Decimal(fund.amount) - spent)}


def public_results(fund: Fund) -> dict:
    """The results as a community posts them (公示): the count, the allocation, what was
    declined and why, the money; no resident named. Before the results phase, the count so
    far (`final` false)."""
    projects = {p.id: p for p in projects_of(fund)}
    turnout = turnout_of(fund)
    outcomes = [{**o.__dict__, "number": projects[o.project_id].number,
                 "title": projects[o.project_id].title,
                 "category": projects[o.project_id].category} for o in results_of(fund)]
    declined = [{"number": p.number, "title": p.title, "status": p.status,
                 "reason": p.decline_reason} for p in projects.values()
                if p.status in ("declined", "unsupported")]
    final = FUND_PHASES.index(fund.phase) >= FUND_PHASES.index("results")
    return {"fund_id": fund.id, "community_id": fund.community_id, "year": fund.year,
            "voting_rule": fund.voting_rule, "phase": fund.phase, "final": final,
            "voters": turnout["voters"], "voters_online": turnout["online"],
            "voters_paper": turnout["paper"], "outcomes": outcomes, "declined": declined,
            "totals": totals(fund)}
