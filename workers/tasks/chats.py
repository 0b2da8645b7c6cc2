import uuid
from typing import Any

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from src.chats import importing
from src.logging import get_logger
from src.task_queue import IMPORT_TASK
from workers import runtime
from workers.decorators import retry_countdown, task

log = get_logger(__name__)


@task(IMPORT_TASK, max_retries=3)
def import_chat(self: Task[Any, Any], chat_id: str) -> str:
    """Parse and store (or merge) a queued export. Export errors fail the chat at once; a
    time limit fails it with that reason; anything else (database or broker trouble) is
    retried with backoff, then fails the chat. What dies silently, the sweeper ends."""
    try:
        return runtime.run(importing.run_import(uuid.UUID(chat_id))).value
    except SoftTimeLimitExceeded:
        log.error("chat.import_time_limit", chat_id=chat_id)
        runtime.run(importing.fail_import(uuid.UUID(chat_id), "The import took too long"))
        return importing.JobOutcome.FAILED.value
    except Exception as exc:
        if self.request.retries >= (self.max_retries or 0):
            log.exception("chat.import_gave_up", chat_id=chat_id)
            runtime.run(importing.fail_import(uuid.UUID(chat_id), "The import failed"))
            return importing.JobOutcome.FAILED.value
        raise self.retry(exc=exc, countdown=retry_countdown(self)) from exc


@task("chatsight.chats.sweep_imports")
def sweep_imports(self: Task[Any, Any]) -> dict[str, int]:
    """Send again, or fail past their last attempt, the import jobs that stopped writing
    progress (lost tasks, killed workers)."""
    return runtime.run(importing.sweep_stalled())
