"""Prometheus metrics, served at `GET /metrics`.

One API process keeps its figures in memory. When several serve the API (`API_WORKERS`),
`make run` sets `PROMETHEUS_MULTIPROC_DIR`: every process writes its figures to files there
(prometheus_client's multiprocess mode, chosen when the library is imported) and the process
that answers a scrape adds them all up. Per-process figures (CPU, memory, file descriptors)
are only served by a single process: the library cannot add them up.
"""

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")

REGISTRY = CollectorRegistry(auto_describe=True)
if not MULTIPROCESS_DIR:
    # CPU seconds, resident memory, open and maximum file descriptors, start time (Linux).
    ProcessCollector(registry=REGISTRY)


def exposition() -> tuple[bytes, str]:
    """The text a scrape gets, and its content type: this process's figures, or every API
    process's added up in multiprocess mode."""
    if not MULTIPROCESS_DIR:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST


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


# The API engine's pool, kept current by the pool's own events (summed over API processes).
POOL_SIZE = Gauge(
    "chatsight_db_pool_size",
    "Database connections each pool keeps open (before overflow), summed over processes.",
    registry=REGISTRY,
    multiprocess_mode="sum",
)
POOL_CONNECTIONS = Gauge(
    "chatsight_db_pool_connections",
    "Database connections open (idle or in use); above the size: overflow.",
    registry=REGISTRY,
    multiprocess_mode="sum",
)
POOL_CHECKED_OUT = Gauge(
    "chatsight_db_pool_checked_out",
    "Database connections in use.",
    registry=REGISTRY,
    multiprocess_mode="sum",
)


def register_pool(engine: AsyncEngine) -> None:
    """Follow `engine`'s pool (and the pools that replace it on `dispose()`): one gauge step
    per connection opened, closed, borrowed or returned."""
    pool: Any = engine.pool
    if not hasattr(pool, "size"):
        return
    POOL_SIZE.set(pool.size())
    target = engine.sync_engine
    event.listen(target, "connect", lambda *_: POOL_CONNECTIONS.inc())
    event.listen(target, "close", lambda *_: POOL_CONNECTIONS.dec())
    event.listen(target, "checkout", lambda *_: POOL_CHECKED_OUT.inc())
    event.listen(target, "checkin", lambda *_: POOL_CHECKED_OUT.dec())


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
    multiprocess_mode="mostrecent",
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
