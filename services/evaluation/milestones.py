"""Closing a milestone: the scorecard from the contract's start to the milestone's due date
is kept as it stands and published as scorecard.published. Events that arrive or are
corrected afterwards do not change it; they show as post-close changes."""
from datetime import date, datetime, time, timedelta, timezone

from shared import outbox
from shared.eventlog import unsettled
from shared.runtime import current_service
from shared.errors import ApiError
from shared.i18n import bilingual

from . import measures, scorecard
from .contracts import as_agreed
from .models import ClosedScorecard, Contract, db, event_store

NOTHING_TO_SCORE = bilingual("There is nothing to score yet for this milestone",
                             "该付款节点尚无可评分的数据")
CHAIN_UNSETTLED = bilingual("The event log behind this milestone is not whole; ops must "
                            "resolve it first", "该付款节点所依据的事件记录不完整，须先由运维处理")


def _milestone(contract: Contract, milestone_id: str) -> dict:
    for milestone in contract.milestones:
        if milestone["id"] == milestone_id:
            return milestone
    raise ApiError(404, f"Milestone {milestone_id} not found", f"未找到付款节点 {milestone_id}")


def card_for(contract: Contract, period_to: date) -> dict:
    """The card from the contract's start to a milestone's due date."""
    scope = measures.Scope(tuple(contract.community_ids), contract.period_start, period_to)
    return scorecard.contract_card(contract, scope)


def close(contract: Contract, milestone_id: str, by: str) -> ClosedScorecard:
    milestone = _milestone(contract, milestone_id)
    if db.session.get(ClosedScorecard, (contract.id, milestone_id)) is not None:
        raise ApiError(409, f"Milestone {milestone_id} is already closed", "该付款节点已结算")
    due = date.fromisoformat(str(milestone["due"]))
    until = datetime.combine(due + timedelta(days=1), time.min, tzinfo=timezone.utc)
    if problems := unsettled(current_service(), until):
        raise ApiError(409, f"{CHAIN_UNSETTLED}: {'; '.join(problems)}",
                       f"该付款节点所依据的事件记录不完整，须先由运维处理：{'；'.join(problems)}",
                       code="chain_unsettled", problems=problems)
    card = card_for(contract, due)
    if card["total"] is None:
        raise ApiError(422, NOTHING_TO_SCORE, fields={"milestone_id": [NOTHING_TO_SCORE]})
    payment = next(p for p in card["payments"] if p["milestone_id"] == milestone_id)
    closed = ClosedScorecard(contract_id=contract.id, milestone_id=milestone_id,
                             contract_version=contract.version, period_from=contract.period_start,
                             period_to=due, card=card, closed_by=by)
    db.session.add(closed)
    outbox.append(event_store, "scorecard.published", f"contract/{contract.id}/{milestone_id}", {
        "contract_id": contract.id, "milestone_id": milestone_id, "as_of": due.isoformat(),
        "total": card["total"],
        "dimensions": {d["key"]: d["score"] for d in card["dimensions"]
                       if d["score"] is not None},
        "recommendation": f"pay {payment['recommended']} "
                          f"({'full share' if payment['full'] else 'reduced share'})"})
    return closed


def post_close_changes(contract: Contract, closed: ClosedScorecard) -> dict:
    """What the same scope scores now under the terms it was closed on, indicator by
    indicator, where it differs."""
    now = card_for(as_agreed(contract, closed.contract_version), closed.period_to)
    changes = []
    for then_dim, now_dim in zip(closed.card["dimensions"], now["dimensions"]):
        for then, current in zip(then_dim["indicators"], now_dim["indicators"]):
            if then["value"] != current["value"]:
                changes.append({"dimension": then_dim["key"], "measure": then["measure"],
                                "value_at_close": then["value"], "value_now": current["value"],
                                "score_at_close": then["score"], "score_now": current["score"]})
    return {"total_at_close": closed.card["total"], "total_now": now["total"],
            "indicators": changes}
