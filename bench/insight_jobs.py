"""Insight throughput, alone and behind bulk work, against the broker's own floor, in one run:

1. anchor: N no-op tasks (`chatsight.diagnostics.ping`) through the same broker and the same
   interactive worker (prefork, concurrency 2, queue `chatsight`): the most this worker can
   run per second, whatever the task does;
2. insights alone: N `activity` insights from the first request (`request_insight`: the
   outbox, the relay, the broker) to the last completion, with no bulk work queued (the
   chats are written straight to the database, so no indexing job is staged);
3. insights behind indexing: the same N insights (on chats of their own) while 1,000
   indexing jobs (`chatsight.rag.index_chat`, one per chat) wait on `chatsight.bulk` and the
   bulk worker (concurrency 1) is busy embedding them; once for each `--bulk-nice` value, the
   CPU priority the bulk worker runs at.

Writes bench/reports/insight_jobs.md. It purges both queues at the start and at the end: run
it on servers of its own, not under a live `make run`.

    make bench   (or: python -m scripts.stack exec -- python -m bench.insight_jobs)
    python -m scripts.stack exec -- python -m bench.insight_jobs --insights 100 --pings 200 \
        --index-jobs 100 --messages 100          # small
"""

import argparse
import asyncio
import functools
import os
import platform
import signal
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError

from bench.chat_import import generate_whatsapp
from scripts.stack import lower_priority
from src import broker
from src.chats import importing
from src.chats.models import Chat, IndexStatus
from src.chats.parsers import ParsedChat
from src.config import get_settings
from src.credits import service as credits_service
from src.credits.models import CreditKind
from src.database import SessionLocal, engine, get_async_db_transaction
from src.database_utils import sqlstate_of
from src.insights import service as insights_service
from src.insights.models import Insight, InsightStatus
from src.logging import configure_logging
from src.outbox import service as outbox
from src.rag import indexing as rag_indexing
from src.rag.models import ChatChunk
from src.users.models import User
from workers.celery_app import BULK_QUEUE, INTERACTIVE_QUEUE, celery_app

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "bench" / "reports" / "insight_jobs.md"
PING_TASK = "chatsight.diagnostics.ping"
# kombu's Redis transport keeps a delivered, not yet acknowledged message in this hash.
UNACKED_KEY = "unacked"
CHATS_PER_TRANSACTION = 50
INSUFFICIENT_PRIVILEGE = "42501"
READY_TIMEOUT_S = 120.0  # for a worker to start taking work
RUN_TIMEOUT_S = 1800.0  # for a phase to finish


# ---- workers ------------------------------------------------------------------------------


async def spawn_worker(
    name: str, queue: str, concurrency: int, *, nice: int = 0
) -> asyncio.subprocess.Process:
    """A Celery worker as `scripts/stack.py run` starts it: in a session of its own (its pool
    is stopped with it), `nice` below the bench's CPU priority, lowered the same way."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery_app",
        "worker",
        "-Q",
        queue,
        "--concurrency",
        str(concurrency),
        "-n",
        f"{name}@%h",
        # Logging below INFO and no gossip/mingle: they cost nothing a task waits on, and
        # the two workers' events do not reach each other.
        "--loglevel",
        "WARNING",
        "--without-gossip",
        "--without-mingle",
    ]
    return await asyncio.create_subprocess_exec(
        *command,
        cwd=ROOT,
        env={**os.environ, "CELERY_WORKER": "true", "LOG_LEVEL": "WARNING"},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=functools.partial(lower_priority, nice) if nice else None,
    )


async def stop_worker(worker: asyncio.subprocess.Process) -> None:
    """Warm shutdown (the running task finishes, prefetched ones go back to the queue), asked
    of the main process, which stops its pool; the whole session is killed if it has not
    gone within 30 s."""
    if worker.returncode is not None:
        return
    worker.terminate()
    try:
        await asyncio.wait_for(worker.wait(), 30)
    except TimeoutError:
        os.killpg(worker.pid, signal.SIGKILL)
        await worker.wait()


def check_alive(*workers: asyncio.subprocess.Process) -> None:
    for worker in workers:
        if worker.returncode is not None:
            raise RuntimeError(f"a worker exited with {worker.returncode}")


# ---- the broker ---------------------------------------------------------------------------


def purge_queues() -> None:
    with celery_app.connection_for_write() as connection:
        for queue in (INTERACTIVE_QUEUE, BULK_QUEUE):
            connection.default_channel.queue_purge(queue)


async def broker_state(queue: str) -> tuple[int, int]:
    """(messages waiting in `queue`, messages delivered and not yet acknowledged), read in one
    transaction. No task here sets a priority, so every message is in the queue's plain list."""
    async with broker.get_redis().pipeline(transaction=True) as pipe:
        waiting, unacked = await pipe.llen(queue).hlen(UNACKED_KEY).execute()
    return int(waiting), int(unacked)


async def wait_broker_drained(
    queue: str, unacked_before: int, worker: asyncio.subprocess.Process
) -> None:
    """Until the worker has run every message sent to `queue`.

    There is no result backend (`task_ignore_result`), so completion is read at the broker:
    with `task_acks_late` a message is acknowledged (and leaves kombu's `unacked` hash) only
    after its task has returned, so "none waiting and none unacknowledged" means all have
    run. This asks nothing of the worker (the ping's log line is off at WARNING; `inspect()`
    counts tasks when they start and each call waits a second for replies) and works at any
    rate. Its one blind spot is the instant between the worker's BRPOP and its HSET into
    `unacked`: at worst the last ping is still running, a millisecond, when this returns.
    Only this worker's messages move meanwhile (the bulk worker is not running yet)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        waiting, unacked = await broker_state(queue)
        if waiting == 0 and unacked <= unacked_before:
            return
        check_alive(worker)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{queue}: {waiting} waiting, {unacked} unacked after the timeout")
        await asyncio.sleep(0.005)


@dataclass(frozen=True)
class AnchorRun:
    tasks: int
    sent_s: float
    total_s: float


async def run_anchor(worker: asyncio.subprocess.Process, count: int) -> AnchorRun:
    """`count` pings, from the first send to the last one run."""
    _, unacked_before = await broker_state(INTERACTIVE_QUEUE)

    def send_all() -> None:
        for index in range(count):
            broker.send_task(PING_TASK, (f"bench-{index}",))

    began = time.perf_counter()
    await asyncio.to_thread(send_all)
    sent = time.perf_counter() - began
    await wait_broker_drained(INTERACTIVE_QUEUE, unacked_before, worker)
    return AnchorRun(count, sent, time.perf_counter() - began)


# ---- chats --------------------------------------------------------------------------------


async def create_chats(user_id: uuid.UUID, parsed: ParsedChat, count: int) -> list[uuid.UUID]:
    """`count` ready chats holding `parsed`'s messages, written as an import writes them
    (`importing.store_messages` and the row's ready values) but with no indexing job staged:
    nothing lands on the bulk queue until `queue_indexing` says so."""
    request = importing.ImportRequest(
        data=b"", filename="chat.txt", title=None, timezone="UTC", format=None
    )
    placed = [(i + 1, i) for i in range(len(parsed.messages))]
    chat_ids: list[uuid.UUID] = []
    for start in range(0, count, CHATS_PER_TRANSACTION):
        async with get_async_db_transaction() as session:
            for _ in range(start, min(count, start + CHATS_PER_TRANSACTION)):
                values = {
                    **importing.new_chat_values(request, parsed.title),
                    **importing.ready_values(parsed),
                }
                chat = Chat(user_id=user_id, **values)
                session.add(chat)
                await session.flush()
                await importing.store_messages(session, chat.id, parsed.messages, placed)
                chat_ids.append(chat.id)
    return chat_ids


async def settle_database() -> None:
    """Vacuum and analyse the tables just filled and checkpoint them, so that autovacuum and
    the checkpointer do not do it during the first timed run."""
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.exec_driver_sql("VACUUM ANALYZE chats, chat_messages")
        try:
            await autocommit.exec_driver_sql("CHECKPOINT")
        except DBAPIError as exc:
            if sqlstate_of(exc) != INSUFFICIENT_PRIVILEGE:
                raise
            # Not a superuser (nor pg_checkpoint): the checkpointer writes them in its time.


async def queue_indexing(chat_ids: Sequence[uuid.UUID]) -> None:
    """Stage one indexing job per chat (as an import does), then publish them all."""
    for start in range(0, len(chat_ids), CHATS_PER_TRANSACTION):
        async with get_async_db_transaction() as session:
            chats = await session.scalars(
                select(Chat).where(Chat.id.in_(chat_ids[start : start + CHATS_PER_TRANSACTION]))
            )
            for chat in chats:
                await rag_indexing.queue(session, chat)
    await outbox.wait_idle()
    while await outbox.pending_count():
        await outbox.relay()


@dataclass(frozen=True)
class IndexingState:
    queued: int  # jobs waiting on the bulk queue
    done: int  # chats indexed
    embedded: int  # vectors stored, over all the chats


async def indexing_state(chat_ids: Sequence[uuid.UUID]) -> IndexingState:
    waiting, _ = await broker_state(BULK_QUEUE)
    async with SessionLocal() as session:
        done = await session.scalar(
            select(func.count()).where(
                Chat.id.in_(chat_ids), Chat.index_status == IndexStatus.READY
            )
        )
        embedded = await session.scalar(
            select(func.count()).where(
                ChatChunk.chat_id.in_(chat_ids), ChatChunk.embedding.is_not(None)
            )
        )
    return IndexingState(waiting, done or 0, embedded or 0)


async def wait_embedding(
    chat_ids: Sequence[uuid.UUID], worker: asyncio.subprocess.Process
) -> IndexingState:
    """Until the bulk worker has stored its first vectors: it has loaded the model and is
    embedding, not starting up, when the insights are requested."""
    before = await indexing_state(chat_ids)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while (state := await indexing_state(chat_ids)).embedded == before.embedded:
        check_alive(worker)
        if time.monotonic() > deadline:
            raise RuntimeError("the bulk worker embedded nothing before the timeout")
        await asyncio.sleep(0.25)
    return state


# ---- insights -----------------------------------------------------------------------------


@dataclass(frozen=True)
class InsightRun:
    insights: int
    requested_s: float  # first request sent to last request answered
    total_s: float  # first request sent to last insight completed
    latencies: list[float]


async def run_insights(
    user_id: uuid.UUID,
    chat_ids: Sequence[uuid.UUID],
    clients: int,
    workers: Sequence[asyncio.subprocess.Process],
) -> InsightRun:
    """One `activity` insight per chat, `clients` requests at a time, until all completed."""
    latencies: list[float] = []
    gate = asyncio.Semaphore(clients)

    async def request(chat_id: uuid.UUID) -> None:
        async with gate:
            sent = time.perf_counter()
            await insights_service.request_insight(user_id, chat_id, "activity")
            latencies.append(time.perf_counter() - sent)

    began = time.perf_counter()
    await asyncio.gather(*(request(chat_id) for chat_id in chat_ids))
    requested = time.perf_counter() - began
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        # Stands in for beat's periodic relay, which the bench does not run: an after-commit
        # relay that finds another one holding the relay lock leaves its row to the next run,
        # and should that befall the last rows, nothing else would send them.
        await outbox.relay()
        async with SessionLocal() as session:
            done = await session.scalar(
                select(func.count())
                .select_from(Insight)
                .where(Insight.chat_id.in_(chat_ids), Insight.status == InsightStatus.COMPLETED)
            )
        if (done or 0) >= len(chat_ids):
            break
        check_alive(*workers)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{done} of {len(chat_ids)} insights completed before the timeout")
        await asyncio.sleep(0.1)
    return InsightRun(len(chat_ids), requested, time.perf_counter() - began, latencies)


# ---- the report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BehindRun:
    nice: int
    insights: InsightRun
    started: IndexingState  # when the first insight was requested
    finished: IndexingState  # when the last one completed


def machine() -> str:
    cpu = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores"


def insight_row(label: str, run: InsightRun, anchor: AnchorRun, alone: InsightRun | None) -> str:
    rate = run.insights / run.total_s
    versus_alone = f"{alone.total_s / run.total_s:.2f}" if alone else "1"
    return (
        f"| {label} | {run.total_s:.2f} s | {rate:.0f} jobs/s | "
        f"{rate / (anchor.tasks / anchor.total_s):.2f} | {versus_alone} | "
        f"{statistics.median(run.latencies) * 1000:.1f} ms | "
        f"{run.insights / run.requested_s:.0f} |"
    )


def report(
    args: argparse.Namespace, anchor: AnchorRun, alone: InsightRun, behind: list[BehindRun]
) -> str:
    lines = [
        "# Insight jobs: alone and behind bulk work",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()}, "
        f"Python {platform.python_version()}. Interactive worker: prefork, concurrency "
        f"{args.concurrency}, queue `{INTERACTIVE_QUEUE}`; bulk worker: concurrency 1, queue "
        f"`{BULK_QUEUE}`; both log at WARNING. Insights: `activity`, one per chat of "
        f"{args.messages + 1} messages, {args.clients} requests at a time "
        "(`request_insight` in the bench's process), timed from the first request to the "
        "last completion.",
        "",
        "| run | wall time | rate | / anchor | / alone | median request | requests/s |",
        "|---|---|---|---|---|---|---|",
        f"| no-op task anchor ({anchor.tasks} pings, sent in {anchor.sent_s:.2f} s) | "
        f"{anchor.total_s:.2f} s | {anchor.tasks / anchor.total_s:.0f} tasks/s | 1 | | | "
        f"{anchor.tasks / anchor.sent_s:.0f} |",
        insight_row(f"{alone.insights} insights alone", alone, anchor, None),
    ]
    for run in behind:
        lines.append(
            insight_row(
                f"{run.insights.insights} insights behind {args.index_jobs:,} indexing jobs, "
                f"bulk worker at nice {run.nice}",
                run.insights,
                anchor,
                alone,
            )
        )
    lines += [
        "",
        "/ anchor: the rate over the no-op task's through the same worker; / alone: the rate "
        "over the rate alone (1: as fast as alone). Nice: how far below the others' CPU "
        "priority the bulk worker runs (`scripts/stack.py run` uses `BULK_WORKER_NICE`, "
        "default 10).",
        "",
        "The indexing jobs behind which the insights ran (one per chat; the indexer stores "
        f"vectors {get_settings().embedding_batch_size} at a time):",
        "",
        "| bulk worker | jobs waiting at start / at end | chats indexed at start / at end | "
        "vectors stored during the insights |",
        "|---|---|---|---|",
    ]
    for run in behind:
        embedded = run.finished.embedded - run.started.embedded
        lines.append(
            f"| nice {run.nice} | {run.started.queued} / {run.finished.queued} | "
            f"{run.started.done} / {run.finished.done} | {embedded:,} "
            f"({embedded / run.insights.total_s:.0f}/s) |"
        )
    return "\n".join(lines) + "\n"


# ---- the run ------------------------------------------------------------------------------


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pings", type=int, default=1000, help="no-op tasks of the anchor")
    parser.add_argument("--insights", type=int, default=1000, help="per insight run")
    parser.add_argument("--index-jobs", type=int, default=1000, help="queued indexing jobs")
    parser.add_argument("--messages", type=int, default=300, help="per chat")
    parser.add_argument("--concurrency", type=int, default=2, help="interactive worker")
    parser.add_argument("--clients", type=int, default=8, help="concurrent requests")
    parser.add_argument("--warmup", type=int, default=20, help="untimed insights first")
    parser.add_argument(
        "--bulk-nice",
        type=int,
        nargs="+",
        default=[0, 10],
        help="one run behind indexing per CPU priority of the bulk worker",
    )
    args = parser.parse_args()
    # The request path logs every step at INFO: here that would be noise on the console and
    # CPU taken from the workers being measured (they log at WARNING too).
    configure_logging(json=False, level="WARNING")

    async with SessionLocal() as session:
        user = User(email=f"bench-{uuid.uuid4().hex}@example.com", password_hash="x")
        session.add(user)
        await session.commit()
        user_id = user.id
    workers: list[asyncio.subprocess.Process] = []
    try:
        runs = 1 + len(args.bulk_nice)
        await credits_service.run(
            lambda s: credits_service.grant(
                s,
                user_id,
                (args.warmup + runs * args.insights) * 10,
                kind=CreditKind.ADMIN_GRANT,
                idempotency_key="bench",
            )
        )
        parsed = importing.parse(
            importing.ImportRequest(
                data=generate_whatsapp(args.messages),
                filename="chat.txt",
                title=None,
                timezone="UTC",
                format=None,
            )
        )
        began = time.perf_counter()
        warmup_chats = await create_chats(user_id, parsed, args.warmup)
        insight_chats = [await create_chats(user_id, parsed, args.insights) for _ in range(runs)]
        bulk_chats = await create_chats(user_id, parsed, args.index_jobs)
        print(
            f"{args.warmup + runs * args.insights + args.index_jobs} chats of "
            f"{len(parsed.messages)} messages written in {time.perf_counter() - began:.1f} s",
            flush=True,
        )
        await settle_database()
        await asyncio.to_thread(purge_queues)

        interactive = await spawn_worker("worker", INTERACTIVE_QUEUE, args.concurrency)
        workers.append(interactive)
        await run_anchor(interactive, 1)  # returns once the worker takes work
        await run_insights(user_id, warmup_chats, args.clients, workers)

        anchor = await run_anchor(interactive, args.pings)
        print(f"anchor: {anchor.tasks / anchor.total_s:.0f} tasks/s", flush=True)
        print("insights alone: requesting", flush=True)
        alone = await run_insights(user_id, insight_chats[0], args.clients, workers)
        print(f"alone: {alone.insights / alone.total_s:.0f} jobs/s", flush=True)

        await queue_indexing(bulk_chats)
        behind: list[BehindRun] = []
        for nice, chat_ids in zip(args.bulk_nice, insight_chats[1:], strict=True):
            bulk = await spawn_worker("bulk-worker", BULK_QUEUE, 1, nice=nice)
            workers.append(bulk)
            started = await wait_embedding(bulk_chats, bulk)
            print(f"insights behind indexing, nice {nice}: requesting", flush=True)
            run = await run_insights(user_id, chat_ids, args.clients, workers)
            finished = await indexing_state(bulk_chats)
            behind.append(BehindRun(nice, run, started, finished))
            print(
                f"behind indexing, nice {nice}: {run.insights / run.total_s:.0f} jobs/s; "
                f"{finished.queued} indexing jobs waiting, {finished.done} done",
                flush=True,
            )
            await stop_worker(bulk)
            workers.remove(bulk)
    finally:
        for worker in workers:
            await stop_worker(worker)
        await asyncio.to_thread(purge_queues)
        async with get_async_db_transaction() as session:
            await session.execute(delete(User).where(User.id == user_id))  # and all it owns
        await broker.close_redis()
        await engine.dispose()

    text = report(args, anchor, alone, behind)
    print(text)
    REPORT.write_text(text)


if __name__ == "__main__":
    asyncio.run(main())
