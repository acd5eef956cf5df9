"""Login, logout and the language switch, the same in every service.

Logins are throttled with Flask-Limiter, per service: each client address may try 30 times
a minute and 300 an hour, whichever accounts it names; each account may fail 5 times in 15
minutes from one address (only failures count). Together with the per-account lockout in the
database (users.py) a stranger can neither guess a password for long nor lock a known user
out for more than a few minutes. The client address is the connection's, or behind a
reverse proxy the one it forwards (SOCIALWORK_PROXY_HOPS, docs/OPERATIONS.md)."""
import os
from urllib.parse import urlsplit

from flask import (Blueprint, flash, redirect, render_template, request, session,
                   url_for)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException

from shared import auth
from shared.runtime import current_service

from . import i18n
from .session import csrf, current_claims, pages_config, render_error, session_ttl
from .users import LockedOut, authenticate

blp = Blueprint("web", __name__, url_prefix="/ui", template_folder="templates",
                static_folder="static")
blp.register_error_handler(HTTPException, render_error)

PER_ADDRESS = "30 per minute;300 per hour"
FAILURES_PER_ACCOUNT_AND_ADDRESS = "5 per 15 minutes"


@blp.before_request
def _protect():
    if request.method == "POST":
        csrf.protect()


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: a login link must not send the user elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and target.startswith("/") else None


@blp.get("/")
def index():
    return redirect(url_for(pages_config().home))


@blp.route("/login", methods=["GET", "POST"])
def login():
    config = pages_config()
    if request.method == "GET":
        if current_claims() is not None:
            return redirect(url_for(config.home))
        return render_template("web/login.html")
    user_id = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    try:
        user = authenticate(config.db, config.users, user_id, password)
    except LockedOut as exc:
        config.db.session.commit()  # the failure that locked it is counted
        error = _("Too many failed attempts. Try again after %(time)s.",
                  time=format_datetime(exc.until, "short"))
        return render_template("web/login.html", error=error, username=user_id), 429
    config.db.session.commit()  # the failed attempts so far, or their reset
    if user is None or user.role not in config.roles:
        return render_template("web/login.html", error=_("Wrong user name or password."),
                               username=user_id), 401
    session.clear()
    session.permanent = True
    session["lang"] = request.form.get("lang") or i18n.select_locale()
    session["token"] = auth.mint(user.role, user.id, issuer=current_service().spec.name,
                                 ttl=session_ttl(), **user.scope())
    session["name"] = user.name
    return redirect(_safe_next(request.form.get("next")) or url_for(config.home))


def _account_and_address() -> str:
    return f"{request.form.get('username', '').strip()}@{get_remote_address()}"


def _failed(response) -> bool:
    return response.status_code in (401, 429)


def throttle(app) -> None:
    """This service's login, throttled; the counts live in SOCIALWORK_RATELIMIT_STORAGE
    (memory by default: each process counts its own; a shared store such as redis:// makes
    the limits hold across gunicorn workers and replicas)."""
    limiter = Limiter(get_remote_address, app=app, strategy="moving-window",
                      key_prefix=f"{app.extensions['socialwork'].spec.name}-login",
                      storage_uri=os.environ.get("SOCIALWORK_RATELIMIT_STORAGE", "memory://"))
    view = app.view_functions["web.login"]
    view = limiter.limit(FAILURES_PER_ACCOUNT_AND_ADDRESS, key_func=_account_and_address,
                         methods=["POST"], deduct_when=_failed)(view)
    app.view_functions["web.login"] = limiter.limit(PER_ADDRESS, methods=["POST"])(view)


@blp.errorhandler(RateLimitExceeded)
def _throttled(_exc):
    error = _("Too many attempts from here. Try again in a few minutes.")
    return render_template("web/login.html", error=error,
                           username=request.form.get("username", "")), 429


@blp.post("/logout")
def logout():
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have logged out."), "info")
    return redirect(url_for("web.login"))


@blp.get("/lang/<code>")
def switch_language(code):
    if code in i18n.LANGUAGES:
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next")) or url_for("web.index"))
