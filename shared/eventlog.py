"""Every producer serves its outbox as an event log: the broker is the fast path, this is the
truth that consumers backfill from when a message went missing."""
import json

import sqlalchemy as sa
from marshmallow import Schema, fields, validate

from . import auth, outbox
from .api import Blueprint
from .events import CATALOGUE, Event
from .events.catalogue import source_types
from .events.chain import audit
from .runtime import Runtime, current_service

blp = Blueprint("events", __name__, url_prefix="/events",
                description="The service's own event log (CloudEvents, in sequence order)")


class LogQuery(Schema):
    after = fields.Int(load_default=0, validate=validate.Range(min=0),
                       metadata={"description": "return events with a greater sequence"})
    limit = fields.Int(load_default=500, validate=validate.Range(min=1, max=5000))
    types = fields.Str(load_default="", metadata={"description": "short names, comma-separated"})


class CountQuery(LogQuery):
    upto = fields.Int(required=True, validate=validate.Range(min=0))


class LogPage(Schema):
    source = fields.Str()
    head = fields.Int(metadata={"description": "the source's last sequence number"})
    next_after = fields.Int(metadata={"description": "pass as `after` for the next page"})
    events = fields.List(fields.Dict(), metadata={"description": "structured CloudEvents"})


class LogCount(Schema):
    source = fields.Str()
    head = fields.Int()
    count = fields.Int()


def _types(raw: str) -> list[str]:
    return [t for t in raw.split(",") if t]


@blp.get("")
@blp.arguments(LogQuery, location="query")
@blp.response(200, LogPage)
def list_events(args):
    auth.require("service", "ops_admin")
    store = current_service().store
    rows = outbox.page(store, args["after"], args["limit"], _types(args["types"]))
    return {"source": store.source, "head": outbox.head_seq(store),
            "next_after": rows[-1].seq if rows else args["after"],
            "events": [json.loads(row.body) for row in rows]}


@blp.get("/count")
@blp.arguments(CountQuery, location="query")
@blp.response(200, LogCount)
def count_events(args):
    auth.require("service", "ops_admin")
    store = current_service().store
    return {"source": store.source, "head": outbox.head_seq(store),
            "count": outbox.count_between(store, args["after"], args["upto"],
                                          _types(args["types"]))}


def integrity_reports(rt: Runtime) -> list[dict]:
    """Chain audit of every source whose every event this service consumes."""
    Inbox = rt.store.InboxEvent
    consumed = set(rt.spec.handlers)
    reports = []
    for source in sorted({CATALOGUE[short].source for short in consumed}):
        if not set(source_types(source)) <= consumed:
            continue
        bodies = rt.store.session.scalars(sa.select(Inbox.body).where(Inbox.source == source))
        reports.append(audit(source, (Event.from_json(b) for b in bodies)).as_dict())
    return reports


class ChainReportOut(Schema):
    source = fields.Str()
    events = fields.Int()
    head = fields.Int()
    gaps = fields.List(fields.List(fields.Int()), metadata={"description": "missing ranges"})
    breaks = fields.List(fields.Int(), metadata={"description": "sequences whose prevhash "
                                                 "is not the previous event's hash"})
    intact = fields.Bool()


@blp.get("/integrity")
@blp.response(200, ChainReportOut(many=True))
def integrity():
    """Sequence gaps and hash-chain breaks in the sources this service receives in full."""
    auth.require("ops_admin", "buyer_auditor")
    return integrity_reports(current_service())
