"""Intake: residents and their needs enter the platform here; personal data stays here."""
from shared.service import ServiceSpec, create_service_app


def create_app(test_config: dict | None = None):
    from .api import blp
    from .handlers import HANDLERS
    from .models import db, events
    from .privacy import Vault
    spec = ServiceSpec(name="intake", title="Intake 受理服务", db=db, store=events,
                       handlers=HANDLERS, blueprints=[blp])
    app = create_service_app(spec, test_config)
    app.extensions["intake_vault"] = Vault.from_env()
    from .cli import register
    register(app)
    return app
