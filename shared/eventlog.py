"""Every producer serves its outbox as an event log: the broker is the fast path, this is the
truth that consumers backfill from when a message went missing."""
import json
from datetime import datetime

import sqlalchemy as sa
from marshmallow import Schema, validate

from . import auth, fields, outbox
from .api import Blueprint
from .eventstore import WAITING
from .inbox import CONFLICT, sources_in_full
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


SHOWN = 1000  # at most this many held-ahead sequences and breaks are read for a report


def _verified_heads(rt: Runtime):
    """(source, the sequence its chain is held whole to) of every source consumed in full."""
    for source in sorted(sources_in_full(rt.store.source, rt.spec.handlers)):
        head = rt.store.session.get(rt.store.SourceHead, source)
        yield source, head.last_seq if head else 0


def integrity_reports(rt: Runtime) -> list[dict]:
    """The chain of every source this service consumes in full, as held here, from what the
    inbox verified on receipt: no event is read but those held ahead of a hole, so a report
    costs the same however long the log."""
    store, session = rt.store, rt.store.session
    inbox, parked = store.InboxEvent, store.ParkedEvent
    reports = []
    for source, verified in _verified_heads(rt):
        held, newest = session.execute(sa.select(sa.func.count(), sa.func.max(inbox.seq))
                                       .where(inbox.source == source)).one()
        ahead = list(session.scalars(sa.select(inbox.seq).where(
            inbox.source == source, inbox.seq > verified).order_by(inbox.seq).limit(SHOWN)))
        breaks = sorted(set(session.scalars(sa.select(parked.seq).where(
            parked.source == source, parked.problem == CONFLICT,
            parked.seq.is_not(None)).limit(SHOWN))))
        gaps, expected = [], verified + 1
        for seq in ahead:
            if seq > expected:
                gaps.append([expected, seq - 1])
            expected = seq + 1
        reports.append({"source": source, "events": held, "head": newest or 0,
                        "verified": verified, "waiting": len(ahead), "gaps": gaps,
                        "breaks": breaks, "intact": not gaps and not breaks})
    session.rollback()
    return reports


def unsettled(rt: Runtime, until: datetime) -> list[str]:
    """What stands between the events recorded by `until` and a whole chain, for every
    source consumed in full: an event held after a missing one, or a refused event that
    contradicts its source's chain (until ops resolve it: `flask chain resolve`)."""
    store, session = rt.store, rt.store.session
    inbox, parked = store.InboxEvent, store.ParkedEvent
    problems = []
    for source, verified in _verified_heads(rt):
        for seq, body in session.execute(sa.select(inbox.seq, inbox.body).where(
                inbox.source == source, inbox.seq > verified, inbox.status == WAITING)
                .order_by(inbox.seq).limit(SHOWN)):
            if datetime.fromisoformat(json.loads(body)["time"]) <= until:
                problems.append(f"{source}: events before {seq} are missing")
                break
        problems += [f"{source}: event {seq} contradicts the chain" for seq in session.scalars(
            sa.select(parked.seq).where(parked.source == source, parked.problem == CONFLICT,
                                        parked.recorded_at <= until).limit(SHOWN))]
    session.rollback()
    return problems


class ChainReportOut(Schema):
    source = fields.Str()
    events = fields.Int(metadata={"description": "events of the source held here"})
    head = fields.Int(metadata={"description": "the newest sequence held"})
    verified = fields.Int(metadata={"description": "the chain is held whole, each link "
                                                   "checked, up to this sequence"})
    waiting = fields.Int(metadata={"description": "events held after a missing one"})
    gaps = fields.List(fields.List(fields.Int()), metadata={"description": "missing ranges"})
    breaks = fields.List(fields.Int(), metadata={"description": "sequences where an event "
                                                 "did not follow the one before it"})
    intact = fields.Bool()


@blp.get("/integrity")
@blp.response(200, ChainReportOut(many=True))
def integrity():
    """Sequence gaps and hash-chain breaks in the sources this service receives in full."""
    auth.require("ops_admin", "buyer_auditor")
    return integrity_reports(current_service())
