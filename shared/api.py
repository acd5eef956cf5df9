"""The blueprint every service's API hangs on: flask-smorest's, with one instance of each
argument schema (webargs builds a new one for every request from a schema class, which
costs a small write a good part of its time: docs/BENCHMARKS.md). Schemas keep no state
between loads."""
import marshmallow as ma
from flask_smorest import Blueprint as SmorestBlueprint
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
