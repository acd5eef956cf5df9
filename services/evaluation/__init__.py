"""Evaluation: contracts, the participation scorecard, evidence and audit for the buyer."""
from shared.service import ServiceSpec, create_service_app
from shared.web import init_pages

from .api import blp
from .cli import register
from .handlers import HANDLERS, prepare
from .models import WebUser, db, event_store
from .pages import blp as pages
from .review_api import blp as reviews_blp
from .survey_api import blp as surveys_blp


def create_app(test_config: dict | None = None):
    spec = ServiceSpec(name="evaluation", title="Evaluation 绩效评估服务", db=db,
                       store=event_store, handlers=HANDLERS, prepare=prepare,
                       blueprints=[blp, surveys_blp, reviews_blp])
    app = create_service_app(spec, test_config)
    register(app)
    init_pages(app, pages, WebUser, home="evaluation_pages.contracts")
    return app
