"""The workers' side of the Celery app (`src.task_queue`): `celery -A workers.celery_app
worker -Q <queue>` (with `CELERY_WORKER=true`), one worker per queue (`INTERACTIVE_QUEUE`,
`BULK_QUEUE`): their tasks, beat's schedule, logging, and each process's set-up."""

import time
from datetime import timedelta
from typing import Any

import structlog
from celery import Task
from celery.signals import (
    setup_logging,
    task_postrun,
    task_prerun,
    worker_process_init,
    worker_process_shutdown,
    worker_shutdown,
)

from src.config import get_settings
from src.logging import configure_logging, get_logger
from src.task_queue import BULK_QUEUE, INTERACTIVE_QUEUE, celery_app

settings = get_settings()
log = get_logger("chatsight.task")

__all__ = ["BULK_QUEUE", "INTERACTIVE_QUEUE", "celery_app"]

celery_app.conf.update(
    include=["workers.tasks"],
    beat_schedule={
        "relay-outbox": {
            "task": "chatsight.outbox.relay",
            "schedule": settings.outbox_relay_interval_seconds,
            "options": {"expires": 30},
        },
        "sweep-insight-jobs": {
            "task": "chatsight.insights.sweep",
            "schedule": settings.sweeper_interval_seconds,
            "options": {"expires": 120},
        },
        "sweep-import-jobs": {
            "task": "chatsight.chats.sweep_imports",
            "schedule": settings.sweeper_interval_seconds,
            "options": {"expires": 120},
        },
        "sweep-index-jobs": {
            "task": "chatsight.rag.sweep_index",
            "schedule": settings.sweeper_interval_seconds,
            "options": {"expires": 120},
        },
        "purge-soft-deleted": {
            "task": "chatsight.maintenance.purge_soft_deleted",
            "schedule": timedelta(hours=6),
            "options": {"expires": 60 * 60},
        },
    },
)


@setup_logging.connect
def _configure_logging(**_: Any) -> None:
    configure_logging(json=settings.json_logs, level=settings.log_level)


_started: dict[str, float] = {}


@task_prerun.connect
def _bind_request_id(task_id: str, task: Task[Any, Any], **_: Any) -> None:
    """Bind the request id that `src.broker.send_task` put in the headers, and start the
    task's clock."""
    structlog.contextvars.clear_contextvars()
    request_id = getattr(task.request, "request_id", None)
    structlog.contextvars.bind_contextvars(
        task_id=task_id, task_name=task.name, request_id=request_id
    )
    _started[task_id] = time.perf_counter()


@task_postrun.connect
def _log_outcome(task_id: str, retval: Any = None, state: str | None = None, **_: Any) -> None:
    """One line per task run: its outcome (Celery's state: SUCCESS, FAILURE, RETRY, ...),
    what it returned when that is a word or a number (our tasks answer how a job went), and
    how long it ran."""
    began = _started.pop(task_id, None)
    log.info(
        "task.completed",
        outcome=(state or "unknown").lower(),
        result=retval if isinstance(retval, str | int) and not isinstance(retval, bool) else None,
        duration_ms=round((time.perf_counter() - began) * 1000, 2) if began else None,
    )
    structlog.contextvars.clear_contextvars()


@worker_process_init.connect
def _start_process(**_: Any) -> None:
    from workers import runtime

    runtime.start()


@worker_process_shutdown.connect
@worker_shutdown.connect
def _stop_process(**_: Any) -> None:
    from workers import runtime

    runtime.stop()
