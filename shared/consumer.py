"""One generic consumer for every service (what its `worker` process runs): the service
hands it its handlers.

Deliveries come from the service's queue, its retry queue (held until their back-off is due)
and backfill; all of them go through `dispatch`, which applies through the inbox and decides
what happens to a message that fails: retry with back-off, or park with the reason.
Messages are acked only after their outcome is durable (applied, or re-published and confirmed).
The main queue's messages that have already arrived are applied together in one transaction
(one commit, not one per event: the commit is what bounds a worker's rate).
"""
import heapq
import itertools
import logging
import socket
import time
from collections import Counter
from datetime import datetime, timezone

import sqlalchemy as sa
from kombu import Consumer as QueueConsumer

from . import bus, metrics
from .clock import utcnow
from .config import MessagingConfig
from .events.envelope import canonical_json
from .eventstore import EventStore
from .events import Event
from .eventstore import APPLIED, PARKED, WAITING
from .inbox import (CONFLICT, POISON, HandlerFailed, Inbox, Poison, StoreUnavailable,
                    claimed_identity, digest, parse, printable)
from .probe import Heartbeat
from .publisher import Publisher
from .sync import SourceSync, SyncSchedule

log = logging.getLogger(__name__)
MAX_DEFERRALS = 30


def _age_seconds(rfc3339: str) -> float:
    """How long the event has travelled (a metric of the machine's real time)."""
    sent = datetime.fromisoformat(rfc3339)
    return max(0.0, (datetime.now(timezone.utc) - sent).total_seconds())


def _text(body) -> str:
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else body


class EventConsumer:
    def __init__(self, service: str, store: EventStore, handlers: dict, cfg: MessagingConfig,
                 prepare=None):
        self.service, self.store, self.handlers, self.cfg = service, store, handlers, cfg
        self.queues = bus.service_queues(service, handlers, cfg)
        self.inbox = Inbox(store, handlers, prepare)
        self.sync = SourceSync(self.inbox, handlers, self._deliver_backfill, service,
                               cfg.service_urls)
        self.schedule = SyncSchedule(cfg.sync_interval)
        self.stats = Counter()  # outcomes so far (applied, duplicate, parked, retried, …)
        # publishes retries and parked copies; made once connected
        self.control: Publisher | None = None
        self._held: list = []  # retries waiting for their due time: a heap by due time
        self._batch: list = []  # main-queue messages taken, not yet applied
        self._ack_many = False  # one ack for a batch (RabbitMQ; kombu's own brokers ack one)
        self._tiebreak = itertools.count()  # orders retries due at the same moment
        self._gap_upto: dict[str, int] = {}  # source -> the sequence below which a hole was seen
        self._halted: dict[str, int] = {}  # source -> its head when its next would not apply
        self._deferrals = 0  # sync checks put off in a row while the queue had a backlog
        # what the probe reports as health: one object for the process's life, the probe
        # holds it
        self.heartbeat = Heartbeat(cfg.stale_after)
        self._stop = False

    def stop(self, *_):
        self._stop = True

    # -- what happens to one message -------------------------------------------------------

    def dispatch(self, body, via: str, attempt: int = 1) -> str:
        """Apply, hold, retry or park one message. Raises only when the store or broker is
        down; whatever the message holds, it ends applied, held, retried or parked."""
        try:
            event = parse(body, self.handlers)
        except Poison as exc:
            return self._refuse(body, exc, attempt, via)
        try:
            outcome = self.inbox.apply(event, _text(body), via)
        except Poison as exc:
            return self._refuse(body, exc, attempt, via)
        except HandlerFailed as exc:
            if attempt >= self.cfg.max_attempts:
                return self._refuse(body, Poison(f"handler failed {attempt} times: {exc}",
                                                 POISON, event), attempt, via)
            self._retry(body, attempt + 1, str(exc), event)
            return "retried"
        self._count(event, outcome, via)
        return outcome

    def dispatch_batch(self, deliveries: list[tuple[bytes | str, str]]) -> None:
        """(body, via), applied in one transaction when all of them read and apply cleanly;
        otherwise each goes its own way through `dispatch` (a poison message costs the
        messages beside it no more than this one batch)."""
        try:
            events = [(parse(body, self.handlers), _text(body), via) for body, via in deliveries]
        except Poison:
            events = None
        outcomes = self.inbox.apply_batch(events) if events else None
        if outcomes is None:
            for body, via in deliveries:
                self.dispatch(body, via)
            return
        for (event, _, via), outcome in zip(events, outcomes):
            self._count(event, outcome, via)

    def _count(self, event, outcome: str, via: str) -> None:
        self.stats[outcome] += 1
        metrics.CONSUMED.labels(self.service, outcome, via).inc()
        if outcome == APPLIED:
            metrics.LAG.labels(self.service).set(_age_seconds(event.time))
        elif outcome == WAITING:  # a hole before it: ask the source soon
            self._gap_upto[event.source] = max(self._gap_upto.get(event.source, 0),
                                               event.sequence - 1)
            self.schedule.soon()

    def _retry(self, body, attempt: int, reason: str, event) -> None:
        delay = self.cfg.retry_base_delay * 2 ** (attempt - 2)
        headers = {"x-attempt": attempt, "x-retry-at": time.time() + delay,
                   "x-last-error": reason[:1000]}
        self.control.publish_batch([(bus.EXCHANGE.name, self.queues.retry_key, body, headers,
                                     bus.properties(event.id, event.type))])
        self.stats["retried"] += 1
        metrics.RETRIED.labels(self.service).inc()
        log.warning("retrying %s in %.1fs (attempt %d): %s", event.id, delay, attempt, reason)

    def _refuse(self, body, poison: Poison, attempts: int, via: str) -> str:
        """Park a message that can never be applied. A genuine event's own (its source
        signed it, in its place) keeps its place in its source's chain, parked."""
        if poison.problem == POISON and poison.event is not None:  # genuine: keep its place
            try:
                self.inbox.hold_parked(poison.event, _text(body), via)
            except Poison as conflict:
                poison = conflict
        self._park(body, str(poison), attempts, poison, replayed=via == "replay")
        return "parked"

    def _park(self, body, reason: str, attempts: int, poison: Poison, replayed: bool) -> None:
        """The parked row first (keyed by the message's digest, its fields bounded), then
        the dead-letter copy (confirmed), marked once made: parking the same message again,
        after a crash or a redelivery, makes no second copy."""
        key, session, reason = digest(body), self.store.session, printable(reason, 2000)
        row = session.get(self.store.ParkedEvent, key)
        if row is not None and poison.problem == CONFLICT != row.problem:
            row.problem, row.reason = CONFLICT, reason[:2000]  # parked, then found to break
            session.commit()
        if row is None:
            event = poison.event
            claimed = {"id": event.id, "source": event.source, "sequence": event.sequence,
                       "type": event.type} if event else claimed_identity(body)
            row = self.store.ParkedEvent(
                digest=key, event_id=claimed.get("id"), source=claimed.get("source"),
                seq=claimed.get("sequence"), type=claimed.get("type"),
                problem=poison.problem, reason=reason[:2000], copied=False,
                recorded_at=datetime.fromisoformat(event.time) if event else None)
            session.add(row)
            session.commit()
        name, problem = row.event_id or key[:32], row.problem
        if replayed or not row.copied:
            headers = {"x-parked-reason": reason, "x-attempts": attempts,
                       "x-parked-at": utcnow().isoformat(),
                       "x-service": self.service, "x-problem": problem}
            self.control.publish_batch([(bus.DEAD_EXCHANGE.name, self.service, body, headers,
                                         bus.properties(name, row.type or ""))])
            row.copied = True
            session.commit()
        session.rollback()  # nothing read after the commit holds a transaction open
        self.stats["parked"] += 1
        metrics.PARKED.labels(self.service).inc()
        log.error("parked %s (%s): %s", name, problem, reason[:500])

    def drain(self) -> None:
        """Apply, in turn, what was held waiting for the events now held before it; pass
        over what is parked in its place. A source whose next event cannot be applied (it is
        retried, or it breaks the chain) is left until its head moves."""
        for source in list(self.inbox.ahead):
            if self._halted.get(source) == self.inbox.head_seq(source):
                continue
            while following := self.inbox.successors(source, self.cfg.prefetch):
                before = self.inbox.head_seq(source)
                status, body = following[0]
                try:
                    if status == PARKED:
                        self.inbox.pass_parked(Event.from_json(body))
                    else:
                        run = itertools.takewhile(lambda f: f[0] == WAITING, following)
                        self.dispatch_batch([(waiting, "waited") for _, waiting in run])
                except Poison as exc:  # a parked event that does not follow its predecessor
                    self._park(body, str(exc), 1, exc, replayed=False)
                if self.inbox.head_seq(source) == before:
                    self._halted[source] = before
                    break
            self.inbox.settle_ahead(source)

    def _deliver_backfill(self, raw: dict, via: str) -> None:
        self.heartbeat.beat()  # a long backfill is work, not a stuck loop
        self.dispatch(canonical_json(raw), via)

    # -- the consuming loop ------------------------------------------------------------------

    def _on_main(self, message) -> None:
        self._batch.append(message)

    def _take_arrived(self, conn) -> None:
        """After the first message, take what has already arrived too, up to the prefetch
        (nothing more comes before these are acked), so they commit together."""
        while 0 < len(self._batch) < self.cfg.prefetch:
            try:
                conn.drain_events(timeout=0.001)
            except socket.timeout:
                return

    def _apply_batch(self) -> None:
        """Apply the main queue's messages taken so far, then ack them: acked only once
        their outcome is durable."""
        batch, self._batch = self._batch, []
        self.dispatch_batch([(m.body, "replay" if (m.headers or {}).get("x-replayed")
                              else "broker") for m in batch])
        if self._ack_many:  # every main-queue delivery so far is in this batch or acked
            batch[-1].ack(multiple=True)
        else:
            for message in batch:
                message.ack()

    def _on_retry(self, message) -> None:
        due = float(message.headers.get("x-retry-at", 0))
        heapq.heappush(self._held, (due, next(self._tiebreak), message))

    def _release_due(self) -> float:
        """Dispatch held retries that are due; returns seconds until the next one."""
        while self._held and self._held[0][0] <= time.time():
            _, _, message = heapq.heappop(self._held)
            self.dispatch(message.body, "retry", int(message.headers.get("x-attempt", 2)))
            message.ack()
        return self._held[0][0] - time.time() if self._held else 1.0

    def _backlog(self, conn) -> int:
        _, depth, _ = self.queues.main(conn.default_channel).queue_declare(passive=True)
        metrics.QUEUE_DEPTH.labels(self.service).set(depth)
        return depth

    def _sync_if_due(self, conn) -> None:
        """Verify sources when due, but not while our own queue still holds a backlog:
        those events are not lost, only waiting (up to MAX_DEFERRALS checks in a row)."""
        if not self.schedule.ready():
            return
        if self._deferrals < MAX_DEFERRALS and self._backlog(conn) > 0:
            self._deferrals += 1
            return
        self._deferrals = 0
        gaps, self._gap_upto = self._gap_upto, {}
        for source in self.sync.sources:
            try:
                self.sync.check(source, gaps.get(source))
            except Exception as exc:  # the source is down: the next check tries again
                self.store.session.rollback()
                log.warning("sync with %s failed: %s", source, exc)
            self.heartbeat.beat()

    def _wait_for_store(self) -> None:
        """Consume nothing while our own database is down, so no delivery is wasted."""
        while not self._stop:
            try:
                self.store.session.execute(sa.text("SELECT 1"))
                self.store.session.rollback()
                return
            except Exception as exc:
                self.store.session.rollback()
                log.warning("database unavailable: %s", exc)
                time.sleep(self.cfg.reconnect_delay)

    def run_forever(self) -> None:
        while not self._stop:
            try:
                self._wait_for_store()
                with bus.connect(self.cfg) as conn:
                    bus.declare(conn, *self.queues.all())
                    self._consume(conn)
            except StoreUnavailable as exc:
                log.warning("database lost mid-message, will redeliver: %s", exc)
            except Exception as exc:
                log.warning("worker interrupted: %s", exc)
            self.heartbeat.beat(connected=False)
            self._held.clear()  # unacked: the broker hands them out again
            self._batch.clear()
            if not self._stop:
                time.sleep(self.cfg.reconnect_delay)

    def _consume(self, conn) -> None:
        self.control = Publisher(conn, self.cfg.confirm_timeout)
        self._ack_many = conn.transport.driver_type == "amqp"
        main, retry = conn.channel(), conn.channel()
        with QueueConsumer(main, [self.queues.main], on_message=self._on_main,
                           prefetch_count=self.cfg.prefetch), \
             QueueConsumer(retry, [self.queues.retry], on_message=self._on_retry,
                           prefetch_count=self.cfg.prefetch):
            log.info("worker consuming", extra={"queue": self.queues.main.name})
            while not self._stop:
                self.heartbeat.beat()
                wait = self._release_due()
                self._sync_if_due(conn)
                try:
                    conn.drain_events(timeout=max(0.05, min(wait, 1.0)))
                    self._take_arrived(conn)
                except socket.timeout:
                    conn.heartbeat_check()
                if self._batch:
                    self._apply_batch()
                if self.inbox.ahead:
                    self.drain()
