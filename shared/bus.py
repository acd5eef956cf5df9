"""The kombu bus: one topology for both brokers, and how to connect to either.

Topology (the wire contract, docs/EVENTS.md):
  socialwork.events  durable topic exchange; routing key = the event's short name
  <service>.events   the service's quorum queue, bound to the keys it consumes and to
                     `<service>.replay` (parked messages sent back by ops); one consumer
                     at a time takes from it (single active consumer), so replicas of a
                     worker keep the events' order
  <service>.retry    failed deliveries waiting for their back-off (consumed by the same
                     worker), bound to `<service>.retry`
  <service>.dead     parked messages with the reason (via socialwork.dead or the worker)
A service's own messages to its own queues go through socialwork.events under its own keys,
never the default exchange: the broker's topic permissions then let each service publish
only its own event types and its own retry and replay keys (deploy/topology.py).
Queue arguments are RabbitMQ's; kombu's filesystem transport ignores them.
"""
from dataclasses import dataclass
from datetime import datetime, timezone

from kombu import Connection, Exchange, Queue, binding

from .config import MessagingConfig
from .events.envelope import CONTENT_TYPE
from .filebroker import AtomicFilesystemTransport

EXCHANGE = Exchange("socialwork.events", type="topic", durable=True)
DEAD_EXCHANGE = Exchange("socialwork.dead", type="direct", durable=True)


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
    service: str

    def all(self) -> tuple[Queue, Queue, Queue]:
        return self.main, self.retry, self.dead

    @property
    def retry_key(self) -> str:
        return retry_key(self.service)

    @property
    def replay_key(self) -> str:
        return replay_key(self.service)


def retry_key(service: str) -> str:
    return f"{service}.retry"


def replay_key(service: str) -> str:
    return f"{service}.replay"


def service_queues(service: str, routing_keys, cfg: MessagingConfig) -> ServiceQueues:
    args = _quorum(cfg, service)
    keys = [*sorted(routing_keys), replay_key(service)]
    # replicas of a worker compete for the queue, but one at a time takes from it (the others
    # stand by and take over): events reach the inbox in their order, as with one worker
    main = Queue(f"{service}.events", durable=True,
                 queue_arguments={**args, "x-single-active-consumer": True},
                 bindings=[binding(EXCHANGE, routing_key=k) for k in keys])
    retry = Queue(f"{service}.retry", exchange=EXCHANGE, routing_key=retry_key(service),
                  durable=True, queue_arguments=args)
    dead = Queue(f"{service}.dead", exchange=DEAD_EXCHANGE, routing_key=service, durable=True,
                 queue_arguments={"x-queue-type": "quorum"})
    return ServiceQueues(main, retry, dead, service)


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
