"""Prometheus metrics of this process, served at `GET /metrics`."""

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric

REGISTRY = CollectorRegistry(auto_describe=True)
# CPU seconds, resident memory, open and maximum file descriptors, start time (Linux).
ProcessCollector(registry=REGISTRY)

#: The methods counted by name; any other (a client may send any token) is counted as "other",
#: so that no request can add a series.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "chatsight_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "chatsight_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response.",
    ["method", "route"],
    registry=REGISTRY,
)
DB_RETRIES = Counter(
    "chatsight_db_retries_total",
    "Units of work re-run (serialization failure, deadlock) or lock attempts repeated, "
    "by SQLSTATE and operation.",
    ["sqlstate", "operation"],
    registry=REGISTRY,
)
DB_RETRY_EXHAUSTED = Counter(
    "chatsight_db_retries_exhausted_total",
    "Units of work or lock attempts that failed after their last retry, by SQLSTATE.",
    ["sqlstate", "operation"],
    registry=REGISTRY,
)


class PoolCollector:
    """Reads the API engine's pool at scrape time (no background polling)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    def collect(self) -> Iterator[Metric]:
        if not hasattr(self.pool, "checkedout"):
            return
        figures = {
            "size": self.pool.size(),
            "checked_in": self.pool.checkedin(),
            "checked_out": self.pool.checkedout(),
            "overflow": max(0, self.pool.overflow()),
        }
        for name, value in figures.items():
            yield GaugeMetricFamily(
                f"chatsight_db_pool_{name}", f"Database connection pool: {name}.", value=value
            )


def register_pool(pool: Any) -> None:
    REGISTRY.register(PoolCollector(pool))


OUTBOX_PUBLISHED = Counter(
    "chatsight_outbox_published_total",
    "Staged tasks the outbox relay published to the broker.",
    registry=REGISTRY,
)
OUTBOX_RELAY_FAILURES = Counter(
    "chatsight_outbox_relay_failures_total",
    "Relay runs that stopped because the broker refused a publish.",
    registry=REGISTRY,
)
#: Background work waiting or running, read from the database at each scrape (the workers'
#: own counters live in their processes): kind and state are a fixed set (`JOB_STATES`).
JOBS = Gauge(
    "chatsight_jobs",
    "Background work not finished, by kind and state, read from the database at scrape.",
    ["kind", "state"],
    registry=REGISTRY,
)
JOB_STATES = {
    "import": ("importing",),
    "indexing": ("pending", "indexing"),
    "insight": ("pending", "running"),
    "relay": ("unsent",),
}

INSIGHT_JOBS = Counter(
    "chatsight_insight_jobs_total",
    "Insight generation jobs by what happened to them (running, completed, retried, failed).",
    ["state"],
    registry=REGISTRY,
)
