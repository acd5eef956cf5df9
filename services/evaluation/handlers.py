"""What evaluation consumes: everything intake and casework publish.

The inbox keeps each event once, as the event log; each event is counted in the tally and
projected (services/evaluation/projections.py) in the same transaction."""
from collections import defaultdict

from shared.db import get_or_add, prefetch
from shared.events import CATALOGUE

from . import evidence
from .models import EventTally, db
from .projections import PROJECTORS, lookups


def _tally_key(event) -> tuple[str, str]:
    return event.short_type, event.data.get("community_id") or "-"


def tally(event):
    short_type, community_id = _tally_key(event)
    row = get_or_add(db.session, EventTally, type=short_type, community_id=community_id)
    row.count = (row.count or 0) + 1


def prepare(events) -> None:
    """Before a batch is applied: load at once the rows its handlers will look up by key
    (one query per table instead of one per event)."""
    wanted = defaultdict(set)
    for event in events:
        wanted[EventTally].add(_tally_key(event))
        for model, *key in lookups(event):
            wanted[model].add(tuple(key))
    for model, keys in wanted.items():
        prefetch(db.session, model, keys)


def consume(event):
    # no flush per lookup: a batch of events is flushed once, at its commit; the few
    # handlers that query more than a row by its key flush first
    with db.session.no_autoflush:
        tally(event)
        project = PROJECTORS.get(event.short_type)
        if project is not None:
            project(event)
        evidence.index(event)


HANDLERS = {short: consume for short, spec in CATALOGUE.items()
            if spec.source in ("/intake", "/casework")}
