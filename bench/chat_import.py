"""Import speed against physical limits: a realistic 100,000-message WhatsApp export.

Reports (median of --repeat runs): parse time; store time (our COPY path, in a transaction
with the chat row); end-to-end through the API (upload, parse, store; both the inline path
and the worker-job path); and a bare asyncpg `copy_records_to_table` of the same rows into a
scratch table, as the floor the store is compared with. Writes bench/reports/chat_import.md.

    make bench   (or: python -m scripts.stack exec -- python -m bench.chat_import)
"""

import argparse
import asyncio
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import delete

from src.chats import importing
from src.chats.models import Chat
from src.chats.parsers import parse_export
from src.config import get_settings
from src.database import SessionLocal, engine, get_async_db_transaction
from src.main import app
from src.users.models import User

REPORT = Path(__file__).resolve().parent / "reports" / "chat_import.md"
PEOPLE = ["Ana García", "Ben", "Chloé 🌸", "Dmitri", "Eve Martin", "+34 600 123 456"]
WORDS = (
    "hola que tal vale nos vemos mañana at the station ok see you soon 😂 lunch tomorrow? "
    "yes no maybe the train is late again did you see the match photos from saturday "
    "I'll call you later love it 👍 where are you meeting at 8 sounds good"
).split()


def generate_whatsapp(messages: int, seed: int = 7) -> bytes:
    """An Android-style, day-first, 24 h export with multi-line messages, media and a few
    system lines, like a real group chat over a couple of years."""
    rng = random.Random(seed)
    moment = datetime(2023, 1, 1, 8, 0)
    lines = [f"{moment:%d/%m/%Y, %H:%M} - Messages and calls are end-to-end encrypted."]
    for index in range(messages):
        moment += timedelta(seconds=rng.randint(5, 1500))
        stamp = f"{moment:%d/%m/%Y, %H:%M}"
        sender = rng.choice(PEOPLE)
        roll = rng.random()
        if roll < 0.03:
            body = "<Media omitted>"
        elif roll < 0.035:
            lines.append(f"{stamp} - {sender} changed the group description")
            continue
        else:
            body = " ".join(rng.choices(WORDS, k=rng.randint(2, 18)))
            if roll > 0.95:
                body += "\n" + " ".join(rng.choices(WORDS, k=rng.randint(2, 10)))
        lines.append(f"{stamp} - {sender}: {body}")
        del index
    return ("\n".join(lines) + "\n").encode()


async def timed(fn: Callable[[], Awaitable[object]], repeat: int) -> list[float]:
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        await fn()
        runs.append(time.perf_counter() - began)
    return runs


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings = get_settings()

    data = generate_whatsapp(args.messages)
    parse_runs = []
    for _ in range(args.repeat):
        began = time.perf_counter()
        parsed = await asyncio.to_thread(parse_export, data, filename="chat.txt")
        parse_runs.append(time.perf_counter() - began)
    count = len(parsed.messages)
    print(f"export: {len(data) / 1e6:.1f} MB, {count} messages parsed", flush=True)

    async with SessionLocal() as session:
        user = User(email=f"bench-{uuid.uuid4().hex}@example.com", password_hash="x")
        session.add(user)
        await session.commit()
        user_id = user.id

    async def store_once() -> None:
        async with get_async_db_transaction() as session:
            chat = Chat(
                user_id=user_id,
                title="bench",
                source_format="whatsapp",
                status="ready",
                participants=[],
            )
            session.add(chat)
            await session.flush()
            await importing.store_messages(
                session, chat.id, parsed.messages, [(i + 1, i) for i in range(count)]
            )

    store_runs = await timed(store_once, args.repeat)

    records = [
        (uuid.uuid4(), seq, m.sender, m.sent_at, m.text, m.kind.value)
        for seq, m in enumerate(parsed.messages, 1)
    ]
    url = settings.database_url.replace("postgresql+asyncpg://", "postgresql://")

    async def bare_copy() -> None:
        connection = await asyncpg.connect(url)
        try:
            async with connection.transaction():
                await connection.execute(
                    "CREATE TEMP TABLE scratch (chat_id uuid, seq int, sender varchar(200),"
                    " sent_at timestamptz, text text, kind varchar(8)) ON COMMIT DROP"
                )
                await connection.copy_records_to_table(
                    "scratch",
                    records=records,
                    columns=["chat_id", "seq", "sender", "sent_at", "text", "kind"],
                )
        finally:
            await connection.close()

    copy_runs = await timed(bare_copy, args.repeat)

    from src.auth.security import create_access_token

    headers = {"Authorization": f"Bearer {create_access_token(user_id)}"}
    transport = httpx.ASGITransport(app=app)

    async def upload(salt: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            response = await client.post(
                "/api/v1/chats/import",
                files={"file": ("chat.txt", data + salt.encode(), "text/plain")},
                headers=headers,
                timeout=300,
            )
        response.raise_for_status()
        return response

    async def inline_api() -> None:
        settings.import_inline_max_bytes = len(data) + 100
        response = await upload(f"\n01/01/2030, 00:00 - Ben: {uuid.uuid4()}")
        assert response.status_code == 201, response.text

    async def job_api() -> None:
        settings.import_inline_max_bytes = 0
        response = await upload(f"\n01/01/2030, 00:00 - Ben: {uuid.uuid4()}")
        assert response.status_code == 202, response.text
        # What the worker runs for this job, here in-process so the clock covers it all.
        assert await importing.run_import(uuid.UUID(response.json()["id"])) == "imported"

    import src.broker as broker

    async def no_queue(name: str, *args: object, **kwargs: object) -> str:
        return "bench"

    broker.enqueue = no_queue  # type: ignore[assignment]
    inline_runs = await timed(inline_api, args.repeat)
    job_runs = await timed(job_api, args.repeat)

    async with get_async_db_transaction() as session:
        await session.execute(delete(User).where(User.id == user_id))
    await engine.dispose()

    parse_s, store_s, copy_s = (statistics.median(r) for r in (parse_runs, store_runs, copy_runs))
    inline_s, job_s = statistics.median(inline_runs), statistics.median(job_runs)
    rows = [
        ("parse (thread, parse_export)", parse_s),
        ("store (our COPY path, in a transaction)", store_s),
        ("bare asyncpg copy_records_to_table, same rows", copy_s),
        ("end to end, API inline path (upload, parse, store)", inline_s),
        ("end to end, API job path (upload, stage, worker parse + store)", job_s),
    ]
    lines = [
        "# Chat import: 100,000-message WhatsApp export",
        "",
        f"{len(data) / 1e6:.1f} MB, {count} messages; median of {args.repeat} runs; "
        f"measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on this machine "
        "(2 cores).",
        "",
        "| step | seconds | messages/s |",
        "|---|---|---|",
        *(f"| {name} | {seconds:.2f} | {count / seconds:,.0f} |" for name, seconds in rows),
        "",
        f"Store / bare COPY ratio: {store_s / copy_s:.2f}",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report)


if __name__ == "__main__":
    asyncio.run(main())
