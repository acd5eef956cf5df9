"""The agency's side of its contracts' evaluations, on casework's pages where its people
sign in: each milestone's review (the self-assessment of the items the agency goes first,
its answer to a score, 申辩, once per item) and the contract's spending ledger (an expense
with a photo of its receipt). Evaluation keeps all of it: these pages call evaluation's API
with the signed-in person's own token (an agency token is for casework and evaluation), so
evaluation checks the scope and the input as for any caller; casework holds none of it and
mints nothing for evaluation (as evaluation's drill-down asks casework for thumbnails)."""
import requests
from flask import abort, g, redirect, render_template, request, session, url_for

from shared.config import service_url
from shared.errors import ApiError
from shared.events.schemas.evaluation import PAYEE_KINDS
from shared.paths import path
from shared.web.i18n import is_chinese

from .pages import blp

TIMEOUT = 10
UNREACHABLE = ("Evaluation cannot be reached just now; try again later",
               "暂时无法连接绩效评估服务，请稍后再试")


def _evaluation(method: str, path: str, **kwargs) -> requests.Response:
    try:
        return requests.request(method, service_url("evaluation") + path, timeout=TIMEOUT,
                                headers={"Authorization": f"Bearer {session.get('token')}"},
                                **kwargs)
    except requests.RequestException:
        raise ApiError(503, *UNREACHABLE, code="unavailable")


def _answer(response: requests.Response):
    """The JSON of a 2xx; a refusal without fields as the error page; with fields: None."""
    if response.ok:
        return response.json()
    error = response.json().get("error", {}) if response.headers.get(
        "content-type", "").startswith("application/json") else {}
    if response.status_code in (409, 422) and error.get("fields"):
        return None
    raise ApiError(response.status_code, error.get("message"), error.get("message_zh"),
                   code=error.get("code"))


def _field_errors(response: requests.Response) -> dict:
    error = response.json()["error"]
    return error.get("fields_zh" if is_chinese() else "fields") or {}


def _agency_only():
    if g.claims.role != "agency_admin":
        abort(403)


@blp.get("/evaluation")
def evaluations():
    """The agency's contracts with their milestones: each one's review and the ledger."""
    contracts = _answer(_evaluation("GET", "/contracts"))
    return render_template("casework/evaluations.html", contracts=contracts)


def _review_page(contract_id: str, milestone_id: str, errors=None, failed=None, status=200):
    review = _answer(_evaluation("GET", path("contracts", contract_id, "milestones",
                                             milestone_id, "review")))
    return render_template("casework/evaluation_review.html", review=review,
                           errors=errors or {}, failed=failed, form=request.form,
                           role=g.claims.role, zh=is_chinese()), status


@blp.get("/evaluation/<contract_id>/milestones/<milestone_id>")
def evaluation_review(contract_id, milestone_id):
    return _review_page(contract_id, milestone_id)


@blp.post("/evaluation/<contract_id>/milestones/<milestone_id>/items/<item_key>/<act>")
def evaluation_act(contract_id, milestone_id, item_key, act):
    """The agency's self-assessment or answer of one item, sent to evaluation."""
    _agency_only()
    fields = {"self-assessment": ("points", "note"), "answer": ("text",)}.get(act)
    if fields is None:
        abort(404)
    body = _filled(fields)
    response = _evaluation("POST", path("contracts", contract_id, "milestones", milestone_id,
                                        "review", "items", item_key, act), json=body)
    if _answer(response) is None:
        return _review_page(contract_id, milestone_id, _field_errors(response), item_key, 422)
    return redirect(url_for(".evaluation_review", contract_id=contract_id,
                            milestone_id=milestone_id, _anchor=f"item-{item_key}"))


def _ledger_page(contract_id: str, errors=None, status=200):
    _answer(_evaluation("GET", path("contracts", contract_id)))  # another's: not found
    response = _evaluation("GET", path("contracts", contract_id, "ledger"))
    ledger = None if response.status_code == 404 else _answer(response)
    return render_template("casework/evaluation_ledger.html", contract_id=contract_id,
                           ledger=ledger, errors=errors or {}, form=request.form,
                           role=g.claims.role, payees=PAYEE_KINDS, zh=is_chinese()), status


@blp.get("/evaluation/<contract_id>/ledger")
def evaluation_ledger(contract_id):
    return _ledger_page(contract_id)


@blp.post("/evaluation/<contract_id>/ledger/expenses")
def evaluation_expense(contract_id):
    """An expense with its receipt photo: the photo is kept at evaluation first, then the
    expense cites it by digest."""
    _agency_only()
    body = _filled(("spent_on", "amount", "line", "payee_kind", "description"))
    upload = request.files.get("receipt")
    if upload and upload.filename:
        kept = _evaluation("POST", path("contracts", contract_id, "ledger", "receipts"), files={
            "file": (upload.filename, upload.read(), upload.mimetype)})
        if _answer(kept) is None:
            return _ledger_page(contract_id, {"receipt": _field_errors(kept).get("file", [])},
                                422)
        body["receipt_digests"] = [kept.json()["digest"]]
    response = _evaluation("POST", path("contracts", contract_id, "ledger", "expenses"), json=body)
    if _answer(response) is None:
        return _ledger_page(contract_id, _field_errors(response), 422)
    return redirect(url_for(".evaluation_ledger", contract_id=contract_id,
                            _anchor="expenses"))


def _filled(names) -> dict:
    """The form's non-blank fields of `names`."""
    return {k: request.form[k].strip() for k in names if request.form.get(k, "").strip()}
