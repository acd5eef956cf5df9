"""Commands every service has (`flask --app services.<name> <command>`): run the worker or
relay, look at the outbox and the dead letters, replay, backfill, audit, mint tokens; and
the hooks of the long-running processes (stopping cleanly, a settled heap)."""
import gc
import json
import logging
import os
import signal

import click
from flask.cli import with_appcontext

from . import auth, bus, config, deadletters, keys, outbox
import sqlalchemy as sa

from .consumer import EventConsumer
from .db import plan_generically
from .inbox import CONFLICT
from .eventlog import integrity_reports
from .logging import setup as setup_logging
from .probe import serve
from .publisher import Publisher
from .relay import Relay
from .runtime import current_service


def on_stop(callback) -> None:
    """Stop a long-running loop cleanly on SIGTERM (docker, supervisors) and SIGINT."""
    signal.signal(signal.SIGTERM, callback)
    signal.signal(signal.SIGINT, callback)


def settle_heap() -> None:
    """Called once a long-running process has started, before it serves: what start-up
    built (modules, the app, its mappings, most of the heap) never becomes garbage, so keep
    it out of the cycle collector's sight. Each full collection otherwise walks all of it
    with the GIL held, a pause in which the process answers nothing (docs/BENCHMARKS.md)."""
    gc.freeze()


def _echo(value) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _probe(heartbeat, name: str) -> None:
    """Health and metrics over HTTP when SOCIALWORK_PROBE_PORT is set (compose sets it)."""
    port = os.environ.get("SOCIALWORK_PROBE_PORT")
    if port:
        serve(os.environ.get("SOCIALWORK_PROBE_HOST", "127.0.0.1"), int(port), heartbeat,
              current_service().spec.name, name)


@click.command("worker", help="Consume this service's events until stopped.")
@with_appcontext
def worker_command():
    rt = current_service()
    setup_logging(rt.spec.name, "worker")
    plan_generically(rt.spec.db.engine)
    consumer = _consumer(rt)
    _probe(consumer.heartbeat, f"{rt.spec.name}-worker")
    on_stop(consumer.stop)
    settle_heap()
    consumer.run_forever()


def _consumer(rt) -> EventConsumer:
    return EventConsumer(rt.spec.name, rt.store, rt.spec.handlers, rt.messaging,
                         rt.spec.prepare)


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
    consumer = _consumer(rt)
    with bus.connect(rt.messaging) as conn:
        consumer.control = Publisher(conn, rt.messaging.confirm_timeout)
        for source in consumer.sync.sources:
            consumer.sync.check(source, upto=consumer.sync.head(source))
        consumer.drain()
    _echo({"backfilled": consumer.sync.backfilled, "stats": dict(consumer.stats)})


@click.group("chain", help="The chains of the sources this service consumes in full "
                           "(`integrity` shows them).")
def chain_group():
    pass


@chain_group.command("resolve", help="Record that ops have dealt with a refused event that "
                                     "contradicted its source's chain.")
@click.option("--source", required=True, help="e.g. /casework")
@click.option("--seq", "sequence", required=True, type=int)
@click.option("--reason", required=True, help="what was found and done")
@with_appcontext
def chain_resolve(source, sequence, reason):
    store = current_service().store
    rows = store.session.scalars(sa.select(store.ParkedEvent).where(
        store.ParkedEvent.source == source, store.ParkedEvent.seq == sequence,
        store.ParkedEvent.problem == CONFLICT)).all()
    if not rows:
        raise click.UsageError(f"no refused event of {source} at {sequence}")
    for row in rows:
        row.problem = "resolved"
        row.reason = f"{row.reason[:1500]} | resolved: {reason[:400]}"
    store.session.commit()
    click.echo(f"resolved {len(rows)}")


@click.command("integrity", help="Sequence gaps and hash-chain breaks per source.")
@with_appcontext
def integrity_command():
    _echo(integrity_reports(current_service()))


@click.command("token", help="Mint a token this service vouches for (development, or "
                             "with --private-key-file).")
@click.option("--role", required=True, type=click.Choice(auth.ROLES))
@click.option("--sub", default="dev-user")
@click.option("--community", "communities", multiple=True)
@click.option("--agency")
@click.option("--buyer")
@click.option("--contract", help="the contract an evaluator is commissioned for")
@click.option("--ttl", type=int, help="seconds (default: a session's 8 hours)")
@click.option("--private-key-file", type=click.File("r"),
              help="the service's signing key; required where development keys are not "
                   "allowed (production)")
@with_appcontext
def token_command(role, sub, communities, agency, buyer, contract, ttl, private_key_file):
    service = current_service().spec.name
    if private_key_file is None and not config.development_keys():
        raise click.UsageError("tokens are minted in production only with "
                               "--private-key-file, the service's signing key")
    try:
        key = keys.private_key_from(private_key_file.read()) if private_key_file else None
        click.echo(auth.mint(role, sub, issuer=service, key=key, ttl=ttl,
                             community_ids=list(communities), agency_id=agency,
                             buyer_id=buyer, contract_id=contract))
    except (ValueError, config.ConfigError) as exc:
        raise click.UsageError(str(exc))


def register(app) -> None:
    for command in (worker_command, relay_command, outbox_group, dead_group, sync_command,
                    integrity_command, chain_group, token_command):
        app.cli.add_command(command)
    logging.getLogger(__name__).debug("commands registered")
