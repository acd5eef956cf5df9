"""Evaluation's ledger API: the buyer sets a contract's budget by line, the agency records
expenses with their receipts, and the contract's readers and evaluator see the execution
rate and the flagged entries. Each view checks the caller's role, fetches the contract in
its scope (another contract is not found) and commits what it changed."""
from shared import auth
from shared.api import Blueprint
from shared.uploads import served

from . import access, ledger
from .access import REVIEW_READERS
from .ledger_schemas import (BudgetIn, BudgetOut, ExpenseIn, ExpenseOut, LedgerOut,
                             LedgerQuery, ReceiptOut, ReceiptUpload)
from .models import db

blp = Blueprint("ledger", __name__, description="The spending ledger")
LEDGER = "/contracts/<contract_id>/ledger"


@blp.post(LEDGER + "/budget")
@blp.arguments(BudgetIn)
@blp.response(201, BudgetOut)
def set_budget(data, contract_id):
    """A new version of the budget by line (they add up to the contract's budget)."""
    claims = auth.require("buyer_auditor")
    budget = ledger.set_budget(access.contract(claims, contract_id), data["lines"], claims.sub)
    db.session.commit()
    return budget


@blp.get(LEDGER)
@blp.arguments(LedgerQuery, location="query")
@blp.response(200, LedgerOut)
def get_ledger(args, contract_id):
    """Budget, spending and execution rate per line and in all, every expense with its
    flags (over_budget, outside_period, no_receipt)."""
    contract = access.contract(auth.require(*REVIEW_READERS), contract_id)
    return ledger.summary(contract, args.get("until"))


@blp.post(LEDGER + "/expenses")
@blp.arguments(ExpenseIn)
@blp.response(201, ExpenseOut)
def record_expense(data, contract_id):
    """An expenditure against a budget line, citing receipts uploaded for the contract."""
    claims = auth.require("agency_admin")
    expense = ledger.record_expense(access.contract(claims, contract_id), data, claims.sub)
    db.session.commit()
    return expense


@blp.post(LEDGER + "/receipts")
@blp.arguments(ReceiptUpload, location="files")
@blp.response(201, ReceiptOut)
def upload_receipt(data, contract_id):
    """A receipt photo or PDF, cleaned and stored by digest, for an expense to cite."""
    claims = auth.require("agency_admin")
    receipt = ledger.keep_receipt(access.contract(claims, contract_id), data.get("file"),
                                  claims.sub)
    db.session.commit()
    return receipt


@blp.get(LEDGER + "/receipts/<digest>")
@blp.response(200, content_type="application/octet-stream")
def get_receipt(contract_id, digest):
    contract = access.contract(auth.require(*REVIEW_READERS), contract_id)
    return served(ledger.receipt(contract, digest, "file"), digest)


@blp.get(LEDGER + "/receipts/<digest>/thumbnail")
@blp.response(200, content_type="image/jpeg")
def get_receipt_thumbnail(contract_id, digest):
    contract = access.contract(auth.require(*REVIEW_READERS), contract_id)
    return served(ledger.receipt(contract, digest, "thumbnail"), digest)
