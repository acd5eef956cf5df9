"""Evaluation: contracts, the participation scorecard, evidence and audit for the buyer."""
from shared.filestore import folder_store
from shared.service import ServiceSpec, create_service_app
from shared.uploads import MAX_FILE_BYTES
from shared.web import init_pages

from .api import blp
from .cli import register
from .handlers import HANDLERS, prepare
from .ledger_api import blp as ledger_blp
from .models import WebUser, db, event_store
from .pages import blp as pages
from .review_api import blp as reviews_blp
from . import review_pages  # noqa: F401  (the review and ledger pages, on the same blueprint)
from .survey_api import blp as surveys_blp


def create_app(test_config: dict | None = None):
    spec = ServiceSpec(name="evaluation", title="Evaluation 绩效评估服务", db=db,
                       store=event_store, handlers=HANDLERS, prepare=prepare,
                       blueprints=[blp, surveys_blp, reviews_blp, ledger_blp])
    app = create_service_app(spec, test_config)
    register(app)
    # receipts are uploaded: no request larger than a file and its form (413 before reading)
    app.config["MAX_CONTENT_LENGTH"] = MAX_FILE_BYTES + 1024 * 1024
    app.extensions["filestore"] = folder_store("evaluation")
    init_pages(app, pages, WebUser, home="evaluation_pages.contracts")
    return app
