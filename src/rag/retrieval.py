"""Hybrid retrieval in PostgreSQL over the retrieval units (one per message, see
`src/rag/chunking.py`): full text and vectors each take their best candidates among the units
in scope, fused by reciprocal rank in one statement.

Full text matches ANY meaningful word of the question, so that it helps instead of vetoing:
the question is parsed with the text-search configuration of every language in scope (which
stems words and drops that language's stop words); each word's document frequency in the scope
is counted (up to `COMMON_AT`) and gives it an inverse-document-frequency weight; a unit's
text score is the sum of the weights of the words it contains. Words found in `COMMON_AT` units
or more select no candidates when rarer words exist (they would flood the list), but still
add their small weight.

The vector side compares the question with each unit's embedding (a message read after a
little context), with pgvector's iterative HNSW scan (`hnsw.iterative_scan`, set for the
transaction) so that a filtered search keeps scanning until it has enough rows.

Scope is enforced in SQL: the chats asked about, owned by the asking user, and not deleted.
Units not embedded yet still match on full text. Each hit carries what deciding its
relevance needs: its cosine similarity to the question and the share of the question's word
weight it matched (`coverage`).
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
from src.rag.language import search_config
from src.rag.models import EMBEDDING_DIMENSION

#: A word in this many units of the scope is common: it ranks, but selects no candidates.
COMMON_AT = 2000


@dataclass(frozen=True)
class Filters:
    senders: list[str] | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class ChunkHit:
    chunk_id: int
    chat_id: uuid.UUID
    message_id: int
    score: float  # fused by reciprocal rank
    text_rank: int | None
    vector_rank: int | None
    similarity: float | None  # cosine similarity to the question (None: not embedded yet)
    coverage: float  # the share of the question's word weight this unit contains, 0..1


_SCOPE = """
    c.chat_id = ANY(:chat_ids)
    AND (CAST(:since AS timestamptz) IS NULL OR c.sent_at >= CAST(:since AS timestamptz))
    AND (CAST(:until AS timestamptz) IS NULL OR c.sent_at < CAST(:until AS timestamptz))
    AND (CAST(:senders AS varchar[]) IS NULL OR c.sender = ANY(CAST(:senders AS varchar[])))
"""

HYBRID_SQL = f"""
WITH terms AS (
    SELECT DISTINCT lexeme
    FROM unnest(CAST(:configs AS regconfig[])) AS config,
         unnest(tsvector_to_array(to_tsvector(config, :question))) AS lexeme
),
weights AS (
    SELECT t.lexeme, q.query, x.df,
           ln(1 + greatest(CAST(:scope_size AS float8) - x.df + 0.5, 0.5) / (x.df + 0.5)) AS idf
    FROM terms t,
    LATERAL (SELECT plainto_tsquery('simple', t.lexeme) AS query) q,
    LATERAL (
        SELECT count(*) AS df
        FROM (
            SELECT 1 FROM chat_chunks c
            WHERE c.chat_id = ANY(:chat_ids) AND c.search @@ q.query
            LIMIT {COMMON_AT}
        ) found
    ) x
    WHERE numnode(q.query) > 0
),
selecting AS (
    SELECT CAST(string_agg('(' || CAST(w.query AS text) || ')', ' | ') AS tsquery) AS query,
           (SELECT sum(idf) FROM weights) AS total
    FROM weights w
    WHERE w.df > 0
      AND (w.df < {COMMON_AT} OR NOT EXISTS (SELECT 1 FROM weights r WHERE r.df < {COMMON_AT}))
),
text_hits AS (
    SELECT m.id, row_number() OVER (ORDER BY m.weight DESC, m.id) AS rank, m.weight
    FROM (
        SELECT c.id, sum(w.idf) AS weight
        FROM chat_chunks c
        JOIN weights w ON c.search @@ w.query
        WHERE {_SCOPE} AND c.search @@ (SELECT query FROM selecting)
        GROUP BY c.id
        ORDER BY weight DESC, c.id
        LIMIT :k
    ) m
),
vector_hits AS (
    SELECT v.id, row_number() OVER (ORDER BY v.distance, v.id) AS rank
    FROM (
        SELECT c.id, c.embedding <=> :qvec AS distance
        FROM chat_chunks c
        WHERE {_SCOPE} AND c.embedding IS NOT NULL
        ORDER BY c.embedding <=> :qvec
        LIMIT :k
    ) v
),
fused AS (
    SELECT coalesce(t.id, v.id) AS id, t.rank AS text_rank, v.rank AS vector_rank,
           coalesce(t.weight, 0) AS weight,
           coalesce(CAST(:w_text AS float8) / (CAST(:rrf_k AS float8) + t.rank), 0)
             + coalesce(CAST(:w_vector AS float8) / (CAST(:rrf_k AS float8) + v.rank), 0)
             AS score
    FROM text_hits t
    FULL OUTER JOIN vector_hits v ON v.id = t.id
)
SELECT f.id, c.chat_id, c.message_id, f.text_rank, f.vector_rank, f.score,
       1 - (c.embedding <=> :qvec) AS similarity,
       coalesce(f.weight / nullif((SELECT total FROM selecting), 0), 0) AS coverage
FROM fused f
JOIN chat_chunks c ON c.id = f.id
ORDER BY f.score DESC, f.id
LIMIT :k
"""


def hybrid_statement() -> TextClause:
    return text(HYBRID_SQL).bindparams(
        bindparam("qvec", type_=Vector(EMBEDDING_DIMENSION)),
        bindparam("chat_ids", type_=ARRAY(Uuid)),
        bindparam("configs", type_=ARRAY(String)),
        bindparam("senders", type_=ARRAY(String)),
        bindparam("w_text", type_=Float),
        bindparam("w_vector", type_=Float),
        bindparam("rrf_k", type_=Integer),
        bindparam("scope_size", type_=Integer),
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
    """The best units for a question, fused by reciprocal rank, best first."""
    settings = get_settings()
    # The scope, enforced here: the chats asked about that the user owns and has not deleted
    # (an ORM select, so the soft-delete filter applies).
    scope = (
        await session.execute(
            select(Chat.id, Chat.language, Chat.message_count).where(
                Chat.id.in_(chat_ids), Chat.user_id == user_id
            )
        )
    ).all()
    if not scope:
        return []
    configs = sorted({await search_config(session, row.language) for row in scope})
    await session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
    await session.execute(text(f"SET LOCAL hnsw.ef_search = {int(settings.rag_hnsw_ef_search)}"))
    rows = (
        await session.execute(
            hybrid_statement(),
            {
                "question": question,
                "qvec": question_vector,
                "chat_ids": [row.id for row in scope],
                "configs": configs,
                "scope_size": max(1, sum(row.message_count for row in scope)),
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
    return [
        ChunkHit(
            chunk_id=row.id,
            chat_id=row.chat_id,
            message_id=row.message_id,
            score=float(row.score),
            text_rank=row.text_rank,
            vector_rank=row.vector_rank,
            similarity=float(row.similarity) if row.similarity is not None else None,
            coverage=float(row.coverage),
        )
        for row in rows
    ]


def is_relevant(hit: ChunkHit) -> bool:
    """Whether a hit is evidence at all: close enough in meaning to the question, or holding
    enough of its weighted words (thresholds from settings, chosen on the evaluation)."""
    settings = get_settings()
    if hit.similarity is not None and hit.similarity >= settings.rag_min_similarity:
        return True
    return hit.coverage >= settings.rag_min_coverage


async def messages_by_id(session: AsyncSession, ids: list[int]) -> dict[int, ChatMessage]:
    """The messages with these ids (those that still exist)."""
    if not ids:
        return {}
    rows = await session.scalars(select(ChatMessage).where(ChatMessage.id.in_(ids)))
    return {message.id: message for message in rows.all()}
