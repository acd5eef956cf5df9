"""Evaluation's own commands: rebuild the projections from the stored event log."""
import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from shared.db import flush, forget_rows, plan_generically
from shared.events import Event
from shared.eventstore import APPLIED

from . import ledger, reviews
from .handlers import HANDLERS, prepare
from .models import EventTally, db, event_store
from .projections import PROJECTION_TABLES


REPLAY_CHUNK = 1000


def rebuild() -> int:
    """Replay every event in the inbox through the handlers, in each source's order, into
    empty projections, in one transaction: the figures come out as if consumed afresh.
    The log is streamed, so memory stays flat however long it is. The milestone reviews and the
    ledger are replayed too, from evaluation's own events."""
    plan_generically(db.engine)
    tables = (EventTally, *PROJECTION_TABLES)
    for table in tables:
        db.session.execute(sa.delete(table))
    count = 0
    log = event_store.InboxEvent
    rows = db.session.scalars(sa.select(log.body).where(log.status == APPLIED).order_by(
        log.source, log.seq).execution_options(yield_per=REPLAY_CHUNK))
    for bodies in rows.partitions():
        count += apply_in_order([Event.from_json(body) for body in bodies])
        flush(db.session)
        forget_rows(db.session)
    reviews.replay()  # the milestone reviews and the ledger, from evaluation's own events
    ledger.replay()
    db.session.commit()
    _tidy(tables)
    return count


def _tidy(models) -> None:
    """Every row of the projections was deleted and written again: on PostgreSQL the old
    ones stay as dead rows, and the planner's statistics describe the old tables, until
    autovacuum comes by (a card read after a few rebuilds took six times as long). VACUUM
    runs outside a transaction."""
    if db.engine.dialect.name != "postgresql":
        return
    quote = db.engine.dialect.identifier_preparer.quote
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for model in models:
            conn.exec_driver_sql(f"VACUUM (ANALYZE) {quote(model.__table__.name)}")


def apply_in_order(chunk: list) -> int:
    """Events through evaluation's handlers as the worker applies a batch (the rows they
    look up loaded first); the caller flushes or commits."""
    prepare(chunk)
    for event in chunk:
        HANDLERS[event.short_type](event)
    return len(chunk)


@click.command("rebuild-projections", help="Recompute the projections from the event log.")
@with_appcontext
def rebuild_command():
    click.echo(f"rebuilt from {rebuild()} events")


def register(app) -> None:
    app.cli.add_command(rebuild_command)
