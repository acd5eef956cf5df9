"""The residents' own pages (/r/...): a phone's screen, large type, one task per screen,
Chinese by default, every form working without JavaScript. A resident signs in with their
phone number and a texted code, or a clerk's one-time invitation; the login session then
holds the resident token (shared/auth.py), which names only the pseudonymous reference and
the community. The pages act through the same domain code as the clerks' and workers'."""
from flask import (Blueprint, g, redirect, render_template, request, session, url_for)
from flask_babel import gettext as _

from shared import auth
from shared.errors import ApiError
from shared.paths import path
from shared.vocabulary import NEED_CATEGORIES
from shared.web import api_view
from shared.web.forms import submit
from shared.web.i18n import is_chinese, localized
from shared.web.session import csrf

from . import casework_door, resident_api, resident_signin
from .models import Community, db
from .schemas import ResidentNeedIn

blp = Blueprint("resident_pages", __name__, url_prefix="/r", template_folder="templates")
TOKEN = "resident_token"  # the session's key for the resident's token (a clerk's is "token")
NEXT = "resident_next"  # where a resident not yet signed in was going
OPEN = {"resident_pages.signin", "resident_pages.code", "resident_pages.invitation"}


def resident_claims():
    """The signed-in resident's claims, or None (never signed in, expired, or refused)."""
    token = session.get(TOKEN)
    if not token:
        return None
    try:
        return auth.decode(token, auth.resident_door("intake"))
    except ApiError:
        session.pop(TOKEN, None)
        return None


@blp.before_request
def _signed_in():
    if request.method == "POST":
        csrf.protect()
    g.resident = g.claims = resident_claims()  # the door's views read g.claims
    if g.resident is None and request.endpoint not in OPEN:
        if request.method == "GET":  # back here once signed in (a scanned QR code)
            session[NEXT] = request.path
        return redirect(url_for(".signin"))


@blp.errorhandler(ApiError)
def _refused(exc):
    db.session.rollback()
    return render_template("residents/message.html", message=_message(exc)), exc.status


def _message(exc: ApiError) -> str:
    """What went wrong, in the page's language: the fields' reasons, or the error's own."""
    if exc.fields:
        return "；".join(m for ms in localized(exc.fields).values() for m in ms)
    return exc.message_zh if is_chinese() else exc.message


def _start(resident) -> None:
    """Sign `resident` in: a fresh session holding only the resident's token."""
    lang, onward = session.get("lang"), session.get(NEXT)
    session.clear()
    session.permanent = True
    session.update({k: v for k, v in (("lang", lang), (NEXT, onward)) if v})
    session[TOKEN] = resident_signin.token_for(resident)


def _onward():
    """Where a resident goes once signed in: back to the page they came for, or home."""
    target = session.pop(NEXT, None)
    return redirect(target if target and target.startswith("/r/") else url_for(".home"))


@blp.get("/")
def home():
    community = db.session.get(Community, g.resident.community_ids[0])
    return render_template("residents/home.html", community=community)


@blp.route("/signin", methods=["GET", "POST"])
def signin():
    """Step one: the phone number. Whatever the number, the answer is the code form."""
    gateway = resident_signin.gateway()
    if request.method == "GET" or gateway is None:
        return render_template("residents/signin.html", available=gateway is not None)
    phone = request.form.get("phone", "")
    try:
        outgoing = resident_signin.request_code(phone, request.remote_addr)
    except ApiError as exc:
        db.session.rollback()
        return render_template("residents/signin.html", available=True, phone=phone,
                               error=_message(exc)), exc.status
    db.session.commit()  # the code exists before it is sent
    resident_signin.send(outgoing)
    return render_template("residents/code.html", phone=phone,
                           development=gateway.development)


@blp.post("/signin/code")
def code():
    """Step two: the code texted to the number."""
    phone = request.form.get("phone", "")
    try:
        resident = resident_signin.verify_code(phone, request.form.get("code", ""))
    except ApiError as exc:
        db.session.rollback()
        resident, error = None, _message(exc)
    else:
        db.session.commit()  # a wrong try counts
        error = None if resident else _("The code is wrong or has expired: ask for a new one")
    if resident is None:
        return render_template("residents/code.html", phone=phone, error=error,
                               development=resident_signin.gateway().development), 401
    _start(resident)
    return _onward()


@blp.route("/invitation/<token>", methods=["GET", "POST"])
def invitation(token):
    """A clerk's invitation, scanned from its QR code. Opening the link signs nobody in (a
    link preview would spend it): the resident presses the button."""
    if request.method == "GET":
        return render_template("residents/invitation.html", token=token)
    resident = resident_signin.redeem(token)
    db.session.commit()
    _start(resident)
    return _onward()


@blp.post("/signout")
def signout():
    session.pop(TOKEN, None)
    return redirect(url_for(".signin"))


# -- my needs ------------------------------------------------------------------------------

@blp.route("/needs/new", methods=["GET", "POST"])
def report_need():
    """One need, in my words: it enters intake as the clerks' do, channel `online`."""
    errors = {}
    if request.method == "POST":
        need, errors = submit(ResidentNeedIn(), api_view(resident_api.report_need))
        if need is not None:
            return redirect(url_for(".my_needs", reported=need.id))
    return render_template("residents/need_form.html", errors=errors, form=request.form,
                           categories=NEED_CATEGORIES), 422 if errors else 200


@blp.get("/needs")
def my_needs():
    """My needs, newest first, each with what became of it."""
    return render_template("residents/needs.html", needs=api_view(resident_api.my_needs)(),
                           reported=request.args.get("reported"))


# -- through casework's resident door ---------------------------------------------------------

def _casework(method: str, path: str, body: dict | None = None):
    return casework_door.call(session[TOKEN], method, path, body)


@blp.get("/funds")
def funds():
    return render_template("residents/funds.html", funds=_casework("GET", "/funds"))


@blp.get("/funds/<fund_id>")
def fund(fund_id):
    return render_template("residents/fund.html", **_casework("GET", path("funds", fund_id)),
                           done=request.args.get("done"))


@blp.post("/funds/<fund_id>/projects/<project_id>/support")
def support(fund_id, project_id):
    _casework("POST", path("funds", fund_id, "projects", project_id, "supports"))
    return redirect(url_for(".fund", fund_id=fund_id, done="supported"))


@blp.post("/funds/<fund_id>/ballot")
def vote(fund_id):
    chosen = request.form.getlist("project_ids")
    try:
        _casework("POST", path("funds", fund_id, "ballot"), {"project_ids": chosen})
    except ApiError as exc:
        if exc.status != 422:
            raise
        return render_template("residents/fund.html", **_casework("GET", path("funds", fund_id)),
                               error=_message(exc), chosen=chosen), 422
    return redirect(url_for(".fund", fund_id=fund_id, done="voted"))


@blp.route("/funds/<fund_id>/propose", methods=["GET", "POST"])
def propose_project(fund_id):
    error = None
    if request.method == "POST":
        body = {k: request.form.get(k, "").strip() for k in
                ("title", "description", "category", "location", "estimated_cost",
                 "beneficiaries")}
        try:
            _casework("POST", path("funds", fund_id, "projects"), body)
        except ApiError as exc:
            if exc.status != 422:
                raise
            error = _message(exc)
        else:
            return redirect(url_for(".fund", fund_id=fund_id, done="proposed"))
    return render_template("residents/project_form.html", fund_id=fund_id, error=error,
                           form=request.form), 422 if error else 200


@blp.route("/topics", methods=["GET", "POST"])
def topics():
    """A topic for the residents' council, the ones I proposed, and my community's open
    topics to support."""
    error, done = None, None
    if request.method == "POST":
        body = {k: request.form.get(k, "").strip() for k in ("title", "description")}
        try:
            _casework("POST", "/council/topics", body)
            done = True
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            error = _message(exc)
    return render_template("residents/topics.html", topics=_casework("GET", "/council/topics"),
                           open_topics=_casework("GET", "/council/topics/open"),
                           supported=request.args.get("done") == "supported",
                           error=error, done=done, form={} if done else request.form), \
        422 if error else 200


@blp.post("/topics/<topic_id>/support")
def support_topic(topic_id):
    """My support for another resident's topic: once, however often the button is pressed."""
    _casework("POST", path("council", "topics", topic_id, "support"))
    return redirect(url_for(".topics", done="supported") + "#open")


@blp.route("/scan/<record_type>/<record_id>/<code>", methods=["GET", "POST"])
def scan(record_type, record_id, code):
    """The link a worker's QR code holds. Opening it asks; pressing the button signs me in
    (a link preview signs nobody in). Not signed in yet: sign in first, then scan again."""
    if request.method == "GET":
        return render_template("residents/scan.html", record_type=record_type,
                               record_id=record_id, code=code)
    done = _casework("POST", "/sign-ins", {"record_type": record_type,
                                           "record_id": record_id, "code": code})
    return render_template("residents/scanned.html", **done)


@blp.get("/participation")
def participation():
    return render_template("residents/participation.html",
                           **_casework("GET", "/participation"))


@blp.get("/results")
def results():
    community = db.session.get(Community, g.resident.community_ids[0])
    return render_template("residents/results.html", community=community,
                           **_casework("GET", "/results"))


def init_app(app) -> None:
    """The resident pages, under their own login session (not the bearer header)."""
    from . import sms
    app.extensions["intake_sms"] = sms.from_env()
    app.register_blueprint(blp)
    app.extensions["session_blueprints"].add(blp.name)
