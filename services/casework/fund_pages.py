"""The micro-fund's pages for the agency's workers: the funds, one fund through its phases
(projects, supports, review, the notice and its objections, paper ballots entered from a
council meeting, results, delivery), and the notice a community posts (公示): the projects,
their review and the results, with no resident named. Each page runs the fund API's own
views, so scope and checks are the API's."""
from flask import abort, redirect, render_template, request, url_for
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from shared.vocabulary import (BALLOT_CHANNELS, FUND_CATEGORIES, FUND_PHASES, FUND_PROPOSERS,
                               VOTING_RULES)
from shared.web import api_view
from shared.web.forms import attempt, form_input, submit
from shared.web.i18n import localized

from . import api, fund_api
from .fund_schemas import (BallotIn, DeliveryIn, FundIn, ObjectionIn, PhaseIn, ProjectIn,
                           ReviewIn, SupportIn)
from .pages import NO_FILTER, _served, blp

CHOICES = {"phases": FUND_PHASES, "categories": FUND_CATEGORIES,
           "fund_proposers": FUND_PROPOSERS, "voting_rules": VOTING_RULES,
           "channels": BALLOT_CHANNELS}
# the form of each step on a fund's page: its schema and the API view it runs
STEPS = {"phase": (PhaseIn, fund_api.change_phase), "project": (ProjectIn,
                                                                fund_api.propose_project),
         "objection": (ObjectionIn, fund_api.record_objection),
         "ballot": (BallotIn, fund_api.cast_ballot)}
PROJECT_STEPS = {"support": (SupportIn, fund_api.support_project),
                 "review": (ReviewIn, fund_api.review_project),
                 "delivery": (DeliveryIn, fund_api.deliver_project)}


def _funds_page(errors=None, form=None):
    return render_template("casework/funds.html", errors=errors or {},
                           form=form or MultiDict(), communities=_served(),
                           funds=api_view(fund_api.list_funds)(NO_FILTER), **CHOICES), \
        422 if errors else 200


@blp.get("/funds")
def funds():
    return _funds_page()


@blp.post("/funds")
def set_fund():
    """The phases' dates arrive as phase_<name> fields: gathered into the API's `phases`."""
    data = form_input(FundIn())
    data["phases"] = {p: request.form.get(f"phase_{p}", "") for p in FUND_PHASES}
    try:
        loaded = FundIn().load(data)
    except ValidationError as exc:
        return _funds_page(localized(exc.messages), request.form)
    made, errors = attempt(api_view(fund_api.create_fund), loaded)
    if errors:
        return _funds_page(errors, request.form)
    return redirect(url_for(".fund", fund_id=made.id))


def _fund_page(fund_id, errors=None, failed=None):
    record = api_view(fund_api.get_fund)(fund_id)
    meetings = [m for m in api_view(api.list_meetings)(NO_FILTER)
                if m.community_id == record.community_id]
    return render_template(
        "casework/fund.html", fund=record, errors=errors or {}, failed=failed,
        form=request.form if errors else MultiDict(),
        projects=api_view(fund_api.list_projects)(fund_id),
        objections=api_view(fund_api.list_objections)(fund_id),
        ballots=api_view(fund_api.list_ballots)(fund_id),
        results=api_view(fund_api.results)(fund_id), meetings=meetings,
        **CHOICES), 422 if errors else 200


@blp.get("/funds/<fund_id>")
def fund(fund_id):
    return _fund_page(fund_id)


@blp.post("/funds/<fund_id>/<step>")
def fund_step(fund_id, step):
    project_id = request.form.get("project_id", "")
    if step in PROJECT_STEPS:
        schema, view = PROJECT_STEPS[step]
        _, errors = submit(schema(), lambda data: api_view(view)(data, fund_id, project_id))
    elif step in STEPS:
        schema, view = STEPS[step]
        _, errors = submit(schema(), lambda data: api_view(view)(data, fund_id))
    else:
        abort(404)
    if errors:
        return _fund_page(fund_id, errors, step)
    return redirect(url_for(".fund", fund_id=fund_id) + f"#{step}")


@blp.get("/funds/<fund_id>/notice")
def fund_notice(fund_id):
    """The printable notice (公示): the projects as reviewed, the objections' count, the
    results; figures and titles only."""
    record = api_view(fund_api.get_fund)(fund_id)
    return render_template("casework/fund_notice.html", fund=record,
                           projects=api_view(fund_api.list_projects)(fund_id),
                           objections=len(api_view(fund_api.list_objections)(fund_id)),
                           results=api_view(fund_api.results)(fund_id))
