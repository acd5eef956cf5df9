"""Intake: residents and their needs enter the platform here; personal data stays here."""
from flask_cors import CORS

from shared.config import public_url
from shared.service import ServiceSpec, create_service_app
from shared.web import init_pages

from . import resident_pages
from .api import blp
from .resident_api import blp as resident_blp
from .cli import register
from .handlers import HANDLERS
from .models import WebUser, db, event_store
from .pages import blp as pages
from .privacy import Vault


def create_app(test_config: dict | None = None):
    spec = ServiceSpec(name="intake", title="Intake 受理服务", db=db, store=event_store,
                       handlers=HANDLERS, blueprints=[blp, resident_blp],
                       resident_blueprints=frozenset({resident_blp.name}),
                       token_endpoints={"service": {"events.list_events", "events.count_events"},
                                        "name_search": {"intake.search_residents"}})
    app = create_service_app(spec, test_config)
    app.extensions["intake_vault"] = Vault.from_env()
    register(app)
    init_pages(app, pages, WebUser, home="intake_pages.needs")
    resident_pages.init_app(app)  # the residents' own channel (/r/...), docs/RESIDENTS.md
    # casework's session page looks names up here from the browser (sign-in lists)
    CORS(app, resources={r"/residents": {"origins": [public_url("casework")]}},
         allow_headers=["Authorization"], methods=["GET"])
    return app
