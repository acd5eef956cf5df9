"""RabbitMQ holds the queues as the wire contract says, and its own safety net works: a
message redelivered past the delivery limit is dead-lettered, and `dead list` shows why.
The embedded broker never hands out a message that is still being written."""
import json
from queue import Empty

import pika
from kombu import Queue
from kombu.transport import filesystem

from shared import bus, deadletters, filebroker
from shared.publisher import Publisher
from tests.conftest import rabbitmqctl
from tests.helpers import wait_until
from tests.streams import messaging


def test_queues_are_quorum_with_limit_and_at_least_once_dead_lettering(real):
    cfg = messaging(real)
    queues = bus.service_queues("casework", ["need.reported", "contract.awarded"], cfg)
    with bus.connect(cfg) as conn:
        bus.declare(conn, *queues.all())
    listed = json.loads(rabbitmqctl("list_queues", "-p", real.vhost, "name", "type",
                                    "arguments", "--formatter", "json"))
    by_name = {q["name"]: q for q in listed}
    assert {"casework.events", "casework.retry", "casework.dead"} <= set(by_name)
    assert {q["type"] for q in by_name.values()} == {"quorum"}
    args = {name: value for name, _type, value in by_name["casework.events"]["arguments"]}
    assert args["x-delivery-limit"] == cfg.delivery_limit
    assert args["x-dead-letter-exchange"] == "socialwork.dead"
    assert args["x-dead-letter-strategy"] == "at-least-once"
    assert args["x-overflow"] == "reject-publish"
    bindings = json.loads(rabbitmqctl("list_bindings", "-p", real.vhost, "source_name",
                                      "destination_name", "routing_key", "--formatter",
                                      "json"))
    keys = {b["routing_key"] for b in bindings if b["source_name"] == "socialwork.events"
            and b["destination_name"] == "casework.events"}
    # and its replay key: ops send parked messages back to this queue only
    assert keys == {"need.reported", "contract.awarded", "casework.replay"}
    retry_keys = {b["routing_key"] for b in bindings if b["source_name"] == "socialwork.events"
                  and b["destination_name"] == "casework.retry"}
    assert retry_keys == {"casework.retry"}


def test_the_broker_dead_letters_a_message_past_its_delivery_limit(real):
    real.env["SOCIALWORK_DELIVERY_LIMIT"] = "2"
    cfg = messaging(real)
    queues = bus.service_queues("casework", ["need.reported"], cfg)
    with bus.connect(cfg) as conn:
        bus.declare(conn, *queues.all())
        Publisher(conn, cfg.confirm_timeout).publish_batch([
            (bus.EXCHANGE.name, "need.reported", b"crashes its consumer", {},
             bus.properties("crasher-1", "cn.socialwork.need.reported.v1"))])
    connection = pika.BlockingConnection(pika.URLParameters(real.env["SOCIALWORK_BROKER_URL"]))
    channel = connection.channel()

    deliveries = 0  # a consumer that dies before acking, again and again
    for method, _, _ in channel.consume("casework.events", inactivity_timeout=5):
        if method is None:  # nothing for 5 s: the message has left the queue
            break
        deliveries += 1
        channel.basic_nack(method.delivery_tag, requeue=True)
    connection.close()
    assert deliveries == 3  # the first delivery and two more, the limit
    rows = wait_until(lambda: deadletters.list_parked(cfg, queues), 30, "the parked copy")
    assert [r.message_id for r in rows] == ["crasher-1"]
    assert rows[0].reason == "broker: delivery_limit"


def test_the_embedded_broker_never_hands_out_a_message_half_written(embedded, monkeypatch):
    cfg = messaging(embedded)
    seen_while_writing = []
    with bus.connect(cfg) as producer, bus.connect(cfg) as consumer:
        queue = Queue("probe.events", exchange=bus.EXCHANGE, routing_key="need.reported")
        queue(producer.default_channel).declare()
        reader = consumer.default_channel

        def serialise_slowly(payload):
            try:  # a consumer polls while the producer is mid-write
                seen_while_writing.append(reader._get(queue.name))
            except Empty:
                pass
            return json.dumps(payload)
        for module in (filebroker, filesystem):  # ours and kombu's own put
            monkeypatch.setattr(module, "dumps", serialise_slowly)

        producer.Producer().publish({"n": 1}, exchange=bus.EXCHANGE, routing_key="need.reported")
        assert seen_while_writing == []
        message = queue(reader).get(no_ack=True)
        assert message.payload == {"n": 1}
