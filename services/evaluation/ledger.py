"""The spending ledger of a contract: the buyer sets the budget by line, the agency records
each expenditure (day, amount, line, payee kind, receipts) and everyone reads the execution
rate per line and in all, with the entries that go over a line's budget or fall outside the
contract's period flagged. Amounts are Decimal yuan from the request to the column and back.

Budgets and expenses are events (ledger.*), the tables what they say (own_events.py);
receipts are files cleaned and stored by digest like every evidence file (shared/uploads.py)."""
import uuid
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app

from shared.db import read_once_each
from shared.errors import ApiError
from shared.events import Event
from shared.i18n import bilingual
from shared.uploads import MAX_FILE_BYTES, NOT_EVIDENCE, clean_image, clean_pdf, sniff

from . import own_events
from .models import LedgerBudget, LedgerExpense, LedgerReceipt, ReviewNote, db
from .own_events import note, when

CENT = Decimal("0.01")
DEFAULT_LINES = (("personnel", "人员经费", "Personnel"), ("activities", "活动经费", "Activities"),
                 ("materials", "物资耗材", "Materials"), ("management", "管理费用", "Management"),
                 ("other", "其他", "Other"))
PAYEES_ZH = {"staff": "机构工作人员", "supplier": "供应商", "venue": "场地方", "expert": "专家/督导",
             "volunteer": "志愿者补贴", "other": "其他"}

NOT_THE_BUDGET = bilingual("The lines must add up to the contract's budget",
                           "各预算科目之和须等于合同预算")
DUPLICATE_LINE = bilingual("Two lines have the same key", "预算科目编号重复")
LINE_IN_USE = bilingual("A line with expenses recorded on it stays in the budget (its amount "
                        "may change)", "已有支出记录的预算科目不能删除（可调整其金额）")
UNKNOWN_LINE = bilingual("Not a line of the contract's budget", "不是本合同的预算科目")
NOT_A_RECEIPT = bilingual("Not a receipt uploaded for this contract", "不是为本合同上传的凭证")
NO_FILE = bilingual("Attach one file in the field 'file'", "请在 file 字段中上传一个文件")
TOO_LARGE = bilingual(f"The file is larger than {MAX_FILE_BYTES} bytes",
                      f"文件超过 {MAX_FILE_BYTES} 字节")


# -- the projection -------------------------------------------------------------------------

def _budget_set(event: Event) -> None:
    d = event.data
    db.session.add(LedgerBudget(contract_id=d["contract_id"], version=d["version"],
                                lines=d["lines"], set_by=d["by"], set_at=when(event)))


def _expense_recorded(event: Event) -> None:
    d = event.data
    db.session.add(LedgerExpense(
        id=d["expense_id"], contract_id=d["contract_id"],
        spent_on=date.fromisoformat(d["spent_on"]), amount=Decimal(d["amount"]),
        line=d["line"], payee_kind=d["payee_kind"], receipts=list(d["receipt_digests"]),
        note=d["note_sha256"], recorded_by=d["by"], recorded_at=when(event)))


APPLY = {"ledger.budget_set": _budget_set, "ledger.expense_recorded": _expense_recorded}


def replay() -> int:
    return own_events.replay(APPLY, (LedgerExpense, LedgerBudget))


# -- the acts -------------------------------------------------------------------------------

def budget_of(contract_id: str, as_of: datetime | None = None) -> LedgerBudget | None:
    """The contract's budget version in force (as set by `as_of`, if given)."""
    where = [LedgerBudget.contract_id == contract_id]
    if as_of is not None:
        where.append(LedgerBudget.set_at <= as_of)
    return db.session.scalar(sa.select(LedgerBudget).where(*where).order_by(
        LedgerBudget.version.desc()).limit(1))


def default_lines() -> list[dict]:
    return [{"key": k, "label_zh": zh, "label_en": en} for k, zh, en in DEFAULT_LINES]


def set_budget(contract, lines: list[dict], by: str) -> LedgerBudget:
    """A new version of the budget by line; the lines add up to the contract's budget."""
    problems = {}
    if sum(line["amount"] for line in lines) != contract.budget:
        problems["lines"] = [NOT_THE_BUDGET]
    if len({line["key"] for line in lines}) != len(lines):
        problems["lines"] = [DUPLICATE_LINE]
    # a line dropped from under its expenses would take them out of the ledger's sums, while
    # the actual spend (cost per outcome) still counts them
    if db.session.scalar(sa.select(LedgerExpense.id).where(
            LedgerExpense.contract_id == contract.id,
            LedgerExpense.line.not_in([line["key"] for line in lines])).limit(1)):
        problems["lines"] = [LINE_IN_USE]
    if problems:
        raise ApiError(422, fields=problems)
    latest = budget_of(contract.id)
    number = 1 if latest is None else latest.version + 1
    own_events.publish(APPLY, "ledger.budget_set", f"contract/{contract.id}/budget", {
        "by": by, "contract_id": contract.id, "version": number,
        "lines": [{**line, "amount": str(line["amount"].quantize(CENT))} for line in lines]})
    return db.session.get(LedgerBudget, (contract.id, number))


def record_expense(contract, data: dict, by: str) -> LedgerExpense:
    budget = budget_of(contract.id)
    if budget is None:
        raise ApiError(409, "The buyer has not set the contract's budget lines",
                       "购买方尚未设定本合同的预算科目", code="no_budget")
    problems = {}
    if data["line"] not in {line["key"] for line in budget.lines}:
        problems["line"] = [UNKNOWN_LINE]
    receipts = data.get("receipt_digests", [])
    held = set(db.session.scalars(sa.select(LedgerReceipt.digest).where(
        LedgerReceipt.contract_id == contract.id, LedgerReceipt.digest.in_(receipts))))
    if set(receipts) - held:
        problems["receipt_digests"] = [NOT_A_RECEIPT]
    if problems:
        raise ApiError(422, fields=problems)
    expense_id = uuid.uuid4().hex
    own_events.publish(APPLY, "ledger.expense_recorded", f"contract/{contract.id}/expense", {
        "by": by, "contract_id": contract.id, "expense_id": expense_id,
        "spent_on": data["spent_on"].isoformat(), "amount": str(data["amount"].quantize(CENT)),
        "line": data["line"], "payee_kind": data["payee_kind"],
        "receipt_digests": list(receipts), "note_sha256": note(data["description"], by)})
    return db.session.get(LedgerExpense, expense_id)


def store():
    return current_app.extensions["filestore"]


def keep_receipt(contract, upload, by: str) -> LedgerReceipt:
    """A receipt photo or PDF, cleaned and stored by digest (the same file twice: the row
    already kept)."""
    if upload is None:
        raise ApiError(422, fields={"file": [NO_FILE]})
    data = upload.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ApiError(413, TOO_LARGE, code="file_too_large", fields={"file": [TOO_LARGE]})
    media_type, thumbnail = sniff(data), None
    if media_type is None:
        raise ApiError(422, fields={"file": [NOT_EVIDENCE]})
    if media_type == "application/pdf":
        data = clean_pdf(data)
    else:
        data, media_type, _, thumb = clean_image(data, media_type)
        thumbnail = store().put(thumb)
    digest = store().put(data)
    row = db.session.get(LedgerReceipt, (contract.id, digest))
    if row is None:
        row = LedgerReceipt(contract_id=contract.id, digest=digest, media_type=media_type,
                            size=len(data), thumbnail_digest=thumbnail, uploaded_by=by)
        db.session.add(row)
        db.session.flush()
    return row


def receipt(contract, digest: str, variant: str) -> tuple[bytes, str]:
    row = db.session.get(LedgerReceipt, (contract.id, digest))
    if row is None or (variant == "thumbnail" and row.thumbnail_digest is None):
        raise ApiError(404, "No such receipt", "未找到该凭证")
    if variant == "thumbnail":
        with store().open(row.thumbnail_digest) as f:
            return f.read(), "image/jpeg"
    with store().open(row.digest) as f:
        return f.read(), row.media_type


# -- what it adds up to ---------------------------------------------------------------------

def _rate(spent: Decimal, budget: Decimal) -> str | None:
    return str((spent / budget).quantize(Decimal("0.0001"))) if budget else None


def budgets_set_of(contract_ids) -> dict[str, list[datetime]]:
    """When each contract's budget versions were set, read once per transaction for every
    contract asked (a contract without one keeps no ledger)."""
    def read(ids):
        found: dict[str, list] = {}
        for contract_id, set_at in db.session.execute(sa.select(
                LedgerBudget.contract_id, LedgerBudget.set_at).where(
                LedgerBudget.contract_id.in_(ids))):
            found.setdefault(contract_id, []).append(set_at)
        return found
    return read_once_each(db.session, "budgets set", contract_ids, read)


def spent(contract, start: date, end: date, as_of: datetime | None = None) -> Decimal | None:
    """What the ledger says was spent on the days from start to end, as recorded by `as_of`;
    None where the contract kept no ledger by then (no budget lines set)."""
    if not any(as_of is None or set_at <= as_of
               for set_at in budgets_set_of([contract.id])[contract.id]):
        return None
    where = [LedgerExpense.contract_id == contract.id, LedgerExpense.spent_on >= start,
             LedgerExpense.spent_on <= end]
    if as_of is not None:
        where.append(LedgerExpense.recorded_at <= as_of)
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(
        LedgerExpense.amount), 0)).where(*where)).quantize(CENT)


def _flagged(contract, expenses: list, lines: dict) -> list[dict]:
    """Each expense with its flags: over its line's budget (the line's running total, in the
    order of the days spent, passes the line's amount), outside the contract's period, or
    without a receipt."""
    running, out = {key: Decimal(0) for key in lines}, []
    texts = {n.digest: n.text for n in db.session.scalars(sa.select(ReviewNote).where(
        ReviewNote.digest.in_({e.note for e in expenses})))} if expenses else {}
    for e in expenses:
        running[e.line] = running.get(e.line, Decimal(0)) + e.amount
        flags = [flag for flag, on in (
            ("over_budget", running[e.line] > lines.get(e.line, Decimal(0))),
            ("outside_period", not contract.period_start <= e.spent_on <= contract.period_end),
            ("no_receipt", not e.receipts)) if on]
        out.append({"id": e.id, "spent_on": e.spent_on.isoformat(), "amount": str(e.amount),
                    "line": e.line, "payee_kind": e.payee_kind,
                    "payee_zh": PAYEES_ZH[e.payee_kind], "receipts": list(e.receipts),
                    "description": texts.get(e.note), "recorded_by": e.recorded_by,
                    "recorded_at": e.recorded_at.isoformat(), "flags": flags})
    return out


def summary(contract, until: date | None = None, as_of: datetime | None = None) -> dict:
    """Budget, spending and execution rate per line and in all, with every expense (spent by
    `until`, if given) and its flags; as recorded by `as_of`, if given (a report's figures
    are those its card was computed from, however many entries came later)."""
    budget = budget_of(contract.id, as_of)
    if budget is None:
        raise ApiError(404, "The contract keeps no ledger yet", "本合同尚未设立经费台账")
    query = sa.select(LedgerExpense).where(LedgerExpense.contract_id == contract.id)
    if until is not None:
        query = query.where(LedgerExpense.spent_on <= until)
    if as_of is not None:
        query = query.where(LedgerExpense.recorded_at <= as_of)
    expenses = db.session.scalars(query.order_by(
        LedgerExpense.spent_on, LedgerExpense.recorded_at, LedgerExpense.id)).all()
    amounts = {line["key"]: Decimal(line["amount"]) for line in budget.lines}
    entries = _flagged(contract, expenses, amounts)
    by_line = {key: sum((e.amount for e in expenses if e.line == key), Decimal(0))
               for key in amounts}
    total_budget, total_spent = sum(amounts.values(), Decimal(0)), sum(by_line.values(),
                                                                       Decimal(0))
    return {"contract_id": contract.id, "budget_version": budget.version,
            "until": until.isoformat() if until else None,
            "lines": [{**line, "spent": str(by_line[line["key"]].quantize(CENT)),
                       "remaining": str((amounts[line["key"]] - by_line[line["key"]]).quantize(
                           CENT)),
                       "execution_rate": _rate(by_line[line["key"]], amounts[line["key"]]),
                       "over_budget": by_line[line["key"]] > amounts[line["key"]]}
                      for line in budget.lines],
            "budget": str(total_budget.quantize(CENT)), "spent": str(total_spent.quantize(CENT)),
            "execution_rate": _rate(total_spent, total_budget),
            "flagged": sum(1 for e in entries if e["flags"]), "expenses": entries}
