"""A chat whose indexing was lost (its task gone with the broker, its worker killed past its
retries) has its indexing sent again once it has made no progress for INDEX_STALL_SECONDS."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, text

from src.chats.importing import INDEX_TASK
from src.database import SessionLocal
from src.outbox import service as outbox
from src.outbox.models import OutboxMessage
from src.rag import indexing
from tests.factories import register
from tests.rag.test_rag_api import TRIP, import_chat


async def staged_for(chat_id: uuid.UUID, since: datetime) -> int:
    """Indexing jobs staged for `chat_id` since `since` (the relay may have sent them)."""
    async with SessionLocal() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.task_name == INDEX_TASK, OutboxMessage.created_at >= since
            )
        )
        return sum(1 for row in rows if row.args == [str(chat_id)])


async def test_a_stalled_indexing_is_sent_again_once(client: httpx.AsyncClient) -> None:
    account = await register(client)
    stalled = uuid.UUID(await import_chat(client, account, TRIP))
    recent = uuid.UUID(await import_chat(client, account, TRIP + "01/04/2024, 10:00 - Ana: hi\n"))
    await outbox.wait_idle()
    async with SessionLocal() as session:
        await session.execute(
            text("UPDATE chats SET index_status = 'pending', updated_at = :at WHERE id = :id"),
            {"at": datetime.now(UTC) - timedelta(hours=2), "id": stalled},
        )
        await session.execute(
            text("UPDATE chats SET index_status = 'indexing' WHERE id = :id"), {"id": recent}
        )
        await session.commit()

    since = datetime.now(UTC)
    assert await indexing.sweep_stalled() >= 1
    assert await staged_for(stalled, since) == 1
    assert await staged_for(recent, since) == 0  # progress within the stall period
    # Touched when sent again: the next sweep does not send it a second time.
    await indexing.sweep_stalled()
    assert await staged_for(stalled, since) == 1
    await outbox.wait_idle()
    async with SessionLocal() as session:
        await session.execute(
            text("UPDATE chats SET index_status = 'ready' WHERE id IN (:a, :b)"),
            {"a": stalled, "b": recent},
        )
        await session.commit()
