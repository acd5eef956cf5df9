"""Backfill: per source, verify that this service holds every event it consumes, and fetch
what is missing from the source's event log (GET /events), through the same inbox.

A check compares, for the sequence range (verified, H], the source's count of the event
types this service consumes with what the inbox holds (applied or parked). H is the head
the source reported at the previous check, so events still in flight are given a whole
interval to arrive before they are fetched.
"""
import logging
import time
from collections import defaultdict

import requests

from . import auth
from .events import CATALOGUE
from .events.catalogue import source_types
from .inbox import Inbox

log = logging.getLogger(__name__)
PAGE = 500


def sources_of(handlers) -> dict[str, list[str]]:
    """{source: [short types this service consumes from it]}"""
    out = defaultdict(list)
    for short in sorted(handlers):
        out[CATALOGUE[short].source].append(short)
    return dict(out)


class SourceSync:
    """Checks, source by source, that the inbox holds every event this service consumes."""

    def __init__(self, inbox: Inbox, handlers, deliver, service: str, urls: dict):
        self.inbox = inbox        # where applied (and parked) events are counted
        self.deliver = deliver    # takes a fetched event to the consumer's dispatch
        self.service, self.urls = service, urls  # who vouches for the calls; sources' APIs
        self.sources = sources_of(handlers)      # source -> the types consumed from it
        self.previous_head: dict[str, int] = {}  # source -> its head at the last check
        self.backfilled = 0                      # events fetched so far
        self.http = requests.Session()

    def consumes_all_of(self, source: str) -> bool:
        return self.sources.get(source) == source_types(source)

    def _get(self, source: str, path: str, **params) -> dict:
        producer = source.strip("/")
        token = auth.mint("service", f"sync:{self.service}", issuer=self.service,
                          audience=[producer], kind="service")
        url = self.urls[producer] + path
        response = self.http.get(url, params=params, timeout=10,
                                 headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
        return response.json()

    def head(self, source: str) -> int:
        return self._get(source, "/events/count", after=0, upto=0)["head"]

    def check(self, source: str, upto: int | None = None) -> int:
        """Verify (cursor, upto]; upto defaults to the head seen at the previous check.

        No transaction stays open across an HTTP call: the source may be waiting on us.
        """
        session, store = self.inbox.store.session, self.inbox.store
        cursor = session.get(store.SourceCursor, source)
        after = cursor.verified_seq if cursor else 0
        session.rollback()
        upto = self.previous_head.get(source, 0) if upto is None else upto
        types = ",".join(self.sources[source])
        reply = self._get(source, "/events/count", after=after, upto=max(upto, after),
                          types=types)
        self.previous_head[source] = reply["head"]
        upto = min(upto, reply["head"])  # a forged sequence number must not move the cursor
        if upto <= after:
            return 0
        fetched = 0
        have = self.inbox.accounted(source, after, upto)
        session.rollback()
        if have < reply["count"]:
            fetched = self._backfill(source, after, upto, types)
        cursor = session.get(store.SourceCursor, source) or store.SourceCursor(source=source)
        cursor.verified_seq = max(cursor.verified_seq or 0, upto)
        session.add(cursor)
        session.commit()
        return fetched

    def _backfill(self, source: str, after: int, upto: int, types: str) -> int:
        fetched = 0
        while after < upto:
            page = self._get(source, "/events", after=after, limit=PAGE, types=types)
            events = [e for e in page["events"] if int(e["sequence"]) <= upto]
            known = self.inbox.known_ids([e["id"] for e in events])
            self.inbox.store.session.rollback()
            for raw in events:
                if raw["id"] not in known:
                    self.deliver(raw, "backfill")
                    fetched += 1
            if not page["events"] or page["next_after"] <= after:
                break
            after = page["next_after"]
        if fetched:
            log.warning("backfilled %d events of %s missing from the broker", fetched, source)
        self.backfilled += fetched
        return fetched


class SyncSchedule:
    """When to check: every interval, and soon after a gap is seen in a source's sequence."""

    def __init__(self, interval: float):
        self.interval = interval  # seconds between checks
        self.due = time.monotonic() + min(interval, 1.0)  # monotonic time of the next one

    def soon(self) -> None:
        self.due = min(self.due, time.monotonic() + 1.0)

    def ready(self) -> bool:
        if time.monotonic() < self.due:
            return False
        self.due = time.monotonic() + self.interval
        return True
