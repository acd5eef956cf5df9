"""Evaluation: contracts, the participation scorecard, evidence and audit for the buyer."""
from shared.service import ServiceSpec, create_service_app


def create_app(test_config: dict | None = None):
    from .api import blp
    from .handlers import HANDLERS, prepare
    from .models import db, event_store
    from .survey_api import blp as surveys_blp
    spec = ServiceSpec(name="evaluation", title="Evaluation 绩效评估服务", db=db, store=event_store,
                       handlers=HANDLERS, prepare=prepare, blueprints=[blp, surveys_blp])
    app = create_service_app(spec, test_config)
    from .cli import register
    register(app)
    from shared.web import init_pages
    from .models import WebUser
    from .pages import blp as pages
    init_pages(app, pages, WebUser, home="evaluation_pages.contracts")
    return app
