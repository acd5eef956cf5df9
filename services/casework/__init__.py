"""Casework: what a contracted agency does, and the residents' own participation."""
from shared.service import ServiceSpec, create_service_app


def create_app(test_config: dict | None = None):
    from .api import blp
    from .handlers import HANDLERS
    from .models import db, events
    spec = ServiceSpec(name="casework", title="Casework 社工服务", db=db, store=events,
                       handlers=HANDLERS, blueprints=[blp])
    return create_service_app(spec, test_config)
