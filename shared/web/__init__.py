"""The pages people use, on top of each service's own code: one base template and style,
login with a session that holds the same JWT the APIs take (session.py), CSRF protection,
Chinese by default with English. A service calls `init_pages` with its pages blueprint (made
by `page_blueprint`), its user model and the page users land on."""
import inspect
import os
from datetime import timedelta

from flask import Blueprint, current_app, g
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from shared import config
from shared.db import Recently
from shared.errors import ApiError
from shared.runtime import current_service

from . import i18n
from .cli import create_user
from .labels import label
from .login import blp as login_blp
from .login import throttle
from .session import PagesConfig, csrf, pages_config, render_error, require_login, session_ttl

DEV_SECRET_KEY = "dev-only-session-key-not-for-production-use-0123456789"


def page_blueprint(name: str, import_name: str, roles: tuple[str, ...]) -> Blueprint:
    """A service's pages: logged-in users of `roles` only, errors rendered as pages."""
    blp = Blueprint(name, import_name, url_prefix="/ui", template_folder="templates")
    blp.roles = roles  # who may log in to this service
    blp.before_request(lambda: require_login(roles))
    blp.register_error_handler(ApiError, render_error)
    blp.register_error_handler(HTTPException, render_error)
    return blp


def _template_globals():
    claims = g.get("claims")
    return {"user": claims, "languages": i18n.LANGUAGES, "locale": i18n.select_locale(),
            "home": pages_config().home, "service": current_app.extensions["socialwork"].spec}


def account_active(claims) -> None:
    """A person's token from this service's own login is refused once the account is
    disabled (checked against its web_user table, remembered for a few seconds)."""
    service = current_service().spec.name
    if claims.iss != service or claims.kind != "session":
        return
    config = pages_config()

    def active():
        user = config.db.session.get(config.users, claims.sub)
        return user is None or user.active
    remembered = current_app.extensions.setdefault("accounts_active", Recently(seconds=5))
    if not remembered.check(claims.sub, active):
        raise ApiError(401, f"The account {claims.sub} is disabled", "该账号已停用",
                       code="account_disabled")


def _behind_proxy(app) -> None:
    """Behind N reverse proxies (SOCIALWORK_PROXY_HOPS, e.g. 1 for deploy/nginx.conf) the
    client's address and scheme are the ones the proxies forward: what logins are throttled
    by. Never set it without a proxy in front: a client could then name any address."""
    hops = int(os.environ.get("SOCIALWORK_PROXY_HOPS", "0"))
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def init_pages(app, pages: Blueprint, users, home: str) -> None:
    _behind_proxy(app)
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
    app.extensions.setdefault("caller_checks", []).append(account_active)
    csrf.init_app(app)
    i18n.init_app(app)
    app.context_processor(_template_globals)
    app.jinja_env.filters["label"] = label
    app.register_blueprint(login_blp)
    throttle(app)
    app.register_blueprint(pages)
    app.cli.add_command(create_user)


def api_view(view):
    """An API view's own function, without its HTTP layer (argument parsing, response
    schema), so a page runs the same query with the same scope checks."""
    return inspect.unwrap(view)
