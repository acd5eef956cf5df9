"""Closing a milestone: the scorecard from the contract's start to the milestone's due date,
as known at the end of the due date plus the contract's late-entry days (what had been
recorded by then), is kept exactly as paid and published as scorecard.published. What was
recorded later (late entries, corrections) never changes it: it is listed beside it, with
its events, and the figures it would change."""
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from shared import outbox
from shared.eventlog import unsettled
from shared.events import Event
from shared.eventstore import APPLIED
from shared.clock import utcnow
from shared.runtime import current_service
from shared.errors import ApiError
from shared.i18n import bilingual
from shared.localtime import end_of_day

from . import measures, scorecard
from .contracts import LATE_ENTRY_DAYS, as_agreed
from .models import ClosedScorecard, Contract, RecordEvent, db, event_store

NOTHING_TO_SCORE = bilingual("There is nothing to score yet for this milestone",
                             "该付款节点尚无可评分的数据")
CHAIN_UNSETTLED = bilingual("The event log behind this milestone is not whole; ops must "
                            "resolve it first", "该付款节点所依据的事件记录不完整，须先由运维处理")


def milestone_of(contract: Contract, milestone_id: str) -> dict:
    for milestone in contract.milestones:
        if milestone["id"] == milestone_id:
            return milestone
    raise ApiError(404, f"Milestone {milestone_id} not found", f"未找到付款节点 {milestone_id}")


SHOWN_LATE = 500  # late entries listed beside a closed card (all are counted)


def known_as_of(contract, due: date) -> datetime:
    """What a milestone counts: everything recorded by the end of its due date plus the
    contract's late-entry days (in China's time); closed before then, what had been recorded
    at closing."""
    allowance = getattr(contract, "late_entry_days", None)
    until = end_of_day(due + timedelta(days=LATE_ENTRY_DAYS if allowance is None else allowance))
    return min(until, utcnow())


def card_for(contract: Contract, period_to: date, as_of: datetime | None) -> dict:
    """The card from the contract's start to a milestone's due date, as known at `as_of`
    (None: as known now)."""
    scope = measures.Scope(tuple(contract.community_ids), contract.period_start, period_to,
                           as_of=as_of)
    return scorecard.contract_card(contract, scope)


def held_heads() -> list[dict]:
    """Per source in the inbox, the last event held (sequence and hash): the log a card
    computed now is computed from."""
    inbox, heads = event_store.InboxEvent, []
    for source, seq in db.session.execute(sa.select(inbox.source, sa.func.max(inbox.seq)).where(
            inbox.status == APPLIED).group_by(inbox.source).order_by(inbox.source)):
        body = db.session.scalar(sa.select(inbox.body).where(inbox.source == source,
                                                             inbox.seq == seq))
        heads.append({"source": source, "sequence": seq, "hash": Event.from_json(body).hash()})
    return heads


def close(contract: Contract, milestone_id: str, by: str) -> ClosedScorecard:
    milestone = milestone_of(contract, milestone_id)
    if db.session.get(ClosedScorecard, (contract.id, milestone_id)) is not None:
        raise ApiError(409, f"Milestone {milestone_id} is already closed", "该付款节点已结算")
    due = date.fromisoformat(str(milestone["due"]))
    as_of = known_as_of(contract, due)
    if problems := unsettled(current_service(), as_of):
        raise ApiError(409, f"{CHAIN_UNSETTLED}: {'; '.join(problems)}",
                       f"该付款节点所依据的事件记录不完整，须先由运维处理：{'；'.join(problems)}",
                       code="chain_unsettled", problems=problems)
    card = card_for(contract, due, as_of)
    if card["total"] is None:
        raise ApiError(422, NOTHING_TO_SCORE, fields={"milestone_id": [NOTHING_TO_SCORE]})
    payment = next(p for p in card["payments"] if p["milestone_id"] == milestone_id)
    closed = ClosedScorecard(contract_id=contract.id, milestone_id=milestone_id,
                             contract_version=contract.version, period_from=contract.period_start,
                             period_to=due, as_of=as_of, card=card, closed_by=by,
                             log_heads=held_heads())
    db.session.add(closed)
    outbox.append(event_store, "scorecard.published", f"contract/{contract.id}/{milestone_id}", {
        "contract_id": contract.id, "milestone_id": milestone_id, "as_of": due.isoformat(),
        "total": card["total"],
        "dimensions": {d["key"]: d["score"] for d in card["dimensions"]
                       if d["score"] is not None},
        "recommendation": f"pay {payment['recommended']} "
                          f"({'full share' if payment['full'] else 'reduced share'})"})
    return closed


def recorded_later(contract, closed: ClosedScorecard) -> dict:
    """The events about the closed period's records recorded after the card's knowledge
    time: late entries (a record first entered then) and corrections, each with its event."""
    where = [RecordEvent.community_id.in_(contract.community_ids),
             RecordEvent.on >= closed.period_from, RecordEvent.on <= closed.period_to,
             RecordEvent.recorded_at > closed.as_of]
    total = db.session.scalar(sa.select(sa.func.count()).select_from(RecordEvent).where(*where))
    rows = db.session.scalars(sa.select(RecordEvent).where(*where).order_by(
        RecordEvent.recorded_at, RecordEvent.event_id).limit(SHOWN_LATE))
    return {"count": total, "entries": [{
        "event_id": r.event_id, "type": r.type, "record_kind": r.record_kind,
        "record_id": r.record_id, "on": r.on.isoformat(),
        "recorded_at": r.recorded_at.isoformat(),
        "kind": "correction" if r.type == "record.corrected" else "late_entry"}
        for r in rows]}


def post_close_changes(contract: Contract, closed: ClosedScorecard) -> dict:
    """What the same scope scores now under the terms it was closed on, indicator by
    indicator, where it differs, and the events recorded after the card's knowledge time
    that make the difference."""
    now = card_for(as_agreed(contract, closed.contract_version), closed.period_to, None)
    changes = []
    for then_dim, now_dim in zip(closed.card["dimensions"], now["dimensions"]):
        for then, current in zip(then_dim["indicators"], now_dim["indicators"]):
            if then["value"] != current["value"]:
                changes.append({"dimension": then_dim["key"], "measure": then["measure"],
                                "value_at_close": then["value"], "value_now": current["value"],
                                "score_at_close": then["score"], "score_now": current["score"]})
    return {"as_of": closed.as_of.isoformat() if closed.as_of else None,
            "total_at_close": closed.card["total"], "total_now": now["total"],
            "indicators": changes,
            "recorded_later": recorded_later(contract, closed) if closed.as_of else None}
