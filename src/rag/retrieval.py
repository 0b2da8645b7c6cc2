"""Hybrid retrieval in PostgreSQL: full-text (`websearch_to_tsquery`, ranked by `ts_rank_cd`)
and vector (HNSW, cosine) each take their top candidates among the chunks in scope, fused by
reciprocal rank in the same statement. Scope is enforced in SQL: the chats asked about, owned
by the asking user, and not deleted. Chunks not embedded yet still match on full text.

The vector side runs with pgvector's iterative index scan (`hnsw.iterative_scan`, set for the
transaction) so a filtered HNSW search keeps scanning until it has enough rows instead of
silently returning fewer, and with `hnsw.ef_search` from settings.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from pgvector.sqlalchemy import Vector
from sqlalchemy import Float, Integer, String, TextClause, Uuid, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from src.chats.models import Chat, ChatMessage
from src.config import get_settings
from src.rag.models import EMBEDDING_DIMENSION, ChatChunk


@dataclass(frozen=True)
class Filters:
    senders: list[str] | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class ChunkHit:
    chunk_id: int
    chat_id: uuid.UUID
    score: float
    text_rank: int | None
    vector_rank: int | None
    similarity: float | None


# `:chat_ids` is the scope already resolved to the user's live chats (see `search`): a plain
# `= ANY(array)` lets the planner combine the chat index with the full-text index.
_SCOPE = """
    c.chat_id = ANY(:chat_ids)
    AND (CAST(:since AS timestamptz) IS NULL OR c.ended_at >= CAST(:since AS timestamptz))
    AND (CAST(:until AS timestamptz) IS NULL OR c.started_at < CAST(:until AS timestamptz))
    AND (CAST(:senders AS varchar[]) IS NULL OR c.senders && CAST(:senders AS varchar[]))
"""

HYBRID_SQL = f"""
WITH text_hits AS (
    SELECT c.id, c.chat_id,
           row_number() OVER (ORDER BY ts_rank_cd(c.search, q.query) DESC, c.id) AS rank
    FROM chat_chunks c, (SELECT websearch_to_tsquery('simple', :question) AS query) q
    WHERE {_SCOPE} AND c.search @@ q.query
    ORDER BY rank
    LIMIT :k
),
vector_hits AS (
    SELECT v.id, v.chat_id, row_number() OVER (ORDER BY v.distance, v.id) AS rank,
           1 - v.distance AS similarity
    FROM (
        SELECT c.id, c.chat_id, c.embedding <=> :qvec AS distance
        FROM chat_chunks c
        WHERE {_SCOPE} AND c.embedding IS NOT NULL
        ORDER BY c.embedding <=> :qvec
        LIMIT :k
    ) v
)
SELECT coalesce(t.id, v.id) AS id,
       coalesce(t.chat_id, v.chat_id) AS chat_id,
       t.rank AS text_rank,
       v.rank AS vector_rank,
       v.similarity,
       coalesce(CAST(:w_text AS float8) / (CAST(:rrf_k AS float8) + t.rank), 0)
         + coalesce(CAST(:w_vector AS float8) / (CAST(:rrf_k AS float8) + v.rank), 0) AS score
FROM text_hits t
FULL OUTER JOIN vector_hits v ON v.id = t.id
ORDER BY score DESC, id
LIMIT :k
"""


def hybrid_statement() -> TextClause:
    return text(HYBRID_SQL).bindparams(
        bindparam("qvec", type_=Vector(EMBEDDING_DIMENSION)),
        bindparam("chat_ids", type_=ARRAY(Uuid)),
        bindparam("senders", type_=ARRAY(String)),
        bindparam("w_text", type_=Float),
        bindparam("w_vector", type_=Float),
        bindparam("rrf_k", type_=Integer),
    )


async def search(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    chat_ids: list[uuid.UUID],
    question: str,
    question_vector: list[float],
    filters: Filters,
) -> list[ChunkHit]:
    """The best chunks for a question, fused by reciprocal rank; vector-only hits below
    `RAG_MIN_SIMILARITY` are dropped (noise, not evidence)."""
    settings = get_settings()
    # The scope, enforced here: the chats asked about that the user owns and has not deleted
    # (an ORM select, so the soft-delete filter applies).
    scope = list(
        (
            await session.scalars(
                select(Chat.id).where(Chat.id.in_(chat_ids), Chat.user_id == user_id)
            )
        ).all()
    )
    if not scope:
        return []
    await session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
    await session.execute(text(f"SET LOCAL hnsw.ef_search = {int(settings.rag_hnsw_ef_search)}"))
    rows = (
        await session.execute(
            hybrid_statement(),
            {
                "question": question,
                "qvec": question_vector,
                "chat_ids": scope,
                "since": filters.since,
                "until": filters.until,
                "senders": filters.senders or None,
                "k": settings.rag_candidates,
                "w_text": settings.rag_weight_text,
                "w_vector": settings.rag_weight_vector,
                "rrf_k": settings.rag_rrf_k,
            },
        )
    ).all()
    hits = [
        ChunkHit(
            chunk_id=row.id,
            chat_id=row.chat_id,
            score=float(row.score),
            text_rank=row.text_rank,
            vector_rank=row.vector_rank,
            similarity=float(row.similarity) if row.similarity is not None else None,
        )
        for row in rows
    ]
    return [
        hit
        for hit in hits
        if hit.text_rank is not None
        or (hit.similarity is not None and hit.similarity >= settings.rag_min_similarity)
    ]


async def chunk_messages_of(
    session: AsyncSession, chunk_ids: list[int], filters: Filters
) -> dict[int, list[ChatMessage]]:
    """The messages of each chunk that pass the question's filters, in chat order."""
    chunks = (
        await session.execute(
            select(ChatChunk.id, ChatChunk.message_ids).where(ChatChunk.id.in_(chunk_ids))
        )
    ).all()
    wanted = {message_id for _, ids in chunks for message_id in ids}
    statement = select(ChatMessage).where(ChatMessage.id.in_(wanted))
    if filters.senders:
        statement = statement.where(ChatMessage.sender.in_(filters.senders))
    if filters.since is not None:
        statement = statement.where(ChatMessage.sent_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(ChatMessage.sent_at < filters.until)
    by_id = {m.id: m for m in (await session.scalars(statement)).all()}
    return {chunk_id: [by_id[i] for i in ids if i in by_id] for chunk_id, ids in chunks}
