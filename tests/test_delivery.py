"""What consumers do with what arrives: duplicates, out-of-order events (held until their
predecessor arrives), poison messages (parked with the reason while the stream keeps flowing,
replayed once the cause is fixed), unsigned and chain-breaking events (refused, never
applied), and the wire format as an independent AMQP client sees it."""
import json
import os
import subprocess
import sys

import pytest
import requests
import sqlalchemy as sa

from launcher.supervisor import ROOT
from shared import deadletters
from shared.events.envelope import GENESIS_HASH
from tests.conftest import bearer
from tests.helpers import need_payload, running_platform, seed_community, wait_until
from tests.streams import (Chain, forge, messaging, need_data, publish_events, publish_raw,
                           queued, tally)


@pytest.fixture(scope="module")
def platform(isolated_module, tmp_path_factory):
    """The platform, and a stream of intake's and of casework's each the tests extend as the
    producers would (nothing else in this module makes either service publish)."""
    b = isolated_module
    with running_platform(b, tmp_path_factory.mktemp("platform")) as p:
        yield p, b, b.app("casework"), b.app("evaluation"), {
            "/intake": Chain("/intake"), "/casework": Chain("/casework")}


def parked(backend, app) -> dict:
    rows = deadletters.list_parked(messaging(backend), app.extensions["socialwork"].queues)
    return {row.message_id: row for row in rows}


def queued_need(casework, need_id) -> dict | None:
    from services.casework.models import QueuedNeed
    with casework.app_context():
        db = casework.extensions["socialwork"].spec.db
        row = db.session.execute(sa.select(QueuedNeed.status, QueuedNeed.urgency).where(
            QueuedNeed.need_id == need_id)).one_or_none()
        db.session.rollback()
    return row._asdict() if row else None


def flask_cli(backend, service: str, *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "flask", "--app", f"services.{service}",
                           *args], env={**os.environ, **backend.env}, cwd=ROOT, check=True,
                          capture_output=True, text=True, timeout=120).stdout


def triaged(need_id: str, community: str) -> dict:
    return {"need_id": need_id, "community_id": community, "category": "health",
            "urgency": "urgent", "status": "triaged", "referred_to": None,
            "triaged_at": "2026-03-02T08:00:00Z"}


def test_duplicates_have_one_effect(platform):
    _, b, casework, evaluation, chains = platform
    event = chains["/intake"].event("need.reported", need_data("dup-1", "c-dup"))
    publish_events(b, event, event, event)
    wait_until(lambda: tally(evaluation, "c-dup") == 1 and queued(casework, "c-dup") == 1,
               60, "the first copy to be applied")
    marker = chains["/intake"].event("need.reported", need_data("dup-2", "c-dup"))
    publish_events(b, event, marker)  # a late copy, then a marker that follows it
    wait_until(lambda: tally(evaluation, "c-dup") == 2 and queued(casework, "c-dup") == 2,
               60, "the marker at both consumers")
    assert queued(casework, "c-dup") == 2 and tally(evaluation, "c-dup") == 2


def test_out_of_order_events_are_applied_once_their_cause_arrives(platform):
    """A withdrawal that arrives before its need is held until the need is applied."""
    _, b, casework, evaluation, chains = platform
    reported = chains["/intake"].event("need.reported", need_data("ooo-1", "c-ooo"))
    withdrawn = chains["/intake"].event("need.withdrawn", {
        "need_id": "ooo-1", "community_id": "c-ooo", "reason": "resident_request",
        "withdrawn_at": "2026-03-02T08:00:00Z"})
    publish_events(b, withdrawn, reported)
    wait_until(lambda: (queued_need(casework, "ooo-1") or {}).get("status") == "withdrawn",
               60, "the withdrawal after its need")
    # the held withdrawal is applied once the need's batch has committed, in a transaction
    # of its own: the need can be counted a moment before it
    wait_until(lambda: tally(evaluation, "c-ooo", "need.reported") == 1
               and tally(evaluation, "c-ooo", "need.withdrawn") == 1, 60,
               "evaluation to count the need, then its withdrawal")
    assert parked(b, casework) == {}


def test_poison_is_parked_with_the_reason_and_the_stream_flows(platform):
    p, b, casework, evaluation, chains = platform
    intake = chains["/intake"]
    publish_raw(b, "need.reported", [b"{not json"])
    bad_schema = intake.event("need.reported", need_data("bad-1", "c-poison",
                                                         category="astrology"))
    ghost = intake.event("need.triaged", triaged("ghost-1", "c-poison"))
    unknown = intake.event("need.teleported", need_data("unk-1", "c-poison"))  # not a type
    unsigned = forge("need.reported", need_data("forged-1", "c-poison"), 10**9, signed=False)
    publish_events(b, bad_schema, ghost)
    publish_raw(b, "need.reported", [unknown.to_json()])  # where its type would not go
    publish_events(b, unsigned)

    def all_parked():
        rows = parked(b, casework)
        return rows if len(rows) == 5 else None
    rows = wait_until(all_parked, 90, "five parked messages at casework")
    reasons = {mid: row.reason for mid, row in rows.items()}
    assert "body is not JSON" in " ".join(reasons.values())
    assert "category" in reasons[bad_schema.id]
    assert "unknown event type" in reasons[unknown.id]
    assert "not signed" in reasons[unsigned.id]
    assert "has not reached casework yet" in reasons[ghost.id]
    assert "3 times" in reasons[ghost.id] and rows[ghost.id].attempts == 3
    # evaluation parks the four it cannot take and applies the triage it can record
    wait_until(lambda: len(parked(b, evaluation)) == 4, 60, "four parked at evaluation")
    wait_until(lambda: tally(evaluation, "c-poison", "need.triaged") == 1, 60,
               "the triage applied at evaluation")

    # the stream keeps flowing: the need after the poison goes through
    publish_events(b, intake.event("need.reported", need_data("good-1", "c-flow")))
    wait_until(lambda: queued(casework, "c-flow") == 1, 60, "a good need after the poison")

    # fix the cause (the need arrives), then replay the parked triage: applied once
    publish_events(b, intake.event("need.reported", need_data("ghost-1", "c-poison")))
    wait_until(lambda: queued_need(casework, "ghost-1") is not None, 60, "the ghost's need")
    assert "replayed 1" in flask_cli(b, "casework", "dead", "replay", "--id", ghost.id)
    wait_until(lambda: queued_need(casework, "ghost-1")["urgency"] == "urgent", 60,
               "the replayed triage")
    assert set(parked(b, casework)) == set(rows) - {ghost.id}
    listed = json.loads(flask_cli(b, "casework", "dead", "list"))
    assert {row["message_id"] for row in listed} == set(rows) - {ghost.id}
    # replaying poison parks it again, with its reason
    flask_cli(b, "casework", "dead", "replay", "--id", bad_schema.id)
    wait_until(lambda: bad_schema.id in parked(b, casework), 60, "the poison parked again")


def test_a_broken_chain_is_refused_and_a_gap_held_until_filled(platform):
    p, b, casework, evaluation, chains = platform
    casework_chain = chains["/casework"]

    def volunteer(n: int, tampered: bool = False):
        return casework_chain.event("volunteer.registered", {
            "volunteer_id": f"v-{n}", "resident_ref": f"r-chain-{n}", "agency_id": "a1",
            "community_id": "c-chain", "registered_on": "2026-03-01"}, tampered)
    first = volunteer(1)
    rewritten = volunteer(2, tampered=True)  # the casework key, but not what came before
    second, third, fourth = volunteer(2), volunteer(3), volunteer(4)
    publish_events(b, first, rewritten, fourth)
    ops = bearer(b.token("ops_admin", issuer="evaluation"))

    def report():
        rows = requests.get(p.url("evaluation") + "/events/integrity", headers=ops).json()
        row = next((r for r in rows if r["source"] == "/casework"), None)
        return row if row and row["waiting"] == 1 and row["breaks"] else None
    row = wait_until(report, 60, "the casework chain as held")
    assert row["verified"] == first.sequence and row["breaks"] == [rewritten.sequence]
    assert row["gaps"] == [[second.sequence, third.sequence]] and not row["intact"]
    assert tally(evaluation, "c-chain", "volunteer.registered") == 1  # nothing out of chain
    assert json.loads(flask_cli(b, "evaluation", "integrity"))[0]["breaks"] == [2]
    publish_events(b, third, second)  # what was missing arrives: the chain runs whole
    wait_until(lambda: tally(evaluation, "c-chain", "volunteer.registered") == 4, 60,
               "the held event applied in its turn")
    row = next(r for r in requests.get(p.url("evaluation") + "/events/integrity",
                                       headers=ops).json() if r["source"] == "/casework")
    assert row["verified"] == fourth.sequence and row["gaps"] == [] and row["waiting"] == 0


@pytest.mark.slow
def test_an_independent_client_reads_cloudevents_off_the_exchange(real, tmp_path):
    """pika, not kombu, binds its own queue to socialwork.events and validates the message."""
    import pika
    from cloudevents.core.bindings.rabbitmq import RabbitMQMessage, from_rabbitmq
    from cloudevents.core.formats.json import JSONFormat

    params = pika.URLParameters(real.env["SOCIALWORK_BROKER_URL"])
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.exchange_declare("socialwork.events", exchange_type="topic", durable=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, "socialwork.events", routing_key="need.*")
    seed_community(real.app("intake"), "c-wire")
    try:
        with running_platform(real, tmp_path) as p:
            clerk = bearer(real.token("intake_clerk", community_ids=["c-wire"]))
            need = requests.post(p.url("intake") + "/needs", json=need_payload("c-wire"),
                                 headers=clerk).json()

            def fetch():
                method, props, body = channel.basic_get(queue, auto_ack=True)
                return (method, props, body) if method else None
            method, props, body = wait_until(fetch, 60, "the message on the test queue")
    finally:
        connection.close()
    event = from_rabbitmq(RabbitMQMessage(headers=props.headers or {},
                                          content_type=props.content_type, body=body),
                          JSONFormat())  # the SDK validates required attributes and types
    assert event.get_specversion() == "1.0"
    assert event.get_type() == "cn.socialwork.need.reported.v1"
    assert event.get_source() == "/intake" and event.get_subject() == f"need/{need['id']}"
    assert event.get_datacontenttype() == "application/json" and event.get_time() is not None
    assert event.get_extension("sequence") == "00000000000000000001"
    assert event.get_extension("prevhash") == GENESIS_HASH
    assert event.get_data()["need_id"] == need["id"]
    assert "description" not in event.get_data()  # free text stays at intake
    assert method.routing_key == "need.reported"
    assert props.message_id == event.get_id()
    assert props.content_type == "application/cloudevents+json"
    assert props.delivery_mode == 2 and props.timestamp > 1_700_000_000
    assert props.type == event.get_type()


def test_projections_rebuild_from_the_event_log_to_the_same_figures(platform):
    _, b, _, evaluation, chains = platform
    from services.evaluation.models import EventTally
    # its own events: the suite's workers share out this module's tests, so the others may
    # have run elsewhere
    publish_events(b, *(chains["/intake"].event("need.reported", need_data(
        f"rebuild-{i}", f"c-rebuild-{i % 2}")) for i in range(3)))
    wait_until(lambda: tally(evaluation, "c-rebuild-0") == 2
               and tally(evaluation, "c-rebuild-1") == 1, 60, "the needs at evaluation")
    query = sa.select(EventTally.type, EventTally.community_id, EventTally.count).order_by(
        EventTally.type, EventTally.community_id)
    with evaluation.app_context():
        db = evaluation.extensions["socialwork"].spec.db
        before = db.session.execute(query).all()
        db.session.rollback()
    output = evaluation.test_cli_runner().invoke(args=["rebuild-projections"]).output
    assert output.startswith("rebuilt from")
    with evaluation.app_context():
        assert db.session.execute(query).all() == before


def test_embedded_broker_hands_out_every_message_once(tmp_path):
    """The file broker lists its folder once per run of messages, not once per message: it
    still hands each out once, skips a file another consumer took meanwhile, and finds what
    arrived after it listed."""
    from kombu import Queue

    from shared import bus
    from shared.config import MessagingConfig
    cfg = MessagingConfig(broker_url="filesystem://localhost/", data_dir=tmp_path)
    queue = Queue("order.events", exchange=bus.EXCHANGE, routing_key="order.test")
    with bus.connect(cfg) as conn:
        bus.declare(conn, queue)
        producer = conn.Producer()

        def publish(numbers):
            for n in numbers:
                producer.publish({"n": n}, exchange=bus.EXCHANGE, routing_key="order.test")
        publish(range(10))
        bound = queue(conn.channel())
        got = [bound.get(no_ack=True).payload["n"] for _ in range(3)]
        folder = tmp_path / "broker" / "messages"
        taken = sorted(p for p in folder.iterdir() if p.name.endswith(".order.events.msg"))[0]
        taken.unlink()  # the next one in line, taken by a competing consumer
        publish(range(10, 13))
        while (message := bound.get(no_ack=True)) is not None:
            got.append(message.payload["n"])
    assert len(got) == len(set(got)) == 12 and set(got) <= set(range(13))
    assert {10, 11, 12} <= set(got)


def test_a_batch_is_applied_in_one_transaction_or_not_at_all(backend):
    from shared.inbox import Inbox
    from tests.streams import apply_events
    app = backend.app("evaluation")
    rt = app.extensions["socialwork"]
    first, second, third = (forge("need.reported", need_data(f"batch-{i}", "c-batch"))
                            for i in (1, 2, 3))
    orphan = forge("record.corrected", {"record_type": "session", "record_id": "s-none",
                                        "corrects_event_id": "e-none", "reason": "漏登",
                                        "changes": {}}, source="/casework")

    def deliveries(*events):
        return [(event, event.to_json(), "test") for event in events]
    with app.app_context():
        inbox = Inbox(rt.store, rt.spec.handlers, rt.spec.prepare)
        assert inbox.apply_batch(deliveries(first, second)) == ["applied", "applied"]
        assert inbox.apply_batch(deliveries(third, first)) == ["applied", "duplicate"]
        fourth = forge("need.reported", need_data("batch-4", "c-batch"))
        # a correction of what is not there fails: nothing of its batch is kept
        assert inbox.apply_batch(deliveries(fourth, orphan)) is None
    assert tally(app, "c-batch") == 3
    assert apply_events(app, fourth) == ["applied"]
    assert tally(app, "c-batch") == 4
