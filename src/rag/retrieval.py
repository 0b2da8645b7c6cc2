"""Hybrid retrieval in PostgreSQL over the retrieval units (one per message, see
`src/rag/chunking.py`): full text and vectors each take their best candidates among the units
in scope, fused by reciprocal rank in one statement.

Fusion is by reciprocal rank, `w / (RAG_RRF_K + rank)` per side, the text side's share
multiplied by `1 + COVERAGE_BOOST x coverage`. Weights and constants were chosen on the
evaluation (`make eval`).

Full text matches ANY meaningful word of the question, so that it helps instead of vetoing:
the question is parsed with the text-search configuration of every language in scope (which
stems words and drops that language's stop words); each word's document frequency in the scope
is counted (up to `COMMON_AT`) and gives it an inverse-document-frequency weight; a unit's
text score is the sum of the weights of the words it contains. Words found in `COMMON_AT` units
or more select no candidates when rarer words exist (they would flood the list), but still
add their small weight; when every word is that common, a candidate must hold them all.

The vector side compares the question with each unit's embedding (a message read after a
little context). A scope of at most `RAG_EXACT_SEARCH_MAX` messages is searched exactly (every
unit in scope, read through the chat index: exact, and fast at that size); a larger one
through the HNSW index with pgvector's iterative scan (`hnsw.iterative_scan`, set for the
transaction), so that a filtered search keeps scanning until it has enough rows.

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
from src.rag.chunking import MIN_VECTOR_WORDS
from src.rag.language import search_config
from src.rag.models import EMBEDDING_DIMENSION

#: A word in this many units of the scope is common: it ranks, but selects no candidates.
COMMON_AT = 2000
#: A full-text hit counts for more the more of the question's word weight it holds: one that
#: holds all of it (a keyword search such as "ZX-4417") outranks the vector side's best.
COVERAGE_BOOST = 4


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
    sender: str | None
    text: str  # the unit's line, "Sender: text"
    score: float  # fused by reciprocal rank
    text_rank: int | None
    vector_rank: int | None
    similarity: float | None  # cosine similarity to the vector searched (None: not embedded)
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
rare AS (
    SELECT EXISTS (SELECT 1 FROM weights WHERE df > 0 AND df < {COMMON_AT}) AS found
),
selecting AS (
    SELECT CAST(
               string_agg(
                   '(' || CAST(w.query AS text) || ')',
                   CASE WHEN rare.found THEN ' | ' ELSE ' & ' END
               ) AS tsquery
           ) AS query,
           (SELECT sum(idf) FROM weights) AS total
    FROM weights w, rare
    WHERE w.df > 0 AND (w.df < {COMMON_AT} OR NOT rare.found)
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
        WHERE {_SCOPE} AND c.embedding IS NOT NULL AND c.words >= {MIN_VECTOR_WORDS}
        ORDER BY {{vector_order}}
        LIMIT :k
    ) v
),
covered AS (
    SELECT t.id, t.rank, coalesce(t.weight / nullif(s.total, 0), 0) AS coverage
    FROM text_hits t, selecting s
),
fused AS (
    SELECT coalesce(t.id, v.id) AS id, t.rank AS text_rank, v.rank AS vector_rank,
           coalesce(t.coverage, 0) AS coverage,
           coalesce(
               CAST(:w_text AS float8) * (1 + {COVERAGE_BOOST} * t.coverage)
               / (CAST(:rrf_k AS float8) + t.rank),
               0
           )
           + coalesce(CAST(:w_vector AS float8) / (CAST(:rrf_k AS float8) + v.rank), 0)
             AS score
    FROM covered t
    FULL OUTER JOIN vector_hits v ON v.id = t.id
)
SELECT f.id, c.chat_id, c.message_id, c.sender, c.text, f.text_rank, f.vector_rank, f.score,
       1 - (c.embedding <=> :qvec) AS similarity, f.coverage
FROM fused f
JOIN chat_chunks c ON c.id = f.id
ORDER BY f.score DESC, f.id
LIMIT :k
"""


#: The vector side's ORDER BY: through the HNSW index, or computed for every row in scope
#: (an expression the index cannot serve), which is exact and, for a small scope read through
#: the chat index, faster.
APPROXIMATE = "c.embedding <=> :qvec"
EXACT = "(c.embedding <=> :qvec) + 0"


def hybrid_statement(*, exact: bool = False) -> TextClause:
    sql = HYBRID_SQL.replace("{vector_order}", EXACT if exact else APPROXIMATE)
    return text(sql).bindparams(
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
    languages = {row.language for row in scope}
    configs = sorted({await search_config(session, language) for language in languages})
    scope_size = sum(row.message_count for row in scope)
    exact = scope_size <= settings.rag_exact_search_max
    # A plan for these chats, not a generic one cached for any: the chat-scoped full-text
    # index pays only when the planner sees the scope (bench/reports/retrieval.md, notes).
    # One round trip for the transaction's settings (set_config(..., true) is SET LOCAL).
    await session.execute(
        text(
            "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
            "set_config('hnsw.iterative_scan', 'relaxed_order', true), "
            "set_config('hnsw.ef_search', :ef_search, true)"
        ),
        {"ef_search": str(settings.rag_hnsw_ef_search)},
    )
    rows = (
        await session.execute(
            hybrid_statement(exact=exact),
            {
                "question": question,
                "qvec": question_vector,
                "chat_ids": [row.id for row in scope],
                "configs": configs,
                "scope_size": max(1, scope_size),
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
            sender=row.sender,
            text=row.text,
            score=float(row.score),
            text_rank=row.text_rank,
            vector_rank=row.vector_rank,
            similarity=float(row.similarity) if row.similarity is not None else None,
            coverage=float(row.coverage),
        )
        for row in rows
    ]


def distinct(hits: list[ChunkHit]) -> list[ChunkHit]:
    """`hits` without repeats: a message whose words (case and spacing aside, whoever sent
    it) an earlier hit already has tells nothing new ("ok", a forwarded notice, a copied
    address)."""
    seen: set[str] = set()
    kept = []
    for hit in hits:
        body = hit.text[len(hit.sender) + 2 :] if hit.sender else hit.text
        key = " ".join(body.casefold().split())
        if key not in seen:
            seen.add(key)
            kept.append(hit)
    return kept


def relevant(hits: list[ChunkHit], min_similarity: float, margin: float) -> list[ChunkHit]:
    """The hits that are evidence at all: as close to the vector searched as `min_similarity`
    and within `margin` of the closest hit (the service's floor and margin, see
    `rag.service.find_evidence`), or holding `RAG_MIN_COVERAGE` of the question's weighted
    words."""
    coverage = get_settings().rag_min_coverage
    closest = max((hit.similarity for hit in hits if hit.similarity is not None), default=0.0)
    cut = max(min_similarity, closest - margin)
    return [
        hit
        for hit in hits
        if (hit.similarity is not None and hit.similarity >= cut) or hit.coverage >= coverage
    ]


async def messages_by_id(session: AsyncSession, ids: list[int]) -> dict[int, ChatMessage]:
    """The messages with these ids (those that still exist)."""
    if not ids:
        return {}
    rows = await session.scalars(select(ChatMessage).where(ChatMessage.id.in_(ids)))
    return {message.id: message for message in rows.all()}
