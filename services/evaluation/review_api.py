"""Evaluation's review API: the contract's scoring sheet (the buyer's), and for each
milestone the agency's self-assessment and answers, the evaluator's scores and the buyer's
decision on the payment. Each view checks the caller's role, fetches the contract in its
scope (access.py: another contract is not found) and commits what it changed."""
import sqlalchemy as sa

from shared import auth
from shared.api import Blueprint
from shared.errors import ApiError

from shared.uploads import served

from . import access, report, reviews, sheets
from .access import REVIEW_READERS
from .models import EvaluationSheet, db
from .review_schemas import (AnswerIn, DecisionIn, ReportOut, ReportQuery, ReviewOut, ScoreIn,
                             SelfAssessmentIn, SheetIn, SheetOut)

blp = Blueprint("reviews", __name__, description="Scoring sheets and milestone reviews")
ITEM = "/contracts/<contract_id>/milestones/<milestone_id>/review/items/<item_key>"


@blp.get("/templates/sheet")
@blp.response(200, SheetIn)
def default_sheet():
    """The default scoring sheet (project management, professional practice, outcomes,
    financial management, satisfaction) and grade bands (优秀 90, 良好 80, 合格 60)."""
    auth.require(*REVIEW_READERS)
    return sheets.default_sheet()


@blp.post("/contracts/<contract_id>/sheet")
@blp.arguments(SheetIn)
@blp.response(201, SheetOut)
def define_sheet(data, contract_id):
    """A new version of the contract's scoring sheet and grade bands (empty: the default)."""
    claims = auth.require("buyer_auditor")
    contract = access.contract(claims, contract_id)
    if bool(data.get("items")) != bool(data.get("bands")):
        data = {**sheets.default_sheet(), **data}
    sheet = reviews.define_sheet(contract, data or None, claims.sub)
    db.session.commit()
    return sheet


@blp.get("/contracts/<contract_id>/sheet")
@blp.response(200, SheetOut)
def current_sheet(contract_id):
    contract = access.contract(auth.require(*REVIEW_READERS), contract_id)
    sheet = sheets.current(contract.id)
    if sheet is None:
        raise ApiError(404, "The contract has no scoring sheet yet", "本合同尚无评分表")
    return sheet


@blp.get("/contracts/<contract_id>/sheet/versions")
@blp.response(200, SheetOut(many=True))
def sheet_versions(contract_id):
    contract = access.contract(auth.require(*REVIEW_READERS), contract_id)
    return db.session.scalars(sa.select(EvaluationSheet).where(
        EvaluationSheet.contract_id == contract.id).order_by(EvaluationSheet.version)).all()


@blp.get("/contracts/<contract_id>/milestones/<milestone_id>/review")
@blp.response(200, ReviewOut)
def milestone_review(contract_id, milestone_id):
    """The milestone's review: every item with its self-assessment, score (comment, records,
    files) and answer, the total and grade, the recommended payment and the decision."""
    contract = access.contract(auth.require(*REVIEW_READERS), contract_id)
    return reviews.result(contract, milestone_id)


def _acted(contract, milestone_id):
    db.session.commit()
    return reviews.result(contract, milestone_id)


@blp.post(ITEM + "/self-assessment")
@blp.arguments(SelfAssessmentIn)
@blp.response(200, ReviewOut)
def self_assess(data, contract_id, milestone_id, item_key):
    """The agency's self-assessment (自评) of an item the sheet gives it first."""
    claims = auth.require("agency_admin")
    contract = access.contract(claims, contract_id)
    reviews.self_assess(contract, milestone_id, item_key, data, claims.sub)
    return _acted(contract, milestone_id)


@blp.post(ITEM + "/score")
@blp.arguments(ScoreIn)
@blp.response(200, ReviewOut)
def score_item(data, contract_id, milestone_id, item_key):
    """The evaluator's score of an item, with its comment and the records and evidence files
    it rests on; revised until the buyer decides."""
    claims = auth.require("evaluator")
    contract = access.contract(claims, contract_id)
    reviews.score(contract, milestone_id, item_key, data, claims.sub)
    return _acted(contract, milestone_id)


@blp.post(ITEM + "/answer")
@blp.arguments(AnswerIn)
@blp.response(200, ReviewOut)
def answer_item(data, contract_id, milestone_id, item_key):
    """The agency's answer to an item's score (申辩), once per item."""
    claims = auth.require("agency_admin")
    contract = access.contract(claims, contract_id)
    reviews.answer(contract, milestone_id, item_key, data, claims.sub)
    return _acted(contract, milestone_id)


@blp.post("/contracts/<contract_id>/milestones/<milestone_id>/review/decision")
@blp.arguments(DecisionIn)
@blp.response(200, ReviewOut)
def decide(data, contract_id, milestone_id):
    """The buyer approves the recommended payment, holds it or reduces it, with a reason."""
    claims = auth.require("buyer_auditor")
    contract = access.contract(claims, contract_id)
    reviews.decide(contract, milestone_id, data, claims.sub)
    return _acted(contract, milestone_id)


@blp.get("/contracts/<contract_id>/milestones/<milestone_id>/report")
@blp.response(200, ReportOut)
def milestone_report(contract_id, milestone_id):
    """The milestone's evaluation report as data (what the page and the PDF show)."""
    contract = access.contract(auth.require(*REVIEW_READERS), contract_id)
    return report.content(contract, milestone_id)


@blp.get("/contracts/<contract_id>/milestones/<milestone_id>/report/pdf")
@blp.arguments(ReportQuery, location="query")
@blp.response(200, content_type="application/pdf")
def milestone_report_pdf(args, contract_id, milestone_id):
    """The report as a PDF, in Chinese (lang=en: English), its CJK font embedded."""
    contract = access.contract(auth.require(*REVIEW_READERS), contract_id)
    response = served((report.pdf(report.content(contract, milestone_id), args["lang"]),
                       "application/pdf"), milestone_id)
    response.headers["Content-Disposition"] = (
        f'inline; filename="report-{contract.id}-{milestone_id}.pdf"')
    return response
