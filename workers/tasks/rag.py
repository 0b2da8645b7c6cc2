import uuid
from typing import Any

from celery import Task

from src.logging import get_logger
from src.rag import indexing
from src.rag.embeddings import EmbeddingError
from src.task_queue import INDEX_TASK
from workers import runtime
from workers.decorators import retry_countdown, task

log = get_logger(__name__)


@task(INDEX_TASK, max_retries=5)
def index_chat(self: Task[Any, Any], chat_id: str) -> str:
    """Chunk and embed what a chat has not indexed yet. The embedder being unavailable is
    retried with backoff; the chunks stored so far stay (the job resumes)."""
    try:
        return runtime.run(indexing.run_index(uuid.UUID(chat_id)))
    except EmbeddingError as exc:
        if self.request.retries >= (self.max_retries or 0):
            runtime.run(indexing.fail_index(uuid.UUID(chat_id), str(exc)))
            return "failed"
        raise self.retry(exc=exc, countdown=retry_countdown(self)) from exc


@task("chatsight.rag.sweep_index")
def sweep_index(self: Task[Any, Any]) -> dict[str, int]:
    """Send again, or fail past its last attempt, the indexing of chats left pending or
    indexing without progress."""
    return runtime.run(indexing.sweep_stalled())
