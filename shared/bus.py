"""The kombu bus: one topology for both brokers, and publishing with batched confirms.

Topology (the wire contract, docs/EVENTS.md):
  socialwork.events  durable topic exchange; routing key = the event's short name
  <service>.events   the service's quorum queue, bound to the keys it consumes
  <service>.retry    failed deliveries waiting for their back-off (consumed by the same worker)
  <service>.dead     parked messages with the reason (via socialwork.dead or the worker)
Queue arguments are RabbitMQ's; kombu's filesystem transport ignores them.
"""
import logging
import os
import shutil
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone

from kombu import Connection, Exchange, Queue, binding
from kombu.transport import filesystem
from kombu.transport.virtual import Empty
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps, loads

from .config import MessagingConfig
from .events.envelope import CONTENT_TYPE

log = logging.getLogger(__name__)

EXCHANGE = Exchange("socialwork.events", type="topic", durable=True)
DEAD_EXCHANGE = Exchange("socialwork.dead", type="direct", durable=True)


class PublishError(RuntimeError):
    """The broker did not confirm every message of a batch in time (or refused one)."""


def _quorum(cfg: MessagingConfig, service: str) -> dict:
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": cfg.delivery_limit,
        "x-dead-letter-exchange": DEAD_EXCHANGE.name,
        "x-dead-letter-routing-key": service,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


@dataclass(frozen=True)
class ServiceQueues:
    main: Queue
    retry: Queue
    dead: Queue

    def all(self) -> tuple[Queue, Queue, Queue]:
        return self.main, self.retry, self.dead


def service_queues(service: str, routing_keys, cfg: MessagingConfig) -> ServiceQueues:
    args = _quorum(cfg, service)
    main = Queue(f"{service}.events", durable=True, queue_arguments=args,
                 bindings=[binding(EXCHANGE, routing_key=k) for k in sorted(routing_keys)])
    retry = Queue(f"{service}.retry", durable=True, queue_arguments=args)
    dead = Queue(f"{service}.dead", exchange=DEAD_EXCHANGE, routing_key=service, durable=True,
                 queue_arguments={"x-queue-type": "quorum"})
    return ServiceQueues(main, retry, dead)


class _AtomicFilesystemChannel(filesystem.Channel):
    """kombu's filesystem channel writes a message file in place, so a consumer polling the
    folder can take it half-written (an empty body: a JSON error and a lost message). Write
    under a name consumers ignore, then rename: a rename within one folder is atomic."""

    def _put(self, queue, payload, **kwargs):
        name = f"{int(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        with open(final + ".part", "wb") as f:
            f.write(dumps(payload).encode())
        os.rename(final + ".part", final)

    def _get(self, queue):
        """The queue's oldest message. kombu lists and sorts the whole folder for every
        message, which makes a backlog of thousands quadratic; list once, take the queue's
        files in order until they run out, then list again (newer files sort later)."""
        pending = self.__dict__.setdefault("_pending", {}).setdefault(queue, deque())
        if not pending:
            wanted = f"{queue}.msg"
            pending.extend(sorted(n for n in os.listdir(self.data_folder_in)
                                  if n.partition(".")[2] == wanted))
        while pending:
            name = pending.popleft()
            taken = os.path.join(self.processed_folder, name)
            try:  # another consumer may have taken it: then it is gone, skip it
                shutil.move(os.path.join(self.data_folder_in, name), taken)
            except OSError:
                continue
            with open(taken, "rb") as f:
                payload = f.read()
            if not self.store_processed:
                os.remove(taken)
            return loads(bytes_to_str(payload))
        raise Empty()


class AtomicFilesystemTransport(filesystem.Transport):
    Channel = _AtomicFilesystemChannel


def connect(cfg: MessagingConfig) -> Connection:
    embedded = cfg.broker_url.startswith("filesystem")
    return Connection(cfg.broker_url, transport_options=cfg.broker_options(),
                      transport=AtomicFilesystemTransport if embedded else None,
                      heartbeat=30 if cfg.broker_url.startswith("amqp") else 0)


def declare(conn: Connection, *queues: Queue) -> None:
    channel = conn.default_channel
    EXCHANGE(channel).declare()
    DEAD_EXCHANGE(channel).declare()
    for queue in queues:
        queue(channel).declare()


def properties(message_id: str, event_type: str) -> dict:
    """AMQP properties of an event message (CloudEvents structured mode)."""
    return {"message_id": message_id, "type": event_type, "content_type": CONTENT_TYPE,
            "content_encoding": "utf-8", "delivery_mode": 2,
            "timestamp": int(datetime.now(timezone.utc).timestamp())}


def _read_once_per_batch(conn: Connection) -> None:
    """py-amqp reads the socket before every single publish, to catch a broker's
    connection.blocked notice as soon as it comes: a fifth of a publish's cost. Nothing here
    acts on that notice (a blocked broker holds the publishes, and the batch's confirms
    time out), and waiting for the confirms reads whatever came, once per batch."""
    capabilities = conn.connection.client_properties.get("capabilities", {})
    capabilities["connection.blocked"] = False


class Publisher:
    """Publishes batches and waits once for the broker's confirms of the whole batch.

    On RabbitMQ the channel is put in confirm mode and acks are counted as they arrive;
    a transport without confirms (the filesystem broker) has written each message to disk
    before publish returns.
    """

    def __init__(self, conn: Connection, confirm_timeout: float):
        self.conn, self.timeout = conn, confirm_timeout
        self.channel = conn.channel()
        self.confirming = hasattr(self.channel, "confirm_select")
        self._sent = self._acked = 0
        self._nacked = False
        if self.confirming:
            self.channel.events["basic_ack"].add(self._on_ack)
            self.channel.events["basic_nack"].add(self._on_nack)
            self.channel.confirm_select()
            _read_once_per_batch(conn)

    def _on_ack(self, tag, multiple):
        self._acked = max(self._acked, tag) if multiple else self._acked + 1

    def _on_nack(self, tag, multiple):
        self._nacked = True

    def publish_batch(self, messages) -> None:
        """messages: iterable of (exchange, routing_key, body, headers, properties)."""
        for exchange, routing_key, body, headers, props in messages:
            message = self.channel.prepare_message(
                body, priority=None, content_type=props.pop("content_type"),
                content_encoding=props.pop("content_encoding"), headers=headers,
                properties=props)
            self.channel.basic_publish(message, exchange=exchange, routing_key=routing_key)
            self._sent += 1
        self._wait_confirms()

    def _wait_confirms(self) -> None:
        if not self.confirming:
            return
        deadline = time.monotonic() + self.timeout
        while self._acked < self._sent and not self._nacked:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PublishError(f"{self._sent - self._acked} messages unconfirmed "
                                   f"after {self.timeout}s")
            try:
                self.conn.drain_events(timeout=min(remaining, 1.0))
            except TimeoutError:
                continue
        if self._nacked:
            raise PublishError("the broker refused (nacked) a message of the batch")

    def close(self) -> None:
        try:
            self.channel.close()
        except Exception:  # the connection may already be gone; nothing to release then
            pass
