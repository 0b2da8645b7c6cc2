import uuid
from typing import Any

from celery import Task

from src.chats import service as chats_service
from src.logging import get_logger
from workers import runtime
from workers.decorators import task

log = get_logger(__name__)


@task(chats_service.IMPORT_TASK, max_retries=3)
def import_chat(self: Task[Any, Any], chat_id: str) -> str:
    """Parse and store a queued export. Export errors fail the chat at once; anything else
    (database or broker trouble) is retried with backoff, then fails the chat."""
    try:
        return runtime.run(chats_service.run_import(uuid.UUID(chat_id)))
    except Exception as exc:
        if self.request.retries >= (self.max_retries or 0):
            log.exception("chat.import_gave_up", chat_id=chat_id)
            runtime.run(chats_service.fail_import(uuid.UUID(chat_id), "The import failed"))
            return "failed"
        raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc
