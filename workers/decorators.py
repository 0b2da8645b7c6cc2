"""The one way to declare a task: an explicit dotted name and a delivery policy."""

from collections.abc import Callable
from typing import Any, TypeVar

from celery import Task

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
