"""The inbox: an event's effect is applied exactly once, whichever way it arrives.

The event id is recorded in the same transaction as the handler's effect; a second delivery
finds the id and changes nothing. Every delivery path (broker, retry, backfill, replay) ends here.
"""
import json
import logging
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from .events import Event, EnvelopeError, SchemaViolation, check_event
from .eventstore import EventStore
from .logging import reset_traceparent, set_traceparent

log = logging.getLogger(__name__)
Handler = Callable[[Event], None]

APPLIED, DUPLICATE = "applied", "duplicate"


class Poison(Exception):
    """The message can never be applied as it is: park it at once, with this reason.

    `meta` holds whatever identity the message showed (id, source, sequence, type), so the
    parked copy can be named and backfill does not fetch it again."""

    def __init__(self, reason: str, meta: dict | None = None):
        super().__init__(reason)
        self.meta = meta or {}


class HandlerFailed(Exception):
    """The handler raised: retry with back-off, park after the last attempt."""


class StoreUnavailable(Exception):
    """The service's own database is unreachable: not the message's fault; redeliver later."""


def _identity(body) -> dict:
    try:
        raw = json.loads(body)
        seq = int(raw.get("sequence"))
    except (ValueError, TypeError, AttributeError):
        return {}
    if not all(isinstance(raw.get(k), str) for k in ("id", "source", "type")):
        return {}
    return {"id": raw["id"], "source": raw["source"], "sequence": seq, "type": raw["type"]}


def parse(body: bytes | str, handlers: dict[str, Handler]) -> Event:
    """Envelope, catalogue and schema checks: anything failing here is poison."""
    try:
        event = Event.from_json(body)
        check_event(event)
    except (EnvelopeError, SchemaViolation) as exc:
        raise Poison(str(exc), _identity(body)) from exc
    if event.short_type not in handlers:
        raise Poison(f"this service does not consume {event.type}", _identity(body))
    return event


class Inbox:
    """Applies events through the service's handlers, each event's effect exactly once:
    `store` holds the inbox table, `handlers` maps event types to functions, `prepare`
    loads what a batch's handlers will look up."""

    def __init__(self, store: EventStore, handlers: dict[str, Handler],
                 prepare: Callable[[list[Event]], None] | None = None):
        self.store, self.handlers, self.prepare = store, handlers, prepare

    def seen(self, event_id: str) -> bool:
        return self.store.session.get(self.store.InboxEvent, event_id) is not None

    def _claim_and_handle(self, event: Event, body: str, via: str, alone: bool) -> None:
        """Within the open transaction: claim the id (a duplicate fails on the primary key:
        at once when `alone`, at the batch's commit otherwise), then apply the handler."""
        token = set_traceparent(event.traceparent)
        try:
            self.store.session.add(self.store.InboxEvent(
                event_id=event.id, source=event.source, seq=event.sequence,
                type=event.short_type, body=body, via=via))
            if alone:
                self.store.session.flush()
            self.handlers[event.short_type](event)
            self._unpark(event, via)
        finally:
            reset_traceparent(token)

    def apply(self, event: Event, body: str, via: str) -> str:
        """Claim the id, apply the handler, commit: all or nothing. A duplicate fails the
        claim (primary key) and changes nothing."""
        session = self.store.session
        try:
            self._claim_and_handle(event, body, via, alone=True)
            session.commit()
            return APPLIED
        except (OperationalError, InterfaceError) as exc:
            session.rollback()
            raise StoreUnavailable(str(exc)) from exc
        except IntegrityError as exc:
            session.rollback()
            if self.seen(event.id):
                self._unpark(event, via)
                session.commit()
                return DUPLICATE
            raise HandlerFailed(f"{type(exc).__name__}: {exc.orig}") from exc
        except Exception as exc:
            session.rollback()
            raise HandlerFailed(f"{type(exc).__name__}: {exc}") from exc

    def apply_batch(self, deliveries: list[tuple[Event, str, str]]) -> bool:
        """(event, body, via) applied one after another in ONE transaction: one commit
        instead of one per event, which is what bounds a worker's rate. All or nothing: if
        any one fails (a duplicate, a handler error) nothing is kept and False tells the
        caller to apply them one by one, where each failure gets its own outcome."""
        session = self.store.session
        try:
            if self.prepare is not None:
                self.prepare([event for event, _, _ in deliveries])
            for event, body, via in deliveries:
                self._claim_and_handle(event, body, via, alone=False)
            session.commit()
            return True
        except (OperationalError, InterfaceError) as exc:
            session.rollback()
            raise StoreUnavailable(str(exc)) from exc
        except Exception:
            session.rollback()
            return False

    def _unpark(self, event: Event, via: str) -> None:
        if via == "replay":
            parked = self.store.ParkedEvent
            self.store.session.execute(sa.delete(parked).where(parked.event_id == event.id))

    def accounted(self, source: str, after: int, upto: int) -> int:
        """Events of a source in (after, upto] applied or parked here."""
        total = 0
        for model in (self.store.InboxEvent, self.store.ParkedEvent):
            total += self.store.session.scalar(
                sa.select(sa.func.count()).select_from(model)
                .where(model.source == source, model.seq > after, model.seq <= upto))
        return total

    def known_ids(self, ids: list[str]) -> set[str]:
        found = set()
        for model in (self.store.InboxEvent, self.store.ParkedEvent):
            found |= set(self.store.session.scalars(
                sa.select(model.event_id).where(model.event_id.in_(ids))))
        return found
