"""Evaluation's pages for buyers and auditors: their contracts and each contract's scorecard
(figures, charts, the indicator table with weights and targets, payments by milestone).
The card comes from the API's own view; the charts' monthly series from the same measures.

The scorecard page is built of sections (templates/evaluation/scorecard.html) so further
ones (evidence drill-down, anomalies, verification sampling, exports) slot in beside them."""
from datetime import date, timedelta

from flask import render_template, request
from flask_babel import gettext as _
from marshmallow import ValidationError

from shared.web import api_view, charts, page_blueprint
from shared.web.forms import form_input
from shared.web.i18n import is_chinese, localized

from . import api, measures
from .framework import MEASURES
from .schemas import ScorecardQuery

blp = page_blueprint("evaluation_pages", __name__, roles=("buyer_auditor", "ops_admin"))
RUNGS = ("served", "participant", "contributor", "co_decider", "leader")


@blp.get("/contracts")
def contracts():
    return render_template("evaluation/contracts.html",
                           contracts=api_view(api.list_contracts)())


def months(start: date, end: date) -> list[tuple[date, date]]:
    """Calendar months overlapping [start, end], clipped to it."""
    spans, first = [], start.replace(day=1)
    while first <= end:
        following = (first + timedelta(days=32)).replace(day=1)
        spans.append((max(first, start), min(following - timedelta(days=1), end)))
        first = following
    return spans


def monthly(communities: tuple, start: date, end: date, grid_id=None) -> dict:
    """Per month: how many residents reached each rung, and the dependency ratio."""
    spans = months(start, end)
    scopes = [measures.Scope(communities, a, b, grid_id) for a, b in spans]
    ladders = [measures.ladder(s)["at_least"] for s in scopes]
    return {"labels": [a.strftime("%Y-%m") for a, _ in spans],
            "rungs": {rung: [ladder[rung] for ladder in ladders] for rung in RUNGS},
            "dependency": [measures.dependency_ratio(s)["value"] for s in scopes]}


def rung_names() -> dict:
    return {"served": _("Served"), "participant": _("Participant"),
            "contributor": _("Contributor"), "co_decider": _("Co-decider"),
            "leader": _("Leader")}


def _charts(card: dict, scope: measures.Scope, series: dict) -> dict:
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
    return {
        "funnel": charts.funnel([(names[r], ladder[r]) for r in RUNGS],
                                _("Participation ladder")),
        "ladder_trend": charts.lines(series["labels"], [(names[r], series["rungs"][r])
                                                         for r in RUNGS],
                                     _("Participation ladder by month")),
        "dependency": charts.lines(series["labels"], [(_("Resident-led share"),
                                                       series["dependency"])],
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
    scope = measures.Scope(tuple(contract.community_ids),
                           date.fromisoformat(card["scope"]["from"]),
                           date.fromisoformat(card["scope"]["to"]), card["scope"]["grid_id"])
    series = monthly(scope.communities, scope.start, scope.end, scope.grid_id)
    name_index = 0 if is_chinese() else 1
    return render_template(
        "evaluation/scorecard.html", contract=contract, card=card, errors=errors,
        filters=request.args, charts=_charts(card, scope, series),
        measure_name=lambda key: MEASURES[key][name_index] if key in MEASURES else key,
        zh=is_chinese()), 422 if errors else 200
