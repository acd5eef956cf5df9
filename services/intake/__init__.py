"""Intake: residents and their needs enter the platform here; personal data stays here."""
from shared.service import ServiceSpec, create_service_app


def create_app(test_config: dict | None = None):
    from .api import blp
    from .handlers import HANDLERS
    from .models import db, event_store
    from .privacy import Vault
    spec = ServiceSpec(name="intake", title="Intake 受理服务", db=db, store=event_store,
                       handlers=HANDLERS, blueprints=[blp])
    app = create_service_app(spec, test_config)
    app.extensions["intake_vault"] = Vault.from_env()
    from .cli import register
    register(app)
    from shared.web import init_pages
    from .models import WebUser
    from .pages import blp as pages
    init_pages(app, pages, WebUser, home="intake_pages.needs")
    # casework's session page looks names up here from the browser (sign-in lists)
    from flask_cors import CORS
    from shared.config import public_url
    CORS(app, resources={r"/residents": {"origins": [public_url("casework")]}},
         allow_headers=["Authorization"], methods=["GET"])
    return app
