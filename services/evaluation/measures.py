"""The buyer's measures, computed from the projections for a scope: the contract's
communities, a period (any range of days, inclusive) and optionally one grid. Each returns
its value with the numbers it came from, so every figure can be checked."""
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median

import sqlalchemy as sa

from shared.months import calendar_months, month_index, sql_month_index
from shared.months import label as month_label
from shared.vocabulary import LEADER, PARTICIPANT, RUNG_NAMES

from .models import (Act, CaseFact, Initiative, NeedFact, OrganizationFact, ResidentFact,
                     TopicFact, TopicNeed, VolunteerFact, db)
STALLED_AFTER = timedelta(days=90)


@dataclass(frozen=True)
class Scope:
    communities: tuple[str, ...]
    start: date
    end: date
    grid_id: str | None = None


def ratio(numerator: int, denominator: int) -> dict:
    return {"value": round(numerator / denominator, 4) if denominator else None,
            "numerator": numerator, "denominator": denominator}


def within(scope: Scope, column, day_column):
    return [column.in_(scope.communities), day_column >= scope.start, day_column <= scope.end]


def of_grid(scope: Scope, query, ref_column=Act.resident_ref):
    """Narrow a query about residents to those of the scope's grid, if it names one."""
    if not scope.grid_id:
        return query
    return query.join(ResidentFact, ResidentFact.ref == ref_column).where(
        ResidentFact.grid_id == scope.grid_id)


def highest_rungs(scope: Scope) -> dict[str, int]:
    """Each resident's highest rung in the period; a resident who proposed a topic that was
    adopted and carried out is a leader."""
    highest = dict(db.session.execute(of_grid(scope, sa.select(
        Act.resident_ref, sa.func.max(Act.rung)).where(
        *within(scope, Act.community_id, Act.on)).group_by(Act.resident_ref))).all())
    for ref in db.session.scalars(sa.select(TopicFact.proposer_ref).where(
            *within(scope, TopicFact.community_id, TopicFact.proposed_on),
            TopicFact.proposer_kind == "resident", TopicFact.outcome == "adopted",
            TopicFact.progress_status == "done")):
        if ref in highest or not scope.grid_id:
            highest[ref] = LEADER
    return highest


def ladder(scope: Scope) -> dict:
    """Counts by highest rung in the period and conversion between rungs."""
    highest = highest_rungs(scope)
    at_least = {r: sum(1 for h in highest.values() if h >= r) for r in RUNG_NAMES}
    return {"residents": len(highest),
            "highest": {RUNG_NAMES[r]: sum(1 for h in highest.values() if h == r)
                        for r in RUNG_NAMES},
            "at_least": {RUNG_NAMES[r]: at_least[r] for r in RUNG_NAMES},
            "conversion": {f"{RUNG_NAMES[r]}_to_{RUNG_NAMES[r + 1]}":
                           ratio(at_least[r + 1], at_least[r]) for r in range(1, 5)}}


def dependency_ratio(scope: Scope) -> dict:
    """Topics, sessions and activities initiated or led by residents / all of them."""
    rows = db.session.execute(sa.select(Initiative.resident_led, sa.func.count()).where(
        *within(scope, Initiative.community_id, Initiative.on)).group_by(
        Initiative.resident_led)).all()
    counts = dict(rows)
    return ratio(counts.get(True, 0), sum(counts.values()))


def topic_adoption(scope: Scope) -> dict:
    """Adopted resident topics / resident topics proposed in the period, and residents'
    share of the topics adopted in the period."""
    proposed = db.session.execute(sa.select(TopicFact.outcome).where(
        *within(scope, TopicFact.community_id, TopicFact.proposed_on),
        TopicFact.proposer_kind == "resident")).scalars().all()
    adopted = db.session.execute(sa.select(TopicFact.proposer_kind).where(
        *within(scope, TopicFact.community_id, TopicFact.decided_on),
        TopicFact.outcome == "adopted")).scalars().all()
    return {"adoption": ratio(sum(1 for o in proposed if o == "adopted"), len(proposed)),
            "resident_share_of_adopted": ratio(sum(1 for k in adopted if k == "resident"),
                                               len(adopted))}


def response(scope: Scope, within_days: int = 30) -> dict:
    """Days from proposed to decided, for topics decided in the period."""
    rows = db.session.execute(sa.select(TopicFact.proposed_on, TopicFact.decided_on).where(
        *within(scope, TopicFact.community_id, TopicFact.decided_on),
        TopicFact.proposed_on.is_not(None), TopicFact.outcome != "deferred")).all()
    days = sorted((decided - proposed).days for proposed, decided in rows)
    return {"median_days": median(days) if days else None,
            f"within_{within_days}_days": ratio(sum(1 for d in days if d <= within_days),
                                                len(days))}


def follow_through(scope: Scope) -> dict:
    """Of the decisions adopted in the period: carried out, mean progress, and stalled (not
    done and no progress for 90 days as of the period's end): the resource-gap signal."""
    rows = db.session.execute(sa.select(
        TopicFact.progress_status, TopicFact.progress, TopicFact.progress_on,
        TopicFact.decided_on).where(*within(scope, TopicFact.community_id, TopicFact.decided_on),
                                    TopicFact.outcome == "adopted")).all()
    done = sum(1 for status, *_ in rows if status == "done")
    stalled = sum(1 for status, _, progress_on, decided_on in rows if status != "done"
                  and scope.end - (progress_on or decided_on) >= STALLED_AFTER)
    progress = [p or 0 for _, p, _, _ in rows]
    return {"carried_out": ratio(done, len(rows)),
            "mean_progress": round(sum(progress) / len(progress), 2) if progress else None,
            "stalled": ratio(stalled, len(rows))}


ACTIVE_WINDOW = timedelta(days=90)
LEADERSHIP_WINDOW = timedelta(days=180)
LEADERSHIP_ACTS = ("proposed", "led", "member")
DEMOGRAPHICS = ("age_band", "gender", "household_type", "grid_id")


def _participants_query(scope: Scope):
    """Unique residents who acted (rung participant or above) in the period."""
    return of_grid(scope, sa.select(Act.resident_ref).where(
        *within(scope, Act.community_id, Act.on), Act.rung >= PARTICIPANT).distinct())


def _participants(scope: Scope) -> set[str]:
    return set(db.session.scalars(_participants_query(scope)))


def _registered(scope: Scope):
    query = sa.select(ResidentFact).where(
        ResidentFact.community_id.in_(scope.communities),
        sa.or_(ResidentFact.registered_on.is_(None), ResidentFact.registered_on <= scope.end))
    return query.where(ResidentFact.grid_id == scope.grid_id) if scope.grid_id else query


def traceability(scope: Scope) -> dict:
    """Needs reported in the period that led to a case or a council topic / needs reported;
    median days from need to case."""
    reported = within(scope, NeedFact.community_id, NeedFact.reported_on)
    needs = db.session.execute(sa.select(NeedFact.need_id, NeedFact.reported_on).where(
        *reported)).all()
    ids = [n for n, _ in needs]
    # the needs as a subquery, not their ids: a parameter per need cost more than the join
    in_scope = sa.select(NeedFact.need_id).where(*reported)
    opened = dict(db.session.execute(sa.select(CaseFact.need_id, sa.func.min(
        CaseFact.opened_on)).where(CaseFact.need_id.in_(in_scope)).group_by(
        CaseFact.need_id)).all())
    topical = set(db.session.scalars(sa.select(TopicNeed.need_id).where(
        TopicNeed.need_id.in_(in_scope))))
    days = [(opened[n] - day).days for n, day in needs if opened.get(n)]
    return {"traced": ratio(sum(1 for n in ids if n in opened or n in topical), len(ids)),
            "median_days_to_case": median(days) if days else None}


def breadth(scope: Scope) -> dict:
    registered = db.session.scalar(sa.select(sa.func.count()).select_from(
        _registered(scope).subquery()))
    return ratio(len(_participants(scope)), registered)


def stability(scope: Scope) -> dict:
    """Participants active in two or more distinct months of the period (a quarter)."""
    distinct_months = sa.func.count(sa.distinct(sql_month_index(Act.on)))
    months = of_grid(scope, sa.select(distinct_months.label("n"))
                     .where(*within(scope, Act.community_id, Act.on), Act.rung >= PARTICIPANT)
                     .group_by(Act.resident_ref)).subquery()
    # counted in the database: the period's acts fetched one row each took most of a card
    participants, stable = db.session.execute(sa.select(
        sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((months.c.n >= 2, 1), else_=0)),
                                          0)).select_from(months)).one()
    return ratio(stable, participants)


def _profiles(query) -> Counter:
    """How many of a query's residents share each combination of the demographics."""
    columns = [getattr(ResidentFact, a) for a in DEMOGRAPHICS]
    rows = db.session.execute(query.with_only_columns(*columns, sa.func.count()).group_by(
        *columns).order_by(None))
    return Counter({tuple(profile): n for *profile, n in rows})


def representativeness(scope: Scope, group=None) -> dict:
    """Per demographic: 1/2 × Σ |share among participants − share among registered|
    (0 = participants mirror the community), and the share of participants unknown here.
    `group`: a query of other residents' refs to compare instead (the fund's voters)."""
    group = _participants_query(scope) if group is None else group
    registered = _profiles(_registered(scope))  # counted in the database, not loaded
    participants = db.session.scalar(sa.select(sa.func.count()).select_from(
        group.subquery()))
    known = _profiles(_registered(scope).where(ResidentFact.ref.in_(group)))
    gaps = {}
    for i, attribute in enumerate(DEMOGRAPHICS):
        def share(profiles: Counter, group):
            return sum(n for p, n in profiles.items() if p[i] == group) / profiles.total()
        groups = {profile[i] for profile in registered}
        gaps[attribute] = round(0.5 * sum(abs(share(known, g) - share(registered, g))
                                          for g in groups), 4) if known else None
    return {"gap": gaps, "without_demographics": ratio(participants - known.total(),
                                                       participants)}


def capacity_to_leadership(scope: Scope) -> dict:
    """Residents trained in the period who within 180 days propose a topic, lead, or found or
    join a resident organisation / residents trained; median days to that first act."""
    trained = dict(db.session.execute(of_grid(scope, sa.select(
        Act.resident_ref, sa.func.min(Act.on)).where(
        *within(scope, Act.community_id, Act.on), Act.kind == "trained").group_by(
        Act.resident_ref))).all())
    first_lead: dict[str, date] = {}
    for ref, on in _acts_of(trained, trained.values(), LEADERSHIP_WINDOW,
                            Act.kind.in_(LEADERSHIP_ACTS)):
        if trained[ref] <= on <= trained[ref] + LEADERSHIP_WINDOW:
            first_lead[ref] = min(on, first_lead.get(ref, on))
    days = [(on - trained[ref]).days for ref, on in first_lead.items()]
    return {"converted": ratio(len(days), len(trained)),
            "median_days": median(days) if days else None}


def organisational_vitality(scope: Scope) -> dict:
    """Organisations with a self-led activity in the 90 days to the period's end / formed."""
    formed = db.session.scalars(sa.select(OrganizationFact.organization_id).where(
        OrganizationFact.community_id.in_(scope.communities),
        OrganizationFact.formed_on <= scope.end)).all()
    active = set(db.session.scalars(sa.select(Initiative.organization_id).where(
        Initiative.organization_id.in_(formed), Initiative.resident_led,
        Initiative.on > scope.end - ACTIVE_WINDOW, Initiative.on <= scope.end)))
    return ratio(len(active), len(formed))


def volunteer_activation(scope: Scope) -> dict:
    """Volunteers who served in the 90 days to the period's end / registered volunteers;
    volunteer hours / social worker hours in the period."""
    volunteers = db.session.scalars(of_grid(scope, sa.select(VolunteerFact.resident_ref).where(
        VolunteerFact.community_id.in_(scope.communities),
        VolunteerFact.registered_on <= scope.end), VolunteerFact.resident_ref)).all()
    served = set(db.session.scalars(sa.select(Act.resident_ref).where(
        Act.resident_ref.in_(volunteers), Act.kind == "volunteered",
        Act.community_id.in_(scope.communities), Act.on > scope.end - ACTIVE_WINDOW,
        Act.on <= scope.end)))
    volunteer_hours, worker_hours = db.session.execute(sa.select(
        sa.func.coalesce(sa.func.sum(sa.case((Initiative.detail == "volunteer_service",
                                              Initiative.hours * Initiative.helpers),
                                             else_=0)), 0),
        sa.func.coalesce(sa.func.sum(Initiative.hours * Initiative.workers), 0)).where(
        *within(scope, Initiative.community_id, Initiative.on),
        Initiative.kind.in_(("session", "activity")))).one()
    return {"active": ratio(len(served), len(volunteers)),
            "volunteer_hours": volunteer_hours, "worker_hours": worker_hours,
            "hours_ratio": round(volunteer_hours / worker_hours, 4) if worker_hours else None}


def service_to_participation(scope: Scope) -> dict:
    """Cases closed in the period whose resident takes part, trains or volunteers within
    90 days of closing / cases closed: the conversion the buyer pays for."""
    closed = db.session.execute(of_grid(scope, sa.select(
        CaseFact.resident_ref, CaseFact.closed_on).where(
        *within(scope, CaseFact.community_id, CaseFact.closed_on)), CaseFact.resident_ref)).all()
    acted: dict[str, list[date]] = {}
    for ref, on in _acts_of({ref for ref, _ in closed}, [day for _, day in closed],
                            ACTIVE_WINDOW, Act.rung >= PARTICIPANT):
        acted.setdefault(ref, []).append(on)
    converted = sum(1 for ref, day in closed
                    if any(day < on <= day + ACTIVE_WINDOW for on in acted.get(ref, ())))
    return ratio(converted, len(closed))


def _acts_of(refs, days, window: timedelta, *where) -> list:
    """(resident, day) of these residents' acts from the earliest day to the window after
    the latest: one query, where one per resident made the card's time grow with the data."""
    if not refs:
        return []
    days = list(days)
    return db.session.execute(sa.select(Act.resident_ref, Act.on).where(
        Act.resident_ref.in_(list(refs)), Act.on >= min(days), Act.on <= max(days) + window,
        *where)).all()


def decision_mode(scope: Scope) -> dict:
    """How decided topics were decided (Arnstein-style), and the share decided by residents
    with partners or delegated to them."""
    modes = db.session.scalars(sa.select(TopicFact.decision_mode).where(
        *within(scope, TopicFact.community_id, TopicFact.decided_on),
        TopicFact.outcome != "deferred")).all()
    counts = {mode: modes.count(mode) for mode in sorted(set(modes))}
    return {"counts": counts, "resident_power": ratio(
        sum(1 for m in modes if m in ("partnership", "delegated")), len(modes))}


def channels(scope: Scope) -> dict:
    """Needs and topics that came in digitally; sessions online and in person."""
    needs = Counter(dict(db.session.execute(sa.select(
        NeedFact.channel, sa.func.count()).where(
        *within(scope, NeedFact.community_id, NeedFact.reported_on)).group_by(
        NeedFact.channel)).all()))
    rows = db.session.execute(sa.select(Initiative.kind, Initiative.channel, sa.func.count())
                              .where(*within(scope, Initiative.community_id, Initiative.on),
                                     Initiative.kind.in_(("topic", "session")))
                              .group_by(Initiative.kind, Initiative.channel)).all()
    topics = Counter({channel: n for kind, channel, n in rows if kind == "topic"})
    sessions = Counter({channel: n for kind, channel, n in rows if kind == "session"})
    return {"digital": ratio(needs["online"] + topics["online"],
                             needs.total() + topics.total()),
            "sessions": {"online": sessions["online"], "in_person": sessions["in_person"]}}


def outputs(scope: Scope) -> dict:
    """What the contract buys, as delivered: cases opened, sessions and their hours,
    capacity-building activities."""
    cases = db.session.scalar(sa.select(sa.func.count()).select_from(CaseFact).where(
        *within(scope, CaseFact.community_id, CaseFact.opened_on)))
    by_kind = {kind: (n, hours) for kind, n, hours in db.session.execute(sa.select(
        Initiative.kind, sa.func.count(), sa.func.sum(Initiative.hours)).where(
        *within(scope, Initiative.community_id, Initiative.on)).group_by(Initiative.kind))}
    sessions, hours = by_kind.get("session", (0, 0))
    return {"cases": cases, "sessions": sessions, "service_hours": hours or 0,
            "activities": by_kind.get("activity", (0, 0))[0]}


def _newly_active(communities, *periods: tuple[date, date]) -> list[int]:
    """For each period (inclusive): residents whose first act as a participant (or above)
    falls within it. One pass over the acts serves every period."""
    first = sa.select(Act.resident_ref, sa.func.min(Act.on).label("first")).where(
        Act.community_id.in_(communities), Act.rung >= PARTICIPANT).group_by(
        Act.resident_ref).subquery()
    return list(db.session.execute(sa.select(*(
        sa.func.coalesce(sa.func.sum(sa.case((first.c.first.between(start, end), 1), else_=0)),
                         0) for start, end in periods)).select_from(first)).one())


def _carried_out(communities, start: date, end: date) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(TopicFact).where(
        TopicFact.community_id.in_(communities), TopicFact.proposer_kind == "resident",
        TopicFact.outcome == "adopted", TopicFact.progress_status == "done",
        TopicFact.decided_on >= start, TopicFact.decided_on <= end))


def cost_per_outcome(scope: Scope, spend, contract_start: date) -> dict:
    """Spend / (newly active residents + carried-out resident decisions), net of the
    baseline: the same outcomes in an equally long window just before the contract began;
    and spend per service hour."""
    length = scope.end - scope.start + timedelta(days=1)
    baseline_end = contract_start - timedelta(days=1)
    baseline_start = contract_start - length
    newly_active, newly_active_before = _newly_active(
        scope.communities, (scope.start, scope.end), (baseline_start, baseline_end))
    outcomes = newly_active + _carried_out(scope.communities, scope.start, scope.end)
    baseline = newly_active_before + _carried_out(scope.communities, baseline_start,
                                                  baseline_end)
    net = max(0, outcomes - baseline)
    hours = outputs(scope)["service_hours"]
    spend = float(spend)
    return {"spend": round(spend, 2), "outcomes": outcomes, "baseline": baseline,
            "net_outcomes": net, "per_outcome": round(spend / net, 2) if net else None,
            "per_service_hour": round(spend / hours, 2) if hours else None}


def spend_in(scope: Scope, budget, period_start: date, period_end: date) -> float:
    """The contract's budget, prorated by days to the part of its period the scope covers."""
    start, end = max(scope.start, period_start), min(scope.end, period_end)
    if end < start:
        return 0.0
    return float(budget) * ((end - start).days + 1) / ((period_end - period_start).days + 1)


def months(scope: Scope) -> list[Scope]:
    """The scope cut into calendar months (the first and last clipped to the scope)."""
    return [Scope(scope.communities, start, end, scope.grid_id)
            for start, end in calendar_months(scope.start, scope.end)]


def trend(scope: Scope) -> list[dict]:
    """Month by month: residents at or above each rung (the ladder over time), the
    dependency ratio and breadth."""
    return [{"month": part.start.strftime("%Y-%m"), "ladder": ladder(part)["at_least"],
             "dependency_ratio": dependency_ratio(part)["value"],
             "breadth": breadth(part)["value"]} for part in months(scope)]


def cohort_retention(scope: Scope) -> list[dict]:
    """Residents grouped by the month of their first act as a participant (or above) in the
    scope; for each cohort, the share active again in each later month."""
    rows = db.session.execute(of_grid(scope, sa.select(Act.resident_ref, Act.on).where(
        *within(scope, Act.community_id, Act.on), Act.rung >= PARTICIPANT))).all()
    active: dict[str, set[int]] = {}
    for ref, day in rows:
        active.setdefault(ref, set()).add(month_index(day))
    cohorts: dict[int, list[set[int]]] = {}
    for months_active in active.values():
        cohorts.setdefault(min(months_active), []).append(months_active)
    last = month_index(scope.end)
    return [{"cohort": month_label(first), "size": len(members),
             "retained": [ratio(sum(1 for m in members if first + k in m), len(members))
                          for k in range(1, last - first + 1)]}
            for first, members in sorted(cohorts.items())]
