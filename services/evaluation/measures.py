"""The buyer's measures, computed from the projections for a scope: the contract's
communities, a period (any range of days, inclusive), optionally one grid, and the time the
figures are known as of (what had been recorded by then; None: everything held). Each
returns its value with the numbers it came from, so every figure can be checked; their
exact definitions are in docs/MEASURES.md."""
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median

import sqlalchemy as sa

from shared.db import json_rows, read_once, read_once_each
from shared.months import calendar_months, days_after, month_index, sql_month_index
from shared.months import label as month_label
from shared.vocabulary import LEADER, PARTICIPANT, RUNG_NAMES, SERVED

from .models import (Act, CaseFact, DecisionFact, Initiative, NeedFact, OrganizationFact,
                     ProgressFact, ResidentFact, TopicFact, TopicNeed, VolunteerFact, db)
STALLED_AFTER = timedelta(days=90)


@dataclass(frozen=True)
class Scope:
    communities: tuple[str, ...]
    start: date
    end: date
    grid_id: str | None = None
    as_of: datetime | None = None  # known as of: recorded at or before it (None: all held)


def ratio(numerator: int, denominator: int) -> dict:
    return {"value": round(numerator / denominator, 4) if denominator else None,
            "numerator": numerator, "denominator": denominator}


def known(scope: Scope, model, recorded=None) -> list:
    """The rows of `model` known as of the scope's time: recorded by then and, for rows a
    correction can replace, not yet replaced (without a time: the current ones)."""
    recorded = recorded if recorded is not None else getattr(model, "recorded_at", None)
    where = []
    if hasattr(model, "retracted_at"):
        where.append(model.retracted_at.is_(None) if scope.as_of is None else sa.or_(
            model.retracted_at.is_(None), model.retracted_at > scope.as_of))
    if scope.as_of is not None and recorded is not None:
        where.append(recorded <= scope.as_of)
    return where


def _recorded_by_day(model, day_column):
    """A case is known opened and known closed from two events."""
    return getattr(model, day_column.key.replace("_on", "_recorded_at"), None) \
        if model is CaseFact else None


def within(scope: Scope, column, day_column):
    """In the scope's communities, dated in its range, and known as of its time."""
    model = column.class_
    return [column.in_(scope.communities), day_column >= scope.start, day_column <= scope.end,
            *known(scope, model, _recorded_by_day(model, day_column))]


def of_grid(scope: Scope, query, ref_column=Act.resident_ref):
    """Narrow a query about residents to those of the scope's grid, if it names one."""
    if not scope.grid_id:
        return query
    return query.join(ResidentFact, ResidentFact.ref == ref_column).where(
        ResidentFact.grid_id == scope.grid_id)


def by_scope(read, scopes) -> dict:
    """A reading for each scope, once per transaction: `read(scopes)` reads it for scopes of
    one grid and time in one statement (a portfolio page's cards share them, so the page asks
    once what each card would ask for its own scope). The reader is the reading's name."""
    def read_groups(missing):
        groups: dict[tuple, list[Scope]] = {}
        for scope in missing:
            groups.setdefault((scope.grid_id, scope.as_of), []).append(scope)
        return {scope: value for group in groups.values()
                for scope, value in read(group).items()}
    return read_once_each(db.session, read, scopes, read_groups)


def for_scope(read, scope: Scope):
    """A reading of `by_scope` for one scope (a card's, or one a page read ahead)."""
    return by_scope(read, [scope])[scope]


def read_ahead(scopes: list[Scope]) -> None:
    """What each card reads by its scope (every reading of BY_SCOPE; and the topic facts, by
    the scope's communities), read for a page of cards at once: a statement each, not one a
    card."""
    for read in BY_SCOPE:
        by_scope(read, scopes)
    by_scope(_topic_facts_of, [_whole(scope) for scope in scopes])


def scope_rows(scopes: list[Scope]):
    """The scopes as rows to join facts to: (k, the scope's index; a community; its range),
    each community once a scope; made once per transaction for the same scopes."""
    return read_once(db.session, ("scope rows", tuple(scopes)), lambda: json_rows(
        db.session, "scopes", SCOPE_COLUMNS, [
            {"k": k, "community_id": community, "starts": scope.start, "ends": scope.end}
            for k, scope in enumerate(scopes) for community in dict.fromkeys(scope.communities)]))


SCOPE_COLUMNS = {"k": sa.Integer, "community_id": sa.String, "starts": sa.Date,
                 "ends": sa.Date}


def each_scope(scopes: list[Scope], statement):
    """The statement's rows (its first column a scope's index), each with its scope."""
    for k, *rest in db.session.execute(statement):
        yield scopes[k], rest


def registered_on_rows(rows, scopes: list[Scope]) -> sa.ColumnElement:
    """`_registered` for scopes as rows: residents of a row's community registered by its
    range's end (or on no known day), known as of the scopes' time, of their grid."""
    like = scopes[0]
    return sa.and_(ResidentFact.community_id == rows.c.community_id, sa.or_(
        ResidentFact.registered_on.is_(None), ResidentFact.registered_on <= rows.c.ends),
        ResidentFact.community_id.in_(_communities(scopes)), *known(like, ResidentFact),
        *([ResidentFact.grid_id == like.grid_id] if like.grid_id else []))


def by_end_of_rows(rows, scopes: list[Scope], column, day_column) -> sa.ColumnElement:
    """In a row's community, dated by its range's end, and known as of the scopes' time
    (what stands at the end: organisations formed, volunteers registered)."""
    return sa.and_(column == rows.c.community_id, day_column <= rows.c.ends,
                   column.in_(_communities(scopes)), *known(scopes[0], column.class_))


def on_rows(rows, scopes: list[Scope], column, day_column) -> sa.ColumnElement:
    """`within` for scopes as rows: in a row's community, dated in its range, and known as of
    the time the scopes share. The communities and days of them all, said again, let the
    planner read the facts by index (it takes the rows for a hundred)."""
    model = column.class_
    return sa.and_(column == rows.c.community_id, day_column >= rows.c.starts,
                   day_column <= rows.c.ends, column.in_(_communities(scopes)),
                   day_column >= min(s.start for s in scopes),
                   day_column <= max(s.end for s in scopes),
                   *known(scopes[0], model, _recorded_by_day(model, day_column)))


def _communities(scopes: list[Scope]) -> list[str]:
    return sorted({c for scope in scopes for c in scope.communities})


@dataclass(frozen=True)
class Acted:
    """What one resident's acts in a period add up to."""
    highest: int  # the highest rung of the acts
    served: bool  # served (a case opened, a casework session)
    months: int   # calendar months with an act as a participant or above


def acted(scope: Scope) -> dict[str, Acted]:
    """Each resident who acted in the period, from one pass over its acts, read once per
    card: the ladder, the served, breadth and stability all start from it."""
    return for_scope(_acted_of, scope)


def _acted_of(scopes: list[Scope]) -> dict[Scope, dict[str, Acted]]:
    rows = scope_rows(scopes)
    participant_month = sa.case((Act.rung >= PARTICIPANT, sql_month_index(Act.on)))
    found = {scope: {} for scope in scopes}
    for scope, (ref, highest, served, months) in each_scope(scopes, of_grid(scopes[0], sa.select(
            rows.c.k, Act.resident_ref, sa.func.max(Act.rung),
            sa.func.max(sa.case((Act.rung == SERVED, 1), else_=0)),
            sa.func.count(sa.distinct(participant_month))).select_from(Act).join(
            rows, on_rows(rows, scopes, Act.community_id, Act.on)).group_by(
            rows.c.k, Act.resident_ref))):
        found[scope][ref] = Acted(highest, bool(served), months)
    return found


def highest_rungs(scope: Scope) -> dict[str, int]:
    """Each resident's highest rung in the period; a resident who proposed a topic that was
    adopted and carried out is a leader."""
    return _with_leaders(scope, {ref: a.highest for ref, a in acted(scope).items()})


def _with_leaders(scope: Scope, highest: dict[str, int]) -> dict[str, int]:
    """The highest rungs by acts, with the proposers of the period's topics adopted and
    carried out as leaders. Only the period's resident topics are followed to their
    progress (the trend asks this of every month)."""
    topics, standing, reports = _topic_facts_once(scope)
    for topic in topics:
        decision = standing.get(topic.topic_id)
        if (topic.proposer_kind == "resident" and scope.start <= topic.proposed_on <= scope.end
                and decision is not None and decision.outcome == "adopted"
                and (topic.proposer_ref in highest or not scope.grid_id)):
            progress = _progress_by(reports, decision, scope.end)
            if progress is not None and progress.status == "done":
                highest[topic.proposer_ref] = LEADER
    return highest


def _at_least(highest: dict[str, int]) -> dict[int, int]:
    """Residents at or above each rung."""
    return {r: sum(1 for h in highest.values() if h >= r) for r in RUNG_NAMES}


def _served(scope: Scope) -> set[str]:
    """Residents served (a case opened, a casework session) in the period."""
    return {ref for ref, a in acted(scope).items() if a.served}


def ladder(scope: Scope) -> dict:
    """Counts by highest rung in the period and conversion between rungs: served to
    participant among the residents served in the period; each rung above among those at or
    above the rung before."""
    highest = highest_rungs(scope)
    at_least = _at_least(highest)
    served = _served(scope)
    conversion = {f"{RUNG_NAMES[r]}_to_{RUNG_NAMES[r + 1]}": ratio(at_least[r + 1], at_least[r])
                  for r in range(2, 5)}
    return {"residents": len(highest),
            "highest": {RUNG_NAMES[r]: sum(1 for h in highest.values() if h == r)
                        for r in RUNG_NAMES},
            "at_least": {RUNG_NAMES[r]: at_least[r] for r in RUNG_NAMES},
            "conversion": {"served_to_participant": ratio(
                sum(1 for ref in served if highest.get(ref, 0) >= PARTICIPANT), len(served)),
                **conversion}}


def dependency_ratio(scope: Scope) -> dict:
    """Topics, sessions and activities initiated or led by residents / all of them."""
    counts = for_scope(_led_of, scope)
    return ratio(counts.get(True, 0), sum(counts.values()))


def _led_of(scopes: list[Scope]) -> dict[Scope, dict[bool, int]]:
    rows = scope_rows(scopes)
    found = {scope: {} for scope in scopes}
    for scope, (led, n) in each_scope(scopes, sa.select(
            rows.c.k, Initiative.resident_led, sa.func.count()).select_from(Initiative).join(
            rows, on_rows(rows, scopes, Initiative.community_id, Initiative.on)).group_by(
            rows.c.k, Initiative.resident_led)):
        found[scope][led] = n
    return found


def topic_cycles(scope: Scope) -> tuple[dict, ...]:
    """Every topic of the scope's communities known as of its time, through its cycle: the
    proposal; the decision that stands (the latest decided of its known decisions); and that
    decision's progress as last reported on or before the range's end. The facts are read
    once per transaction for the same communities and time (a card and its months ask for
    them over and over); each end picks its progress from them."""
    topics, standing, reports = _topic_facts_once(scope)
    return read_once(db.session, ("topic cycles", scope.communities, scope.as_of, scope.end),
                     lambda: tuple(_cycles(topics, standing, reports, scope.end)))


def _topic_facts_once(scope: Scope) -> tuple[list, dict, dict]:
    """The scope's topic facts: they depend on its communities and time alone."""
    return for_scope(_topic_facts_of, _whole(scope))


def _whole(scope: Scope) -> Scope:
    """What the topic facts depend on: the communities and the time."""
    return Scope(scope.communities, date.min, date.min, None, scope.as_of)


def _topic_facts_of(scopes: list[Scope]) -> dict[Scope, tuple[list, dict, dict]]:
    """The topics, the decision standing on each and each decision's progress reports
    (newest first), as known at the scopes' time, for each scope's communities: read for all
    of them at once, then told apart."""
    every = _communities(scopes)
    topics = db.session.scalars(sa.select(TopicFact).where(
        TopicFact.community_id.in_(every), TopicFact.proposed_on.is_not(None),
        *known(scopes[0], TopicFact)).order_by(TopicFact.topic_id)).all()
    decisions = db.session.scalars(sa.select(DecisionFact).where(
        DecisionFact.community_id.in_(every), *known(scopes[0], DecisionFact))).all()
    reports = db.session.scalars(sa.select(ProgressFact).where(
        ProgressFact.community_id.in_(every), *known(scopes[0], ProgressFact))).all()
    reports = sorted(reports, key=lambda r: (r.on, r.recorded_at, r.event_id), reverse=True)
    indexed = [_by_community(facts) for facts in (topics, decisions, reports)]
    found = {}
    for scope in scopes:
        mine, their_decisions, their_reports = (_of_communities(scope, i) for i in indexed)
        standing: dict[str, DecisionFact] = {}
        for row in their_decisions:
            held = standing.get(row.topic_id)
            if held is None or (row.decided_on, row.recorded_at, row.decision_id) > (
                    held.decided_on, held.recorded_at, held.decision_id):
                standing[row.topic_id] = row
        by_decision: dict[str, list[ProgressFact]] = {}
        for row in their_reports:
            by_decision.setdefault(row.decision_id, []).append(row)
        found[scope] = (mine, standing, by_decision)
    return found


def _by_community(facts: list) -> dict[str, list[tuple[int, object]]]:
    """Facts by community, each with its place in the list."""
    out: dict[str, list] = {}
    for place, fact in enumerate(facts):
        out.setdefault(fact.community_id, []).append((place, fact))
    return out


def _of_communities(scope: Scope, by_community: dict) -> list:
    """The facts of the scope's communities, in their list's order."""
    return [fact for _, fact in sorted(
        (pair for c in dict.fromkeys(scope.communities) for pair in by_community.get(c, ())),
        key=lambda pair: pair[0])]


def _cycles(topics, standing, reports, end: date) -> list[dict]:
    cycles = []
    for topic in topics:
        decision = standing.get(topic.topic_id)
        progress = decision and _progress_by(reports, decision, end)
        cycles.append({
            "topic_id": topic.topic_id, "community_id": topic.community_id,
            "proposer_kind": topic.proposer_kind, "proposer_ref": topic.proposer_ref,
            "proposed_on": topic.proposed_on,
            "decision_id": decision and decision.decision_id,
            "outcome": decision and decision.outcome,
            "decision_mode": decision and decision.decision_mode,
            "decided_on": decision and decision.decided_on,
            "progress": progress and progress.progress, "status": progress and progress.status,
            "progress_on": progress and progress.on})
    return cycles


def _progress_by(reports: dict, decision, end: date):
    """The decision's progress as last reported on or before `end` (None: not reported)."""
    return next((r for r in reports.get(decision.decision_id, ()) if r.on <= end), None)


def _in_range(scope: Scope, day) -> bool:
    return day is not None and scope.start <= day <= scope.end


def topic_adoption(scope: Scope) -> dict:
    """Adopted resident topics / resident topics proposed in the period, and residents'
    share of the topics adopted in the period."""
    cycles = topic_cycles(scope)
    proposed = [c["outcome"] for c in cycles if c["proposer_kind"] == "resident"
                and _in_range(scope, c["proposed_on"])]
    adopted = [c["proposer_kind"] for c in cycles if c["outcome"] == "adopted"
               and _in_range(scope, c["decided_on"])]
    return {"adoption": ratio(sum(1 for o in proposed if o == "adopted"), len(proposed)),
            "resident_share_of_adopted": ratio(sum(1 for k in adopted if k == "resident"),
                                               len(adopted))}


def response(scope: Scope, within_days: int = 30) -> dict:
    """Days from proposed to decided, for topics decided in the period."""
    days = sorted((c["decided_on"] - c["proposed_on"]).days for c in topic_cycles(scope)
                  if _in_range(scope, c["decided_on"]) and c["outcome"] != "deferred")
    return {"median_days": median(days) if days else None,
            f"within_{within_days}_days": ratio(sum(1 for d in days if d <= within_days),
                                                len(days))}


def follow_through(scope: Scope) -> dict:
    """Of the decisions adopted in the period: carried out, mean progress, and stalled (not
    done and no progress for 90 days as of the period's end): the resource-gap signal."""
    rows = [(c["status"], c["progress"], c["progress_on"], c["decided_on"])
            for c in topic_cycles(scope)
            if c["outcome"] == "adopted" and _in_range(scope, c["decided_on"])]
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
PROFILE = [getattr(ResidentFact, a) for a in DEMOGRAPHICS]


def _participants(scope: Scope) -> set[str]:
    return {ref for ref, a in acted(scope).items() if a.months}


def _registered(scope: Scope):
    query = sa.select(ResidentFact).where(
        ResidentFact.community_id.in_(scope.communities),
        sa.or_(ResidentFact.registered_on.is_(None), ResidentFact.registered_on <= scope.end),
        *known(scope, ResidentFact))
    return query.where(ResidentFact.grid_id == scope.grid_id) if scope.grid_id else query


def traceability(scope: Scope) -> dict:
    """Needs reported in the period that led to a case or a council topic / needs reported;
    median days from need to case."""
    needs = for_scope(_traced_needs_of, scope)
    days = [(case_on - day).days for day, case_on, _ in needs if case_on]
    return {"traced": ratio(sum(1 for _, case_on, topic in needs if case_on or topic),
                            len(needs)),
            "median_days_to_case": median(days) if days else None}


def _traced_needs_of(scopes: list[Scope]) -> dict[Scope, list[tuple]]:
    """Each need reported in a scope with its first case's day and whether a topic took it
    up, each looked up by the need (by index: the work grows with the scopes' needs, not
    with every case and topic held)."""
    rows, like = scope_rows(scopes), scopes[0]
    first_case = sa.select(sa.func.min(CaseFact.opened_on)).where(
        CaseFact.need_id == NeedFact.need_id, CaseFact.opened_on.is_not(None),
        *known(like, CaseFact, CaseFact.opened_recorded_at)).scalar_subquery()
    topical = sa.exists().where(TopicNeed.need_id == NeedFact.need_id, *known(like, TopicNeed))
    found = {scope: [] for scope in scopes}
    for scope, need in each_scope(scopes, sa.select(
            rows.c.k, NeedFact.reported_on, first_case, topical).select_from(NeedFact).join(
            rows, on_rows(rows, scopes, NeedFact.community_id, NeedFact.reported_on))):
        found[scope].append(tuple(need))
    return found


def breadth(scope: Scope) -> dict:
    return ratio(len(_participants(scope)), for_scope(_registered_of, scope))


def _registered_of(scopes: list[Scope]) -> dict[Scope, int]:
    rows = scope_rows(scopes)
    found = dict.fromkeys(scopes, 0)
    for scope, (n,) in each_scope(scopes, sa.select(rows.c.k, sa.func.count()).select_from(
            ResidentFact).join(rows, registered_on_rows(rows, scopes)).group_by(rows.c.k)):
        found[scope] = n
    return found


def stability(scope: Scope) -> dict:
    """Participants active in two or more distinct calendar months of the range."""
    months = [a.months for a in acted(scope).values() if a.months]
    return ratio(sum(1 for n in months if n >= 2), len(months))


def _profiles(query) -> Counter:
    """How many of a query's residents share each combination of the demographics."""
    rows = db.session.execute(query.with_only_columns(*PROFILE, sa.func.count()).group_by(
        *PROFILE).order_by(None))
    return Counter({tuple(profile): n for *profile, n in rows})


def _registered_profiles_of(scopes: list[Scope]) -> dict[Scope, Counter]:
    """Each scope's registered residents by profile (counted in the database, not loaded)."""
    rows = scope_rows(scopes)
    return _profiles_of(scopes, sa.select(rows.c.k).select_from(ResidentFact).join(
        rows, registered_on_rows(rows, scopes)))


def _participant_profiles_of(scopes: list[Scope]) -> dict[Scope, Counter]:
    """Each scope's registered residents who took part in its range, by profile."""
    rows, like = scope_rows(scopes), scopes[0]
    took_part = of_grid(like, sa.select(rows.c.k, Act.resident_ref).select_from(Act).join(
        rows, on_rows(rows, scopes, Act.community_id, Act.on)).where(
        Act.rung >= PARTICIPANT)).distinct().subquery("took_part")
    return _profiles_of(scopes, sa.select(rows.c.k).select_from(ResidentFact).join(
        rows, registered_on_rows(rows, scopes)).join(took_part, sa.and_(
            took_part.c.k == rows.c.k, took_part.c.resident_ref == ResidentFact.ref)))


def _profiles_of(scopes: list[Scope], query) -> dict[Scope, Counter]:
    """`_profiles` by scope: `query` selects the scope's index for each of its residents."""
    found = {scope: Counter() for scope in scopes}
    for scope, (*profile, n) in each_scope(scopes, query.add_columns(
            *PROFILE, sa.func.count()).group_by(query.selected_columns[0], *PROFILE)):
        found[scope][tuple(profile)] = n
    return found


def representativeness(scope: Scope, group=None) -> dict:
    """Per demographic: 1/2 × Σ |share among participants − share among registered|
    (0 = participants mirror the community), and the share of participants unknown here.
    `group`: a query of other residents' refs to compare instead (the fund's voters)."""
    registered = for_scope(_registered_profiles_of, scope)
    if group is None:
        participants = len(_participants(scope))
        known = for_scope(_participant_profiles_of, scope)
    else:
        participants = db.session.scalar(sa.select(sa.func.count()).select_from(
            group.subquery()))
        known = _profiles(_registered(scope).where(ResidentFact.ref.in_(group))) \
            if participants else Counter()  # no one in the group: nothing to ask
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
    firsts = for_scope(_trained_of, scope)
    days = [(led - on).days for on, led in firsts if led is not None]
    return {"converted": ratio(len(days), len(firsts)),
            "median_days": median(days) if days else None}


def _trained_of(scopes: list[Scope]) -> dict[Scope, list[tuple]]:
    """Each resident trained in a scope: the first training's day and the first leading act
    within the window after it (None: none). Matched in the database: fetching the trained
    residents' acts to match here cost a row each."""
    rows, like = scope_rows(scopes), scopes[0]
    trained = of_grid(like, sa.select(
        rows.c.k, Act.resident_ref.label("ref"), sa.func.min(Act.on).label("on")).select_from(
        Act).join(rows, on_rows(rows, scopes, Act.community_id, Act.on)).where(
        Act.kind == "trained").group_by(rows.c.k, Act.resident_ref)).subquery()
    first_lead = sa.select(sa.func.min(Act.on)).where(  # per trained resident, by index
        Act.resident_ref == trained.c.ref, Act.kind.in_(LEADERSHIP_ACTS),
        Act.on >= trained.c.on, Act.on <= days_after(trained.c.on, LEADERSHIP_WINDOW.days),
        *known(like, Act)).scalar_subquery()
    found = {scope: [] for scope in scopes}
    for scope, first in each_scope(scopes, sa.select(trained.c.k, trained.c.on, first_lead)):
        found[scope].append(tuple(first))
    return found


def organisational_vitality(scope: Scope) -> dict:
    """Organisations with a self-led activity in the 90 days to the period's end / formed."""
    formed, vital = for_scope(_organisations_of, scope)
    return ratio(vital, formed)


def _organisations_of(scopes: list[Scope]) -> dict[Scope, tuple[int, int]]:
    """Organisations formed by each scope's end, and how many of them are active."""
    rows, like = scope_rows(scopes), scopes[0]
    active = sa.exists().where(
        Initiative.organization_id == OrganizationFact.organization_id,
        Initiative.resident_led, days_after(Initiative.on, ACTIVE_WINDOW.days) > rows.c.ends,
        Initiative.on <= rows.c.ends, *known(like, Initiative))
    found = dict.fromkeys(scopes, (0, 0))
    for scope, counts in each_scope(scopes, sa.select(
            rows.c.k, sa.func.count(), sa.func.sum(sa.case((active, 1), else_=0))).select_from(
            OrganizationFact).join(rows, by_end_of_rows(
                rows, scopes, OrganizationFact.community_id, OrganizationFact.formed_on))
            .group_by(rows.c.k)):
        found[scope] = tuple(counts)
    return found


def volunteer_activation(scope: Scope) -> dict:
    """Registered volunteers (residents) who served (attended or led volunteer service) in
    the 90 days to the period's end / registered volunteers (residents); volunteer hours /
    social worker hours in the period."""
    (registered, served), (volunteer_hours, worker_hours) = for_scope(_volunteers_of, scope)
    return {"active": ratio(served, registered),
            "volunteer_hours": volunteer_hours, "worker_hours": worker_hours,
            "hours_ratio": round(volunteer_hours / worker_hours, 4) if worker_hours else None}


def _volunteers_of(scopes: list[Scope]) -> dict[Scope, tuple[tuple, tuple]]:
    """Each scope's volunteers, each checked for service in the window to its end, and its
    volunteers' and social workers' hours."""
    rows, theirs, like = scope_rows(scopes), scope_rows(scopes).alias("theirs"), scopes[0]
    volunteers = of_grid(like, sa.select(rows.c.k, VolunteerFact.resident_ref).select_from(
        VolunteerFact).join(rows, by_end_of_rows(
            rows, scopes, VolunteerFact.community_id, VolunteerFact.registered_on)),
        VolunteerFact.resident_ref).distinct().subquery()
    served = sa.exists().where(
        Act.resident_ref == volunteers.c.resident_ref, Act.kind == "volunteered",
        theirs.c.k == volunteers.c.k,
        # through coalesce: matched by the community's index, every probe read its acts
        sa.func.coalesce(Act.community_id, "") == theirs.c.community_id,
        days_after(Act.on, ACTIVE_WINDOW.days) > theirs.c.ends, Act.on <= theirs.c.ends,
        Act.on > min(s.end for s in scopes) - ACTIVE_WINDOW,  # by the resident's days
        Act.on <= max(s.end for s in scopes), *known(like, Act))
    active = dict.fromkeys(scopes, (0, 0))
    for scope, counts in each_scope(scopes, sa.select(
            volunteers.c.k, sa.func.count(), sa.func.sum(sa.case((served, 1), else_=0)))
            .group_by(volunteers.c.k)):
        active[scope] = tuple(counts)
    hours = dict.fromkeys(scopes, (0, 0))
    for scope, pair in each_scope(scopes, sa.select(
            rows.c.k,
            sa.func.coalesce(sa.func.sum(sa.case((Initiative.detail == "volunteer_service",
                                                  Initiative.hours * Initiative.helpers),
                                                 else_=0)), 0),
            sa.func.coalesce(sa.func.sum(Initiative.hours * Initiative.workers), 0))
            .select_from(Initiative).join(
            rows, on_rows(rows, scopes, Initiative.community_id, Initiative.on)).where(
            Initiative.kind.in_(("session", "activity"))).group_by(rows.c.k)):
        hours[scope] = tuple(pair)
    return {scope: (active[scope], hours[scope]) for scope in scopes}


def service_to_participation(scope: Scope) -> dict:
    """Cases closed in the period whose resident takes part, trains or volunteers within
    90 days of closing / cases closed: the conversion the buyer pays for."""
    cases, converted = for_scope(_closed_cases_of, scope)
    return ratio(converted, cases)


def _closed_cases_of(scopes: list[Scope]) -> dict[Scope, tuple[int, int]]:
    """Cases closed in each scope, and how many of their residents took part after (matched
    in the database, as capacity to leadership is)."""
    rows, like = scope_rows(scopes), scopes[0]
    closed = of_grid(like, sa.select(
        rows.c.k, CaseFact.resident_ref, CaseFact.closed_on).select_from(CaseFact).join(
        rows, on_rows(rows, scopes, CaseFact.community_id, CaseFact.closed_on)),
        CaseFact.resident_ref).subquery()
    took_part = sa.exists().where(
        Act.resident_ref == closed.c.resident_ref, Act.rung >= PARTICIPANT,
        Act.on > closed.c.closed_on, Act.on <= days_after(closed.c.closed_on,
                                                          ACTIVE_WINDOW.days),
        *known(like, Act))
    found = dict.fromkeys(scopes, (0, 0))
    for scope, counts in each_scope(scopes, sa.select(
            closed.c.k, sa.func.count(), sa.func.sum(sa.case((took_part, 1), else_=0)))
            .group_by(closed.c.k)):
        found[scope] = tuple(counts)
    return found


def decision_mode(scope: Scope) -> dict:
    """How decided topics were decided (Arnstein-style): the share delegated to residents,
    and the share decided by residents with partners or delegated to them."""
    modes = [c["decision_mode"] for c in topic_cycles(scope)
             if _in_range(scope, c["decided_on"]) and c["outcome"] != "deferred"]
    counts = {mode: modes.count(mode) for mode in sorted(set(modes))}
    return {"counts": counts, "delegated": ratio(modes.count("delegated"), len(modes)),
            "resident_power": ratio(
                sum(1 for m in modes if m in ("partnership", "delegated")), len(modes))}


def channels(scope: Scope) -> dict:
    """Needs and topics that came in digitally; sessions online and in person (the needs
    and the initiatives counted by channel in one statement)."""
    rows = for_scope(_channels_of, scope)
    needs, topics, sessions = (Counter({channel: n for kind, channel, n in rows
                                        if kind == wanted})
                               for wanted in ("need", "topic", "session"))
    return {"digital": ratio(needs["online"] + topics["online"],
                             needs.total() + topics.total()),
            "sessions": {"online": sessions["online"], "in_person": sessions["in_person"]}}


def _channels_of(scopes: list[Scope]) -> dict[Scope, list[tuple]]:
    """Needs by channel, topics and sessions by kind and channel, by scope."""
    rows = scope_rows(scopes)
    found = {scope: [] for scope in scopes}
    for scope, row in each_scope(scopes, sa.union_all(
            sa.select(rows.c.k, sa.literal("need").label("kind"), NeedFact.channel,
                      sa.func.count()).select_from(NeedFact).join(
                rows, on_rows(rows, scopes, NeedFact.community_id, NeedFact.reported_on)).group_by(
                rows.c.k, NeedFact.channel),
            sa.select(rows.c.k, Initiative.kind, Initiative.channel,
                      sa.func.count()).select_from(Initiative).join(
                rows, on_rows(rows, scopes, Initiative.community_id, Initiative.on)).where(
                Initiative.kind.in_(("topic", "session"))).group_by(
                rows.c.k, Initiative.kind, Initiative.channel))):
        found[scope].append(tuple(row))
    return found


def outputs(scope: Scope) -> dict:
    """What the contract buys, as delivered: cases opened, sessions and their hours,
    capacity-building activities (read once per card: the cost per outcome counts them too)."""
    by_kind = for_scope(_outputs_of, scope)
    sessions, hours = by_kind.get("session", (0, 0))
    return {"cases": by_kind.get("case", (0, 0))[0], "sessions": sessions,
            "service_hours": hours or 0, "activities": by_kind.get("activity", (0, 0))[0]}


def _outputs_of(scopes: list[Scope]) -> dict[Scope, dict[str, tuple]]:
    """Cases opened and initiatives by kind (how many, their hours), by scope."""
    rows = scope_rows(scopes)
    found = {scope: {} for scope in scopes}
    for scope, (kind, n, hours) in each_scope(scopes, sa.union_all(
            sa.select(rows.c.k, sa.literal("case").label("kind"), sa.func.count(),
                      sa.literal(0.0).label("hours")).select_from(CaseFact).join(
                rows, on_rows(rows, scopes, CaseFact.community_id, CaseFact.opened_on)).group_by(
                rows.c.k),
            sa.select(rows.c.k, Initiative.kind, sa.func.count(), sa.func.sum(
                Initiative.hours)).select_from(Initiative).join(
                rows, on_rows(rows, scopes, Initiative.community_id, Initiative.on)).group_by(
                rows.c.k, Initiative.kind))):
        found[scope][kind] = (n, hours)
    return found


def _newly_active(scope: Scope, *periods: tuple[date, date]) -> list[int]:
    """For each period (inclusive): residents whose first act as a participant (or above)
    falls within it. One pass over the acts serves every period."""
    first = sa.select(Act.resident_ref, sa.func.min(Act.on).label("first")).where(
        Act.community_id.in_(scope.communities), Act.rung >= PARTICIPANT,
        *known(scope, Act)).group_by(
        Act.resident_ref).subquery()
    return list(db.session.execute(sa.select(*(
        sa.func.coalesce(sa.func.sum(sa.case((first.c.first.between(start, end), 1), else_=0)),
                         0) for start, end in periods)).select_from(first)).one())


def _carried_out(scope: Scope, start: date, end: date) -> int:
    """Resident topics adopted between start and end and reported done by the range's end."""
    return sum(1 for c in topic_cycles(Scope(scope.communities, start, scope.end,
                                             as_of=scope.as_of))
               if c["proposer_kind"] == "resident" and c["outcome"] == "adopted"
               and c["status"] == "done" and start <= c["decided_on"] <= end)


def cost_per_outcome(scope: Scope, spend, contract_start: date) -> dict:
    """Spend / (newly active residents + carried-out resident decisions), net of the
    baseline: the same outcomes in an equally long window just before the contract began;
    and spend per service hour."""
    length = scope.end - scope.start + timedelta(days=1)
    baseline_end = contract_start - timedelta(days=1)
    baseline_start = contract_start - length
    newly_active, newly_active_before = _newly_active(
        scope, (scope.start, scope.end), (baseline_start, baseline_end))
    outcomes = newly_active + _carried_out(scope, scope.start, scope.end)
    baseline = newly_active_before + _carried_out(scope, baseline_start, baseline_end)
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
    return [Scope(scope.communities, start, end, scope.grid_id, scope.as_of)
            for start, end in calendar_months(scope.start, scope.end)]


def trend(scope: Scope) -> list[dict]:
    """Month by month: residents at or above each rung (the ladder over time), the
    dependency ratio and breadth; each as the measure over that month, read for every month
    at once (a query per month and measure made most of a portfolio's time)."""
    acts, initiatives, registered = for_scope(_trend_facts_of, scope)
    out = []
    for part in months(scope):
        month = month_index(part.start)
        by_acts, counts = acts.get(month, {}), initiatives.get(month, {})
        participants = sum(1 for rung in by_acts.values() if rung >= PARTICIPANT)
        at_least = _at_least(_with_leaders(part, dict(by_acts)))
        out.append({"month": part.start.strftime("%Y-%m"),
                    "ladder": {RUNG_NAMES[r]: at_least[r] for r in RUNG_NAMES},
                    "dependency_ratio": ratio(counts.get(True, 0), sum(counts.values()))["value"],
                    "breadth": ratio(participants, sum(
                        n for day, n in registered if day is None or day <= part.end))["value"]})
    return out


def _trend_facts_of(scopes: list[Scope]) -> dict[Scope, tuple[dict, dict, list]]:
    """For each scope: each month's residents with their highest rung by acts; each month's
    initiatives counted by whether residents led them; the residents registered by the
    scope's end, counted by the day they registered."""
    rows, like = scope_rows(scopes), scopes[0]
    found = {scope: ({}, {}, []) for scope in scopes}
    act_month, led_month = sql_month_index(Act.on), sql_month_index(Initiative.on)
    for scope, (month, ref, rung) in each_scope(scopes, of_grid(like, sa.select(
            rows.c.k, act_month, Act.resident_ref, sa.func.max(Act.rung)).select_from(
            Act).join(rows, on_rows(rows, scopes, Act.community_id, Act.on)).group_by(
            rows.c.k, act_month, Act.resident_ref))):
        found[scope][0].setdefault(int(month), {})[ref] = rung
    for scope, (month, led, n) in each_scope(scopes, sa.select(
            rows.c.k, led_month, Initiative.resident_led, sa.func.count()).select_from(
            Initiative).join(rows, on_rows(rows, scopes, Initiative.community_id, Initiative.on))
            .group_by(rows.c.k, led_month, Initiative.resident_led)):
        found[scope][1].setdefault(int(month), {})[led] = n
    for scope, (day, n) in each_scope(scopes, sa.select(
            rows.c.k, ResidentFact.registered_on, sa.func.count()).select_from(
            ResidentFact).join(rows, registered_on_rows(rows, scopes)).group_by(
            rows.c.k, ResidentFact.registered_on)):
        found[scope][2].append((day, n))
    return found


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


# what a page of cards reads for all its scopes at once (read_ahead)
BY_SCOPE = (_acted_of, _trend_facts_of, _led_of, _registered_of, _registered_profiles_of,
            _participant_profiles_of, _outputs_of, _channels_of, _traced_needs_of, _trained_of,
            _organisations_of, _closed_cases_of, _volunteers_of)
