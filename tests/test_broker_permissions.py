"""Each service's broker user, as docker-compose's broker creates it (deploy/topology.py),
on the real RabbitMQ: a throwaway virtual host and users made for this test and deleted
after it. A service declares, binds and reads its own queues, publishes its own event types
and its own retry and replay keys, and nothing else: not another service's events, not into
another service's queues, not through the default exchange."""
import contextlib
import socket
import subprocess
import uuid

import pytest
from kombu import Queue

from deploy.topology import permissions
from shared import bus
from shared.config import MessagingConfig
from shared.publisher import Publisher
from tests.conftest import rabbitmqctl, require_servers

CONSUMES = {"intake": ["case.opened"], "casework": ["need.reported", "contract.awarded"],
            "evaluation": ["need.reported", "case.opened"]}


@pytest.fixture(scope="module")
def broker():
    """A virtual host with the topology and one user per service with its permissions."""
    require_servers()
    tag = uuid.uuid4().hex[:8]
    vhost, password = f"swt_perm_{tag}", uuid.uuid4().hex
    users = {s: f"swt_{tag}_{s}" for s in CONSUMES}
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        for service, user in users.items():
            granted = permissions(service, vhost)
            rabbitmqctl("add_user", user, password)
            p, t = granted["permission"], granted["topic_permission"]
            rabbitmqctl("set_permissions", "-p", vhost, user, p["configure"], p["write"],
                        p["read"])
            rabbitmqctl("set_topic_permissions", "-p", vhost, user, t["exchange"], t["write"],
                        t["read"])
        yield {s: MessagingConfig(broker_url=f"amqp://{u}:{password}@127.0.0.1:5672/{vhost}")
               for s, u in users.items()}
    finally:  # each one, whatever became of the others
        for user in users.values():
            with contextlib.suppress(subprocess.CalledProcessError):
                rabbitmqctl("delete_user", user)
        rabbitmqctl("delete_vhost", vhost)


def queues(service: str, cfg: MessagingConfig) -> bus.ServiceQueues:
    return bus.service_queues(service, CONSUMES[service], cfg)


def publish(cfg: MessagingConfig, exchange: str, key: str, message_id: str) -> None:
    with bus.connect(cfg) as conn:
        publisher = Publisher(conn, cfg.confirm_timeout)
        publisher.publish_batch([(exchange, key, b"{}", {},
                                  bus.properties(message_id, "cn.socialwork.test.v1"))])


def refused(action) -> str:
    with pytest.raises(Exception) as caught:
        action()
    assert "ACCESS_REFUSED" in str(caught.value), caught.value
    return str(caught.value)


def taken(cfg: MessagingConfig, queue: Queue) -> list[str]:
    """The message ids waiting on a queue, taken off it by a consumer (a service's queue
    has a single active consumer, which RabbitMQ does not serve a basic.get)."""
    ids = []

    def take(message):
        ids.append(message.properties["message_id"])
        message.ack()
    with bus.connect(cfg) as conn, conn.Consumer(queue, on_message=take):
        with contextlib.suppress(socket.timeout):
            while True:
                conn.drain_events(timeout=1)  # until a second passes with nothing more
    return ids


def test_each_service_declares_and_reads_only_its_own_queues(broker):
    for service, cfg in broker.items():  # what its worker does at start
        with bus.connect(cfg) as conn:
            bus.declare(conn, *queues(service, cfg).all())
    intake = broker["intake"]
    refused(lambda: taken(intake, queues("casework", intake).main))
    with bus.connect(intake) as conn:  # nor bind its queue to another's events
        refused(lambda: conn.channel().queue_bind("intake.events", bus.EXCHANGE.name,
                                                  "session.delivered"))


def test_each_service_publishes_only_its_own_event_types(broker):
    for service, cfg in broker.items():
        with bus.connect(cfg) as conn:
            bus.declare(conn, *queues(service, cfg).all())
    publish(broker["intake"], bus.EXCHANGE.name, "need.reported", "n-1")  # its own
    publish(broker["evaluation"], bus.EXCHANGE.name, "contract.awarded", "k-1")
    reason = refused(lambda: publish(broker["intake"], bus.EXCHANGE.name, "contract.awarded",
                                     "forged-1"))
    assert "contract.awarded" in reason
    refused(lambda: publish(broker["casework"], bus.EXCHANGE.name, "need.reported", "f-2"))
    casework = broker["casework"]
    assert sorted(taken(casework, queues("casework", casework).main)) == ["k-1", "n-1"]


def test_retries_and_replays_stay_within_the_service(broker):
    intake = broker["intake"]
    mine = queues("intake", intake)
    with bus.connect(intake) as conn:
        bus.declare(conn, *mine.all())
    publish(intake, bus.EXCHANGE.name, mine.retry_key, "retry-1")
    publish(intake, bus.EXCHANGE.name, mine.replay_key, "replay-1")
    assert taken(intake, mine.retry) == ["retry-1"]
    assert "replay-1" in taken(intake, mine.main)
    # not into another service's queues, by its keys or by the default exchange
    refused(lambda: publish(intake, bus.EXCHANGE.name, "casework.replay", "into-casework"))
    refused(lambda: publish(intake, "", "casework.events", "by-queue-name"))
    refused(lambda: publish(intake, "", "intake.retry", "even-its-own"))
