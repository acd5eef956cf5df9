"""The relay: publishes the outbox in sequence order with confirms, then marks rows published.

A crash between publish and mark republishes the batch: consumers drop the duplicates by id.
A service may run several relays (replicas): the one holding the service's relay lock
(shared/leader.py) publishes, the others stand by and take over when it dies; so no two ever
publish the outbox at once. A relay keeps going through broker and database outages.
"""
import logging
import time

import sqlalchemy as sa

from . import bus, metrics, outbox
from .config import MessagingConfig
from .events.envelope import type_name
from .clock import utcnow
from .eventstore import EventStore
from .leader import Leadership
from .probe import Heartbeat
from .publisher import Publisher

log = logging.getLogger(__name__)


class Relay:
    def __init__(self, store: EventStore, cfg: MessagingConfig, service: str = ""):
        self.store, self.cfg = store, cfg
        self.service = service or store.source.strip("/")
        self.published = 0  # events published since start (the metrics count them too)
        self.heartbeat = Heartbeat(cfg.stale_after)  # what the probe reports as health
        self._leadership = None  # made on first use, in the app's context
        self._stop = False

    @property
    def leadership(self) -> Leadership:
        """The lock that says which of the service's relays publishes."""
        if self._leadership is None:
            self._leadership = Leadership(self.store.db.engine, f"{self.service}-relay")
        return self._leadership

    def stop(self, *_):
        self._stop = True

    def _pending(self):
        Outbox = self.store.OutboxEvent
        rows = self.store.session.execute(
            sa.select(Outbox.seq, Outbox.event_id, Outbox.type, Outbox.body)
            .where(Outbox.published_at.is_(None))
            .order_by(Outbox.seq).limit(self.cfg.publish_batch)).all()
        self.store.session.rollback()  # release the read snapshot before publishing
        return rows

    def _unpublished(self) -> int:
        count = outbox.unpublished(self.store)
        self.store.session.rollback()
        return count

    def _mark(self, seqs) -> None:
        Outbox = self.store.OutboxEvent
        self.store.session.execute(
            sa.update(Outbox).where(Outbox.seq.in_(seqs)).values(published_at=utcnow()))
        self.store.session.commit()

    def publish_pending(self, publisher: Publisher) -> int:
        """One batch: publish, wait for confirms, mark. Returns how many were published."""
        rows = self._pending()
        if not rows or not (self.leadership.acquire() and self.leadership.confirm()):
            return 0  # another replica leads (or took over when this one lost its lock)
        publisher.publish_batch(
            (bus.EXCHANGE.name, short, body, {}, bus.properties(event_id, type_name(short)))
            for _seq, event_id, short, body in rows)
        self._mark([row.seq for row in rows])
        self.published += len(rows)
        metrics.PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    def run_forever(self) -> None:
        while not self._stop:
            try:
                with bus.connect(self.cfg) as conn:
                    bus.declare(conn)
                    publisher = Publisher(conn, self.cfg.confirm_timeout)
                    log.info("relay connected", extra={"broker": conn.as_uri()})
                    self._loop(publisher)
            except Exception as exc:  # broker or database gone: back off and reconnect
                self.store.session.rollback()
                self.leadership.release()  # a relay that cannot publish lets another lead
                self.heartbeat.beat(connected=False)
                log.warning("relay interrupted: %s", exc)
                time.sleep(self.cfg.reconnect_delay)

    def _loop(self, publisher: Publisher) -> None:
        while not self._stop:
            self.heartbeat.beat()
            if not self.leadership.acquire():  # another replica publishes: stand by
                time.sleep(self.cfg.standby_wait)
                continue
            full_batch = self.publish_pending(publisher) == self.cfg.publish_batch
            # caught up means no backlog; only while busy is it worth a count
            metrics.OUTBOX_BACKLOG.labels(self.service).set(
                self._unpublished() if full_batch else 0)
            if not full_batch:
                time.sleep(self.cfg.relay_idle_wait)
                if publisher.confirming:
                    publisher.conn.heartbeat_check()
