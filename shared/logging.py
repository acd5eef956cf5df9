"""Structured JSON logs with a trace id that follows a request into the events it causes."""
import contextvars
import logging
import os
import secrets
import sys

from pythonjsonlogger.json import JsonFormatter

_traceparent = contextvars.ContextVar("traceparent", default=None)


def new_traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def current_traceparent() -> str | None:
    return _traceparent.get()


def set_traceparent(value: str | None):
    """Bind a W3C traceparent to the current context; returns a token to reset it."""
    return _traceparent.set(value)


def reset_traceparent(token) -> None:
    _traceparent.reset(token)


class _TraceFilter(logging.Filter):
    def filter(self, record):
        tp = _traceparent.get()
        record.trace_id = tp.split("-")[1] if tp and tp.count("-") == 3 else None
        return True


def setup(service: str, process: str) -> None:
    """JSON lines on stderr, one logger tree for the whole process."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        static_fields={"service": service, "process": process}))
    handler.addFilter(_TraceFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("SOCIALWORK_LOG_LEVEL", "INFO"))
    for noisy in ("amqp", "kombu", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
