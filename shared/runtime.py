"""The running service: what a service hands the shared core (its spec) and how any part of
the core finds it again from inside a request or command (`current_service`). A leaf: it
imports nothing that could import it back."""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from flask import current_app

from . import bus, config
from .eventstore import EventStore

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


@dataclass
class ServiceSpec:
    """Everything that makes one service differ from the others."""

    name: str                 # intake, casework, evaluation: its queues, URLs, logs
    title: str                # the OpenAPI document's title
    db: object                # its Flask-SQLAlchemy extension: its own database only
    store: EventStore         # its outbox, inbox and the other event tables
    handlers: dict            # {event short name: function}: what it consumes
    blueprints: list = field(default_factory=list)
    # called with a batch's events before they are applied, in the same transaction, so a
    # service can load at once what its handlers will look up
    prepare: Callable | None = None
    # token kind -> the only endpoints a token of that kind is good for
    token_endpoints: dict = field(default_factory=lambda: {
        "service": {"events.list_events", "events.count_events"}})
    # blueprints whose endpoints are the service's resident door: they take residents'
    # tokens (audience `<name>:residents`) and nobody else's (shared/auth.py)
    resident_blueprints: frozenset = frozenset()

    @property
    def source(self) -> str:
        return self.store.source

    @property
    def migrations(self) -> Path:
        """Each service's Alembic scripts live in services/<name>/migrations."""
        return SERVICES_DIR / self.name / "migrations"


@dataclass
class Runtime:
    """A service as it runs: its spec and the event path's settings."""

    spec: ServiceSpec
    messaging: config.MessagingConfig

    @property
    def store(self) -> EventStore:
        return self.spec.store

    @property
    def queues(self) -> bus.ServiceQueues:
        return bus.service_queues(self.spec.name, self.spec.handlers, self.messaging)


def current_service() -> Runtime:
    return current_app.extensions["socialwork"]
