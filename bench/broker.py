"""The broker's own limit, measured in the same run as the platform: persistent messages of
the platform's typical size through the same kind of exchange and queue (topic exchange,
durable quorum queue), by an independent client (pika) on RabbitMQ; on the embedded broker,
kombu's filesystem transport is the only client there is."""
import time
import uuid

from shared import bus
from shared.events.envelope import CONTENT_TYPE
from tests.helpers import wait_until

ROUTING_KEY = "need.reported"
QUORUM = {"x-queue-type": "quorum"}


def pika_rates(amqp_url: str, body: bytes, n: int, confirmed: int) -> dict:
    """Messages per second: publish without confirms (until the queue holds them all),
    consume with a manual ack each (prefetch as the workers use), publish with a confirm
    each (pika's blocking channel waits for every one)."""
    import pika
    from shared.config import MessagingConfig
    prefetch = MessagingConfig().prefetch
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = conn.channel()
    exchange, queue = bus.EXCHANGE.name, f"bench.baseline.{uuid.uuid4().hex[:8]}"
    channel.exchange_declare(exchange, "topic", durable=True)
    channel.queue_declare(queue, durable=True, arguments=QUORUM)
    channel.queue_bind(queue, exchange, ROUTING_KEY)
    props = pika.BasicProperties(delivery_mode=2, content_type=CONTENT_TYPE,
                                 type="cn.socialwork.need.reported.v1")
    try:
        started = time.perf_counter()
        for _ in range(n):
            channel.basic_publish(exchange, ROUTING_KEY, body, props)
        wait_until(lambda: channel.queue_declare(queue, passive=True).method.message_count >= n,
                   600, "the baseline queue to hold every message", interval=0.01)
        publish = n / (time.perf_counter() - started)

        received = 0

        def on_message(ch, method, _props, _body):
            nonlocal received
            ch.basic_ack(method.delivery_tag)
            received += 1
            if received == n:
                ch.stop_consuming()
        channel.basic_qos(prefetch_count=prefetch)
        started = time.perf_counter()
        channel.basic_consume(queue, on_message)
        channel.start_consuming()
        consume = n / (time.perf_counter() - started)

        channel.confirm_delivery()
        started = time.perf_counter()
        for _ in range(confirmed):
            channel.basic_publish(exchange, ROUTING_KEY, body, props)
        confirm = confirmed / (time.perf_counter() - started)
    finally:
        channel.queue_delete(queue)
        conn.close()
    return {"publish": publish, "publish_confirmed": confirm, "consume_ack": consume}


def kombu_rates(cfg, body: bytes, n: int) -> dict:
    """The same three figures on the embedded broker (no confirms there: a publish has
    written its file when it returns, so both publish figures measure the same thing)."""
    from kombu import Consumer, Producer, Queue, binding
    queue = Queue(f"bench.baseline.{uuid.uuid4().hex[:8]}", durable=True,
                  bindings=[binding(bus.EXCHANGE, routing_key=ROUTING_KEY)])
    with bus.connect(cfg) as conn:
        bus.declare(conn, queue)
        producer = Producer(conn.channel())
        started = time.perf_counter()
        for _ in range(n):
            producer.publish(body, exchange=bus.EXCHANGE, routing_key=ROUTING_KEY,
                             delivery_mode=2, content_type=CONTENT_TYPE,
                             content_encoding="utf-8")
        publish = n / (time.perf_counter() - started)
        received = 0

        def on_message(message):
            nonlocal received
            message.ack()
            received += 1
        started = time.perf_counter()
        with Consumer(conn.channel(), [queue], on_message=on_message,
                      prefetch_count=cfg.prefetch):
            while received < n:
                conn.drain_events(timeout=10)
        consume = n / (time.perf_counter() - started)
        queue(conn.default_channel).delete()
    return {"publish": publish, "publish_confirmed": publish, "consume_ack": consume}
