"""Producing and inspecting event streams in tests: in-process writes through the real
outbox path, forged messages straight onto the broker, and the counts that prove effects."""
import sqlalchemy as sa

from shared import bus, outbox
from shared.config import MessagingConfig
from shared.events import Event
from shared.events.envelope import GENESIS_HASH
from shared.inbox import Inbox
from shared.publisher import Publisher
from tests.helpers import count, scalar, seed_community

FORGED_BASE = 10**9  # forged events sit far above any real sequence


def produce_needs(intake_app, community_id: str, n: int, progress: list | None = None):
    """Record n needs through intake's own code path (domain row + outbox, one commit each)
    in a community it creates first."""
    from services.intake.models import db
    from services.intake.needs import record_need
    seed_community(intake_app, community_id)
    with intake_app.app_context():
        for i in range(n):
            record_need({"community_id": community_id, "category": "health",
                         "urgency": "routine", "channel": "hotline",
                         "description": f"需求 {i}"}, by="test-producer")
            db.session.commit()
            if progress is not None:
                progress.append(i)


def apply_events(app, *events: Event) -> list[str]:
    """Apply events in-process through the app's own inbox and handlers, as its worker would;
    returns each outcome (applied, duplicate)."""
    rt = app.extensions["socialwork"]
    with app.app_context():
        inbox = Inbox(rt.store, rt.spec.handlers)
        return [inbox.apply(event, event.to_json(), "test") for event in events]


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


def forge(short_type: str, data: dict, seq: int, source: str = "/intake",
          prevhash: str = GENESIS_HASH) -> Event:
    return Event.new(source=source, short_type=short_type, subject=f"forged/{seq}", data=data,
                     sequence=seq, prevhash=prevhash)


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
