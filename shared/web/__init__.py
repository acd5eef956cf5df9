"""The pages people use, on top of each service's own code: one base template and style,
login with a session that holds the same JWT the APIs take, CSRF protection, Chinese by
default with English. A service calls `init_pages` with its pages blueprint (made by
`page_blueprint`), its user model and the roles that log in there."""
import inspect
import os
from dataclasses import dataclass
from datetime import timedelta

from flask import (Blueprint, current_app, flash, g, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from shared import auth, config
from shared.errors import ApiError

from . import i18n
from .labels import label

DEV_SECRET_KEY = "dev-only-session-key-not-for-production-use-0123456789"
csrf = CSRFProtect()


@dataclass(frozen=True)
class PagesConfig:
    users: type
    roles: tuple[str, ...]
    home: str  # endpoint a user lands on after login

    @property
    def db(self):
        return current_app.extensions["socialwork"].spec.db


def pages_config() -> PagesConfig:
    return current_app.extensions["pages"]


def session_ttl() -> int:
    return int(os.environ.get("SOCIALWORK_SESSION_TTL", 8 * 3600))


def current_claims():
    """The logged-in user's claims from the session's JWT, or None (never logged in,
    expired, or signed with another key)."""
    token = session.get("token")
    if not token:
        return None
    try:
        return auth.decode(current_app.config["JWT_KEY"], token)
    except ApiError:
        session.pop("token", None)
        flash(_("Your session has expired. Please log in again."), "error")
        return None


def _require_login(roles: tuple[str, ...]):
    if request.method == "POST":
        csrf.protect()
    claims = current_claims()
    if claims is None:
        return redirect(url_for("web.login", next=request.full_path))
    g.claims = claims
    if claims.role not in roles:
        raise ApiError(403)


def render_error(exc):
    """An error inside the pages, as a page in the user's language."""
    if isinstance(exc, ApiError):
        status, message = exc.status, exc.message_zh if i18n.is_chinese() else exc.message
    else:
        status, message = exc.code or 500, exc.description
    if isinstance(exc, CSRFError):
        message = _("The form has expired or was not sent from this site. Please try again.")
    return render_template("web/error.html", status=status, message=message), status


def page_blueprint(name: str, import_name: str, roles: tuple[str, ...]) -> Blueprint:
    """A service's pages: logged-in users of `roles` only, errors rendered as pages."""
    blp = Blueprint(name, import_name, url_prefix="/ui", template_folder="templates")
    blp.roles = roles  # who may log in to this service
    blp.before_request(lambda: _require_login(roles))
    blp.register_error_handler(ApiError, render_error)
    blp.register_error_handler(HTTPException, render_error)
    return blp


def _template_globals():
    claims = g.get("claims")
    return {"user": claims, "languages": i18n.LANGUAGES, "locale": i18n.select_locale(),
            "home": pages_config().home, "service": current_app.extensions["socialwork"].spec}


def init_pages(app, pages: Blueprint, users, home: str) -> None:
    ttl = session_ttl()
    if not app.config.get("SECRET_KEY"):  # Flask's default config holds None
        app.config["SECRET_KEY"] = config.secret("SOCIALWORK_SECRET_KEY", DEV_SECRET_KEY)
    app.config.update(PERMANENT_SESSION_LIFETIME=timedelta(seconds=ttl),
                      SESSION_COOKIE_NAME=f"{app.extensions['socialwork'].spec.name}_session",
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=config.is_production(),
                      WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=ttl)
    app.extensions["pages"] = PagesConfig(users, pages.roles, home)
    app.extensions["session_blueprints"] = {"web", pages.name}
    csrf.init_app(app)
    i18n.init_app(app)
    app.context_processor(_template_globals)
    app.jinja_env.filters["label"] = label
    from .login import blp as login_blp
    app.register_blueprint(login_blp)
    app.register_blueprint(pages)
    from .cli import create_user
    app.cli.add_command(create_user)


def api_view(view):
    """An API view's own function, without its HTTP layer (argument parsing, response
    schema), so a page runs the same query with the same scope checks."""
    return inspect.unwrap(view)
