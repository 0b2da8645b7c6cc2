"""Readiness and pool figures for operators."""

import asyncio
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from src.logging import get_logger
from src.metrics import JOB_STATES, JOBS

log = get_logger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0


async def check_database(engine: AsyncEngine) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        log.warning("health.database_unreachable", error=repr(exc))
        return "unreachable"


async def check_broker(redis: Redis) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await redis.ping()
        return "ok"
    except Exception as exc:
        log.warning("health.broker_unreachable", error=repr(exc))
        return "unreachable"


async def readiness(engine: AsyncEngine, redis: Redis) -> dict[str, str]:
    database, broker = await asyncio.gather(check_database(engine), check_broker(redis))
    return {"database": database, "broker": broker}


async def pool_status(engine: AsyncEngine) -> dict[str, Any]:
    """Figures straight from the pool, plus the isolation level that PostgreSQL reports for a
    transaction on a pooled connection (what the engine really runs, not what it was told)."""
    pool: Any = engine.pool
    stats: dict[str, Any] = {"pool_class": type(pool).__name__}
    if hasattr(pool, "checkedout"):
        # Read before borrowing a connection below, so the figures are the callers' own.
        stats.update(
            size=pool.size(),
            checked_in=pool.checkedin(),
            checked_out=pool.checkedout(),
            # SQLAlchemy counts overflow from -size; below zero means "not all opened yet".
            overflow=max(0, pool.overflow()),
            max_overflow=pool._max_overflow,
        )
    async with engine.connect() as connection:
        reported = (await connection.execute(text("SHOW transaction_isolation"))).scalar_one()
        configured = await connection.get_isolation_level()
    stats["isolation_level"] = {"configured": configured, "server_reported": reported}
    return stats


# Unfinished work of every kind, in one round trip; each filter is served by an index or a
# small table (open insight jobs: a partial index; unsent outbox rows: a partial index).
JOB_COUNTS_SQL = text(
    """
    SELECT 'insight' AS kind, status AS state, count(*) AS n FROM insight_generation_jobs
    WHERE status IN ('pending', 'running') GROUP BY status
    UNION ALL
    SELECT 'import', 'importing', count(*) FROM chats
    WHERE status = 'importing' AND deleted_at IS NULL
    UNION ALL
    SELECT 'indexing', index_status, count(*) FROM chats
    WHERE index_status IN ('pending', 'indexing') AND deleted_at IS NULL GROUP BY index_status
    UNION ALL
    SELECT 'relay', 'unsent', count(*) FROM outbox WHERE sent_at IS NULL
    """
)


async def refresh_job_gauges(engine: AsyncEngine) -> None:
    """Set `chatsight_jobs` from the database: every kind and state of `JOB_STATES`, 0 when
    none. When the database does not answer in time the gauge is emptied rather than left
    stale, and the rest of the metrics are still served."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), engine.connect() as connection:
            rows = (await connection.execute(JOB_COUNTS_SQL)).all()
    except Exception as exc:
        log.warning("metrics.jobs_unavailable", error=repr(exc))
        JOBS.clear()
        return
    counts = {(row.kind, row.state): row.n for row in rows}
    for kind, states in JOB_STATES.items():
        for state in states:
            JOBS.labels(kind=kind, state=state).set(counts.get((kind, state), 0))
