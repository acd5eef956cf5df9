"""Casework's pages for social workers and agency admins: the intake queue, cases (goals,
notes, sessions), logging a session with a sign-in list, capacity building, the council.
Each page runs the API's own view code, so scope and checks are the API's.

The sign-in list finds residents by name without names passing through casework: the
browser asks intake directly with a short-lived token scoped to the communities the agency
serves today, shows the names there, and posts only the pseudonymous references here."""

from flask import redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import MultiDict

from shared import clock
from shared import auth
from shared.config import public_url
from shared.vocabulary import (ACTIVITY_KINDS, DECISION_MODES, DECISION_OUTCOMES, LEADS, METHODS,
                               MODES, NOTE_KINDS, PROGRESS_STATUSES, PROPOSERS)
from shared.web import api_view, page_blueprint, qr
from shared.web.forms import attempt, submit

from . import api
from .models import db
from .schemas import (ActivityIn, CaseIn, DecisionIn, FileHide, GoalIn, MeetingIn, NoteIn,
                      ProgressIn, SessionIn, StaffSignInIn, TopicIn)
from .access import AGENCY, served_today

blp = page_blueprint("casework_pages", __name__, roles=AGENCY)
SEARCH_TOKEN_TTL = 15 * 60
NO_FILTER = {}
CHOICES = {"methods": METHODS, "leads": LEADS, "modes": MODES, "proposers": PROPOSERS,
           "decision_modes": DECISION_MODES,
           "activity_kinds": ACTIVITY_KINDS, "note_kinds": NOTE_KINDS,
           "outcomes": DECISION_OUTCOMES, "progress_statuses": PROGRESS_STATUSES}


def _served() -> list[str]:
    return list(db.session.scalars(served_today(auth.claims().agency_id)))


def _render(template: str, errors: dict, **context):
    return render_template(template, errors=errors, communities=_served(), **CHOICES,
                           **context), 422 if errors else 200


@blp.get("/queue")
def queue():
    return render_template("casework/queue.html", queued=api_view(api.intake_queue)())


@blp.post("/cases")
def open_case():
    opened, errors = submit(CaseIn(), api_view(api.create_case))
    if opened:
        return redirect(url_for(".case", case_id=opened.id))
    return _render("casework/queue.html", errors, queued=api_view(api.intake_queue)())


@blp.get("/cases")
def cases():
    return render_template("casework/cases.html", cases=api_view(api.list_cases)(NO_FILTER))


def _case_page(case_id: str, errors=None, form=None):
    case = api_view(api.get_case)(case_id)
    sessions = [api_view(api.get_session)(s) for s in case.session_ids]
    return _render("casework/case.html", errors or {}, case=case, sessions=sessions,
                   form=form or MultiDict(), today=clock.today())


@blp.get("/cases/<case_id>")
def case(case_id):
    return _case_page(case_id)


@blp.post("/cases/<case_id>/goals")
def add_goal(case_id):
    _, errors = submit(GoalIn(), lambda data: api_view(api.add_goal)(data, case_id))
    return _case_page(case_id, errors, request.form) if errors else \
        redirect(url_for(".case", case_id=case_id))


@blp.post("/cases/<case_id>/notes")
def add_note(case_id):
    _, errors = submit(NoteIn(), lambda data: api_view(api.add_note)(data, case_id))
    return _case_page(case_id, errors, request.form) if errors else \
        redirect(url_for(".case", case_id=case_id))


def search_token() -> str:
    """For the browser's name search at intake: the user, its agency and the communities
    the agency serves today, valid for a few minutes."""
    claims = auth.claims()
    return auth.mint(claims.role, claims.sub, issuer="casework", audience=["intake"],
                     kind="name_search", ttl=SEARCH_TOKEN_TTL, agency_id=claims.agency_id,
                     community_ids=_served())


@blp.route("/sessions/new", methods=["GET", "POST"])
def log_session():
    errors = {}
    if request.method == "POST":
        logged, errors = submit(SessionIn(), api_view(api.create_session))
        if logged:
            return redirect(url_for(".sessions", logged=logged.id))
    form = request.form if request.method == "POST" else MultiDict(
        {"case_id": request.args.get("case_id", ""), "worker_ids": auth.claims().sub,
         "date": clock.today().isoformat(), "community_id": request.args.get("community_id", ""),
         "method": "casework" if request.args.get("case_id") else ""})
    return _render("casework/session_form.html", errors, form=form,
                   intake_url=public_url("intake"), search_token=search_token())


@blp.get("/sessions")
def sessions():
    return render_template("casework/sessions.html", logged=request.args.get("logged"),
                           sessions=api_view(api.list_sessions)(NO_FILTER))


@blp.route("/activities", methods=["GET", "POST"])
def activities():
    errors = {}
    if request.method == "POST":
        recorded, errors = submit(ActivityIn(), api_view(api.create_activity))
        if recorded:
            return redirect(url_for(".activities"))
    return _render("casework/activities.html", errors, form=request.form,
                   activities=api_view(api.list_activities)(NO_FILTER))


def _council_page(errors=None, form=None, failed=None):
    topics = api_view(api.list_topics)(NO_FILTER)
    decisions = api_view(api.list_decisions)(NO_FILTER)
    progress = {d.id: api_view(api.list_progress)(d.id) for d in decisions}
    return _render("casework/council.html", errors or {}, form=form or MultiDict(),
                   failed=failed, topics=topics, meetings=api_view(api.list_meetings)(NO_FILTER),
                   decisions=decisions, progress=progress,
                   titles={t.id: t.title for t in topics})


@blp.get("/council")
def council():
    return _council_page()


def _council_post(form_name: str, schema, action):
    _, errors = submit(schema, action)
    if errors:
        return _council_page(errors, request.form, form_name)
    return redirect(url_for(".council") + f"#{form_name}")


@blp.post("/council/topics")
def propose_topic():
    return _council_post("topic", TopicIn(), api_view(api.create_topic))


@blp.post("/council/meetings")
def hold_meeting():
    return _council_post("meeting", MeetingIn(), api_view(api.create_meeting))


@blp.post("/council/decisions")
def decide():
    meeting_id = request.form.get("meeting_id", "")
    return _council_post("decision", DecisionIn(),
                         lambda data: api_view(api.create_decision)(data, meeting_id))


@blp.post("/council/decisions/<decision_id>/progress")
def add_progress(decision_id):
    return _council_post(f"progress-{decision_id}", ProgressIn(),
                         lambda data: api_view(api.add_progress)(data, decision_id))


# -- evidence files -------------------------------------------------------------------------

def _files_page(record_type: str, record_id: str, errors=None):
    return render_template("casework/files.html", errors=errors or {},
                           record_type=record_type, record_id=record_id,
                           uploaded=request.args.get("uploaded"),
                           files=api_view(api.list_files)(record_type, record_id)), \
        422 if errors else 200


@blp.get("/records/<record_type>/<record_id>/files")
def record_files(record_type, record_id):
    """A record's gallery, with an upload that takes a photo from a phone's camera."""
    return _files_page(record_type, record_id)


@blp.post("/records/<record_type>/<record_id>/files")
def upload_file(record_type, record_id):
    upload = request.files.get("file")
    _, errors = attempt(api_view(api.upload_file), {
        "file": upload if isinstance(upload, FileStorage) and upload.filename else None},
        record_type, record_id)
    if errors:
        return _files_page(record_type, record_id, errors)
    return redirect(url_for(".record_files", record_type=record_type, record_id=record_id,
                            uploaded=1))


@blp.post("/records/<record_type>/<record_id>/files/<digest>/hide")
def hide_file(record_type, record_id, digest):
    _, errors = submit(FileHide(), lambda data: api_view(api.hide_file)(
        data, record_type, record_id, digest))
    if errors:
        return _files_page(record_type, record_id, errors)
    return redirect(url_for(".record_files", record_type=record_type, record_id=record_id))


# -- the live sign-in list: a QR code that changes every minute --------------------------------

@blp.route("/records/<record_type>/<record_id>/sign-in", methods=["GET", "POST"])
def live_sign_in(record_type, record_id):
    """The screen a worker shows at a running session or activity: this minute's QR code
    (the page reloads itself, no JavaScript), the list as residents scan in, and a box to
    add a resident by hand by reference."""
    errors = {}
    if request.method == "POST":
        _, errors = submit(StaffSignInIn(), lambda data: api_view(api.add_to_sign_in)(
            data, record_type, record_id))
    live = api_view(api.sign_in_list)(record_type, record_id)
    return render_template("casework/live_sign_in.html", live=live, errors=errors,
                           qr=qr.svg(live["url"], 320) if live["running"] else None), \
        422 if errors else 200


@blp.get("/sessions/<session_id>/sign-in-sheet")
def sign_in_sheet(session_id):
    return api_view(api.sign_in_sheet)(session_id)
