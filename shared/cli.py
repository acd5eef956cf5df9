"""Commands every service has (`flask --app services.<name> <command>`): run the worker or
relay, look at the outbox and the dead letters, replay, backfill, audit, mint tokens."""
import json
import logging
import os

import click
from flask import current_app
from flask.cli import with_appcontext

from . import auth, deadletters, outbox
from .eventlog import integrity_reports
from .logging import setup as setup_logging
from .probe import serve
from .relay import Relay
from .service import current_service, on_stop, settle_heap
from .worker import Worker


def _echo(value) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _probe(heartbeat, name: str) -> None:
    """Health and metrics over HTTP when SOCIALWORK_PROBE_PORT is set (compose sets it)."""
    port = os.environ.get("SOCIALWORK_PROBE_PORT")
    if port:
        serve(os.environ.get("SOCIALWORK_PROBE_HOST", "127.0.0.1"), int(port), heartbeat,
              current_app.config["JWT_KEY"], name)


@click.command("worker", help="Consume this service's events until stopped.")
@with_appcontext
def worker_command():
    rt = current_service()
    setup_logging(rt.spec.name, "worker")
    worker = Worker(rt.spec.name, rt.store, rt.spec.handlers, rt.messaging,
                    current_app.config["JWT_KEY"], rt.spec.prepare)
    _probe(worker.heartbeat, f"{rt.spec.name}-worker")
    on_stop(worker.stop)
    settle_heap()
    worker.run_forever()


@click.command("relay", help="Publish this service's outbox until stopped.")
@with_appcontext
def relay_command():
    rt = current_service()
    setup_logging(rt.spec.name, "relay")
    relay = Relay(rt.store, rt.messaging, rt.spec.name)
    _probe(relay.heartbeat, f"{rt.spec.name}-relay")
    on_stop(relay.stop)
    settle_heap()
    relay.run_forever()


@click.group("outbox", help="The service's own event log.")
def outbox_group():
    pass


@outbox_group.command("backlog", help="Unpublished events: count, oldest, head.")
@with_appcontext
def backlog_command():
    _echo(outbox.backlog(current_service().store))


@click.group("dead", help="Parked messages on this service's dead-letter queue.")
def dead_group():
    pass


@dead_group.command("list")
@with_appcontext
def dead_list():
    rt = current_service()
    click.echo(deadletters.dumps(deadletters.list_parked(rt.messaging, rt.queues)))


@dead_group.command("replay", help="Send parked messages back to the service's queue.")
@click.option("--id", "ids", multiple=True, help="Message (event) id; repeat for several.")
@click.option("--all", "everything", is_flag=True, help="Replay every parked message.")
@with_appcontext
def dead_replay(ids, everything):
    if not ids and not everything:
        raise click.UsageError("name messages with --id, or pass --all")
    rt = current_service()
    count = deadletters.replay(rt.messaging, rt.queues, None if everything else set(ids))
    click.echo(f"replayed {count}")


@click.command("sync", help="Check every source this service consumes and backfill gaps.")
@with_appcontext
def sync_command():
    rt = current_service()
    worker = Worker(rt.spec.name, rt.store, rt.spec.handlers, rt.messaging,
                    current_app.config["JWT_KEY"], rt.spec.prepare)
    from . import bus
    with bus.connect(rt.messaging) as conn:
        worker.control = bus.Publisher(conn, rt.messaging.confirm_timeout)
        for source in worker.sync.sources:
            worker.sync.check(source, upto=worker.sync.head(source))
    _echo({"backfilled": worker.sync.backfilled, "stats": dict(worker.stats)})


@click.command("integrity", help="Sequence gaps and hash-chain breaks per source.")
@with_appcontext
def integrity_command():
    _echo(integrity_reports(current_service()))


@click.command("token", help="Mint a development token.")
@click.option("--role", required=True, type=click.Choice(auth.ROLES))
@click.option("--sub", default="dev-user")
@click.option("--community", "communities", multiple=True)
@click.option("--agency")
@click.option("--buyer")
@click.option("--contract", help="the contract an evaluator is commissioned for")
@click.option("--ttl", default=8 * 3600, show_default=True)
@with_appcontext
def token_command(role, sub, communities, agency, buyer, contract, ttl):
    try:
        click.echo(auth.mint(current_app.config["JWT_KEY"], role, sub, ttl=ttl,
                             community_ids=list(communities), agency_id=agency,
                             buyer_id=buyer, contract_id=contract))
    except ValueError as exc:
        raise click.UsageError(str(exc))


def register(app) -> None:
    for command in (worker_command, relay_command, outbox_group, dead_group, sync_command,
                    integrity_command, token_command):
        app.cli.add_command(command)
    logging.getLogger(__name__).debug("commands registered")
