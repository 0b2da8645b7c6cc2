"""`python -m bench.retrieval`: build or reuse the data, measure every scope, write the
report (see the package's docstring)."""

import argparse
import asyncio
import random
import struct
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from alembic.config import Config
from pgvector.asyncpg import register_vector
from sqlalchemy.ext.asyncio import async_sessionmaker

from alembic import command
from bench.retrieval.data import build, embed, question, stored_build
from bench.retrieval.measure import SWEEP, Question, index_difficulty, load_scopes, measure
from bench.retrieval.report import render
from src.config import get_settings
from src.database import create_engine

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "bench" / "reports" / "retrieval.md"
#: A report's reading, written by hand below this line, is kept when the figures are rewritten.
NOTES = "<!-- notes below are written by hand; bench.retrieval keeps them -->"
DATABASE = "chatsight_bench_retrieval"


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
    parser.add_argument("--sweep", action="store_true", help="also time other vector methods")
    parser.add_argument("--database", default=DATABASE, help="the database holding the data")
    parser.add_argument("--report", type=Path, default=REPORT)
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
        stored = await build(connection, n=args.n, sample_size=args.sample)
    assert stored is not None
    build_s = time.perf_counter() - began if built_now else 0.0
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
        prewarmed=prewarmed,
        queries=args.queries,
        run_s=run_s,
    )
    if built_now:
        report += f"\nOf this run's {run_s:.0f} s, {build_s:.0f} s went to the build.\n"
    print(report)
    path = args.report
    if path.exists() and NOTES in path.read_text():
        report += "\n" + NOTES + path.read_text().split(NOTES, 1)[1]
    path.write_text(report)


if __name__ == "__main__":
    asyncio.run(main())
