"""The residents' own pages (/r/...): a phone's screen, large type, one task per screen,
Chinese by default, every form working without JavaScript. A resident signs in with their
phone number and a texted code, or a clerk's one-time invitation; the login session then
holds the resident token (shared/auth.py), which names only the pseudonymous reference and
the community. The pages act through the same domain code as the clerks' and workers'."""
from flask import (Blueprint, g, redirect, render_template, request, session, url_for)
from flask_babel import gettext as _

from shared import auth
from shared.errors import ApiError
from shared.web.i18n import is_chinese, localized
from shared.web.session import csrf

from . import resident_signin
from .models import Community, db

blp = Blueprint("resident_pages", __name__, url_prefix="/r", template_folder="templates")
TOKEN = "resident_token"  # the session's key for the resident's token (a clerk's is "token")
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
    g.resident = resident_claims()
    if g.resident is None and request.endpoint not in OPEN:
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
    lang = session.get("lang")
    session.clear()
    session.permanent = True
    if lang:
        session["lang"] = lang
    session[TOKEN] = resident_signin.token_for(resident)


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
    return redirect(url_for(".home"))


@blp.route("/invitation/<token>", methods=["GET", "POST"])
def invitation(token):
    """A clerk's invitation, scanned from its QR code. Opening the link signs nobody in (a
    link preview would spend it): the resident presses the button."""
    if request.method == "GET":
        return render_template("residents/invitation.html", token=token)
    resident = resident_signin.redeem(token)
    db.session.commit()
    _start(resident)
    return redirect(url_for(".home"))


@blp.post("/signout")
def signout():
    session.pop(TOKEN, None)
    return redirect(url_for(".signin"))


def init_app(app) -> None:
    """The resident pages, under their own login session (not the bearer header)."""
    from . import sms
    app.extensions["intake_sms"] = sms.from_env()
    app.register_blueprint(blp)
    app.extensions["session_blueprints"].add(blp.name)
