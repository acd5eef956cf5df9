"""What evaluation consumes: everything intake and casework publish.

The inbox keeps each event once, as the event log the projections are built from; the
tally counts them by type and community (the scorecard's projections come with its issue).
"""
from shared.events import CATALOGUE

from .models import EventTally, db


def tally(event):
    key = (event.short_type, event.data.get("community_id") or "-")
    row = db.session.get(EventTally, key)
    if row is None:
        row = EventTally(type=key[0], community_id=key[1], count=0)
        db.session.add(row)
    row.count += 1


HANDLERS = {short: tally for short, spec in CATALOGUE.items()
            if spec.source in ("/intake", "/casework")}
