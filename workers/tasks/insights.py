import uuid
from typing import Any

from celery import Task

from src.insights import service as insights_service
from src.logging import get_logger
from src.outbox import service as outbox
from workers import runtime
from workers.decorators import retry_countdown, task

log = get_logger(__name__)


@task(insights_service.GENERATE_TASK, max_retries=5)
def generate_insight(self: Task[Any, Any], job_id: str) -> str:
    """Generate one insight job. A duplicate delivery of a claimed or finished job does
    nothing; transient provider errors come back here with exponential backoff."""
    outcome = runtime.run(insights_service.run_job(uuid.UUID(job_id)))
    if outcome == insights_service.JobOutcome.RETRY:
        raise self.retry(countdown=retry_countdown(self))
    return outcome


@task("chatsight.outbox.relay")
def relay_outbox(self: Task[Any, Any]) -> int:
    """Publish staged tasks that the after-commit relay did not (the guarantee)."""
    return runtime.run(outbox.relay())


@task("chatsight.insights.sweep")
def sweep_insight_jobs(self: Task[Any, Any]) -> dict[str, int]:
    """Re-stage stalled jobs (their worker died) and those waiting too long for a worker."""
    return runtime.run(insights_service.sweep())
