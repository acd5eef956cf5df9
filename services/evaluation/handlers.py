"""What evaluation consumes: everything intake and casework publish.

The inbox already keeps each event (once) as evaluation's event log; projections are
computed from it, so a handler has nothing more to do until the scorecard issue adds them.
"""
from shared.events import CATALOGUE


def keep(event):
    """The inbox row written in the same transaction is the record."""


HANDLERS = {short: keep for short, spec in CATALOGUE.items()
            if spec.source in ("/intake", "/casework")}
