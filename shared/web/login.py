"""Login, logout and the language switch, the same in every service."""
from urllib.parse import urlsplit

from flask import (Blueprint, flash, redirect, render_template, request, session,
                   url_for)
from flask_babel import format_datetime
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from shared import auth
from shared.runtime import current_service

from . import i18n
from .session import csrf, current_claims, pages_config, render_error, session_ttl
from .users import LockedOut, authenticate

blp = Blueprint("web", __name__, url_prefix="/ui", template_folder="templates",
                static_folder="static")
blp.register_error_handler(HTTPException, render_error)


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
