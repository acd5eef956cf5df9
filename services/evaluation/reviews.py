"""The expert review of a milestone (中期评估, 末期评估): the agency assesses itself on the
items the sheet gives it first, the contract's evaluator scores every item with a comment
and the records and files it rests on, the agency may answer each score once (申辩), and the
buyer approves, holds or reduces the milestone's payment with a reason.

Every act is an event in evaluation's outbox, and the review's tables are what those events
say (own_events.py: each act applies its event through the function a replay uses). What
people write is kept in review_note by its SHA-256, which is all the event carries."""
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from shared.errors import ApiError
from shared.events import Event
from shared.i18n import bilingual

from . import own_events, scorecard, sheets
from .milestones import card_for, known_as_of, milestone_of
from .models import (ClosedScorecard, EvaluationSheet, EvidenceFileFact, RecordEvent,
                     ReviewDecision, ReviewItem, ReviewNote, db)
from .own_events import note, when

ABOVE_MAX = bilingual("More points than the item's maximum", "超过该评分项的满分")
NOT_OF_CONTRACT = bilingual("Not a record of the contract's communities",
                            "不是本合同社区的记录")
NO_SUCH_FILE = bilingual("Not an evidence file of the contract's records",
                         "不是本合同记录的佐证材料")
REASON_NEEDED = bilingual("A hold or a reduction needs its reason", "暂缓或减付须说明理由")
REDUCE_BELOW = bilingual("A reduction pays less than recommended", "减付金额须低于建议金额")
AMOUNT_NEEDED = bilingual("A reduction needs the amount to pay", "减付须填写支付金额")
FINAL = ("approve", "reduce")  # a hold waits for another decision


# -- the projection: one function per event, used by the acts and by the replay -----------

def _defined(event: Event) -> None:
    d = event.data
    db.session.add(EvaluationSheet(contract_id=d["contract_id"], version=d["version"],
                                   items=d["items"], bands=d["bands"], defined_by=d["by"],
                                   defined_at=when(event)))


def _item_row(d: dict) -> ReviewItem:
    key = (d["contract_id"], d["milestone_id"], d["item_key"])
    row = db.session.get(ReviewItem, key)
    if row is None:
        row = ReviewItem(contract_id=key[0], milestone_id=key[1], item_key=key[2],
                         sheet_version=d["sheet_version"], record_ids=[], file_digests=[])
        db.session.add(row)
    return row


def _self_assessed(event: Event) -> None:
    d = event.data
    row = _item_row(d)
    row.self_points, row.self_note, row.self_at = (Decimal(d["points"]), d["note_sha256"],
                                                   when(event))


def _scored(event: Event) -> None:
    d = event.data
    row = _item_row(d)
    row.points, row.note, row.scored_at = Decimal(d["points"]), d["note_sha256"], when(event)
    row.record_ids, row.file_digests = list(d["record_ids"]), list(d["file_digests"])


def _answered(event: Event) -> None:
    d = event.data
    row = db.session.get(ReviewItem, (d["contract_id"], d["milestone_id"], d["item_key"]))
    row.answer_note, row.answered_at = d["note_sha256"], when(event)


def _decided(event: Event) -> None:
    d = event.data
    row = db.session.get(ReviewDecision, (d["contract_id"], d["milestone_id"]))
    holds = 0 if row is None else row.holds + (row.decision == "hold")
    if row is None:
        row = ReviewDecision(contract_id=d["contract_id"], milestone_id=d["milestone_id"])
        db.session.add(row)
    row.sheet_version, row.total, row.grade = d["sheet_version"], Decimal(d["total"]), d["grade"]
    row.recommended, row.decision = Decimal(d["recommended"]), d["decision"]
    row.amount, row.reason_note = Decimal(d["amount"]), d["reason_sha256"]
    row.decided_at, row.holds = when(event), holds


APPLY = {"review.sheet_defined": _defined, "review.item_self_assessed": _self_assessed,
         "review.item_scored": _scored, "review.item_answered": _answered,
         "review.milestone_decided": _decided}


def _publish(short_type: str, subject: str, data: dict) -> None:
    own_events.publish(APPLY, short_type, subject, data)


def replay() -> int:
    """The review's tables again from evaluation's own review events, in sequence order."""
    return own_events.replay(APPLY, (ReviewDecision, ReviewItem, EvaluationSheet))


# -- the acts -------------------------------------------------------------------------------

def _conflict(code: str, en: str, zh: str):
    return ApiError(409, en, zh, code=code)


def define_sheet(contract, given: dict | None, by: str) -> EvaluationSheet:
    """A new version of the contract's sheet (none given: the default)."""
    sheet = given or sheets.default_sheet()
    if found := sheets.problems(sheet, contract.framework):
        raise ApiError(422, fields=found)
    latest = sheets.current(contract.id)
    number = 1 if latest is None else latest.version + 1
    items = [{"source": None, "evidence_zh": "", "evidence_en": "", "measures": [], **item,
              "max_points": str(item["max_points"]), "weight": str(item["weight"])}
             for item in sheet["items"]]
    bands = [{**band, "min": str(band["min"])} for band in sheet["bands"]]
    _publish("review.sheet_defined", f"contract/{contract.id}/sheet", {
        "by": by, "contract_id": contract.id, "version": number, "items": items,
        "bands": bands})
    return sheets.version(contract.id, number)


def sheet_of(contract, milestone_id: str) -> EvaluationSheet:
    """The sheet a milestone is reviewed on: the version in force when its review began."""
    began = db.session.scalar(sa.select(sa.func.min(ReviewItem.sheet_version)).where(
        ReviewItem.contract_id == contract.id, ReviewItem.milestone_id == milestone_id))
    sheet = sheets.version(contract.id, began) if began else sheets.current(contract.id)
    if sheet is None:
        raise _conflict("no_sheet", "The buyer has not defined the contract's scoring sheet",
                        "购买方尚未制定本合同的评分表")
    return sheet


def _item(sheet: EvaluationSheet, key: str) -> dict:
    for item in sheet.items:
        if item["key"] == key:
            return item
    raise ApiError(404, f"Item {key} is not on the sheet", f"评分表上没有评分项 {key}")


def _open(contract, milestone_id: str) -> None:
    milestone_of(contract, milestone_id)
    decided = db.session.get(ReviewDecision, (contract.id, milestone_id))
    if decided is not None and decided.decision in FINAL:
        raise _conflict("decided", "The buyer has decided this milestone",
                        "购买方已就该付款节点作出决定")


def _points(item: dict, points: Decimal) -> str:
    if points > Decimal(item["max_points"]):
        raise ApiError(422, fields={"points": [ABOVE_MAX]})
    return str(points.quantize(sheets.CENT))


def _row(contract, milestone_id: str, key: str) -> ReviewItem | None:
    return db.session.get(ReviewItem, (contract.id, milestone_id, key))


def self_assess(contract, milestone_id: str, key: str, data: dict, by: str) -> None:
    _open(contract, milestone_id)
    sheet = sheet_of(contract, milestone_id)
    item = _item(sheet, key)
    if item["scorer"] != "self_then_evaluator":
        raise _conflict("not_self_assessed", "This item is not assessed by the agency",
                        "该评分项不由机构自评")
    row = _row(contract, milestone_id, key)
    if row is not None and row.points is not None:
        raise _conflict("already_scored", "The evaluator has scored this item",
                        "评估方已对该评分项评分")
    _publish("review.item_self_assessed", f"contract/{contract.id}/{milestone_id}/{key}", {
        "by": by, "contract_id": contract.id, "milestone_id": milestone_id, "item_key": key,
        "sheet_version": sheet.version, "points": _points(item, data["points"]),
        "note_sha256": note(data["note"], by)})


def _linked(contract, record_ids: list, digests: list) -> None:
    """Every record and file an item's score rests on is of the contract's communities."""
    communities = list(contract.community_ids)
    known = set(db.session.scalars(sa.select(RecordEvent.record_id).where(
        RecordEvent.record_id.in_(record_ids), RecordEvent.community_id.in_(communities))))
    files = set(db.session.scalars(sa.select(EvidenceFileFact.digest).where(
        EvidenceFileFact.digest.in_(digests), EvidenceFileFact.community_id.in_(communities),
        EvidenceFileFact.hidden.is_(False))))
    problems = {}
    if set(record_ids) - known:
        problems["record_ids"] = [NOT_OF_CONTRACT]
    if set(digests) - files:
        problems["file_digests"] = [NO_SUCH_FILE]
    if problems:
        raise ApiError(422, fields=problems)


def score(contract, milestone_id: str, key: str, data: dict, by: str) -> None:
    """The evaluator's score of one item; it may be revised until the buyer decides (an
    answer may convince it)."""
    _open(contract, milestone_id)
    sheet = sheet_of(contract, milestone_id)
    item = _item(sheet, key)
    if item["scorer"] == "computed":
        raise _conflict("computed_item", "This item is computed from the scorecard",
                        "该评分项由绩效指标计算得出")
    row = _row(contract, milestone_id, key)
    if item["scorer"] == "self_then_evaluator" and (row is None or row.self_points is None):
        raise _conflict("self_assessment_pending", "The agency has not assessed itself on "
                        "this item yet", "机构尚未就该评分项自评")
    records, files = data.get("record_ids", []), data.get("file_digests", [])
    _linked(contract, records, files)
    _publish("review.item_scored", f"contract/{contract.id}/{milestone_id}/{key}", {
        "by": by, "contract_id": contract.id, "milestone_id": milestone_id, "item_key": key,
        "sheet_version": sheet.version, "points": _points(item, data["points"]),
        "note_sha256": note(data["comment"], by), "record_ids": list(records),
        "file_digests": list(files)})


def answer(contract, milestone_id: str, key: str, data: dict, by: str) -> None:
    """The agency's answer to an item's score (申辩): once per item, before the decision."""
    _open(contract, milestone_id)
    _item(sheet_of(contract, milestone_id), key)
    row = _row(contract, milestone_id, key)
    if row is None or row.points is None:
        raise _conflict("not_scored", "The evaluator has not scored this item yet",
                        "评估方尚未对该评分项评分")
    if row.answer_note is not None:
        raise _conflict("already_answered", "This item has been answered", "该评分项已申辩")
    _publish("review.item_answered", f"contract/{contract.id}/{milestone_id}/{key}", {
        "by": by, "contract_id": contract.id, "milestone_id": milestone_id, "item_key": key,
        "note_sha256": note(data["text"], by)})


def decide(contract, milestone_id: str, data: dict, by: str) -> None:
    """Approve the recommended payment, hold it, or reduce it, with the reason."""
    _open(contract, milestone_id)
    if db.session.get(ClosedScorecard, (contract.id, milestone_id)) is None:
        raise _conflict("milestone_not_closed", "Close the milestone's scorecard first",
                        "请先结算该付款节点的绩效记分卡")
    found = result(contract, milestone_id)
    if not found["complete"]:
        raise _conflict("review_incomplete", "Items are still to be scored: "
                        + ", ".join(found["pending"]),
                        "尚有评分项未评分：" + "、".join(found["pending"]))
    recommended, decision = Decimal(found["recommended"]), data["decision"]
    amount = {"approve": recommended, "hold": Decimal(0)}.get(decision, data.get("amount"))
    problems = {}
    if decision != "approve" and not data.get("reason"):
        problems["reason"] = [REASON_NEEDED]
    if decision == "reduce" and amount is None:
        problems["amount"] = [AMOUNT_NEEDED]
    elif decision == "reduce" and amount >= recommended:
        problems["amount"] = [REDUCE_BELOW]
    if problems:
        raise ApiError(422, fields=problems)
    _publish("review.milestone_decided", f"contract/{contract.id}/{milestone_id}", {
        "by": by, "contract_id": contract.id, "milestone_id": milestone_id,
        "sheet_version": found["sheet_version"], "total": found["total"],
        "grade": found["grade"]["grade"], "recommended": str(recommended),
        "decision": decision, "amount": str(amount.quantize(sheets.CENT)),
        "reason_sha256": note(data["reason"], by) if data.get("reason") else None})


# -- what everyone sees ---------------------------------------------------------------------

def _card(contract, milestone: dict) -> tuple[dict | None, bool]:
    """The scorecard the computed items take: the one the milestone was closed on, or,
    before closing, the same as-of card as it stands now (provisional)."""
    closed = db.session.get(ClosedScorecard, (contract.id, milestone["id"]))
    if closed is not None:
        return closed.card, True
    due = date.fromisoformat(str(milestone["due"]))
    if due < contract.period_start:
        return None, False
    return card_for(contract, due, known_as_of(contract, due)), False


def _texts(digests) -> dict:
    wanted = [d for d in digests if d]
    return {n.digest: n.text for n in db.session.scalars(sa.select(ReviewNote).where(
        ReviewNote.digest.in_(wanted)))} if wanted else {}


def _links(rows) -> tuple[dict, dict]:
    """Each linked record's kind and events, each linked file's record and type."""
    record_ids = {r for row in rows for r in row.record_ids}
    digests = {d for row in rows for d in row.file_digests}
    records = {}
    for event in db.session.scalars(sa.select(RecordEvent).where(
            RecordEvent.record_id.in_(record_ids)).order_by(RecordEvent.on)):
        records.setdefault(event.record_id, {"record_id": event.record_id,
                                             "kind": event.record_kind, "event_ids": []})
        records[event.record_id]["event_ids"].append(event.event_id)
    files = {f.digest: {"digest": f.digest, "record_kind": f.record_kind,
                        "record_id": f.record_id, "media_type": f.media_type}
             for f in db.session.scalars(sa.select(EvidenceFileFact).where(
                 EvidenceFileFact.digest.in_(digests)))}
    return records, files


def _item_view(item: dict, row: ReviewItem | None, points, texts, records, files) -> dict:
    view = {**item, "points": None if points is None else str(points), "self": None,
            "score": None, "answer": None}
    if row is not None and row.self_points is not None:
        view["self"] = {"points": str(row.self_points), "note": texts.get(row.self_note),
                        "at": row.self_at.isoformat()}
    if row is not None and row.points is not None:
        view["score"] = {"points": str(row.points), "comment": texts.get(row.note),
                         "comment_sha256": row.note, "at": row.scored_at.isoformat(),
                         "records": [records.get(r, {"record_id": r}) for r in row.record_ids],
                         "files": [files.get(d, {"digest": d}) for d in row.file_digests]}
    if row is not None and row.answer_note is not None:
        view["answer"] = {"text": texts.get(row.answer_note),
                          "at": row.answered_at.isoformat()}
    return view


def result(contract, milestone_id: str) -> dict:
    """The milestone's review: each item with its self-assessment, score and answer; the
    sheet's total and grade; the payment recommended on it and the decision taken."""
    milestone = milestone_of(contract, milestone_id)
    sheet = sheet_of(contract, milestone_id)
    card, closed = _card(contract, milestone)
    rows = {r.item_key: r for r in db.session.scalars(sa.select(ReviewItem).where(
        ReviewItem.contract_id == contract.id, ReviewItem.milestone_id == milestone_id))}
    points = {item["key"]: sheets.computed_points(item, card) if item["scorer"] == "computed"
              else rows[item["key"]].points if item["key"] in rows else None
              for item in sheet.items}
    decided = db.session.get(ReviewDecision, (contract.id, milestone_id))
    texts = _texts([n for r in rows.values() for n in (r.self_note, r.note, r.answer_note)]
                   + [decided.reason_note if decided else None])
    records, files = _links(rows.values())
    total = sheets.total(sheet.items, points)
    payment = next(p for p in scorecard.payments(contract.milestones, contract.budget, total)
                   if p["milestone_id"] == milestone_id)
    pending = [i["key"] for i in sheet.items
               if i["scorer"] != "computed" and points[i["key"]] is None]
    return {
        "contract_id": contract.id, "milestone_id": milestone_id, "due": str(milestone["due"]),
        "sheet_version": sheet.version, "card_closed": closed,
        "card_total": None if card is None else card["total"],
        "items": [_item_view(i, rows.get(i["key"]), points[i["key"]], texts, records, files)
                  for i in sheet.items],
        "bands": sheet.bands, "total": None if total is None else str(total),
        "grade": sheets.grade(sheet.bands, total), "complete": not pending,
        "pending": pending, "share": payment["share"], "recommended": payment["recommended"],
        "full_share": str((contract.budget * Decimal(str(payment["share"]))).quantize(
            sheets.CENT)),
        "decision": None if decided is None else {
            "decision": decided.decision, "amount": str(decided.amount),
            "recommended": str(decided.recommended), "total": str(decided.total),
            "grade": decided.grade, "reason": texts.get(decided.reason_note),
            "reason_sha256": decided.reason_note, "holds": decided.holds,
            "at": decided.decided_at.isoformat()}}


def decisions(contract) -> dict:
    """{milestone: the buyer's latest decision, with the sheet's result and the reason}: what
    the payments table shows beside what the scorecard recommends."""
    rows = db.session.scalars(sa.select(ReviewDecision).where(
        ReviewDecision.contract_id == contract.id)).all()
    texts = _texts([r.reason_note for r in rows])
    return {r.milestone_id: {"decision": r.decision, "amount": str(r.amount),
                             "recommended": str(r.recommended), "total": str(r.total),
                             "grade": r.grade, "reason": texts.get(r.reason_note)}
            for r in rows}
