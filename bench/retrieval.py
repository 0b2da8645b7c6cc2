"""Question-to-citations retrieval at scale: latency and recall@10 in every scope a question
can have.

The target (the scale issue): p95 at most 30 ms, question embedding excluded, with recall@10 of
the vector side at least 0.95 against exact search, over 1,000,000 units of many users and
chats, in each of three scopes: one small chat (a few hundred rows), one large chat (14,000
rows) and the set of chats of one user that holds a fifth of all rows.

The data: N units (`--n`, one per message as `src/rag/chunking.py` makes them) in about 2,000
chats of a few hundred users, with the `users` and `chats` rows that `retrieval.search` reads
for the scope (owner, language, `message_count`). Lines are chat lines of `bench.chat_import`'s
words and people, plus a long tail of topic words and times (so that a question's rarer words
select few units, as in real chats). Vectors are realistic for the default embedder
(multilingual-e5-small): `--sample` generated lines are really embedded, and every unit gets
one of them plus noise shaped like the sample's own spread (see `VectorModel`). Lines and
vectors are paired at random: right for latency and recall, meaningless for relevance. Units
are COPYed chat by chat (an import writes a chat's units together), then the full-text and
HNSW indexes are built. All of it goes into its own database (`chatsight_bench_retrieval`) on
the same server and is kept: a later run reuses it when it holds N units (`--rebuild` forces).

Each question is timed through the service's `retrieval.search` in its own unit of work (as
`rag.service.find_evidence` runs it). Recall@10 compares the service's vector-side top 10 (its
hits with `vector_rank <= 10`) with the service's own vector-side SQL run exactly (`+ 0` on the
distance) over the same scope and rows through bare asyncpg, which is also the anchor: the
cost of exact search alone. Then the full-text side alone (the statement cut after its
`text_hits`), and with `--sweep` the vector side alone under other settings, to tune.

The service reads its settings from the environment as usual (`RAG_HNSW_EF_SEARCH`,
`RAG_EXACT_SEARCH_MAX`, ...); the report names the ones in force. `--proposed` measures the
changes proposed in the report that need no code (an index, a database setting) and writes
`retrieval_proposed.md`; a plain run puts the database back as the migrations make it.

The table and its indexes (about 4 GB at 1,000,000 units) are loaded into shared buffers
before measuring when they fit, as on a server sized for them; the embedded server's default
of 128 MB does not hold them (measure on a server that does: `ALTER SYSTEM SET shared_buffers
= '8GB'` on it, and restart it).

    python -m scripts.stack exec -- sh -c \\
        '.venv/bin/python -m alembic upgrade head && .venv/bin/python -m bench.retrieval'
"""

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import struct
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import numpy as np
from alembic.config import Config
from pgvector.asyncpg import register_vector
from sqlalchemy.ext.asyncio import async_sessionmaker

from alembic import command
from bench.chat_import import PEOPLE, WORDS
from src.config import get_settings
from src.database import create_engine
from src.rag import retrieval
from src.rag.embeddings import get_embedder

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "bench" / "reports" / "retrieval.md"
PROPOSED_REPORT = ROOT / "bench" / "reports" / "retrieval_proposed.md"
#: A report's reading, written by hand below this line, is kept when the figures are rewritten.
NOTES = "<!-- notes below are written by hand; bench/retrieval.py keeps them -->"
DATABASE = "chatsight_bench_retrieval"
TARGET_P95_MS = 30.0
TARGET_RECALL = 0.95

# The shape of the data, as shares of N: one user's 20 chats (a conversation holds at most
# `rag_max_chats_per_conversation` = 20) hold a fifth; the large chat of the issue holds 1.4 %
# (14,000 of 1,000,000), beside a few other large chats; the rest are small chats.
FIFTH = 0.2
FIFTH_CHATS = 20
LARGE_CHAT = 0.014
OTHER_LARGE_CHATS = (0.004, 0.006, 0.008, 0.010, 0.012)
SMALL_CHAT_ROWS = (100, 600)
CHATS_PER_USER = (1, 12)

# Words beyond `WORDS` (which every chat uses all the time): topics, each rarer than the one
# before (Zipf), and times of day.
TOPICS = (
    "dinner party beach flight hotel birthday dentist passport concert tickets football "
    "rent keys car garage doctor exam wedding gift cake pizza sushi museum airport taxi "
    "bus ferry camping tent hiking bike gym yoga swimming pool garden plants cat dog vet "
    "school homework teacher meeting office laptop phone charger password wifi router "
    "printer invoice bank transfer salary budget insurance landlord plumber electrician "
    "kitchen fridge oven washing machine sofa curtains paint ikea furniture moving boxes "
    "van storage christmas easter holiday vacation lisbon madrid paris london berlin rome "
    "barcelona porto sevilla valencia mountains skiing snow rain storm umbrella jacket "
    "shoes dress shirt haircut barber pharmacy medicine vaccine hospital baby daughter son "
    "grandma grandpa uncle aunt cousin neighbours wine beer coffee tea breakfast brunch "
    "picnic barbecue restaurant reservation menu vegetarian allergy recipe groceries market "
    "bakery chocolate icecream netflix series movie cinema theatre festival playlist guitar "
    "piano lessons podcast book library exhibition gallery photographer album"
).split()
TOPIC_WEIGHTS = [1 / (rank + 1) for rank in range(len(TOPICS))]
WORD_PATTERN = re.compile(r"[^\W_]+")  # a word, as `src/rag/chunking.py` counts them

QUESTION_FORMS = (
    "when did {person} say the {topic} was {word}?",
    "what did we decide about the {topic}?",
    "did anyone mention the {topic} or the {topic2}?",
    "where are we meeting for the {topic} {word}?",
    "who talked about the {topic} at {time}?",
    "what did {person} say about the {topic} and {word} {word2}?",
    "how much was the {topic} in the end?",
    "remind me what {person} wrote about {topic2} and {topic}",
)

CHUNK_COLUMNS = [
    "chat_id",
    "message_id",
    "seq",
    "sender",
    "sent_at",
    "text",
    "words",
    "language",
    "embedding",
]
BATCH = 50_000


# --- the data ---------------------------------------------------------------------------


def chat_line(rng: random.Random) -> tuple[str, str]:
    """A sender and a message body."""
    words = []
    for _ in range(rng.randint(1, 16)):
        roll = rng.random()
        if roll < 0.12:
            words.append(rng.choices(TOPICS, weights=TOPIC_WEIGHTS)[0])
        elif roll < 0.14:
            words.append(f"{rng.randint(7, 23)}:{rng.choice(('00', '15', '30', '45'))}")
        else:
            words.append(rng.choice(WORDS))
    return rng.choice(PEOPLE), " ".join(words)


def question(rng: random.Random) -> str:
    return rng.choice(QUESTION_FORMS).format(
        person=rng.choice(PEOPLE).split()[0],
        topic=rng.choice(TOPICS),
        topic2=rng.choice(TOPICS),
        word=rng.choice(WORDS),
        word2=rng.choice(WORDS),
        time=f"{rng.randint(7, 23)}:{rng.choice(('00', '30'))}",
    )


@dataclass(frozen=True)
class ChatPlan:
    user: int
    kind: str  # "small", "large" (the scope's 1.4 % chat), "other-large" or "fifth"
    rows: int


def plan_chats(n: int, rng: random.Random) -> list[ChatPlan]:
    """The chats of N units, in the order they are written (shuffled, like imports)."""
    fifth = round(n * FIFTH)
    weights = [rng.lognormvariate(0, 0.8) for _ in range(FIFTH_CHATS)]
    fifth_rows = [max(1, round(fifth * w / sum(weights))) for w in weights]
    fifth_rows[-1] = max(1, fifth - sum(fifth_rows[:-1]))
    large = [("large", round(n * LARGE_CHAT))]
    large += [("other-large", round(n * share)) for share in OTHER_LARGE_CHATS]
    small_total = n - sum(fifth_rows) - sum(rows for _, rows in large)
    small: list[int] = []
    while small_total - sum(small) > SMALL_CHAT_ROWS[1]:
        small.append(rng.randint(*SMALL_CHAT_ROWS))
    small.append(small_total - sum(small))
    # Users: the fifth's owner (user 0) has only those chats; everyone else a few small chats,
    # and the large chats go to some of them.
    chats = [ChatPlan(0, "fifth", rows) for rows in fifth_rows if rows > 0]
    user, left = 1, rng.randint(*CHATS_PER_USER)
    for rows in small:
        if rows <= 0:
            continue
        chats.append(ChatPlan(user, "small", rows))
        left -= 1
        if left == 0:
            user, left = user + 1, rng.randint(*CHATS_PER_USER)
    for kind, rows in large:
        chats.append(ChatPlan(rng.randint(1, user), kind, rows))
    rng.shuffle(chats)
    return chats


@dataclass(frozen=True)
class VectorModel:
    """Vectors drawn around really embedded sample lines.

    e5 vectors share a large common part (random pairs of lines sit at 0.8-0.9 cosine): a
    vector is the sample's mean plus a residual. A drawn vector keeps the mean and mixes a
    sample's residual with gaussian noise of the same covariance as the residuals, rescaled so
    that its residual is as long as a real one; random pairs then have the real distribution,
    and `sigma` sets how close a vector stays to its sample. It is chosen so that vectors
    drawn from one sample are as similar as a real line and its nearest neighbour among the
    sample are (the median), renormalised."""

    sample: np.ndarray[Any, Any]
    mean: np.ndarray[Any, Any]
    residuals: np.ndarray[Any, Any]
    noise_basis: np.ndarray[Any, Any]  # rows: eigenvectors scaled by their sqrt(eigenvalue)
    sigma: float

    @classmethod
    def fit(cls, sample: np.ndarray[Any, Any]) -> "VectorModel":
        mean = sample.mean(axis=0)
        residuals = sample - mean
        values, vectors = np.linalg.eigh(np.cov(residuals, rowvar=False))
        basis = (vectors * np.sqrt(np.clip(values, 0, None))).T
        similarity = sample @ sample.T
        np.fill_diagonal(similarity, -1)
        nearest = float(np.median(similarity.max(axis=1)))
        spread = float(np.mean(np.sum(residuals**2, axis=1)))
        # siblings' similarity ~ |mean|^2 + spread / (1 + sigma^2) = nearest
        gap = max(nearest - float(mean @ mean), 1e-3)
        sigma = float(np.sqrt(max(spread / gap - 1, 0.0)))
        return cls(sample, mean, residuals, basis.astype(np.float32), sigma)

    def draw(self, picks: np.ndarray[Any, Any], rng: np.random.Generator) -> np.ndarray[Any, Any]:
        noise = rng.standard_normal((len(picks), len(self.mean)), dtype=np.float32)
        residual = (self.residuals[picks] + self.sigma * noise @ self.noise_basis) / np.sqrt(
            1 + self.sigma**2
        )
        vectors = self.mean + residual
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def similarity_quantiles(vectors: np.ndarray[Any, Any], rng: np.random.Generator) -> list[float]:
    """p5 / p50 / p95 of the cosine similarity of 20,000 random pairs."""
    left = rng.integers(0, len(vectors), 20_000)
    right = rng.integers(0, len(vectors), 20_000)
    keep = left != right
    similarity = np.sum(vectors[left[keep]] * vectors[right[keep]], axis=1)
    return [round(float(q), 3) for q in np.quantile(similarity, [0.05, 0.5, 0.95])]


@dataclass
class Build:
    """What a build did; kept as the comment of `chat_chunks` for the runs that reuse it."""

    n: int
    chats: int
    users: int
    sample: int
    embed_per_s: float
    sigma: float
    real_pairs: list[float]
    drawn_pairs: list[float]
    load_s: float
    gin_s: float
    hnsw_s: float
    vacuum_s: float
    hnsw: str
    built_at: str


async def stored_build(connection: asyncpg.Connection) -> Build | None:
    comment = await connection.fetchval("SELECT obj_description('chat_chunks'::regclass)")
    if not comment:
        return None
    try:
        return Build(**json.loads(comment))
    except (TypeError, ValueError):
        return None


async def build(
    connection: asyncpg.Connection, *, n: int, sample_size: int, m: int, ef_construction: int
) -> Build:
    rng = random.Random(7)
    print(f"building {n:,} units: embedding {sample_size} sample lines", flush=True)
    sample_lines = [
        f"{sender}: {body}" for sender, body in (chat_line(rng) for _ in range(sample_size))
    ]
    began = time.perf_counter()
    sample = await embed(sample_lines)
    embed_per_s = sample_size / (time.perf_counter() - began)
    model = VectorModel.fit(sample)
    noise_rng = np.random.default_rng(7)
    chats = plan_chats(n, rng)
    users = 1 + max(chat.user for chat in chats)

    await connection.execute("TRUNCATE users CASCADE")
    await connection.execute("DROP INDEX IF EXISTS ix_chat_chunks_embedding")
    await connection.execute("DROP INDEX IF EXISTS ix_chat_chunks_search")
    await connection.execute(f"DROP INDEX IF EXISTS {PROPOSED_INDEX}")
    began = time.perf_counter()
    user_ids = [uuid.uuid4() for _ in range(users)]
    await connection.copy_records_to_table(
        "users",
        records=[(uid, f"bench-{i}@example.com", "x") for i, uid in enumerate(user_ids)],
        columns=["id", "email", "password_hash"],
    )
    chat_ids = [uuid.uuid4() for _ in chats]
    await connection.copy_records_to_table(
        "chats",
        records=[
            (cid, user_ids[c.user], f"bench {c.kind} {i}", "api", "UTC", "ready", c.rows, "[]")
            + ("ready", c.rows, "en")
            for i, (cid, c) in enumerate(zip(chat_ids, chats, strict=True))
        ],
        columns=[
            "id",
            "user_id",
            "title",
            "source_format",
            "timezone",
            "status",
            "message_count",
            "participants",
            "index_status",
            "indexed_messages",
            "language",
        ],
    )
    english = await connection.fetchval("SELECT 'english'::regconfig::oid")
    records: list[tuple[Any, ...]] = []
    written = 0
    message_id = 0
    for chat_id, chat in zip(chat_ids, chats, strict=True):
        moment = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 10**6))
        for seq in range(1, chat.rows + 1):
            sender, body = chat_line(rng)
            moment += timedelta(seconds=rng.randint(5, 3600))
            message_id += 1
            words = len(WORD_PATTERN.findall(body))
            records.append(
                (chat_id, message_id, seq, sender, moment, f"{sender}: {body}", words, english)
            )
            if len(records) == BATCH:
                written += await copy_units(connection, records, model, noise_rng)
                records = []
                print(f"  {written:,} units", flush=True)
    written += await copy_units(connection, records, model, noise_rng)
    load_s = time.perf_counter() - began
    drawn = model.draw(noise_rng.integers(0, sample_size, 20_000), noise_rng)

    # The indexes are built after the load, as a bulk load should be; the HNSW graph must fit
    # in maintenance_work_mem, and one parallel helper is all two cores allow.
    await connection.execute("SET maintenance_work_mem = '4GB'")
    await connection.execute("SET max_parallel_maintenance_workers = 1")
    began = time.perf_counter()
    await connection.execute("CREATE INDEX ix_chat_chunks_search ON chat_chunks USING gin (search)")
    gin_s = time.perf_counter() - began
    print(f"  GIN index in {gin_s:.0f} s", flush=True)
    hnsw = f"m = {m}, ef_construction = {ef_construction}"
    began = time.perf_counter()
    await connection.execute(
        "CREATE INDEX ix_chat_chunks_embedding ON chat_chunks USING hnsw "
        f"(embedding vector_cosine_ops) WITH ({hnsw})"
    )
    hnsw_s = time.perf_counter() - began
    print(f"  HNSW index in {hnsw_s:.0f} s", flush=True)
    began = time.perf_counter()
    await connection.execute("VACUUM ANALYZE users, chats, chat_chunks")
    vacuum_s = time.perf_counter() - began
    result = Build(
        n=written,
        chats=len(chats),
        users=users,
        sample=sample_size,
        embed_per_s=round(embed_per_s, 1),
        sigma=round(model.sigma, 3),
        real_pairs=similarity_quantiles(sample, noise_rng),
        drawn_pairs=similarity_quantiles(drawn, noise_rng),
        load_s=round(load_s, 1),
        gin_s=round(gin_s, 1),
        hnsw_s=round(hnsw_s, 1),
        vacuum_s=round(vacuum_s, 1),
        hnsw=hnsw,
        built_at=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )
    comment = json.dumps(asdict(result)).replace("'", "''")
    await connection.execute(f"COMMENT ON TABLE chat_chunks IS '{comment}'")
    return result


async def embed(lines: list[str], *, query: bool = False) -> np.ndarray[Any, Any]:
    return np.asarray(await get_embedder().embed(lines, query=query), dtype=np.float32)


async def copy_units(
    connection: asyncpg.Connection,
    records: list[tuple[Any, ...]],
    model: VectorModel,
    rng: np.random.Generator,
) -> int:
    vectors = model.draw(rng.integers(0, len(model.sample), len(records)), rng)
    await connection.copy_records_to_table(
        "chat_chunks",
        records=[(*record, vector) for record, vector in zip(records, vectors, strict=True)],
        columns=CHUNK_COLUMNS,
    )
    return len(records)


# --- the scopes and the statements --------------------------------------------------------


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


# --- measuring ------------------------------------------------------------------------------


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


# --- the report -----------------------------------------------------------------------------


def render(
    *,
    build_: Build,
    built_now: bool,
    results: list[ScopeResult],
    server: dict[str, str],
    difficulty: dict[str, float],
    proposed: bool,
    prewarmed: bool,
    queries: int,
    run_s: float,
) -> str:
    settings = get_settings()
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    when = "built by this run" if built_now else f"reused, built {build_.built_at}"
    build_total = build_.load_s + build_.gin_s + build_.hnsw_s + build_.vacuum_s
    lines = [
        f"# Question-to-citations retrieval: {build_.n:,} units",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `python -m "
        f"bench.retrieval` on this machine: {os.cpu_count()} cores, {memory_gib:.0f} GiB, "
        f"PostgreSQL {server['server_version']} with pgvector {server['pgvector']} (the embedded "
        f"server of `scripts.stack`: shared_buffers {server['shared_buffers']}, jit "
        f"{server['jit']}). Other work shares the machine: each scope gives the 1-minute load "
        f"average before and after it. {queries} questions per scope, each its own unit of work "
        "through `retrieval.search`; question embedding not included.",
        "",
        f"Data ({when}): {build_.n:,} units in {build_.chats:,} chats of {build_.users:,} users "
        f"(one user's {FIFTH_CHATS} chats hold a fifth; one chat {LARGE_CHAT:.1%}; "
        f"{len(OTHER_LARGE_CHATS)} other large chats; the rest small chats of "
        f"{SMALL_CHAT_ROWS[0]}-{SMALL_CHAT_ROWS[1]} rows). Vectors: {build_.sample:,} generated "
        f"lines embedded by the default embedder ({build_.embed_per_s:.0f} lines/s), the rest "
        f"drawn around them (sigma {build_.sigma}); cosine similarity of random pairs p5 / p50 / "
        f"p95: real {' / '.join(map(str, build_.real_pairs))}, drawn "
        f"{' / '.join(map(str, build_.drawn_pairs))}.",
        "",
        "How hard these vectors are for HNSW, whatever the scope (20 questions, whole table): "
        f"recall@10 of the index {difficulty['ef40']:.2f} at ef_search 40, "
        f"{difficulty['ef100']:.2f} at 100, {difficulty['ef400']:.2f} at 400; a question's "
        f"1st / 10th / 100th nearest unit at cosine {difficulty['top1']:.3f} / "
        f"{difficulty['top10']:.3f} / {difficulty['top100']:.3f} (medians): the top 10 are "
        "near-ties, which approximate search cannot tell apart cheaply.",
        "",
        f"Build: COPY {build_.load_s:.0f} s (text generation included), GIN index "
        f"{build_.gin_s:.0f} s, HNSW index ({build_.hnsw}, 1 parallel helper) "
        f"{build_.hnsw_s:.0f} s, VACUUM ANALYZE {build_.vacuum_s:.0f} s: {build_total:.0f} s "
        f"in all. This run took {run_s:.0f} s.",
        "",
        f"Settings: RAG_EXACT_SEARCH_MAX {settings.rag_exact_search_max:,}, RAG_HNSW_EF_SEARCH "
        f"{settings.rag_hnsw_ef_search}, RAG_CANDIDATES {settings.rag_candidates} per side, "
        f"hnsw.iterative_scan relaxed_order (set by the service), hnsw.max_scan_tuples "
        f"{server['hnsw.max_scan_tuples']} (server), HNSW index {server['hnsw_index']}. "
        + (
            "PROPOSED service (`--proposed`): a GIN index on (chat_id, search) through "
            "btree_gin, and plan_cache_mode force_custom_plan for the database."
            if proposed
            else "The service as it is (schema of the migrations)."
        )
        + (
            " Table and indexes loaded into shared buffers (pg_prewarm) before measuring."
            if prewarmed
            else " Table and indexes larger than shared buffers: not prewarmed."
        ),
        "",
        f"## Per scope: target p95 <= {TARGET_P95_MS:.0f} ms with recall@10 >= {TARGET_RECALL}",
        "",
        "| scope | rows in scope | vector method | p50 / p95 / p99 ms | recall@10 | target "
        "| load |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        met = r.service.p(0.95) <= TARGET_P95_MS and r.recall >= TARGET_RECALL
        lines.append(
            f"| {r.scope} | {r.rows:,}{' (median)' if r.scope == 'one small chat' else ''} | "
            f"{r.method} | {r.service.triple()} | {r.recall:.3f} | {'met' if met else 'MISSED'} "
            f"| {r.load[0]:.1f} / {r.load[1]:.1f} |"
        )
    lines += [
        "",
        "## Anchor: the same exact vector-side SQL through bare asyncpg",
        "",
        "The service's `vector_hits` with `(embedding <=> q) + 0`, its filters and `words >= "
        f"{retrieval.MIN_VECTOR_WORDS}`, over the same scope: the truth for recall, and the "
        "cost of searching the scope exactly.",
        "",
        "| scope | exact p50 / p95 / p99 ms | service / exact, p50 | service / exact, p95 |",
        "|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.scope} | {r.exact.triple()} | {r.service.p(0.5) / r.exact.p(0.5):.2f} | "
            f"{r.service.p(0.95) / r.exact.p(0.95):.2f} |"
        )
    lines += [
        "",
        "## The full-text side's share",
        "",
        "The service's statement through bare asyncpg, and the same statement cut after "
        "`text_hits` (the `terms`, `weights`, `selecting` and `text_hits` CTEs alone).",
        "",
        "| scope | statement p50 / p95 ms | text side p50 / p95 ms | text side share, p50 |",
        "|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.scope} | {r.hybrid.p(0.5):.1f} / {r.hybrid.p(0.95):.1f} | "
            f"{r.text_side.p(0.5):.1f} / {r.text_side.p(0.95):.1f} | "
            f"{r.text_side.p(0.5) / r.hybrid.p(0.5):.0%} |"
        )
    if any(r.sweep for r in results):
        lines += [
            "",
            "## Sweep: the vector side alone, bare asyncpg, other methods",
            "",
            "| scope | method | p50 / p95 / p99 ms | recall@10 |",
            "|---|---|---|---|",
        ]
        for r in results:
            for name, timing, found in r.sweep:
                lines.append(f"| {r.scope} | {name} | {timing.triple()} | {found:.3f} |")
    return "\n".join(lines) + "\n"


# --- main -----------------------------------------------------------------------------------


def database_url(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def ensure_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    connection = await asyncpg.connect(plain(database_url(url, "postgres")))
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def migrate(url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


async def connect(url: str) -> asyncpg.Connection:
    connection = await asyncpg.connect(plain(url))
    await register_vector(connection)
    # regconfig in binary: its oid (COPY has no text fallback).
    await connection.set_type_codec(
        "regconfig",
        schema="pg_catalog",
        format="binary",
        encoder=lambda oid: struct.pack("!I", oid),
        decoder=lambda data: struct.unpack("!I", data)[0],
    )
    return connection


async def server_facts(connection: asyncpg.Connection) -> dict[str, str]:
    facts = {
        name: await connection.fetchval(f"SHOW {name}")
        for name in ("server_version", "shared_buffers", "jit", "hnsw.max_scan_tuples")
    }
    facts["pgvector"] = await connection.fetchval(
        "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
    )
    options = await connection.fetchval(
        "SELECT reloptions FROM pg_class WHERE relname = 'ix_chat_chunks_embedding'"
    )
    facts["hnsw_index"] = ", ".join(options or [])
    return facts


#: Proposed for the service, measured with `--proposed`: a GIN index of (chat_id, search), so
#: that full text finds the scope's matches in the index instead of fetching every match in
#: the table and then dropping those of other chats; and plans made for each question's own
#: parameters (the generic plan of the prepared statement is blind to the scope's size).
PROPOSED_INDEX = "ix_chat_chunks_chat_id_search"


async def set_mode(url: str, *, proposed: bool) -> None:
    """The bench database as the service has it, or with the proposed changes."""
    name = urlsplit(url).path.lstrip("/")
    connection = await asyncpg.connect(plain(url))
    try:
        if proposed:
            await connection.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
            await connection.execute(
                f"CREATE INDEX IF NOT EXISTS {PROPOSED_INDEX} ON chat_chunks "
                "USING gin (chat_id, search)"
            )
            await connection.execute(
                f'ALTER DATABASE "{name}" SET plan_cache_mode = force_custom_plan'
            )
        else:
            await connection.execute(f"DROP INDEX IF EXISTS {PROPOSED_INDEX}")
            await connection.execute(f'ALTER DATABASE "{name}" RESET plan_cache_mode')
    finally:
        await connection.close()


async def prewarm(connection: asyncpg.Connection) -> bool:
    """Load the table and its indexes into shared buffers when they fit, as they are on a
    server that has been answering questions for a while; whether it did."""
    size = await connection.fetchval("SELECT pg_total_relation_size('chat_chunks')")
    buffers = await connection.fetchval(
        "SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'shared_buffers'"
    )
    if size > 0.9 * buffers:
        return False
    await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
    await connection.execute(
        "SELECT pg_prewarm(oid) FROM pg_class WHERE oid = 'chat_chunks'::regclass "
        "OR oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'chat_chunks'::regclass)"
    )
    return True


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.retrieval",
        description="Retrieval latency and recall@10 per scope at scale (see the docstring).",
    )
    parser.add_argument("--n", type=int, default=1_000_000, help="units (default 1,000,000)")
    parser.add_argument("--queries", type=int, default=200, help="questions per scope")
    parser.add_argument("--sample", type=int, default=2000, help="lines really embedded")
    parser.add_argument("--rebuild", action="store_true", help="build even if the data exist")
    parser.add_argument("--m", type=int, default=16, help="HNSW m of a build")
    parser.add_argument("--ef-construction", type=int, default=64, help="HNSW ef_construction")
    parser.add_argument("--sweep", action="store_true", help="also time other vector methods")
    parser.add_argument(
        "--proposed",
        action="store_true",
        help="measure the service with the proposed index and plan setting (see the report)",
    )
    parser.add_argument("--database", default=DATABASE, help="the database holding the data")
    parser.add_argument(
        "--report", type=Path, help=f"default {REPORT.name}, or {PROPOSED_REPORT.name}"
    )
    return parser.parse_args()


async def main() -> None:
    args = parse_args()
    began = time.perf_counter()
    settings = get_settings()
    url = database_url(settings.database_url, args.database)
    await ensure_database(url)
    await asyncio.to_thread(migrate, url)
    connection = await connect(url)
    stored = await stored_build(connection)
    built_now = args.rebuild or stored is None or stored.n != args.n
    if built_now:
        stored = await build(
            connection,
            n=args.n,
            sample_size=args.sample,
            m=args.m,
            ef_construction=args.ef_construction,
        )
    assert stored is not None
    build_s = time.perf_counter() - began if built_now else 0.0
    await connection.close()
    await set_mode(url, proposed=args.proposed)
    connection = await connect(url)
    prewarmed = await prewarm(connection)

    scopes = await load_scopes(connection, args.queries)
    rng = random.Random(5)
    texts = [question(rng) for _ in range(args.queries)]
    questions = [
        Question(text, vector)
        for text, vector in zip(texts, await embed(texts, query=True), strict=True)
    ]
    print("measuring how hard the vectors are for HNSW", flush=True)
    difficulty = await index_difficulty(connection, questions[:20])
    engine = create_engine(settings.model_copy(update={"database_url": url}))
    sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
    results = []
    try:
        for scope in scopes:
            print(f"measuring {scope.name} ({scope.rows:,} rows)", flush=True)
            results.append(
                await measure(scope, questions, sessions, connection, SWEEP if args.sweep else [])
            )
        server = await server_facts(connection)
    finally:
        await engine.dispose()
        await connection.close()
    run_s = time.perf_counter() - began
    report = render(
        build_=stored,
        built_now=built_now,
        results=results,
        server=server,
        difficulty=difficulty,
        proposed=args.proposed,
        prewarmed=prewarmed,
        queries=args.queries,
        run_s=run_s,
    )
    if built_now:
        report += f"\nOf this run's {run_s:.0f} s, {build_s:.0f} s went to the build.\n"
    print(report)
    path = args.report or (PROPOSED_REPORT if args.proposed else REPORT)
    if path.exists() and NOTES in path.read_text():
        report += "\n" + NOTES + path.read_text().split(NOTES, 1)[1]
    path.write_text(report)


if __name__ == "__main__":
    asyncio.run(main())
