"""The broker topology as a RabbitMQ definitions file, built from the same code the services
declare it with (shared.bus and each service's handlers), so the file loaded at broker boot
and what the services declare never disagree.

    python -m deploy.topology > deploy/rabbitmq/definitions.json
"""
import importlib
import json
import sys

from shared import bus
from shared.config import SERVICES, MessagingConfig

VHOST = "/"


def _handlers(service: str) -> dict:
    return importlib.import_module(f"services.{service}.handlers").HANDLERS


def _queue(queue) -> dict:
    return {"name": queue.name, "vhost": VHOST, "durable": True, "auto_delete": False,
            "arguments": queue.queue_arguments}


def definitions(cfg: MessagingConfig | None = None) -> dict:
    cfg = cfg or MessagingConfig(broker_url="amqp://")
    exchanges = [{"name": x.name, "vhost": VHOST, "type": x.type, "durable": True,
                  "auto_delete": False, "internal": False, "arguments": {}}
                 for x in (bus.EXCHANGE, bus.DEAD_EXCHANGE)]
    queues, bindings = [], []
    for service in SERVICES:
        q = bus.service_queues(service, _handlers(service), cfg)
        queues += [_queue(q.main), _queue(q.retry), _queue(q.dead)]
        bindings += [{"source": bus.EXCHANGE.name, "vhost": VHOST, "destination": q.main.name,
                      "destination_type": "queue", "routing_key": b.routing_key,
                      "arguments": {}}
                     for b in sorted(q.main.bindings, key=lambda b: b.routing_key)]
        bindings.append({"source": bus.DEAD_EXCHANGE.name, "vhost": VHOST,
                         "destination": q.dead.name, "destination_type": "queue",
                         "routing_key": service, "arguments": {}})
    return {"vhosts": [{"name": VHOST}], "exchanges": exchanges, "queues": queues,
            "bindings": bindings, "policies": []}


def main() -> None:
    json.dump(definitions(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
