"""Producing and inspecting event streams in tests: in-process writes through the real
outbox path, forged messages straight onto the broker, and the counts that prove effects."""
import dataclasses

import sqlalchemy as sa

from shared import bus, keys, outbox
from shared.config import MessagingConfig
from shared.events import Event
from shared.events.envelope import GENESIS_HASH
from shared.inbox import Inbox
from shared.publisher import Publisher
from tests.helpers import count, scalar, seed_community

FORGED_BASE = 10**9  # forged events sit far above any real sequence


def produce_needs(intake_app, community_id: str, n: int, progress: list | None = None,
                  gate=None, pause_at: int | None = None):
    """Record n needs through intake's own code path (domain row + outbox, one commit each)
    in a community it creates first; with a gate (a threading.Event), wait for it to open
    before the need numbered pause_at."""
    from services.intake.models import db
    from services.intake.needs import record_need
    seed_community(intake_app, community_id)
    with intake_app.app_context():
        for i in range(n):
            if gate is not None and i == pause_at:
                gate.wait(timeout=300)
            record_need({"community_id": community_id, "category": "health",
                         "urgency": "routine", "channel": "hotline",
                         "description": f"需求 {i}"}, by="test-producer")
            db.session.commit()
            if progress is not None:
                progress.append(i)


def apply_events(app, *events: Event) -> list[str]:
    """Apply events in-process through the app's own inbox and handlers, as its worker would,
    then what was held waiting for them; returns each outcome (applied, waiting,
    duplicate)."""
    rt = app.extensions["socialwork"]
    with app.app_context():
        inbox = Inbox(rt.store, rt.spec.handlers)
        outcomes = [inbox.apply(event, event.to_json(), "test") for event in events]
        for source in list(inbox.ahead):
            while following := inbox.successors(source, 100):
                status, body = following[0]
                if status != "waiting":
                    break
                inbox.apply(Event.from_json(body), body, "test")
    return outcomes


def tally(evaluation_app, community_id: str, short_type: str = "need.reported") -> int:
    from services.evaluation.models import EventTally
    return scalar(evaluation_app, sa.select(EventTally.count).where(
        EventTally.type == short_type, EventTally.community_id == community_id)) or 0


def queued(casework_app, community_id: str) -> int:
    from services.casework.models import QueuedNeed
    return count(casework_app, QueuedNeed, QueuedNeed.community_id == community_id)


def unpublished(app) -> int:
    store = app.extensions["socialwork"].store
    with app.app_context():
        try:
            return outbox.unpublished(store)
        finally:
            store.session.rollback()


def messaging(backend) -> MessagingConfig:
    with backend.environ():
        return MessagingConfig()


FORGED: dict[tuple[str, int], Event] = {}  # (source, sequence) -> event, in this test


def forge(short_type: str, data: dict, seq: int | None = None, source: str = "/intake",
          prevhash: str | None = None, signed: bool = True, time: str | None = None) -> Event:
    """An event as its source makes one: at `seq` (default: after the last this test forged
    of the source), carrying the hash of the event forged before it at seq - 1 (the genesis
    hash if none), signed with the source's key (the environment's), unless `prevhash` or
    `signed` say otherwise."""
    if seq is None:
        seq = 1 + max((n for s, n in FORGED if s == source), default=0)
    if prevhash is None:
        before = FORGED.get((source, seq - 1))
        prevhash = before.hash() if before else GENESIS_HASH
    event = Event.new(source=source, short_type=short_type, subject=f"forged/{seq}", data=data,
                      sequence=seq, prevhash=prevhash)
    if time is not None:  # as if recorded then
        event = dataclasses.replace(event, time=time)
    if signed:
        event = event.signed(*keys.signer(source.strip("/")))
    FORGED[(source, seq)] = event
    return event


class Chain:
    """A source's stream as its producer makes it, kept as long as the object (across the
    tests of a module, say): each event at the next sequence, carrying the hash of the one
    before and signed with the source's key. `tampered` makes one that breaks the chain."""

    def __init__(self, source: str, after_forged: bool = False):
        """From the source's first event, or (`after_forged`) going on from what this test
        forged of the source so far."""
        self.source, self.seq, self.last_hash = source, 0, GENESIS_HASH
        if after_forged and (forged := [n for s, n in FORGED if s == source]):
            self.seq = max(forged)
            self.last_hash = FORGED[(source, self.seq)].hash()

    def event(self, short_type: str, data: dict, tampered: bool = False) -> Event:
        prevhash = "f" * 64 if tampered else self.last_hash
        event = Event.new(source=self.source, short_type=short_type,
                          subject=f"chain/{self.seq + 1}", data=data, sequence=self.seq + 1,
                          prevhash=prevhash).signed(*keys.signer(self.source.strip("/")))
        if not tampered:
            self.seq, self.last_hash = event.sequence, event.hash()
        return event


def publish_raw(backend, routing_key: str, bodies, message_type: str = "") -> None:
    """Put messages on socialwork.events as any producer could, confirmed."""
    cfg = messaging(backend)
    with bus.connect(cfg) as conn:
        bus.declare(conn)
        publisher = Publisher(conn, cfg.confirm_timeout)
        publisher.publish_batch(
            (bus.EXCHANGE.name, routing_key, body, {}, bus.properties(f"raw-{i}", message_type))
            for i, body in enumerate(bodies))
        publisher.close()


def publish_events(backend, *events: Event) -> None:
    for event in events:
        publish_raw(backend, event.short_type, [event.to_json()], event.type)


def need_data(need_id: str, community_id: str, **extra) -> dict:
    return {"need_id": need_id, "community_id": community_id, "grid_id": None,
            "resident_ref": "r-x", "household_ref": None, "category": "health",
            "urgency": "routine", "safety_flag": False, "channel": "online",
            "reported_at": "2026-03-01T08:00:00Z", **extra}


def grant(evaluation_app, buyer: str = "b1", communities=("c1", "c2"),
          agencies=("a1", "a2")) -> None:
    """Reference data an award needs at evaluation, as intake's events bring it: the buyer
    governs `communities`, and `agencies` exist."""
    events = [forge("jurisdiction.updated", {
        "buyer_id": buyer, "name": f"{buyer} 街道办事处", "kind": "street_office",
        "community_ids": list(communities), "updated_at": "2026-01-01T00:00:00Z"})]
    events += [forge("agency.updated", {"agency_id": a, "name": f"{a} 社工机构", "active": True,
                                        "updated_at": "2026-01-01T00:00:00Z"})
               for a in agencies]
    assert apply_events(evaluation_app, *events) == ["applied"] * len(events)
