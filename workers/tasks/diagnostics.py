from typing import Any

from celery import Task

from src.logging import get_logger
from workers.decorators import task

log = get_logger(__name__)


@task("chatsight.diagnostics.ping")
def ping(self: Task[Any, Any], user_id: str) -> str:
    """Proves the path request -> broker -> worker, with the request id in the log line."""
    log.info("diagnostics.ping", user_id=user_id, delivery=self.request.delivery_info)
    return "pong"
