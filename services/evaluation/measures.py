"""The buyer's measures, computed from the projections for a scope: the contract's
communities, a period (any range of days, inclusive) and optionally one grid. Each returns
its value with the numbers it came from, so every figure can be checked."""
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median

import sqlalchemy as sa

from .models import Act, Initiative, ResidentFact, TopicFact, db
from .projections import LEADER

RUNG_NAMES = {1: "served", 2: "participant", 3: "contributor", 4: "co_decider", 5: "leader"}
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


def _in(scope: Scope, column, day_column):
    return [column.in_(scope.communities), day_column >= scope.start, day_column <= scope.end]


def ladder(scope: Scope) -> dict:
    """Each resident's highest rung in the period; a resident who proposed a topic that was
    adopted and carried out is a leader. Counts by rung and conversion between rungs."""
    query = sa.select(Act.resident_ref, sa.func.max(Act.rung)).where(
        *_in(scope, Act.community_id, Act.on)).group_by(Act.resident_ref)
    if scope.grid_id:
        query = query.join(ResidentFact, ResidentFact.ref == Act.resident_ref).where(
            ResidentFact.grid_id == scope.grid_id)
    highest = dict(db.session.execute(query).all())
    for ref in db.session.scalars(sa.select(TopicFact.proposer_ref).where(
            *_in(scope, TopicFact.community_id, TopicFact.proposed_on),
            TopicFact.proposer_kind == "resident", TopicFact.outcome == "adopted",
            TopicFact.progress_status == "done")):
        if ref in highest or not scope.grid_id:
            highest[ref] = LEADER
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
        *_in(scope, Initiative.community_id, Initiative.on)).group_by(
        Initiative.resident_led)).all()
    counts = dict(rows)
    return ratio(counts.get(True, 0), sum(counts.values()))


def topic_adoption(scope: Scope) -> dict:
    """Adopted resident topics / resident topics proposed in the period, and residents'
    share of the topics adopted in the period."""
    proposed = db.session.execute(sa.select(TopicFact.outcome).where(
        *_in(scope, TopicFact.community_id, TopicFact.proposed_on),
        TopicFact.proposer_kind == "resident")).scalars().all()
    adopted = db.session.execute(sa.select(TopicFact.proposer_kind).where(
        *_in(scope, TopicFact.community_id, TopicFact.decided_on),
        TopicFact.outcome == "adopted")).scalars().all()
    return {"adoption": ratio(sum(1 for o in proposed if o == "adopted"), len(proposed)),
            "resident_share_of_adopted": ratio(sum(1 for k in adopted if k == "resident"),
                                               len(adopted))}


def response(scope: Scope, within_days: int = 30) -> dict:
    """Days from proposed to decided, for topics decided in the period."""
    rows = db.session.execute(sa.select(TopicFact.proposed_on, TopicFact.decided_on).where(
        *_in(scope, TopicFact.community_id, TopicFact.decided_on),
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
        TopicFact.decided_on).where(*_in(scope, TopicFact.community_id, TopicFact.decided_on),
                                    TopicFact.outcome == "adopted")).all()
    done = sum(1 for status, *_ in rows if status == "done")
    stalled = sum(1 for status, _, progress_on, decided_on in rows if status != "done"
                  and scope.end - (progress_on or decided_on) >= STALLED_AFTER)
    progress = [p or 0 for _, p, _, _ in rows]
    return {"carried_out": ratio(done, len(rows)),
            "mean_progress": round(sum(progress) / len(progress), 2) if progress else None,
            "stalled": ratio(stalled, len(rows))}
