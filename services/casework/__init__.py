"""Casework: what a contracted agency does, and the residents' own participation."""
from shared.filestore import folder_store
from shared.service import ServiceSpec, create_service_app
from shared.web import init_pages

from .access import on_roster
from .council import support_threshold
from .api import blp
from .files import MAX_FILE_BYTES
from .fund_api import blp as fund_blp
from .handlers import HANDLERS
from .links import blp as file_links
from .models import WebUser, db, event_store
from .pages import blp as pages
from .resident_api import blp as resident_blp
from . import fund_pages  # noqa: F401  (the fund's pages, on the same blueprint)
from . import evaluation_pages  # noqa: F401  (the agency's evaluations, kept at evaluation)


def create_app(test_config: dict | None = None):
    spec = ServiceSpec(name="casework", title="Casework 社工服务", db=db, store=event_store,
                       handlers=HANDLERS, blueprints=[blp, fund_blp, resident_blp],
                       resident_blueprints=frozenset({resident_blp.name}))
    app = create_service_app(spec, test_config)
    support_threshold()  # a bad setting stops the start, not a resident's support
    # no request larger than a file and its form: refused before it is read (413)
    app.config["MAX_CONTENT_LENGTH"] = MAX_FILE_BYTES + 1024 * 1024
    app.extensions["filestore"] = folder_store("casework")  # where, as configured at start
    app.register_blueprint(file_links)
    init_pages(app, pages, WebUser, home="casework_pages.queue")
    app.extensions["caller_checks"].append(on_roster)
    return app
