"""Large uploads become import jobs: one run by a real worker process, the failure path by
calling the job's service function as the worker would."""

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from src.chats import importing
from src.chats.models import ChatMessage, ChatUpload
from src.config import get_settings
from src.database import SessionLocal
from tests.chats.test_api import unique_export, upload
from tests.factories import register
from tests.workers.process import WorkerProcess, json_event


async def stored_messages(chat_id: str) -> int:
    async with SessionLocal() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(ChatMessage)
            .where(ChatMessage.chat_id == uuid.UUID(chat_id))
        )
    return int(count or 0)


@pytest.mark.usefixtures("jobs_for_every_upload")
async def test_a_worker_imports_a_queued_export(
    client: httpx.AsyncClient, worker: WorkerProcess
) -> None:
    account = await register(client)
    response = await upload(client, account, unique_export())
    assert response.status_code == 202, response.text
    chat = response.json()
    assert (chat["status"], chat["import_progress"], chat["message_count"]) == ("importing", 0.0, 0)

    await worker.wait_for(
        lambda line: (
            json_event(line).get("event") in ("chat.imported", "chat.import_failed")
            and json_event(line).get("chat_id") == chat["id"]
        )
    )
    done = (await client.get(f"/api/v1/chats/{chat['id']}", headers=account.headers)).json()
    assert (done["status"], done["import_progress"], done["message_count"]) == ("ready", 1.0, 6)
    assert done["source_format"] == "whatsapp"
    assert done["title"] == "Ana"  # from the file name, as no title was given
    assert await stored_messages(chat["id"]) == 6
    async with SessionLocal() as session:
        assert await session.get(ChatUpload, uuid.UUID(chat["id"])) is None


@pytest.mark.usefixtures("jobs_for_every_upload")
async def test_a_failed_job_leaves_a_failed_chat_with_no_messages(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    junk = f"not a chat export {uuid.uuid4()}\n".encode() * 50
    queued = await upload(client, account, junk)
    assert queued.status_code == 202
    chat_id = queued.json()["id"]

    assert await importing.run_import(uuid.UUID(chat_id)) == "failed"
    failed = (await client.get(f"/api/v1/chats/{chat_id}", headers=account.headers)).json()
    assert failed["status"] == "failed"
    assert failed["error"]
    assert failed["message_count"] == 0
    assert await stored_messages(chat_id) == 0
    # a second delivery of the same job does nothing
    assert await importing.run_import(uuid.UUID(chat_id)) == "skipped"

    # uploading the same file again retries the import on the same chat
    again = await upload(client, account, junk)
    assert again.status_code == 202
    assert again.json()["id"] == chat_id
    assert again.json()["status"] == "importing"
    blocked = await client.post(
        f"/api/v1/chats/{chat_id}/messages",
        json={"messages": [{"sender": "A", "sent_at": "2026-01-01T00:00:00Z", "text": "x"}]},
        headers=account.headers,
    )
    assert blocked.status_code == 409


@pytest.mark.usefixtures("jobs_for_every_upload")
@pytest.mark.parametrize("mode", ["import", "merge"])
async def test_progress_is_written_while_the_messages_are_copied(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """Many COPY batches, a progress write after each: the progress writes (other
    transactions on the chat row) must never wait behind the storing transaction."""
    monkeypatch.setattr(importing, "PROGRESS_INTERVAL_SECONDS", 0.0)
    monkeypatch.setattr(get_settings(), "import_copy_batch", 100)
    account = await register(client)
    lines = "".join(
        f"{13 + i // 600:02d}/03/2024, {i // 60 % 10:02d}:{i % 60:02d} - Ana: line {i}\n"
        for i in range(1200)
    )
    ref = f"20/03/2024, 10:00 - Ben: ref {uuid.uuid4().hex}\n"
    if mode == "import":
        queued = await upload(client, account, (lines + ref).encode())
        chat_id = queued.json()["id"]
        expected = ("imported", 1201)
    else:
        first = await upload(client, account, ref.encode())
        chat_id = first.json()["id"]
        assert await importing.run_import(uuid.UUID(chat_id)) == "imported"
        queued = await client.post(
            f"/api/v1/chats/{chat_id}/import",
            files={"file": ("chat.txt", (lines + ref).encode(), "text/plain")},
            headers=account.headers,
        )
        expected = ("merged", 1201)
    assert queued.status_code == 202, queued.text

    outcome = await asyncio.wait_for(importing.run_import(uuid.UUID(chat_id)), timeout=60)

    assert outcome == expected[0]
    assert await stored_messages(chat_id) == expected[1]
