"""The data of the retrieval benchmark: N units in chats of many users, lines with a long
tail of rarer words, and vectors drawn around really embedded lines (see `VectorModel`). A
build is kept in its own database, its facts in the comment of `chat_chunks`."""

import json
import random
import re
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import numpy as np
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from bench.chat_import import PEOPLE, WORDS
from src.rag.embeddings import get_embedder
from src.rag.models import ChatChunk

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
    index_s: dict[str, float]  # seconds by index, named by what it indexes and how
    vacuum_s: float
    built_at: str


async def stored_build(connection: asyncpg.Connection) -> Build | None:
    comment = await connection.fetchval("SELECT obj_description('chat_chunks'::regclass)")
    if not comment:
        return None
    try:
        return Build(**json.loads(comment))
    except (TypeError, ValueError):
        return None


async def build(connection: asyncpg.Connection, *, n: int, sample_size: int) -> Build:
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

    indexes = sorted(ChatChunk.__table__.indexes, key=lambda index: str(index.name))
    await connection.execute("TRUNCATE users CASCADE")
    for index in indexes:
        await connection.execute(f"DROP INDEX IF EXISTS {index.name}")
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

    # The schema's indexes are built after the load, as a bulk load should be; the HNSW graph
    # must fit in maintenance_work_mem, and one parallel helper is all two cores allow.
    await connection.execute("SET maintenance_work_mem = '4GB'")
    await connection.execute("SET max_parallel_maintenance_workers = 1")
    index_s = {}
    for index in indexes:
        ddl = str(CreateIndex(index).compile(dialect=postgresql.dialect()))
        began = time.perf_counter()
        await connection.execute(ddl)
        what = ddl.split(" ON ", 1)[1]  # "chat_chunks USING hnsw (embedding ...) WITH (...)"
        index_s[what] = round(time.perf_counter() - began, 1)
        print(f"  {what}: {index_s[what]:.0f} s", flush=True)
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
        index_s=index_s,
        vacuum_s=round(vacuum_s, 1),
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
