"""Evaluation's pages for buyers and auditors: their contracts and each contract's scorecard
(figures, charts, the indicator table with weights and targets, payments by milestone,
monthly trends and cohort retention), the records and events behind each indicator, anomaly
flags, exports, and follow-up verification (回访) samples.

Every page runs the API's own view functions (api_view) under the page session, so it shows
exactly what the API would, with the same scope checks."""
from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from shared.errors import ApiError
from shared.web import api_view, charts, page_blueprint
from shared.web.forms import form_input, submit
from shared.vocabulary import RUNGS
from shared.web.i18n import is_chinese, localized

from . import api, measures, review_api, reviews, thumbnails, verification
from .evidence import BEHIND
from .framework import MEASURES
from .review_schemas import ReportQuery
from .schemas import (AnomaliesQuery, EvidenceExportQuery, EvidenceQuery, ExportQuery,
                      PortfolioQuery, ScorecardQuery, VerificationDrawIn, VerificationResultIn)

blp = page_blueprint("evaluation_pages", __name__,
                     roles=("buyer_auditor", "evaluator", "ops_admin"))
PAGE_SIZE = 50
PERIOD = ("from", "to", "grid_id")  # the filters every contract page passes on


def period_args() -> dict:
    """The period filters of the request, to carry on in links."""
    return {k: request.args[k] for k in PERIOD if request.args.get(k)}


def query(schema, **extra) -> dict:
    """The request's query through the API's schema; a bad one is a 422 naming the field."""
    try:
        return schema.load({**form_input(schema, request.args), **extra})
    except ValidationError as exc:
        messages = localized(exc.messages)
        reasons = "; ".join(f"{field}: {' '.join(map(str, why))}"
                            for field, why in messages.items())
        raise ApiError(422, reasons, reasons, fields=messages)


def measure_name(key: str) -> str:
    return MEASURES[key][0 if is_chinese() else 1] if key in MEASURES else key


@blp.context_processor
def _helpers():
    return {"measure_name": measure_name, "zh": is_chinese(), "period": period_args()}


@blp.get("/contracts")
def contracts():
    return render_template("evaluation/contracts.html",
                           contracts=api_view(api.list_contracts)())


PORTFOLIO = ("from", "to", "as_of", "sort", "order", "offset")  # carried on in its links


@blp.get("/portfolio")
def portfolio():
    """The buyer's contracts with their figures: a page of the API's portfolio."""
    args = query(PortfolioQuery(), limit=str(PAGE_SIZE))
    filters = {k: request.args[k] for k in PORTFOLIO if request.args.get(k)}
    return render_template("evaluation/portfolio.html", errors={}, filters=filters,
                           found=api_view(api.contract_portfolio)(args))


def rung_names() -> dict:
    return {"served": _("Served"), "participant": _("Participant"),
            "contributor": _("Contributor"), "co_decider": _("Co-decider"),
            "leader": _("Leader")}


def _charts(card: dict, scope: measures.Scope, trend: list[dict]) -> dict:
    names = rung_names()
    ladder = measures.ladder(scope)["at_least"]
    breadth = measures.breadth(scope)
    stability = measures.stability(scope)
    outputs = [(_("Cases"), "cases"), (_("Sessions"), "sessions"),
               (_("Service hours"), "service_hours"), (_("Activities"), "activities")]
    targets = card["targets"] or {}
    delivered = [(f"{title} {card['outputs'][key]:g} / {targets.get(key, 0):g}",
                  card["outputs"][key] / targets[key] if targets.get(key) else None, 1.0)
                 for title, key in outputs]
    labels = [month["month"] for month in trend]
    return {
        "funnel": charts.funnel([(names[r], ladder[r]) for r in RUNGS],
                                _("Participation ladder")),
        "ladder_trend": charts.lines(labels, [(names[r], [m["ladder"][r] for m in trend])
                                              for r in RUNGS],
                                     _("Participation ladder by month")),
        "dependency": charts.lines(labels, [(_("Resident-led share"),
                                             [m["dependency_ratio"] for m in trend])],
                                   _("Dependency ratio by month"), percent=True),
        "breadth": charts.bars([(_("Participants"), breadth["numerator"], None),
                                (_("Registered residents"), breadth["denominator"], None)],
                               _("Breadth against the population")),
        "stability": charts.bars([(_("Active in 2+ months"), stability["numerator"], None),
                                  (_("Participants"), stability["denominator"], None)],
                                 _("Stability")),
        "outputs": charts.bars(delivered, _("Outputs against targets"), percent=True),
        "breadth_value": breadth["value"], "stability_value": stability["value"],
    }


@blp.get("/contracts/<contract_id>")
def scorecard(contract_id):
    errors = {}
    try:
        args = ScorecardQuery().load(form_input(ScorecardQuery(), request.args))
    except ValidationError as exc:
        args, errors = {}, localized(exc.messages)
    contract = api_view(api.get_contract)(contract_id)
    card = api_view(api.contract_scorecard)(args, contract_id)
    trends = api_view(api.contract_trends)(args, contract_id)
    scope = api.scope_of(contract, args)
    return render_template(
        "evaluation/scorecard.html", contract=contract, card=card, errors=errors,
        filters=request.args, charts=_charts(card, scope, trends["months"]),
        cohorts=trends["cohorts"], drillable=BEHIND,
        decisions=reviews.decisions(contract)), 422 if errors else 200


@blp.get("/contracts/<contract_id>/milestones/<milestone_id>/report")
def report(contract_id, milestone_id):
    """The milestone's evaluation report, as the PDF has it."""
    found = api_view(review_api.milestone_report)(contract_id, milestone_id)
    chart = charts.bars([(d["name_zh" if is_chinese() else "name_en"], d["score"], None)
                         for d in found["card"]["dimensions"]], _("Scorecard as of the due date"))
    return render_template("evaluation/report.html", r=found, chart=chart)


@blp.get("/contracts/<contract_id>/milestones/<milestone_id>/report/pdf")
def report_pdf(contract_id, milestone_id):
    args = query(ReportQuery(), lang=request.args.get("lang") or ("zh" if is_chinese()
                                                                  else "en"))
    return api_view(review_api.milestone_report_pdf)(args, contract_id, milestone_id)


@blp.get("/contracts/<contract_id>/export")
def export_scorecard(contract_id):
    return api_view(api.export_scorecard)(query(ExportQuery()), contract_id)


@blp.get("/contracts/<contract_id>/evidence/<measure>")
def evidence(contract_id, measure):
    args = query(EvidenceQuery(), measure=measure, limit=str(PAGE_SIZE))
    found = api_view(api.contract_evidence)(args, contract_id)
    columns = list(dict.fromkeys(k for r in found["records"] for k in r
                                 if k not in ("event_ids", "files")))
    return render_template("evaluation/evidence.html", found=found, columns=columns,
                           contract_id=contract_id, offset=args["offset"], size=PAGE_SIZE,
                           links=thumbnails.links(found["records"]))


@blp.get("/contracts/<contract_id>/evidence/<measure>/export")
def export_evidence(contract_id, measure):
    args = query(EvidenceExportQuery(), measure=measure)
    return api_view(api.export_evidence)(args, contract_id)


@blp.get("/contracts/<contract_id>/events/<event_id>")
def event(contract_id, event_id):
    return render_template("evaluation/event.html", contract_id=contract_id,
                           **api_view(api.contract_event)(contract_id, event_id))


@blp.get("/contracts/<contract_id>/anomalies")
def anomalies(contract_id):
    found = api_view(api.contract_anomalies)(query(AnomaliesQuery(), limit="1000"),
                                             contract_id)
    checks = {check: [f for f in found["flags"] if f["check"] == check]
              for check, count in found["counts"].items() if count}
    return render_template("evaluation/anomalies.html", found=found, checks=checks,
                           contract_id=contract_id)


# -- follow-up verification -----------------------------------------------------------------

def _samples_page(contract_id: str, errors=None, status=200):
    contract = api_view(api.get_contract)(contract_id)
    share = verification.verified_share(contract, api.scope_of(contract, {}))
    samples = api_view(api.list_verifications)(contract_id)
    return render_template("evaluation/verifications.html", contract=contract, share=share,
                           samples=samples, errors=errors or {}, form=request.form,
                           kinds=verification.KINDS), status


@blp.get("/contracts/<contract_id>/verifications")
def verifications(contract_id):
    return _samples_page(contract_id)


@blp.post("/contracts/<contract_id>/verifications")
def draw(contract_id):
    sample, errors = submit(VerificationDrawIn(),
                            lambda data: api_view(api.draw_verification)(data, contract_id))
    if errors:
        return _samples_page(contract_id, errors, 422)
    return redirect(url_for(".sample", contract_id=contract_id, sample_id=sample.id))


def _sample_page(contract_id: str, sample_id: str, errors=None, position=None, status=200):
    sample = api_view(api.get_verification)(contract_id, sample_id)
    links = thumbnails.links([{"files": item.files} for item in sample.items])
    return render_template("evaluation/sample.html", contract_id=contract_id, sample=sample,
                           links=links, errors=errors or {}, failed=position, form=request.form,
                           results=verification.RESULTS, methods=verification.METHODS), status


@blp.get("/contracts/<contract_id>/verifications/<sample_id>")
def sample(contract_id, sample_id):
    return _sample_page(contract_id, sample_id)


@blp.post("/contracts/<contract_id>/verifications/<sample_id>/items/<int:position>")
def verify(contract_id, sample_id, position):
    _, errors = submit(VerificationResultIn(), lambda data: api_view(api.verify_item)(
        data, contract_id, sample_id, position))
    if errors:
        return _sample_page(contract_id, sample_id, errors, position, 422)
    return redirect(url_for(".sample", contract_id=contract_id, sample_id=sample_id))
