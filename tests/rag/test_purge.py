"""A chat deleted for good takes with it the answers that quoted it: their citations held
copies of its messages, and their text may quote them too."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from src.database import SessionLocal
from src.outbox import service as outbox
from src.rag import service as rag_service
from tests.factories import register
from tests.rag.test_rag_api import OTHER, TRIP, ask, cited_texts, conversation, import_chat
from workers.tasks.maintenance import _purge


async def test_purging_a_chat_forgets_the_answers_that_quote_it(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    trip = await import_chat(client, account, TRIP)
    other = await import_chat(client, account, OTHER)
    conversation_id = await conversation(client, account, trip, other)
    quoted = (await ask(client, account, conversation_id, "ZX-4417")).json()
    assert "ZX-4417" in " ".join(cited_texts(quoted))
    kept = await ask(client, account, conversation_id, "When is the dentist appointment?")
    kept_answer = kept.json()
    assert all(c["chat_id"] == other for c in kept_answer["citations"])
    assert kept_answer["citations"]

    await client.delete(f"/api/v1/chats/{trip}", headers=account.headers)
    # Past the retention period: the maintenance task purges the chat and forgets.
    async with SessionLocal() as session:
        await session.execute(
            text("UPDATE chats SET deleted_at = :at WHERE id = :id"),
            {"at": datetime.now(UTC) - timedelta(days=365), "id": uuid.UUID(trip)},
        )
        await session.commit()
    assert await _purge() >= 1

    detail = (
        await client.get(f"/api/v1/rag/conversations/{conversation_id}", headers=account.headers)
    ).json()
    answers = {m["id"]: m for m in detail["messages"] if m["role"] == "assistant"}
    assert answers[quoted["id"]]["content"] == rag_service.FORGOTTEN
    assert answers[quoted["id"]]["citations"] == []
    assert "booking reference" not in str(detail)  # the quoted message, anywhere
    assert answers[kept_answer["id"]] == kept_answer
    await outbox.wait_idle()
