"""No upload can hurt the service: caps named in 413/422 answers, content PostgreSQL cannot
hold refused before it is written, and imports that die end `failed`."""

import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from src.chats import importing
from src.chats.models import Chat, ChatUpload
from src.config import get_settings
from src.database import SessionLocal
from src.outbox.models import OutboxMessage
from src.task_queue import IMPORT_TASK
from tests.chats.test_api import unique_export
from tests.factories import Account, assert_envelope, register


async def upload(
    client: httpx.AsyncClient, account: Account, name: str, data: bytes, **form: str
) -> httpx.Response:
    return await client.post(
        "/api/v1/chats/import",
        files={"file": (name, data, "application/octet-stream")},
        data=form,
        headers=account.headers,
    )


async def chat_count(account: Account) -> int:
    async with SessionLocal() as session:
        count = await session.scalar(
            select(func.count()).select_from(Chat).where(Chat.user_id == account.id)
        )
    return int(count or 0)


@pytest.fixture
def setting() -> Iterator[Any]:
    """Change settings for one test; they are restored after it."""
    settings = get_settings()
    saved: dict[str, Any] = {}

    def change(**values: Any) -> None:
        for key, value in values.items():
            saved.setdefault(key, getattr(settings, key))
            setattr(settings, key, value)

    yield change
    for key, value in saved.items():
        setattr(settings, key, value)


def records(*rows: dict[str, Any]) -> bytes:
    return json.dumps({"messages": list(rows)}).encode()


def row(text: str = "hi", sender: str = "Ana", sent_at: str = "2024-03-13T09:15:00+00:00") -> Any:
    return {"sender": sender, "sent_at": sent_at, "text": text}


async def test_too_many_messages_is_413_naming_the_cap(
    client: httpx.AsyncClient, setting: Any
) -> None:
    setting(max_import_messages=3)
    account = await register(client)

    response = await upload(client, account, "m.json", records(*[row(str(i)) for i in range(4)]))

    error = assert_envelope(response, 413, "too_many_messages")
    assert error["details"] == {"found": 4, "limit": 3, "setting": "MAX_IMPORT_MESSAGES"}
    assert await chat_count(account) == 0


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (records(row("x" * 101)), "message_too_long"),
        (records(row("a\x00b")), "nul_byte"),
        (records(row(sender="N" * 201)), "invalid_sender"),
        (records(row(sender="Ana\x00")), "invalid_sender"),
        (records(row(sent_at="0001-01-01T00:10:00+14:00")), "date_out_of_range"),
        (
            records(row(sender="Ana"), row(sender="Ben"), row(sender="Cleo")),
            "too_many_participants",
        ),
    ],
)
async def test_content_that_cannot_be_stored_is_422_naming_the_problem(
    client: httpx.AsyncClient, setting: Any, content: bytes, problem: str
) -> None:
    setting(max_message_chars=100, max_participants=2)
    account = await register(client)

    response = await upload(client, account, "m.json", content)

    error = assert_envelope(response, 422, "invalid_messages")
    assert error["details"]["problem"] == problem
    assert await chat_count(account) == 0


async def test_csv_with_a_nul_byte_is_422(client: httpx.AsyncClient) -> None:
    account = await register(client)
    data = b"sender,sent_at,text\nAna,2024-03-13T09:15:00Z,a\x00b\n"

    response = await upload(client, account, "m.csv", data)

    assert response.status_code == 422, response.text


async def test_appends_are_checked_the_same_way(client: httpx.AsyncClient) -> None:
    account = await register(client)
    created = await client.post("/api/v1/chats", json={"title": "Live"}, headers=account.headers)
    chat_id = created.json()["id"]

    for message, problem in [
        ({"sender": "Ana", "sent_at": "2024-03-13T09:15:00Z", "text": "a\x00b"}, "nul_byte"),
        (
            {"sender": "Ana", "sent_at": "0001-01-01T00:10:00+14:00", "text": "old"},
            "date_out_of_range",
        ),
    ]:
        response = await client.post(
            f"/api/v1/chats/{chat_id}/messages",
            json={"messages": [message]},
            headers=account.headers,
        )
        assert assert_envelope(response, 422, "invalid_messages")["details"]["problem"] == problem
    chat = (await client.get(f"/api/v1/chats/{chat_id}", headers=account.headers)).json()
    assert chat["message_count"] == 0


def zipped(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


async def test_a_zip_that_unpacks_past_the_upload_cap_is_413(
    client: httpx.AsyncClient, setting: Any
) -> None:
    setting(max_upload_mb=1)
    account = await register(client)
    bomb = zipped("_chat.txt", unique_export() + b" " * (2 * 1024 * 1024))
    assert len(bomb) < 100_000

    response = await upload(client, account, "chat.zip", bomb)

    error = assert_envelope(response, 413, "export_too_large")
    assert error["details"]["setting"] == "MAX_UPLOAD_MB"
    assert await chat_count(account) == 0


async def test_the_unpacked_size_decides_inline_or_worker(
    client: httpx.AsyncClient, setting: Any
) -> None:
    export = unique_export() + b"\n" * 300_000
    small_zip = zipped("_chat.txt", export)
    setting(import_inline_max_bytes=len(export) - 1)
    assert len(small_zip) < len(export) - 1
    account = await register(client)

    response = await upload(client, account, "chat.zip", small_zip)

    assert response.status_code == 202, response.text


async def stall(chat_id: str, **values: Any) -> None:
    async with SessionLocal() as session:
        await session.execute(
            update(Chat)
            .where(Chat.id == uuid.UUID(chat_id))
            .values(updated_at=datetime.now(UTC) - timedelta(hours=2), **values)
        )
        await session.commit()


async def import_jobs_staged(chat_id: str, since: datetime) -> int:
    async with SessionLocal() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.task_name == IMPORT_TASK,
                OutboxMessage.created_at >= since,
            )
        )
        return sum(1 for row in rows if row.args == [chat_id])


async def test_a_lost_import_is_sent_again_then_failed_after_its_last_attempt(
    client: httpx.AsyncClient, setting: Any
) -> None:
    setting(import_inline_max_bytes=0, import_max_attempts=3)
    account = await register(client)
    queued = await upload(client, account, "WhatsApp Chat with Ana.txt", unique_export())
    assert queued.status_code == 202
    chat_id = queued.json()["id"]
    since = datetime.now(UTC)
    await importing.sweep_stalled()
    state = (await client.get(f"/api/v1/chats/{chat_id}", headers=account.headers)).json()
    assert state["status"] == "importing"  # fresh: left alone
    assert state["import_attempts"] == 0
    assert await import_jobs_staged(chat_id, since) == 0

    await stall(chat_id)  # as if its task was lost with the broker
    assert (await importing.sweep_stalled())["resent"] >= 1
    assert await import_jobs_staged(chat_id, since) == 1
    await importing.sweep_stalled()  # touched: not sent twice in one stall period
    assert await import_jobs_staged(chat_id, since) == 1
    state = (await client.get(f"/api/v1/chats/{chat_id}", headers=account.headers)).json()
    assert state["status"] == "importing"

    await stall(chat_id, import_attempts=3)  # as if three workers died in the middle of it
    assert (await importing.sweep_stalled())["failed"] >= 1

    failed = (await client.get(f"/api/v1/chats/{chat_id}", headers=account.headers)).json()
    assert failed["status"] == "failed"
    assert "stopped without finishing after 3 attempt(s)" in failed["error"]
    assert await import_jobs_staged(chat_id, since) == 1
    async with SessionLocal() as session:
        assert await session.get(ChatUpload, uuid.UUID(chat_id)) is None
    # the job, delivered late after all, does nothing
    assert await importing.run_import(uuid.UUID(chat_id)) == "skipped"


async def test_each_run_of_an_import_job_is_counted(
    client: httpx.AsyncClient, setting: Any
) -> None:
    setting(import_inline_max_bytes=0)
    account = await register(client)
    queued = await upload(client, account, "WhatsApp Chat with Ana.txt", unique_export())
    chat_id = uuid.UUID(queued.json()["id"])

    assert await importing.run_import(chat_id) == "imported"
    assert await importing.run_import(chat_id) == "skipped"  # a second delivery

    done = (await client.get(f"/api/v1/chats/{chat_id}", headers=account.headers)).json()
    assert done["status"] == "ready"
    assert done["import_attempts"] == 1


async def test_a_value_refused_inside_copy_is_invalid_messages(db_session: Any) -> None:
    """The checks before COPY should catch everything; if PostgreSQL still refuses a value,
    the caller gets a 422 domain error, not a driver exception (a 500)."""
    from src.chats.exceptions import InvalidMessages
    from src.chats.repository import ChatRepository
    from src.users.models import User

    user = User(email=f"copy-{uuid.uuid4().hex}@example.com", password_hash="x")
    db_session.add(user)
    await db_session.flush()
    chat = Chat(user_id=user.id, title="t", source_format="json", status="ready", participants=[])
    db_session.add(chat)
    await db_session.flush()
    row = (
        chat.id,
        1,
        "Ana",
        datetime.now(UTC),
        "a\x00b",
        "text",
        False,
        None,
        None,
        None,
        None,
        None,
    )

    with pytest.raises(InvalidMessages):
        await ChatRepository(db_session).copy_messages([row], with_ids=False, batch=100)
