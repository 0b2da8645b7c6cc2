"""SIGKILL the worker in the middle of insights, imports and indexing.

Each test kills twice: first the pool processes running the jobs (the worker notices, and its
late-acked tasks go back to the queue), then the whole worker (its tasks stay unacknowledged
in the broker for the visibility timeout, an hour: only the sweepers can find that work) and
a new worker is started. Every job must then end exactly once: done, or failed with its
reason (and refunded where it was charged)."""

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from src.chats.models import Chat, ChatMessage
from src.database import SessionLocal
from src.insights.models import InsightGenerationJob
from src.insights.providers import local
from src.insights.providers.base import InsightOptions
from src.insights.repository import InsightRepository
from src.outbox import service as outbox
from src.rag.chunking import MIN_VECTOR_WORDS
from src.rag.models import ChatChunk
from tests.chats.test_api import unique_export, upload
from tests.factories import Account, register
from tests.faults.conftest import (
    Figures,
    grant,
    insight_figures,
    insight_outcomes,
    insights_ended,
    pairs,
    quiesce,
    until,
)
from tests.faults.processes import Process, start_worker

KILL_AFTER_SECONDS = 0.3  # into a job, so that it is well under way


async def kill_twice(
    env: dict[str, str], progress: Callable[[], Awaitable[int]]
) -> tuple[Process, float]:
    """Start a worker; once jobs run (`progress` grows), SIGKILL its pool processes; once they
    run again, SIGKILL the whole worker and start a new one. Returns the new worker and the
    time of the last kill."""
    worker = await start_worker(**env)
    try:
        for kill_all in (False, True):
            seen = await progress()
            started = await until(lambda seen=seen: grew(progress, seen), 60)
            assert started, f"no job started:\n{worker.output()[-3000:]}"
            await asyncio.sleep(KILL_AFTER_SECONDS)
            if kill_all:
                worker.kill()
            else:
                for pid in worker.children():
                    os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        return await start_worker(**env), killed_at
    finally:
        await worker.stop()


async def grew(progress: Callable[[], Awaitable[int]], since: int) -> bool:
    return await progress() > since


async def recovered(
    worker: Process, killed_at: float, ended: Callable[[], Awaitable[bool]]
) -> float:
    """Seconds from the last kill until every job has ended (or the deadline); stops the
    worker."""
    try:
        await until(ended)
        return time.monotonic() - killed_at
    finally:
        await worker.stop()


async def none_left(chat_ids: list[uuid.UUID], *where: Any) -> bool:
    """No chat of `chat_ids` matches `where` any more."""
    async with SessionLocal() as session:
        left = await session.scalar(
            select(func.count()).select_from(Chat).where(Chat.id.in_(chat_ids), *where)
        )
    return left == 0


async def test_sigkill_in_the_middle_of_insights(
    client: httpx.AsyncClient,
    model_server: dict[str, Any],
    summary_on_openai: Account,
    sweepers: None,
    record: Callable[[Figures], None],
) -> None:
    """Insights wait on a model that takes a second per answer, so kills land mid-job."""
    account = summary_on_openai
    await grant(account.id, 100)
    chat_ids = []
    for _ in range(8):
        response = await upload(client, account, unique_export())
        chat_ids.append(uuid.UUID(response.json()["id"]))
    async with SessionLocal() as session:
        messages = await InsightRepository(session).messages(chat_ids[0])
    # Every chat holds the same messages but one line: this answer fits each of them.
    model_server["answer"] = local.compute("summary", messages, InsightOptions())
    model_server["mode"] = "slow"
    model_server["delay"] = 1.0
    await quiesce()

    insight_ids = []
    for chat_id in chat_ids:
        response = await client.post(
            f"/api/v1/chats/{chat_id}/insights",
            json={"insight_type": "summary"},
            headers=account.headers,
        )
        assert response.status_code == 202, response.text
        insight_ids.append(uuid.UUID(response.json()["id"]))
    await outbox.wait_idle()

    async def calls() -> int:
        count: int = model_server["calls"]
        return count

    env = {"OPENAI_BASE_URL": model_server["url"], "OPENAI_MAX_RETRIES": "0"}
    worker, killed_at = await kill_twice(env, calls)
    recovery = await recovered(worker, killed_at, lambda: insights_ended(insight_ids))

    outcomes = await insight_outcomes(insight_ids)
    async with SessionLocal() as session:
        attempts = (
            await session.scalars(
                select(InsightGenerationJob.attempts).where(
                    InsightGenerationJob.insight_id.in_(insight_ids)
                )
            )
        ).all()
    figures = insight_figures(
        "SIGKILL the worker's pool processes, then the whole worker, mid-insight",
        outcomes,
        recovery,
        f"jobs run again after a kill: {sum(a > 1 for a in attempts)}",
    )
    record(figures)
    assert figures.lost == figures.doubled == 0
    assert figures.done + figures.failed == figures.jobs
    assert any(a > 1 for a in attempts), "no job was caught in the middle by a kill"


def big_export(messages: int, text: str) -> bytes:
    """A WhatsApp export of `messages` lines of `text` (and their number), unique by its first
    line."""
    start = datetime(2023, 1, 1, 8, 0)
    lines = [f"01/01/2023, 07:59 - Ana: ref {uuid.uuid4().hex}"]
    for i in range(messages - 1):
        at = start + timedelta(minutes=i)
        sender = "Ana" if i % 3 else "Ben"
        lines.append(f"{at:%d/%m/%Y, %H:%M} - {sender}: {text} {i}")
    return ("\n".join(lines) + "\n").encode()


async def test_sigkill_in_the_middle_of_imports(
    client: httpx.AsyncClient,
    sweepers: None,
    record: Callable[[Figures], None],
    monkeypatch: Any,
) -> None:
    """Imports large enough to take a few seconds each go to the worker."""
    from src.config import get_settings

    monkeypatch.setattr(get_settings(), "import_inline_max_bytes", 0)
    size = 60_000
    account = await register(client)
    await quiesce()
    chat_ids = []
    for _ in range(4):
        # Two words: too short to be embedded, so indexing them afterwards takes little.
        response = await upload(client, account, big_export(size, "ok"))
        assert response.status_code == 202, response.text
        chat_ids.append(uuid.UUID(response.json()["id"]))
    await outbox.wait_idle()

    async def runs() -> int:
        async with SessionLocal() as session:
            total = await session.scalar(
                select(func.sum(Chat.import_attempts)).where(Chat.id.in_(chat_ids))
            )
        return int(total or 0)

    worker, killed_at = await kill_twice({}, runs)
    recovery = await recovered(
        worker, killed_at, lambda: none_left(chat_ids, Chat.status == "importing")
    )

    async with SessionLocal() as session:
        chats = (await session.scalars(select(Chat).where(Chat.id.in_(chat_ids)))).all()
        stored = pairs(
            await session.execute(
                select(ChatMessage.chat_id, func.count(func.distinct(ChatMessage.seq)))
                .where(ChatMessage.chat_id.in_(chat_ids))
                .group_by(ChatMessage.chat_id)
            )
        )
        rows = pairs(
            await session.execute(
                select(ChatMessage.chat_id, func.count())
                .where(ChatMessage.chat_id.in_(chat_ids))
                .group_by(ChatMessage.chat_id)
            )
        )
    done = [c for c in chats if c.status == "ready"]
    failed = [c for c in chats if c.status == "failed"]
    figures = Figures(
        fault="SIGKILL the worker's pool processes, then the whole worker, mid-import",
        jobs=len(chats),
        done=sum(c.message_count == stored.get(c.id) == size for c in done),
        failed=sum(bool(c.error) and rows.get(c.id, 0) == 0 for c in failed),
        lost=sum(c.status == "importing" for c in chats),
        doubled=sum(rows.get(c.id, 0) != stored.get(c.id, 0) for c in chats),
        recovery_seconds=round(recovery, 1),
        notes=f"{size:,} messages each; imports run again after a kill: "
        f"{sum(c.import_attempts > 1 for c in chats)}",
    )
    record(figures)
    assert figures.lost == figures.doubled == 0
    assert figures.done + figures.failed == figures.jobs
    assert any(c.import_attempts > 1 for c in chats), "no import was caught by a kill"


async def test_sigkill_in_the_middle_of_indexing(
    client: httpx.AsyncClient, sweepers: None, record: Callable[[Figures], None]
) -> None:
    """Chats of a few hundred messages, each embedded batch by batch."""
    account = await register(client)
    size = 300
    await quiesce()
    chat_ids = []
    for _ in range(2):
        export = big_export(size, "we talked about the trip and the car")
        response = await upload(client, account, export)
        assert response.status_code == 201, response.text
        chat_ids.append(uuid.UUID(response.json()["id"]))
    await outbox.wait_idle()  # their indexing jobs are queued

    async def progress() -> int:
        async with SessionLocal() as session:
            total = await session.scalar(
                select(func.sum(Chat.index_attempts + Chat.indexed_messages)).where(
                    Chat.id.in_(chat_ids)
                )
            )
        return int(total or 0)

    worker, killed_at = await kill_twice({}, progress)
    recovery = await recovered(
        worker,
        killed_at,
        lambda: none_left(chat_ids, Chat.index_status.in_(["pending", "indexing"])),
    )

    async with SessionLocal() as session:
        chats = (await session.scalars(select(Chat).where(Chat.id.in_(chat_ids)))).all()
        units = pairs(
            await session.execute(
                select(
                    ChatChunk.chat_id,
                    func.count() - func.count(func.distinct(ChatChunk.message_id)),
                )
                .where(ChatChunk.chat_id.in_(chat_ids))
                .group_by(ChatChunk.chat_id)
            )
        )
        unembedded = await session.scalar(
            select(func.count())
            .select_from(ChatChunk)
            .where(
                ChatChunk.chat_id.in_(chat_ids),
                ChatChunk.embedding.is_(None),
                ChatChunk.words >= MIN_VECTOR_WORDS,
            )
        )
    figures = Figures(
        fault="SIGKILL the worker's pool processes, then the whole worker, mid-indexing",
        jobs=len(chats),
        done=sum(
            c.index_status == "ready" and c.indexed_messages == c.message_count for c in chats
        ),
        failed=sum(c.index_status == "failed" and bool(c.index_error) for c in chats),
        lost=sum(c.index_status in ("pending", "indexing") for c in chats),
        doubled=sum(units.values()),
        recovery_seconds=round(recovery, 1),
        notes=f"{size} messages each; indexing runs again after a kill: "
        f"{sum(c.index_attempts > 1 for c in chats)}; units left unembedded: {unembedded}",
    )
    record(figures)
    assert figures.lost == figures.doubled == 0
    assert figures.done + figures.failed == figures.jobs
    assert figures.failed or unembedded == 0
    assert any(c.index_attempts > 1 for c in chats), "no indexing was caught by a kill"
