"""Needs the clerks record through the year and what becomes of them: withdrawn,
referred on, triaged, or taken up as a case with its goals, casework sessions and closing;
and the cases the workers open for vulnerable residents met on home visits."""
from datetime import date, datetime, timedelta

from shared.vocabulary import OLDER_AGE_BANDS

from .calls import Call, Ref
from .people import Person


def report_needs(year, m: int, growth: float) -> None:
    for p in year.people:
        rate = 0.03 if p.age_band in OLDER_AGE_BANDS else 0.008
        if year.rng.random() < rate:
            report_need(year, m, growth, p)
    for _ in range(round(3 * year.scale)):  # anonymous: a broken lamp, a noisy site
        report_need(year, m, growth, None)


def report_need(year, m: int, growth: float, p: Person | None) -> None:
    rng = year.rng
    if p is None:
        category = rng.choice(("public_environment", "community_governance",
                               "neighbourhood_disputes"))
    elif p.age_band == "0-17":
        category = rng.choice(("child_youth", "child_youth", "health", "family_relations"))
    elif p.age_band in OLDER_AGE_BANDS:
        category = rng.choices(("elderly_care", "health", "disability",
                                "poverty_assistance", "public_environment",
                                "neighbourhood_disputes"), (40, 25, 8, 7, 12, 8))[0]
    else:
        category = rng.choices(("employment", "family_relations", "public_environment",
                                "community_governance", "poverty_assistance",
                                "neighbourhood_disputes", "other"),
                               (20, 20, 20, 12, 10, 10, 8))[0]
    online = 0.08 + 0.22 * growth
    channel = rng.choices(("walk_in", "hotline", "online", "grid_visit", "council_meeting",
                           "referral"), (0.35, 0.15, online, 0.25, 0.05, 0.05))[0]
    urgency = rng.choices(("routine", "priority", "urgent"), (70, 22, 8))[0]
    day = year.day_in(m)
    index = len(year.needs)
    need = {"index": index, "person": p.index if p else None, "category": category,
            "urgency": urgency, "day": day, "month": m, "used": False}
    year.needs.append(need)
    body = {"community_id": year.community, "category": category, "urgency": urgency,
            "channel": channel, "description": f"{category} 需求（第{m + 1}月）",
            "reported_at": f"{day.isoformat()}T{rng.randint(8, 17):02d}:"
                           f"{rng.randint(0, 59):02d}:00+08:00"}
    if p is not None:
        body["resident_ref"] = year.ref(p.index)
    else:
        body["grid_id"] = rng.choice(year.grids)
    need_ref = Ref("need", (year.community, index))
    if channel == "online" and p is not None:  # the resident reports it on the phone
        chain = [own_report(year, p, body, need_ref)]
    else:
        chain = [year.clerk("/needs", body, produces=need_ref)]
    fate = rng.random()
    if fate < 0.04:  # solved elsewhere before anyone acted
        need["used"] = True
        chain.append(year.clerk("/needs/{}/withdraw", {"reason": rng.choice(
            ("resolved_elsewhere", "resident_request", "moved_away"))}, path_ref=need_ref))
    elif fate < 0.10:  # another body's business: the clerk refers it on
        need["used"] = True
        chain.append(year.clerk("/needs/{}/triage", {
            "status": "referred", "referred_to": rng.choice(
                ("街道社保所", "社区卫生服务中心", "派出所", "物业公司"))}, path_ref=need_ref))
    elif fate < 0.55:
        chain.append(year.clerk("/needs/{}/triage", {"status": "triaged"},
                                path_ref=need_ref))
    year.need_chains.append(chain)
    if p is not None and not need["used"] and category not in (
            "public_environment", "community_governance"):
        chance = {"urgent": 0.85, "priority": 0.5, "routine": 0.25}[urgency]
        if rng.random() < chance:
            need["used"] = True
            open_case(year, p, day + timedelta(days=rng.randint(1, 12)), need_ref)


def own_report(year, p: Person, body: dict, need_ref: Ref) -> Call:
    """A need a resident reports through the residents' own channel (docs/RESIDENTS.md),
    with their own token: recorded the moment they send it (so only its words and choices
    go in the body; the channel is `online` by itself)."""
    return Call(("resident", year.community, year.ref(p.index)), "intake", "/resident/needs",
                {k: body[k] for k in ("category", "urgency", "description")},
                produces=need_ref, at=datetime.fromisoformat(body["reported_at"]))


def open_case(year, p: Person, opened: date, need_ref: Ref | None) -> None:
    """A case and its life: goals, casework sessions, closing (if the year lasts)."""
    rng, end = year.rng, year.plan.end
    if opened >= end:
        return
    worker = year.any_worker()
    case = Ref("case", (year.community, year.cases))
    year.cases += 1
    body = {"need_id": need_ref} if need_ref else {
        "resident_ref": year.ref(p.index), "community_id": year.community}
    chain = [year.worker(worker, "/cases", {**body, "opened_on": opened.isoformat()},
                         produces=case)]
    goals = []
    for g in range(rng.choice((1, 1, 2, 2, 3))):
        goal = Ref("goal", (year.community, case.key[1], g))
        goals.append(goal)
        chain.append(year.worker(worker, "/cases/{}/goals", {
            "domain": rng.choice(("生活照料", "健康管理", "社会支持", "家庭关系", "经济援助")),
            "description": "提升自我照顾与社会支持", "baseline": rng.choice((-2, -1, -1, 0)),
            "set_on": min(opened + timedelta(days=rng.randint(0, 5)),
                          end - timedelta(days=1)).isoformat()},
            path_ref=case, produces=goal))
    day = opened
    for _ in range(rng.randint(2, 6)):
        day += timedelta(days=rng.randint(5, 16))
        slot = year.book_on([worker], day)
        if slot is None:
            continue
        chain.append(year.worker(worker, "/sessions", {
            "community_id": year.community, "method": "casework", "topic": "个案面谈",
            "case_id": case, "worker_ids": [worker], "attendee_refs": [year.ref(p.index)],
            "location": rng.choice(("居民家中", "社工站")), "date": slot[0].isoformat(),
            "start": slot[1], "end": slot[2]}))
    closed = day + timedelta(days=rng.randint(3, 20))
    if closed < end:
        outcome = rng.choices(("goals_met", "partly_met", "not_met", "referred",
                               "withdrawn"), (45, 30, 10, 8, 7))[0]
        gain = {"goals_met": 2, "partly_met": 1}.get(outcome, 0)
        chain.append(year.worker(worker, "/cases/{}/close", {
            "outcome": outcome, "closed_on": closed.isoformat(),
            "goal_outcomes": [{"goal_id": g, "attainment": min(2, gain + rng.choice(
                (-1, 0, 0)))} for g in goals]}, path_ref=case))
        if rng.random() < 0.3:  # served, then takes part: the conversion paid for
            month = year.month_of(closed) + 1
            year.returning.setdefault(month, []).append(p.index)
    year.work_chains.append(chain)


def field_cases(year) -> None:
    """Residents the workers meet on home visits, not through a reported need."""
    vulnerable = [p for p in year.people if {"living_alone", "disability",
                                             "low_income"} & set(p.flags)]
    for p in year.rng.sample(vulnerable, min(len(vulnerable), round(25 * year.scale))):
        open_case(year, p, year.day_in(year.rng.randrange(year.plan.knobs.months)), None)
