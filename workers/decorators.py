"""The one way to declare a task: an explicit dotted name and a delivery policy."""

from collections.abc import Callable
from typing import Any, TypeVar

from celery import Task
from celery.utils.time import get_exponential_backoff_interval

from workers.celery_app import celery_app

F = TypeVar("F", bound=Callable[..., Any])


def task(name: str, *, max_retries: int = 3, **options: Any) -> Callable[[F], F]:
    """Register `fn` as task `name`: acked late and requeued if its worker dies. Expiry is
    set by the sender (`src.broker.send_task`). Tasks take ids, never objects."""
    decorator: Callable[[F], F] = celery_app.task(
        name=name,
        bind=True,
        base=Task,
        acks_late=True,
        reject_on_worker_lost=True,
        max_retries=max_retries,
        **options,
    )
    return decorator


#: The longest wait before a retry, in seconds.
RETRY_BACKOFF_MAX = 60


def retry_countdown(task: Task[Any, Any]) -> int:
    """Seconds before `task`'s next attempt: Celery's own exponential backoff with full
    jitter (what its `retry_backoff` and `retry_jitter` options compute for automatic
    retries: up to 2, 4, 8, ... seconds, capped at `RETRY_BACKOFF_MAX`), so that tasks failing
    together do not come back together."""
    return int(
        get_exponential_backoff_interval(
            factor=2,
            retries=task.request.retries,
            maximum=RETRY_BACKOFF_MAX,
            full_jitter=True,
        )
    )
