"""The inbox: an event's effect is applied exactly once, whichever way it arrives, and only if
its producer signed it and it follows the event before it in its producer's chain.

The event id is recorded in the same transaction as the handler's effect; a second delivery
finds the id and changes nothing. Every delivery path (broker, retry, backfill, replay) ends
here. Per source, the service keeps the head of the chain it holds (SourceHead: the last
sequence and its hash). Of a source it consumes in full, an event is applied only as the
head's successor: one further ahead is held as waiting until its predecessor arrives, and a
second event for a sequence already held, or one whose `prevhash` is not the head's hash, is
refused as a conflict. Of a source it consumes in part the same link is checked whenever the
predecessor is held. What cannot be applied is raised as Poison, for the consumer to park.
"""
import hashlib
import json
import logging
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from . import keys
from .db import find, get_or_add, prefetch
from .events import GENESIS_HASH, Event, EnvelopeError, SchemaViolation, check_event
from .events.envelope import MAX_SEQUENCE
from .events.catalogue import source_types
from .eventstore import APPLIED, PARKED, WAITING, EventStore
from .logging import reset_traceparent, set_traceparent

log = logging.getLogger(__name__)
Handler = Callable[[Event], None]

DUPLICATE = "duplicate"
SOURCES = {f"/{service}": service for service in keys.config.SERVICES}
# why a message is parked: it could not be read, it is not its source's, it contradicts its
# source's chain, or it is its source's own but cannot be applied
UNREADABLE, FORGED, CONFLICT, POISON = "unreadable", "forged", "conflict", "poison"


class Poison(Exception):
    """The message can never be applied as it is: park it at once, with this reason.

    `problem` says which kind of poison; `event` is the event, where the message read as one,
    so a genuine event parked still holds its place in its source's chain."""

    def __init__(self, reason: str, problem: str, event: Event | None = None):
        super().__init__(reason)
        self.problem, self.event = problem, event


class HandlerFailed(Exception):
    """The handler raised: retry with back-off, park after the last attempt."""


class StoreUnavailable(Exception):
    """The service's own database is unreachable: not the message's fault; redeliver later."""


def digest(body: bytes | str) -> str:
    """The identity of a message as it arrived: its parked row's key."""
    raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()


def printable(text: str, limit: int) -> str:
    """Text a database column and a message header can hold, whatever came in: bounded, and
    without what is not printable (NUL, a lone surrogate) written as itself."""
    clean = "".join(c if c.isprintable() else f"\\x{ord(c):x}" for c in text[:limit])
    return clean[:limit]


def claimed_identity(body) -> dict:
    """What a message says it is, bounded to what the parked row holds; {} for a message
    that does not read as a JSON object (never an exception, whatever the message)."""
    try:
        raw = json.loads(body, parse_constant=lambda _: None) if len(body) <= 1 << 20 else {}
    except (ValueError, RecursionError, TypeError):
        return {}
    if not isinstance(raw, dict):
        return {}
    identity = {key: printable(raw[key], limit) for key, limit in (
        ("id", 64), ("source", 64), ("type", 120)) if isinstance(raw.get(key), str)}
    sequence = raw.get("sequence")
    if isinstance(sequence, str) and len(sequence) <= 20 and sequence.isascii() and \
            sequence.isdigit() and int(sequence) <= MAX_SEQUENCE:
        identity["sequence"] = int(sequence)
    return identity


def parse(body: bytes | str, handlers: dict[str, Handler]) -> Event:
    """An event this service may apply: readable, its source's (the signature), of a type
    the source publishes, valid by the catalogue, and consumed here. Poison otherwise."""
    try:
        event = Event.from_json(body)
    except EnvelopeError as exc:
        raise Poison(str(exc), UNREADABLE) from None
    service = SOURCES.get(event.source)
    if service is None:
        raise Poison(f"{event.source} is not a source of this platform", FORGED)
    try:
        event.verify(keys.public_keys(service))
    except EnvelopeError as exc:
        raise Poison(str(exc), FORGED) from None
    try:
        check_event(event)
    except (EnvelopeError, SchemaViolation) as exc:
        raise Poison(str(exc), POISON, event) from None
    if event.short_type not in handlers:
        raise Poison(f"this service does not consume {event.type}", POISON, event)
    return event


def sources_in_full(own: str, handlers) -> set[str]:
    """The sources of which a service with these handlers consumes every type."""
    return {s for s in SOURCES if s != own and set(source_types(s)) and
            set(source_types(s)) <= set(handlers)}


class Inbox:
    """Applies events through the service's handlers, each event's effect exactly once and in
    its source's chain: `store` holds the inbox and the heads, `handlers` maps event types to
    functions, `prepare` loads what a batch's handlers will look up; `in_full` names the
    sources of which this service consumes every type (their chains are held whole)."""

    def __init__(self, store: EventStore, handlers: dict[str, Handler],
                 prepare: Callable[[list[Event]], None] | None = None):
        self.store, self.handlers, self.prepare = store, handlers, prepare
        self.in_full = sources_in_full(store.source, handlers)
        self._ahead: set[str] | None = None
        self.ahead  # read now, outside any change: the first read must not come mid-batch
        self.session.rollback()

    @property
    def session(self):
        return self.store.session

    def seen(self, event_id: str) -> bool:
        held = self.session.get(self.store.InboxEvent, event_id)
        return held is not None and held.status == APPLIED

    # -- the chain --------------------------------------------------------------------------

    def head(self, source: str):
        """The head of the source's chain as held here (in this transaction)."""
        row = get_or_add(self.session, self.store.SourceHead, source=source)
        if row.last_hash is None:
            row.last_seq, row.last_hash = 0, GENESIS_HASH
        return row

    def _other_at(self, event: Event) -> str | None:
        """The id of another event held at this event's sequence, if any."""
        inbox = self.store.InboxEvent
        with self.session.no_autoflush:
            return self.session.scalar(sa.select(inbox.event_id).where(
                inbox.source == event.source, inbox.seq == event.sequence,
                inbox.event_id != event.id))

    def _conflict(self, event: Event, why: str) -> Poison:
        return Poison(f"{event.source} event {event.id} at sequence {event.sequence} {why}",
                      CONFLICT, event)

    def _place(self, event: Event, held) -> str:
        """Where the event stands: APPLIED (apply it now) or WAITING (hold it until its
        predecessor is held); a Poison for a conflict with what is held."""
        head = self.head(event.source)
        if event.sequence == head.last_seq + 1 and event.prevhash != head.last_hash:
            raise self._conflict(event, "does not follow the event before it (its prevhash "
                                        "is not that event's hash)")
        if event.source not in self.in_full:
            if held is None and (other := self._other_at(event)) is not None:
                raise self._conflict(event, f"contradicts event {other}, held there")
            return APPLIED
        if held is None and event.sequence <= head.last_seq:
            raise self._conflict(event, "comes after its place in the chain was filled")
        # another event at this sequence can only be one held ahead of the head
        if held is None and event.source in self.ahead and \
                (other := self._other_at(event)) is not None:
            raise self._conflict(event, f"contradicts event {other}, held there")
        if event.sequence > head.last_seq + 1:
            self.ahead.add(event.source)
            return WAITING
        return APPLIED

    @property
    def ahead(self) -> set[str]:
        """Sources of which events are held ahead of the head (waiting, or parked), as far
        as this process knows: only then can one contradict another at its sequence."""
        if self._ahead is None:
            inbox, head = self.store.InboxEvent, self.store.SourceHead
            self._ahead = set(self.session.scalars(sa.select(inbox.source).join(
                head, head.source == inbox.source).where(
                inbox.seq > head.last_seq, inbox.status != APPLIED).distinct()))
        return self._ahead

    def _advance(self, event: Event) -> None:
        head = self.head(event.source)
        if event.sequence > head.last_seq:
            head.last_seq, head.last_hash = event.sequence, event.hash()

    # -- applying ---------------------------------------------------------------------------

    def _hold(self, event: Event, body: str, via: str, status: str, held=None):
        if held is None:
            held = get_or_add(self.session, self.store.InboxEvent, event_id=event.id)
            held.source, held.seq, held.type = event.source, event.sequence, event.short_type
            held.body, held.via, held.status = body, via, status
        else:  # `via` stays how it arrived, but for a replay of what was parked
            held.status, held.via = status, via if via == "replay" else held.via
        return held

    def _claim_and_handle(self, event: Event, body: str, via: str) -> str:
        """Within the open transaction: place the event in its chain; apply the handler and
        hold the event as applied when it is next, or hold it as waiting."""
        held = find(self.session, self.store.InboxEvent, event.id)
        if held is not None and held.status == APPLIED:
            return DUPLICATE
        place = self._place(event, held)
        if place == WAITING:
            self._hold(event, body, via, WAITING, held)
            return WAITING
        token = set_traceparent(event.traceparent)
        try:
            self.handlers[event.short_type](event)
        finally:
            reset_traceparent(token)
        self._hold(event, body, via, APPLIED, held)
        self._advance(event)
        self._unpark(event, via)
        return APPLIED

    def apply(self, event: Event, body: str, via: str) -> str:
        """Place, apply, commit: all or nothing. Returns APPLIED, WAITING or DUPLICATE."""
        try:
            outcome = self._claim_and_handle(event, body, via)
            self.session.commit()
            return outcome
        except Poison:
            self.session.rollback()
            raise
        except (OperationalError, InterfaceError) as exc:
            self.session.rollback()
            raise StoreUnavailable(str(exc)) from exc
        except IntegrityError as exc:
            self.session.rollback()
            if self.seen(event.id):
                return DUPLICATE
            raise HandlerFailed(f"{type(exc).__name__}: {exc.orig}") from exc
        except Exception as exc:
            self.session.rollback()
            raise HandlerFailed(f"{type(exc).__name__}: {exc}") from exc

    def apply_batch(self, deliveries: list[tuple[Event, str, str]]) -> list[str] | None:
        """(event, body, via) applied one after another in ONE transaction: one commit
        instead of one per event, which is what bounds a worker's rate. All or nothing: if
        any one fails (a conflict, a handler error) nothing is kept and None tells the caller
        to apply them one by one, where each failure gets its own outcome."""
        try:
            events = [event for event, _, _ in deliveries]
            # what the inbox itself looks up, for the whole batch: one query per table
            prefetch(self.session, self.store.InboxEvent, [(e.id,) for e in events])
            prefetch(self.session, self.store.SourceHead, {(e.source,) for e in events})
            if self.prepare is not None:
                self.prepare(events)
            outcomes = [self._claim_and_handle(event, body, via)
                        for event, body, via in deliveries]
            self.session.commit()
            return outcomes
        except (OperationalError, InterfaceError) as exc:
            self.session.rollback()
            raise StoreUnavailable(str(exc)) from exc
        except Exception:
            self.session.rollback()
            return None

    def hold_parked(self, event: Event, body: str, via: str) -> None:
        """A genuine event that can never be applied keeps its place in its source's chain,
        parked, so the events after it are applied in turn. A conflict raises Poison."""
        try:
            held = find(self.session, self.store.InboxEvent, event.id)
            if held is not None and held.status == APPLIED:
                return self.session.rollback()
            place = self._place(event, held)
            self._hold(event, body, via, PARKED, held)
            if place == APPLIED:
                self._advance(event)
            self.session.commit()
        except Exception:
            self.session.rollback()
            raise

    # -- what waits -------------------------------------------------------------------------

    def successors(self, source: str, limit: int) -> list:
        """The held events that now follow the head of a chain in turn (waiting to be
        applied, or parked: their places are passed over), up to `limit`."""
        head = self.session.get(self.store.SourceHead, source)
        after = head.last_seq if head else 0
        inbox = self.store.InboxEvent
        rows = self.session.execute(sa.select(inbox.seq, inbox.status, inbox.body).where(
            inbox.source == source, inbox.seq > after, inbox.status != APPLIED).order_by(
            inbox.seq).limit(limit)).all()
        self.session.rollback()
        following = []
        for seq, status, body in rows:
            if seq != after + len(following) + 1:
                break
            following.append((status, body))
        return following

    def head_seq(self, source: str) -> int:
        head = self.session.get(self.store.SourceHead, source)
        seq = head.last_seq if head else 0
        self.session.rollback()
        return seq

    def settle_ahead(self, source: str) -> None:
        """Forget that a source has events held ahead of its head once none are."""
        inbox, head = self.store.InboxEvent, self.store.SourceHead
        still = self.session.scalar(sa.select(inbox.event_id).join(
            head, head.source == inbox.source).where(
            inbox.source == source, inbox.seq > head.last_seq, inbox.status != APPLIED
        ).limit(1))
        self.session.rollback()
        if still is None:
            self.ahead.discard(source)

    def pass_parked(self, event: Event) -> None:
        """Move the head over a parked event in its turn (its link checked like any)."""
        try:
            self._place(event, find(self.session, self.store.InboxEvent, event.id))
            self._advance(event)
            self.session.commit()
        except Exception:
            self.session.rollback()
            raise

    def _unpark(self, event: Event, via: str) -> None:
        if via == "replay":
            parked = self.store.ParkedEvent
            self.session.execute(sa.delete(parked).where(parked.event_id == event.id,
                                                         parked.source == event.source))

    # -- what backfill asks -----------------------------------------------------------------

    def accounted(self, source: str, after: int, upto: int) -> int:
        """Events of a source in (after, upto] held here: applied, waiting or parked."""
        inbox = self.store.InboxEvent
        return self.session.scalar(sa.select(sa.func.count()).select_from(inbox).where(
            inbox.source == source, inbox.seq > after, inbox.seq <= upto))

    def known_ids(self, ids: list[str]) -> set[str]:
        inbox = self.store.InboxEvent
        return set(self.session.scalars(sa.select(inbox.event_id).where(
            inbox.event_id.in_(ids))))
