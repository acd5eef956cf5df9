"""The pages of a milestone's review and of the contract's ledger, on evaluation's page
blueprint: the evaluator's scoring sheet with each item's evidence beside it (large fields,
one column on a tablet held upright), the buyer's sheet and decision, the ledger to read.
The agency's self-assessments, answers and expenses are on casework's pages, where its
people sign in (services/casework/evaluation_pages.py). Each form runs the API's own view
(api_view) under the page session, so scope and validation are the API's; what a role may
not do is not offered, and refused if posted."""
from flask import g, redirect, render_template, request, url_for

from shared.errors import ApiError
from shared.web import api_view
from shared.web.forms import submit

from . import api, ledger_api, review_api, thumbnails
from .evidence import BEHIND
from .pages import blp
from .review_schemas import DecisionIn, ScoreIn
from .schemas import EvidenceQuery

SHOWN = 12  # records of each measure shown beside an item


def _evidence(contract_id: str, review: dict) -> dict:
    """{measure: the first records of the milestone's period behind it} for the items'
    measures; the evaluator cites them."""
    shown = {}
    for item in review["items"]:
        for measure in item.get("measures", ()):
            if measure in shown or measure not in BEHIND:
                continue
            args = EvidenceQuery().load({"measure": measure, "limit": str(SHOWN),
                                         "to": review["due"]})
            shown[measure] = api_view(api.contract_evidence)(args, contract_id)
    return shown


def _review_page(contract_id: str, milestone_id: str, errors=None, failed=None, status=200):
    review = api_view(review_api.milestone_review)(contract_id, milestone_id)
    evidence = _evidence(contract_id, review) if g.claims.role == "evaluator" else {}
    links = thumbnails.links([r for found in evidence.values() for r in found["records"]])
    return render_template("evaluation/review.html", review=review, evidence=evidence,
                           links=links, errors=errors or {}, failed=failed, form=request.form,
                           contract_id=contract_id, role=g.claims.role), status


def _no_sheet(contract_id: str):
    contract = api_view(api.get_contract)(contract_id)
    return render_template("evaluation/no_sheet.html", contract=contract,
                           role=g.claims.role), 409


@blp.get("/contracts/<contract_id>/milestones/<milestone_id>/review")
def review(contract_id, milestone_id):
    try:
        return _review_page(contract_id, milestone_id)
    except ApiError as exc:
        if exc.code == "no_sheet":
            return _no_sheet(contract_id)
        raise


@blp.post("/contracts/<contract_id>/sheet")
def define_sheet(contract_id):
    """The buyer adopts the default sheet (its own items go through the API)."""
    api_view(review_api.define_sheet)({}, contract_id)
    back = request.form.get("next", "")
    return redirect(back if back.startswith("/ui/") else url_for(".scorecard",
                                                                 contract_id=contract_id))


def _acted(schema, view, contract_id, milestone_id, *key):
    def act(data):
        return api_view(view)(data, contract_id, milestone_id, *key)
    _, errors = submit(schema, act)
    if errors:
        return _review_page(contract_id, milestone_id, errors, key[0] if key else "decision",
                            422)
    anchor = f"item-{key[0]}" if key else "decision"
    return redirect(url_for(".review", contract_id=contract_id, milestone_id=milestone_id,
                            _anchor=anchor))


ITEM = "/contracts/<contract_id>/milestones/<milestone_id>/review/items/<item_key>"


@blp.post(ITEM + "/score")
def score(contract_id, milestone_id, item_key):
    return _acted(ScoreIn(), review_api.score_item, contract_id, milestone_id, item_key)


@blp.post("/contracts/<contract_id>/milestones/<milestone_id>/review/decision")
def decide(contract_id, milestone_id):
    return _acted(DecisionIn(), review_api.decide, contract_id, milestone_id)


# -- the ledger -----------------------------------------------------------------------------

@blp.get("/contracts/<contract_id>/ledger")
def ledger(contract_id):
    contract = api_view(api.get_contract)(contract_id)
    try:
        summary = api_view(ledger_api.get_ledger)({}, contract_id)
    except ApiError as exc:
        if exc.status != 404:
            raise
        summary = None
    return render_template("evaluation/ledger.html", contract=contract, ledger=summary)


@blp.get("/contracts/<contract_id>/ledger/receipts/<digest>")
def receipt(contract_id, digest):
    return api_view(ledger_api.get_receipt)(contract_id, digest)
