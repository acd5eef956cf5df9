"""Prometheus metrics of every process (prometheus_client). The APIs run several gunicorn
workers, so with PROMETHEUS_MULTIPROC_DIR set (deploy/gunicorn.conf.py sets it) a scrape
sums all of them."""
import os
import time

from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter,
                               Gauge, Histogram, generate_latest, multiprocess)

REQUESTS = Counter("socialwork_http_requests_total", "HTTP requests answered",
                   ["service", "method", "endpoint", "status"])
LATENCY = Histogram("socialwork_http_request_seconds", "HTTP request latency",
                    ["service", "method", "endpoint"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
PUBLISHED = Counter("socialwork_events_published_total", "Events the relay published",
                    ["service"])
CONSUMED = Counter("socialwork_events_consumed_total",
                   "Deliveries handled by the worker (applied or duplicate)",
                   ["service", "outcome", "via"])
RETRIED = Counter("socialwork_events_retried_total", "Deliveries sent to the retry queue",
                  ["service"])
PARKED = Counter("socialwork_events_parked_total", "Messages parked on the dead-letter queue",
                 ["service"])
OUTBOX_BACKLOG = Gauge("socialwork_outbox_backlog", "Outbox events not yet published",
                       ["service"], multiprocess_mode="max")
QUEUE_DEPTH = Gauge("socialwork_consumer_queue_depth", "Messages waiting in the service queue",
                    ["service"], multiprocess_mode="max")
LAG = Gauge("socialwork_consumer_lag_seconds",
            "Age of the latest event the worker applied, when it applied it", ["service"],
            multiprocess_mode="max")


def exposition() -> tuple[bytes, str]:
    """The metrics of this process, or of all gunicorn workers in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class Timer:
    def __init__(self):
        self.started = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.started
