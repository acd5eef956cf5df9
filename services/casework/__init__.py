"""Casework: what a contracted agency does, and the residents' own participation."""
from shared.service import ServiceSpec, create_service_app


def create_app(test_config: dict | None = None):
    from .api import blp
    from .handlers import HANDLERS
    from .models import db, event_store
    spec = ServiceSpec(name="casework", title="Casework 社工服务", db=db, store=event_store,
                       handlers=HANDLERS, blueprints=[blp])
    app = create_service_app(spec, test_config)
    from shared.web import init_pages
    from .models import WebUser
    from .pages import blp as pages
    init_pages(app, pages, WebUser, home="casework_pages.queue")
    return app
