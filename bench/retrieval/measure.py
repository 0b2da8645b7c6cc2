"""The three scopes a question can have, the statements timed in them, and the timing."""

import os
import random
import re
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np
from sqlalchemy.ext.asyncio import async_sessionmaker

from src.config import get_settings
from src.rag import retrieval


@dataclass(frozen=True)
class Target:
    user_id: uuid.UUID
    chat_ids: list[uuid.UUID]
    rows: int


@dataclass(frozen=True)
class Scope:
    name: str
    targets: list[Target]  # question i asks about targets[i % len(targets)]

    def target(self, index: int) -> Target:
        return self.targets[index % len(self.targets)]

    @property
    def rows(self) -> int:
        return int(statistics.median(target.rows for target in self.targets))


async def load_scopes(connection: asyncpg.Connection, count: int) -> list[Scope]:
    """The three scopes: a different small chat for each question, the large chat, and the
    chats of the user who holds a fifth of the rows."""
    chats = await connection.fetch("SELECT id, user_id, title, message_count FROM chats")
    by_kind: dict[str, list[asyncpg.Record]] = {}
    for chat in chats:
        by_kind.setdefault(chat["title"].split()[1], []).append(chat)
    small = sorted(by_kind["small"], key=lambda chat: chat["id"])
    picked = random.Random(3).sample(small, min(count, len(small)))
    [large] = by_kind["large"]
    fifth = by_kind["fifth"]
    return [
        Scope(
            "one small chat",
            [Target(c["user_id"], [c["id"]], c["message_count"]) for c in picked],
        ),
        Scope("one large chat", [Target(large["user_id"], [large["id"]], large["message_count"])]),
        Scope(
            "a fifth of all rows",
            [
                Target(
                    fifth[0]["user_id"],
                    [c["id"] for c in fifth],
                    sum(c["message_count"] for c in fifth),
                )
            ],
        ),
    ]


@dataclass(frozen=True)
class VectorMethod:
    """How the vector side searches: exactly, or through HNSW with these settings.
    `custom_plan` plans each execution for its own parameters (a prepared statement's generic
    plan may not use the HNSW index at all, whatever the method says)."""

    exact: bool
    ef_search: int = 0
    iterative_scan: str = "relaxed_order"
    max_scan_tuples: int | None = None
    custom_plan: bool = False

    @property
    def name(self) -> str:
        if self.exact:
            return "exact"
        name = f"HNSW ef_search {self.ef_search}, {self.iterative_scan}"
        if self.max_scan_tuples:
            name += f", max_scan_tuples {self.max_scan_tuples:,}"
        return name

    def statements(self) -> list[str]:
        statements = ["SET LOCAL plan_cache_mode = force_custom_plan"] if self.custom_plan else []
        if self.exact:
            return statements
        statements += [
            f"SET LOCAL hnsw.iterative_scan = {self.iterative_scan}",
            f"SET LOCAL hnsw.ef_search = {self.ef_search}",
        ]
        if self.max_scan_tuples:
            statements.append(f"SET LOCAL hnsw.max_scan_tuples = {self.max_scan_tuples}")
        return statements


def service_method(rows: int) -> VectorMethod:
    """The method `retrieval.search` chooses for a scope of `rows` messages."""
    settings = get_settings()
    if rows <= settings.rag_exact_search_max:
        return VectorMethod(exact=True)
    return VectorMethod(exact=False, ef_search=settings.rag_hnsw_ef_search)


# The service's statement, and the two parts of it that are timed alone: the vector side
# (`vector_hits`, with the hybrid's filters) and the full-text side (up to `text_hits`).
_head, _, _rest = retrieval.HYBRID_SQL.partition("vector_hits AS (")
_vector_body, _, _ = _rest.partition("\n),\ncovered AS")
VECTOR_SIDE_SQL = (
    f"WITH vector_hits AS ({_vector_body}\n)\nSELECT id FROM vector_hits WHERE rank <= 10"
)
TEXT_SIDE_SQL = _head.rstrip().rstrip(",") + "\nSELECT count(*) FROM text_hits"
if "ORDER BY {vector_order}" not in VECTOR_SIDE_SQL or "text_hits AS" not in TEXT_SIDE_SQL:
    raise RuntimeError("retrieval.HYBRID_SQL changed shape: update the parts timed alone")


def ordered(sql: str, method: VectorMethod) -> str:
    return sql.replace("{vector_order}", retrieval.EXACT if method.exact else retrieval.APPROXIMATE)


def positional(sql: str, params: dict[str, Any]) -> tuple[str, list[Any]]:
    """`sql` with the `:name` parameters it uses as asyncpg's `$n`, and their values."""
    used = [name for name in params if re.search(rf":{name}\b", sql)]
    for index, name in enumerate(used, 1):
        sql = re.sub(rf":{name}\b", f"${index}", sql)
    return sql, [params[name] for name in used]


def statement_params(
    target: Target, text: str, vector: np.ndarray[Any, Any], english: int
) -> dict[str, Any]:
    """The parameters `retrieval.search` binds, for a scope of English chats, no filters
    (`english`: that configuration's oid, how `connect` passes a regconfig)."""
    settings = get_settings()
    return {
        "question": text,
        "qvec": vector,
        "chat_ids": target.chat_ids,
        "configs": [english],
        "scope_size": target.rows,
        "since": None,
        "until": None,
        "senders": None,
        "k": settings.rag_candidates,
        "w_text": settings.rag_weight_text,
        "w_vector": settings.rag_weight_vector,
        "rrf_k": settings.rag_rrf_k,
    }


@dataclass(frozen=True)
class Question:
    text: str
    vector: np.ndarray[Any, Any]


def percentile(values: Sequence[float], q: float) -> float:
    ordered_values = sorted(values)
    return ordered_values[max(0, min(len(ordered_values) - 1, round(q * len(ordered_values)) - 1))]


@dataclass
class Timing:
    ms: list[float]

    def p(self, q: float) -> float:
        return percentile(self.ms, q)

    def triple(self) -> str:
        return f"{self.p(0.5):.1f} / {self.p(0.95):.1f} / {self.p(0.99):.1f}"


async def timed(calls: Sequence[Callable[[], Awaitable[Any]]]) -> tuple[Timing, list[Any]]:
    ms, results = [], []
    for call in calls:
        began = time.perf_counter()
        results.append(await call())
        ms.append((time.perf_counter() - began) * 1000)
    return Timing(ms), results


def recall(found: Sequence[set[int]], truth: Sequence[set[int]]) -> float:
    return statistics.mean(
        len(f & t) / len(t) if t else 1.0 for f, t in zip(found, truth, strict=True)
    )


@dataclass
class ScopeResult:
    scope: str
    rows: int
    method: str
    service: Timing
    recall: float
    exact: Timing  # the anchor: the vector side alone, exact, bare asyncpg
    hybrid: Timing  # the service's statement, bare asyncpg
    text_side: Timing
    load: tuple[float, float]
    sweep: list[tuple[str, Timing, float]]


async def bare(
    connection: asyncpg.Connection, sql: str, params: dict[str, Any], method: VectorMethod
) -> list[asyncpg.Record]:
    statement, values = positional(sql, params)
    async with connection.transaction():
        for setting in method.statements():
            await connection.execute(setting)
        return await connection.fetch(statement, *values)


async def measure(
    scope: Scope,
    questions: list[Question],
    sessions: async_sessionmaker[Any],
    connection: asyncpg.Connection,
    sweep: Sequence[VectorMethod],
) -> ScopeResult:
    load_before = os.getloadavg()[0]
    english = await connection.fetchval("SELECT 'english'::regconfig::oid")
    exact = VectorMethod(exact=True)
    asked = [(scope.target(i), q) for i, q in enumerate(questions)]

    def service_call(target: Target, q: Question) -> Callable[[], Awaitable[set[int]]]:
        async def call() -> set[int]:
            async with sessions() as session:
                hits = await retrieval.search(
                    session,
                    user_id=target.user_id,
                    chat_ids=target.chat_ids,
                    question=q.text,
                    question_vector=q.vector.tolist(),
                    filters=retrieval.Filters(),
                )
                await session.commit()
            return {h.chunk_id for h in hits if h.vector_rank is not None and h.vector_rank <= 10}

        return call

    def bare_call(
        sql: str, method: VectorMethod, target: Target, q: Question
    ) -> Callable[[], Awaitable[list[asyncpg.Record]]]:
        params = statement_params(target, q.text, q.vector, english)
        return lambda: bare(connection, ordered(sql, method), params, method)

    def vector_side(method: VectorMethod) -> list[Callable[[], Awaitable[list[asyncpg.Record]]]]:
        return [bare_call(VECTOR_SIDE_SQL, method, t, q) for t, q in asked]

    # Untimed warm-up of both paths.
    await timed([service_call(t, q) for t, q in asked[:10]])
    await timed(vector_side(exact)[:10])

    service, found = await timed([service_call(t, q) for t, q in asked])
    anchor, truth_rows = await timed(vector_side(exact))
    truth = [{row["id"] for row in rows} for rows in truth_rows]
    methods = {service_method(t.rows).name for t, _ in asked}
    hybrid, _ = await timed(
        [bare_call(retrieval.HYBRID_SQL, service_method(t.rows), t, q) for t, q in asked]
    )
    text_side, _ = await timed([bare_call(TEXT_SIDE_SQL, exact, t, q) for t, q in asked])
    swept = []
    for method in sweep:
        timing, rows = await timed(vector_side(method))
        swept.append((method.name, timing, recall([{r["id"] for r in hit} for hit in rows], truth)))
        print(f"    sweep {method.name}: p95 {timing.p(0.95):.1f} ms", flush=True)
    return ScopeResult(
        scope=scope.name,
        rows=scope.rows,
        method=", ".join(sorted(methods)),
        service=service,
        recall=recall(found, truth),
        exact=anchor,
        hybrid=hybrid,
        text_side=text_side,
        load=(load_before, os.getloadavg()[0]),
        sweep=swept,
    )


#: The other vector methods `--sweep` times (planned for their own parameters, so that each
#: is the method it names).
SWEEP = [
    VectorMethod(exact=False, ef_search=100, custom_plan=True),
    VectorMethod(exact=False, ef_search=400, custom_plan=True),
    VectorMethod(exact=False, ef_search=1000, custom_plan=True),
    VectorMethod(exact=False, ef_search=400, max_scan_tuples=100_000, custom_plan=True),
]


async def index_difficulty(
    connection: asyncpg.Connection, questions: list[Question]
) -> dict[str, float]:
    """How hard these vectors are for HNSW, whatever the scope: recall@10 of the index over
    the whole table at a few ef_search values, and how close a question's 1st, 10th and
    100th nearest units are (medians)."""
    truth, nearest = [], []
    for q in questions:
        rows = await connection.fetch(
            "SELECT id, 1 - (embedding <=> $1) AS similarity FROM chat_chunks "
            "ORDER BY (embedding <=> $1) + 0 LIMIT 100",
            q.vector,
        )
        truth.append({row["id"] for row in rows[:10]})
        nearest.append([rows[i]["similarity"] for i in (0, 9, 99)])
    figures = {
        f"top{rank}": statistics.median(n[i] for n in nearest)
        for i, rank in enumerate((1, 10, 100))
    }
    for ef in (40, 100, 400):
        found = []
        for q in questions:
            async with connection.transaction():
                await connection.execute(f"SET LOCAL hnsw.ef_search = {ef}")
                rows = await connection.fetch(
                    "SELECT id FROM chat_chunks ORDER BY embedding <=> $1 LIMIT 10", q.vector
                )
            found.append({row["id"] for row in rows})
        figures[f"ef{ef}"] = recall(found, truth)
    return figures
