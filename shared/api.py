"""The blueprint every service's API hangs on: flask-smorest's, with one instance of each
argument schema (webargs builds a new one for every request from a schema class, which
costs a small write a good part of its time: docs/BENCHMARKS.md). Schemas keep no state
between loads. Its pages are bounded: a page past MAX_PAGE is refused (422), not handed to
the database as an offset no integer column holds."""
import marshmallow as ma
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest import pagination as _pagination
from webargs.flaskparser import FlaskParser


class _SchemaKeepingParser(FlaskParser):
    def __init__(self):
        super().__init__()
        self._schemas: dict[type, ma.Schema] = {}

    def _get_schema(self, argmap, req) -> ma.Schema:
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            if argmap not in self._schemas:
                self._schemas[argmap] = argmap()
            return self._schemas[argmap]
        return super()._get_schema(argmap, req)


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = _SchemaKeepingParser()


MAX_PAGE = 1_000_000
_unbounded_pages = _pagination._pagination_parameters_schema_factory


def _bounded_pages(def_page, def_page_size, def_max_page_size):
    class BoundedPagination(_unbounded_pages(def_page, def_page_size, def_max_page_size)):
        page = ma.fields.Integer(load_default=def_page,
                                 validate=ma.validate.Range(min=1, max=MAX_PAGE))
    return BoundedPagination


# flask-smorest builds each paginated view's schema with this module function
_pagination._pagination_parameters_schema_factory = _bounded_pages
