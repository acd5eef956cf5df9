"""Intake's pages for clerks: register residents (one by one or from a roster), record needs,
the need list with filters, a need's history. Each page runs the API's own view code."""
from flask import redirect, render_template, request, url_for
from flask_smorest.pagination import PaginationParameters
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from shared import auth
from shared.vocabulary import (CHANNELS, EXPLICIT_FLAGS, GENDERS, NEED_CATEGORIES, NEED_STATUSES,
                               URGENCIES)
from shared.api import MAX_PAGE
from shared.web import api_view, page_blueprint, qr
from shared.web.forms import attempt, form_input, submit
from shared.web.i18n import localized

from . import api
from .access import CLERK
from .schemas import NeedIn, NeedQuery, ResidentIn

blp = page_blueprint("intake_pages", __name__, roles=("intake_clerk", "ops_admin"))
PAGE_SIZE = 50
CHOICES = {"categories": NEED_CATEGORIES, "urgencies": URGENCIES, "channels": CHANNELS,
           "statuses": NEED_STATUSES, "genders": [g for g in GENDERS if g != "unknown"],
           "flags": EXPLICIT_FLAGS}


def _communities() -> list[tuple[str, str]]:
    """The caller's communities, as choices."""
    return [(c.id, c.name) for c in api_view(api.list_communities)()]


@blp.get("/needs")
def needs():
    errors = {}
    try:
        args = NeedQuery().load(form_input(NeedQuery(), request.args))
    except ValidationError as exc:
        args, errors = {}, localized(exc.messages)
    page = PaginationParameters(min(max(1, request.args.get("page", 1, type=int)), MAX_PAGE),
                                PAGE_SIZE)
    found = api_view(api.list_needs)(args, page)
    return render_template("intake/needs.html", needs=found, filters=request.args,
                           errors=errors, page=page, communities=_communities(), **CHOICES)


@blp.get("/needs/<need_id>")
def need(need_id):
    return render_template("intake/need.html", need=api_view(api.get_need)(need_id))


@blp.route("/needs/new", methods=["GET", "POST"])
def record_need():
    auth.require(*CLERK)
    errors = {}
    if request.method == "POST":
        created, errors = submit(NeedIn(), api_view(api.create_need))
        if created:
            return redirect(url_for(".need", need_id=created.id))
    return render_template("intake/need_form.html", errors=errors, form=request.form,
                           communities=_communities(), **CHOICES), 422 if errors else 200


@blp.route("/residents/new", methods=["GET", "POST"])
def register_resident():
    auth.require(*CLERK)
    errors, registered = {}, None
    if request.method == "POST":
        registered, errors = submit(ResidentIn(), api_view(api.register_resident))
    return render_template("intake/resident_form.html", errors=errors,
                           form=MultiDict() if registered else request.form, registered=registered,
                           communities=_communities(), **CHOICES), 422 if errors else 200


@blp.post("/residents/import")
def import_residents():
    """The roster upload: the API's import reads the same form fields (file, community_id)."""
    result, errors = attempt(api_view(api.import_residents))
    return render_template("intake/resident_form.html", errors={}, import_errors=errors,
                           form=MultiDict(), imported=result, communities=_communities(),
                           **CHOICES), 422 if errors else 200


@blp.post("/residents/<ref>/invitation")
def invite_resident(ref):
    """A resident's one-time invitation as a QR code, to print or show on the screen."""
    invitation = api_view(api.invite_resident)(ref)
    return render_template("intake/invitation.html", invitation=invitation,
                           qr=qr.svg(invitation["url"]))
