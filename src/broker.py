"""The Redis-protocol server: a shared async client, and sending tasks to the Celery workers.

Tasks are sent by name through the Celery app of `src.task_queue`, so the API never imports
worker code. The current `request_id` rides in
the task's headers and is bound again in the worker (see `workers/celery_app.py`).
"""

from typing import Any

import structlog
from kombu.exceptions import OperationalError
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.concurrency import run_in_threadpool

from src.config import get_settings
from src.exceptions import ServiceUnavailableError
from src.task_queue import celery_app

_redis: Redis | None = None


def get_redis() -> Redis:
    global _redis
    if _redis is None:
        # A dropped connection (server restart, idle kill) is retried on a fresh one.
        _redis = Redis.from_url(
            get_settings().redis_url,
            socket_timeout=2,
            socket_connect_timeout=2,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
        )
    return _redis


async def close_redis() -> None:
    global _redis
    if _redis is not None:
        await _redis.aclose()
        _redis = None


def current_request_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


def send_task(
    name: str,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    *,
    request_id: str | None = None,
    expires: int | None = None,
) -> str:
    """Publish task `name` (blocking I/O: from async code use `enqueue`). Returns its id.

    A task waits in the queue for as long as it takes: what is sent must run (an import, an
    indexing job, an insight). Only a task that may be skipped gets `expires` (seconds)."""
    request_id = request_id or current_request_id()
    headers = {"request_id": request_id} if request_id else {}
    try:
        result = celery_app.send_task(
            name, args=args, kwargs=kwargs or {}, headers=headers, expires=expires
        )
    except (OperationalError, RedisError, OSError) as exc:
        # kombu wraps most transport errors; some (authentication, refused) come through raw.
        raise ServiceUnavailableError("The task queue is unavailable") from exc
    return str(result.id)


async def enqueue(name: str, *args: Any, **kwargs: Any) -> str:
    """Publish task `name` from async code, off the event loop. Returns its id."""
    return await run_in_threadpool(send_task, name, args, kwargs, request_id=current_request_id())
