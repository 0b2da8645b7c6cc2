from typing import Any

from celery import Task

from src.auth import service as auth_service
from src.chats import service as chats_service
from src.database import get_async_db_transaction
from src.logging import get_logger
from src.rag import service as rag_service
from src.users import service as users_service
from workers import runtime
from workers.decorators import task

log = get_logger(__name__)


async def _purge() -> int:
    async with get_async_db_transaction() as session:
        conversations = await rag_service.purge_deleted(session)
        chats = await chats_service.purge_deleted(session)
        await rag_service.forget_chats(session, chats)
        users = await users_service.purge_deleted(session)
        tokens = await auth_service.purge_expired(session)
    return conversations + len(chats) + users + tokens


@task("chatsight.maintenance.purge_soft_deleted")
def purge_soft_deleted(self: Task[Any, Any]) -> int:
    """Delete for good what was soft-deleted longer ago than SOFT_DELETE_RETENTION_DAYS."""
    return runtime.run(_purge())
