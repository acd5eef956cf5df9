"""What evaluation consumes: everything intake and casework publish.

The inbox keeps each event once, as the event log; each event is counted in the tally and
projected (services/evaluation/projections.py) in the same transaction."""
from shared.db import get_or_add
from shared.events import CATALOGUE

from . import evidence
from .models import EventTally, db
from .projections import PROJECTORS


def tally(event):
    row = get_or_add(db.session, EventTally, type=event.short_type,
                     community_id=event.data.get("community_id") or "-")
    row.count = (row.count or 0) + 1


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
