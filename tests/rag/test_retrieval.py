"""The hybrid search itself: fusion by reciprocal rank, scope, and the full-text fallback for
chunks that are not embedded yet."""

import uuid

import httpx
import pytest
from sqlalchemy import select, text, update

from src.config import get_settings
from src.database import SessionLocal, get_async_db_transaction
from src.outbox import service as outbox
from src.rag import retrieval
from src.rag import service as rag_service
from src.rag.embeddings import get_embedder
from src.rag.models import ChatChunk
from src.rag.query import question_form
from tests.factories import register
from tests.rag.test_rag_api import TRIP, import_chat


async def search(
    user_id: uuid.UUID, chat_ids: list[uuid.UUID], question: str
) -> list[retrieval.ChunkHit]:
    [vector] = await get_embedder().embed([question], query=True)
    async with get_async_db_transaction() as session:
        return await retrieval.search(
            session,
            user_id=user_id,
            chat_ids=chat_ids,
            question=question,
            question_vector=vector,
            filters=retrieval.Filters(),
        )


async def test_hits_are_fused_by_reciprocal_rank(client: httpx.AsyncClient) -> None:
    account = await register(client)
    chat_id = uuid.UUID(await import_chat(client, account, TRIP))
    hits = await search(account.id, [chat_id], "postpone the trip to Lisbon")
    assert hits
    settings = get_settings()
    k = settings.rag_rrf_k
    for hit in hits:
        text_share = (
            settings.rag_weight_text
            * (1 + retrieval.COVERAGE_BOOST * hit.coverage)
            / (k + hit.text_rank)
            if hit.text_rank
            else 0.0
        )
        vector_share = settings.rag_weight_vector / (k + hit.vector_rank) if hit.vector_rank else 0
        assert hit.score == pytest.approx(text_share + vector_share)
        assert 0 <= hit.coverage <= 1
        assert (hit.coverage > 0) == (hit.text_rank is not None)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].text_rank == 1  # matched by both sides, it leads
    assert hits[0].vector_rank is not None
    await outbox.wait_idle()


async def test_unembedded_chunks_are_found_by_full_text(client: httpx.AsyncClient) -> None:
    account = await register(client)
    chat_id = uuid.UUID(await import_chat(client, account, TRIP))
    async with SessionLocal() as session:
        await session.execute(
            update(ChatChunk).where(ChatChunk.chat_id == chat_id).values(embedding=None)
        )
        await session.commit()
    hits = await search(account.id, [chat_id], "ZX-4417")
    assert hits
    assert all(hit.vector_rank is None for hit in hits)
    assert hits[0].text_rank == 1
    await outbox.wait_idle()


async def test_scope_excludes_other_users_and_deleted_chats(client: httpx.AsyncClient) -> None:
    owner, stranger = await register(client), await register(client)
    chat_id = uuid.UUID(await import_chat(client, owner, TRIP))
    assert await search(stranger.id, [chat_id], "trip to Lisbon") == []
    await client.delete(f"/api/v1/chats/{chat_id}", headers=owner.headers)
    assert await search(owner.id, [chat_id], "trip to Lisbon") == []
    await outbox.wait_idle()


SHORT = (
    "01/03/2024, 09:00 - Ana: ok\n"
    "01/03/2024, 09:01 - Ben: QX-2291\n"
    "01/03/2024, 09:02 - Ana: The parcel tracking number is above, it arrives on Monday\n"
)


async def test_short_messages_are_found_by_their_words_only(client: httpx.AsyncClient) -> None:
    account = await register(client)
    chat_id = uuid.UUID(await import_chat(client, account, SHORT))
    async with SessionLocal() as session:
        units = {
            unit.text: unit
            for unit in await session.scalars(select(ChatChunk).where(ChatChunk.chat_id == chat_id))
        }
    assert units["Ana: ok"].embedding is None
    assert units["Ben: QX-2291"].embedding is None
    assert units["Ana: The parcel tracking number is above, it arrives on Monday"].embedding
    chat = (await client.get(f"/api/v1/chats/{chat_id}", headers=account.headers)).json()
    assert chat["index_status"] == "ready"
    assert chat["indexed_messages"] == chat["message_count"]
    hits = await search(account.id, [chat_id], "QX-2291")
    assert hits[0].text == "Ben: QX-2291"
    assert hits[0].vector_rank is None
    assert all(hit.text != "Ana: ok" for hit in hits if hit.vector_rank is not None)
    await outbox.wait_idle()


async def test_when_every_word_is_common_a_candidate_holds_them_all(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    chat_id = uuid.UUID(await import_chat(client, account, TRIP))
    common = retrieval.COMMON_AT
    async with SessionLocal() as session:
        # Each word alone is in more than COMMON_AT units; three units hold both.
        await session.execute(
            text(
                "INSERT INTO chat_chunks (chat_id, message_id, seq, sender, sent_at, text, words) "
                "SELECT :chat_id, 1000000 + n, 1000000 + n, 'Ana', now(), "
                "CASE WHEN n <= :common THEN 'Ana: dinner is ready' "
                "WHEN n <= 2 * :common THEN 'Ana: see you tonight' "
                "ELSE 'Ana: dinner tonight at Bruno''s' END, 4 "
                "FROM generate_series(1, 2 * :common + 3) AS n"
            ),
            {"chat_id": chat_id, "common": common},
        )
        await session.commit()
    hits = await search(account.id, [chat_id], "dinner tonight?")
    matched = [hit.text for hit in hits if hit.text_rank is not None]
    assert matched == ["Ana: dinner tonight at Bruno's"] * 3
    await outbox.wait_idle()


SHAPED = (
    "01/03/2024, 09:00 - Jess: What time is it there?\n"
    "01/03/2024, 09:01 - Jess: Where are you now?\n"
    "01/03/2024, 09:02 - Jess: haha what did you do?\n"
    "01/03/2024, 09:03 - Tom: the new sofa came to 1,200 in the end\n"
    "01/03/2024, 09:04 - Mum: When are you coming home?\n"
)


async def test_chatter_shaped_like_the_question_ranks_below_the_answer(
    client: httpx.AsyncClient,
) -> None:
    """By meaning alone (the vector side), "What did Jess pay for the sofa?" is closest to
    Jess's own questions; without its form ("What did Jess for the ?") it is the sofa's."""
    account = await register(client)
    chat_id = uuid.UUID(await import_chat(client, account, SHAPED))
    question = "What did Jess pay for the sofa?"
    embedder = get_embedder()
    form = question_form(question, ["Jess", "Tom", "Mum"])
    assert form == "What did Jess for the ?"

    async def nearest(vector: list[float]) -> str:
        async with get_async_db_transaction() as session:
            hits = await retrieval.search(
                session,
                user_id=account.id,
                chat_ids=[chat_id],
                question=question,
                question_vector=vector,
                filters=retrieval.Filters(),
            )
        return next(hit.text for hit in hits if hit.vector_rank == 1)

    [plain] = await embedder.embed([question], query=True)
    assert (await nearest(plain)).startswith("Jess: ")
    searched, length = await rag_service.search_vector(embedder, question, form)
    assert 0 < length < 1
    assert await nearest(searched) == "Tom: the new sofa came to 1,200 in the end"
    await outbox.wait_idle()
