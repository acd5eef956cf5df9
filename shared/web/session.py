"""The login session the pages run under: the same JWT the APIs take, held in a signed
cookie; CSRF protection; errors shown as pages in the user's language."""
import os
from dataclasses import dataclass

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect

from shared import auth
from shared.errors import ApiError
from shared.runtime import current_service

from . import i18n

csrf = CSRFProtect()


@dataclass(frozen=True)
class PagesConfig:
    users: type                # the service's page-user model (its web_user table)
    roles: tuple[str, ...]     # who may log in to this service
    home: str                  # endpoint a user lands on after login

    @property
    def db(self):
        return current_app.extensions["socialwork"].spec.db


def pages_config() -> PagesConfig:
    return current_app.extensions["pages"]


def session_ttl() -> int:
    """How long a login lasts: SOCIALWORK_SESSION_TTL seconds, at most a session token's
    longest life."""
    return min(int(os.environ.get("SOCIALWORK_SESSION_TTL", auth.SESSION_TTL)),
               auth.KINDS["session"])


def current_claims():
    """The logged-in user's claims from the session's JWT, or None (never logged in,
    expired, signed with another key, or the account disabled since)."""
    token = session.get("token")
    if not token:
        return None
    try:
        claims = auth.decode(token, current_service().spec.name)
        auth.check_caller(claims)
        return claims
    except ApiError:
        session.pop("token", None)
        flash(_("Your session has expired. Please log in again."), "error")
        return None


def require_login(roles: tuple[str, ...]):
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
