"""A chat whose indexing was lost (its task gone with the broker, its worker killed past its
retries) has its indexing sent again once it has made no progress for INDEX_STALL_SECONDS."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, text

from src.config import get_settings
from src.database import SessionLocal
from src.outbox import service as outbox
from src.outbox.models import OutboxMessage
from src.rag import indexing
from src.task_queue import INDEX_TASK
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
    assert (await indexing.sweep_stalled())["resent"] >= 1
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


async def test_indexing_runs_are_counted_and_the_last_stall_fails_it_with_its_reason(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "index_max_attempts", 2)
    account = await register(client)
    chat_id = uuid.UUID(await import_chat(client, account, TRIP))
    await outbox.wait_idle()  # imported and indexed once
    chat = (await client.get(f"/api/v1/chats/{chat_id}", headers=account.headers)).json()
    assert (chat["index_status"], chat["index_attempts"], chat["index_error"]) == ("ready", 1, None)
    assert await indexing.run_index(chat_id) == "indexed"  # a second delivery: a second run
    chat = (await client.get(f"/api/v1/chats/{chat_id}", headers=account.headers)).json()
    assert chat["index_attempts"] == 2

    # New messages queue a new job, counted from zero.
    appended = await client.post(
        f"/api/v1/chats/{chat_id}/messages",
        headers=account.headers,
        json={
            "messages": [
                {"sender": "Ana", "text": "one more thing", "sent_at": "2024-04-02T10:00:00Z"}
            ]
        },
    )
    assert appended.status_code == 201, appended.text
    chat = (await client.get(f"/api/v1/chats/{chat_id}", headers=account.headers)).json()
    assert (chat["index_status"], chat["index_attempts"]) == ("pending", 0)

    # Two runs died in the middle (their workers killed): the sweeper gives up with a reason.
    async with SessionLocal() as session:
        await session.execute(
            text(
                "UPDATE chats SET index_status = 'indexing', index_attempts = 2,"
                " updated_at = :at WHERE id = :id"
            ),
            {"at": datetime.now(UTC) - timedelta(hours=2), "id": chat_id},
        )
        await session.commit()
    since = datetime.now(UTC)
    assert (await indexing.sweep_stalled())["failed"] >= 1
    assert await staged_for(chat_id, since) == 0
    chat = (await client.get(f"/api/v1/chats/{chat_id}", headers=account.headers)).json()
    assert chat["index_status"] == "failed"
    assert chat["index_error"] == "Indexing stopped without finishing after 2 attempts"
