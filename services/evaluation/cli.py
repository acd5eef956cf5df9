"""Evaluation's own commands: rebuild the projections from the stored event log."""
import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from shared.events import Event

from .handlers import HANDLERS
from .models import EventTally, db, events
from .projections import PROJECTION_TABLES


def rebuild() -> int:
    """Replay every event in the inbox through the handlers, in each source's order, into
    empty projections, in one transaction: the figures come out as if consumed afresh.
    The log is streamed, so memory stays flat however long it is."""
    for table in (EventTally, *PROJECTION_TABLES):
        db.session.execute(sa.delete(table))
    count = 0
    rows = db.session.scalars(sa.select(events.Inbox.body).order_by(
        events.Inbox.source, events.Inbox.seq).execution_options(yield_per=1000))
    for body in rows:
        event = Event.from_json(body)
        HANDLERS[event.short_type](event)
        count += 1
        if count % 1000 == 0:
            db.session.flush()
    db.session.commit()
    return count


@click.command("rebuild-projections", help="Recompute the projections from the event log.")
@with_appcontext
def rebuild_command():
    click.echo(f"rebuilt from {rebuild()} events")


def register(app) -> None:
    app.cli.add_command(rebuild_command)
