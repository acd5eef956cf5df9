"""Configuration from environment variables, with an embedded default that needs no server.

Embedded default: each service keeps a SQLite file and the broker is kombu's filesystem
transport, both under SOCIALWORK_DATA_DIR (./var). Production names its URLs:
SOCIALWORK_BROKER_URL, INTAKE_DATABASE_URL, CASEWORK_DATABASE_URL, EVALUATION_DATABASE_URL.
"""
import os
from dataclasses import dataclass, field
from pathlib import Path

SERVICES = ("intake", "casework", "evaluation")
DEFAULT_PORTS = {"intake": 8001, "casework": 8002, "evaluation": 8003}


class ConfigError(RuntimeError):
    """The environment does not describe a runnable service."""


def data_dir() -> Path:
    return Path(os.environ.get("SOCIALWORK_DATA_DIR", "var")).resolve()


def broker_url() -> str:
    return os.environ.get("SOCIALWORK_BROKER_URL") or "filesystem://localhost/"


def database_url(service: str) -> str:
    url = os.environ.get(f"{service.upper()}_DATABASE_URL")
    return url or f"sqlite:///{data_dir() / (service + '.db')}"


def service_url(service: str) -> str:
    """Where a service's HTTP API is reached by the others (event-log backfill)."""
    default = f"http://127.0.0.1:{DEFAULT_PORTS[service]}"
    return os.environ.get(f"{service.upper()}_URL", default).rstrip("/")


def public_url(service: str) -> str:
    """Where people's browsers reach a service's pages and API (may differ behind a proxy)."""
    return os.environ.get(f"{service.upper()}_PUBLIC_URL", "").rstrip("/") or service_url(service)


def is_production() -> bool:
    """Declared production (SOCIALWORK_ENV=production): secure cookies, no development
    keys even on the embedded default."""
    return os.environ.get("SOCIALWORK_ENV") == "production"


def embedded_default() -> bool:
    """SQLite and the filesystem broker: the one machine of `make run`, no server."""
    return broker_url().startswith("filesystem") and all(
        database_url(s).startswith("sqlite") for s in SERVICES)


def development_keys() -> bool:
    """Whether public development keys may stand in for missing secrets: on the embedded
    default unless SOCIALWORK_ENV=production, elsewhere only with SOCIALWORK_ENV=development
    said explicitly. Production is the default posture for any real server."""
    declared = os.environ.get("SOCIALWORK_ENV")
    if declared in ("production", "development"):
        return declared == "development"
    return embedded_default()


def development_warning() -> str | None:
    """What every start says when development keys guard data on real servers."""
    if development_keys() and not embedded_default():
        return ("SOCIALWORK_ENV=development: public development keys sign tokens and events "
                "and seal personal data on these servers; never use this with real data")
    return None


def secret(name: str, dev_value: str) -> str:
    """A secret from the environment; a development value only where development keys are
    allowed, so a service without its secrets refuses to start, naming the variable."""
    value = os.environ.get(name)
    if value:
        return value
    if not development_keys():
        raise ConfigError(f"{name} is required (set it, or SOCIALWORK_ENV=development to try "
                          f"the platform with public development keys)")
    return dev_value


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass(frozen=True)
class MessagingConfig:
    """Knobs of the event path; defaults suit both the embedded broker and RabbitMQ."""

    broker_url: str = field(default_factory=broker_url)
    publish_batch: int = field(default_factory=lambda: _int("SOCIALWORK_PUBLISH_BATCH", 500))
    confirm_timeout: float = field(default_factory=lambda: _float("SOCIALWORK_CONFIRM_TIMEOUT", 15))
    # a poll that finds rows costs a batch's fixed work in the relay, the broker, the worker
    # and both databases: fewer, larger batches cost the machine less per event, for a
    # little more time on the way (measured in docs/BENCHMARKS.md)
    relay_idle_wait: float = field(default_factory=lambda: _float("SOCIALWORK_RELAY_IDLE", 0.1))
    prefetch: int = field(default_factory=lambda: _int("SOCIALWORK_PREFETCH", 100))
    max_attempts: int = field(default_factory=lambda: _int("SOCIALWORK_MAX_ATTEMPTS", 5))
    retry_base_delay: float = field(default_factory=lambda: _float("SOCIALWORK_RETRY_DELAY", 0.5))
    delivery_limit: int = field(default_factory=lambda: _int("SOCIALWORK_DELIVERY_LIMIT", 20))
    sync_interval: float = field(default_factory=lambda: _float("SOCIALWORK_SYNC_INTERVAL", 10))
    # seconds a worker's or relay's loop may go without turning before /healthz says 503
    stale_after: float = field(default_factory=lambda: _float("SOCIALWORK_STALE_AFTER", 60))
    reconnect_delay: float = field(default_factory=lambda: _float("SOCIALWORK_RECONNECT", 0.5))
    # how often a standby relay asks whether the leading one is gone
    standby_wait: float = field(default_factory=lambda: _float("SOCIALWORK_STANDBY_WAIT", 1))
    data_dir: Path = field(default_factory=data_dir)
    service_urls: dict = field(default_factory=lambda: {s: service_url(s) for s in SERVICES})

    def broker_options(self) -> dict:
        """Transport options: the filesystem broker lives in the data dir."""
        if not self.broker_url.startswith("filesystem"):
            return {}
        folder = self.data_dir / "broker"
        for sub in ("messages", "control", "processed"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder / "messages"),
            "data_folder_out": str(folder / "messages"),
            "control_folder": str(folder / "control"),
            "processed_folder": str(folder / "processed"),
            "polling_interval": 0.05,
        }
