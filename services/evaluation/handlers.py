"""What evaluation consumes: everything intake and casework publish.

The inbox keeps each event once, as the event log; each event is counted in the tally and
projected (services/evaluation/projections.py) in the same transaction."""
from shared.events import CATALOGUE

from . import evidence
from .models import EventTally, db
from .projections import PROJECTORS


def tally(event):
    key = (event.short_type, event.data.get("community_id") or "-")
    row = db.session.get(EventTally, key)
    if row is None:
        row = EventTally(type=key[0], community_id=key[1], count=0)
        db.session.add(row)
    row.count += 1


def consume(event):
    tally(event)
    project = PROJECTORS.get(event.short_type)
    if project is not None:
        project(event)
    evidence.index(event)


HANDLERS = {short: consume for short, spec in CATALOGUE.items()
            if spec.source in ("/intake", "/casework")}
