"""End-to-end insight throughput: 1,000 `activity` insights through the outbox, the broker
and the default worker (prefork, concurrency 2), from the first request to the last
completion. Writes bench/reports/insight_jobs.md.

    make bench   (or: python -m scripts.stack exec -- python -m bench.insight_jobs)
"""

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import delete, func, select

from bench.chat_import import generate_whatsapp
from src.chats import service as chats_service
from src.chats.importing import ImportRequest
from src.credits import service as credits_service
from src.credits.models import CreditKind
from src.database import SessionLocal, engine, get_async_db_transaction
from src.insights import service as insights_service
from src.insights.models import Insight
from src.outbox import service as outbox
from src.users.models import User

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "bench" / "reports" / "insight_jobs.md"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--insights", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=300, help="per chat")
    parser.add_argument("--concurrency", default="2", help="worker processes")
    parser.add_argument("--clients", type=int, default=8, help="concurrent requests")
    args = parser.parse_args()

    async with SessionLocal() as session:
        user = User(email=f"bench-{uuid.uuid4().hex}@example.com", password_hash="x")
        session.add(user)
        await session.commit()
        user_id = user.id
    await credits_service.run(
        lambda s: credits_service.grant(
            s, user_id, args.insights * 10, kind=CreditKind.ADMIN_GRANT, idempotency_key="bench"
        )
    )
    base = generate_whatsapp(args.messages)
    chat_ids = []
    began = time.perf_counter()
    for index in range(args.insights):
        request = ImportRequest(
            data=base + f"01/01/2030, 00:00 - Ben: chat {index}\n".encode(),
            filename="chat.txt",
            title=None,
            timezone="UTC",
            format=None,
        )
        chat, _ = await chats_service.import_export(user_id, request)
        chat_ids.append(chat.id)
    print(
        f"{args.insights} chats of {args.messages} messages imported in "
        f"{time.perf_counter() - began:.1f} s",
        flush=True,
    )

    env = {**os.environ, "CELERY_WORKER": "true", "LOG_LEVEL": "WARNING"}
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery_app",
        "worker",
        "-Q",
        "chatsight",
        "--concurrency",
        args.concurrency,
        "--loglevel",
        "WARNING",
        "--without-gossip",
        "--without-mingle",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await asyncio.sleep(3)  # let the worker connect before the clock starts
        request_latencies = []
        gate = asyncio.Semaphore(args.clients)

        async def request(chat_id: uuid.UUID) -> None:
            async with gate:
                sent = time.perf_counter()
                await insights_service.request_insight(user_id, chat_id, "activity")
                request_latencies.append(time.perf_counter() - sent)

        began = time.perf_counter()
        await asyncio.gather(*(request(chat_id) for chat_id in chat_ids))
        requested = time.perf_counter() - began
        await outbox.wait_idle()
        while True:
            async with SessionLocal() as session:
                done = await session.scalar(
                    select(func.count())
                    .select_from(Insight)
                    .where(Insight.user_id == user_id, Insight.status == "completed")
                )
            if done >= args.insights:
                break
            await asyncio.sleep(0.2)
        total = time.perf_counter() - began
    finally:
        worker.terminate()
        await worker.wait()

    async with get_async_db_transaction() as session:
        await session.execute(delete(User).where(User.id == user_id))
    await engine.dispose()

    lines = [
        "# Insight jobs end to end",
        "",
        f"{args.insights} `activity` insights, one per chat of {args.messages + 1} messages; "
        f"default worker (prefork, concurrency {args.concurrency}); measured "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on this machine (2 cores).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| requests ({args.clients} at a time, one user) | {requested:.2f} s, "
        f"median {statistics.median(request_latencies) * 1000:.1f} ms each |",
        f"| first request to last completion | {total:.2f} s |",
        f"| end-to-end jobs per second | {args.insights / total:.0f} |",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    REPORT.write_text(report)


if __name__ == "__main__":
    asyncio.run(main())
