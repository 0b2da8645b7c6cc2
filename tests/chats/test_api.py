"""The chats endpoints through the real app and database (imports parsed inline)."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from src.chats import service as chats_service
from src.chats.models import Chat, ChatMessage
from src.config import Settings
from src.database import SessionLocal
from src.main import create_app
from tests.factories import Account, assert_envelope, register

EXPORT = (
    "12/03/2024, 09:15 - Ana: Good morning\n"
    "12/03/2024, 09:16 - Ben: Morning! Coffee?\n"
    "I can bring croissants\n"
    "13/03/2024, 18:02 - Ana: <Media omitted>\n"
    '13/03/2024, 18:05 - Ben changed the subject to "Plans"\n'
    "14/03/2024, 20:30 - Ana: See you at 8\n"
)


def unique_export(extra: str = "") -> bytes:
    """The export with a line that makes its bytes (and so its SHA-256) unique."""
    return (EXPORT + f"15/03/2024, 10:00 - Ben: ref {uuid.uuid4().hex}{extra}\n").encode()


async def upload(
    client: httpx.AsyncClient, account: Account, data: bytes, **form: str
) -> httpx.Response:
    return await client.post(
        "/api/v1/chats/import",
        files={"file": ("WhatsApp Chat with Ana.txt", data, "text/plain")},
        data=form,
        headers=account.headers,
    )


async def messages(client: httpx.AsyncClient, account: Account, chat_id: str, **params: Any) -> Any:
    response = await client.get(
        f"/api/v1/chats/{chat_id}/messages", params=params, headers=account.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_import_parses_and_stores_the_export(client: httpx.AsyncClient) -> None:
    account = await register(client)
    response = await upload(client, account, unique_export())
    assert response.status_code == 201, response.text
    chat = response.json()
    assert chat["status"] == "ready"
    assert "Idempotent-Replayed" not in response.headers
    assert chat["source_format"] == "whatsapp"
    assert chat["title"] == "Ana"  # from "WhatsApp Chat with Ana.txt", as no title was given
    assert chat["message_count"] == 6
    assert chat["participants"] == ["Ana", "Ben"]
    assert chat["import_progress"] == 1.0
    assert chat["first_message_at"] == "2024-03-12T09:15:00Z"

    page = await messages(client, account, chat["id"], limit=100)
    assert [m["seq"] for m in page["items"]] == [1, 2, 3, 4, 5, 6]
    assert [m["kind"] for m in page["items"]] == [
        "text",
        "text",
        "media",
        "system",
        "text",
        "text",
    ]
    assert page["items"][1]["text"] == "Morning! Coffee?\nI can bring croissants"
    assert page["items"][3]["sender"] is None


async def test_import_applies_the_time_zone(client: httpx.AsyncClient) -> None:
    account = await register(client)
    response = await upload(client, account, unique_export(), timezone="Europe/Madrid")
    assert response.status_code == 201
    assert response.json()["first_message_at"] == "2024-03-12T08:15:00Z"  # CET is UTC+1
    bad = await upload(client, account, unique_export(), timezone="Mars/Olympus")
    assert_envelope(bad, 422, "unknown_timezone")


async def test_messages_paginate_and_filter(client: httpx.AsyncClient) -> None:
    account = await register(client)
    chat = (await upload(client, account, unique_export())).json()
    seen, cursor = [], None
    while True:
        page = await messages(
            client, account, chat["id"], limit=4, **({"cursor": cursor} if cursor else {})
        )
        seen += [m["seq"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [1, 2, 3, 4, 5, 6]

    by_sender = await messages(client, account, chat["id"], sender="Ana")
    assert [m["seq"] for m in by_sender["items"]] == [1, 3, 5]
    found = await messages(client, account, chat["id"], q="COFFEE")
    assert [m["seq"] for m in found["items"]] == [2]
    literal = await messages(client, account, chat["id"], q="%")
    assert literal["items"] == []
    window = await messages(
        client, account, chat["id"], since="2024-03-13T00:00:00Z", until="2024-03-14T00:00:00Z"
    )
    assert [m["seq"] for m in window["items"]] == [3, 4]


async def test_messages_from_a_position_combine_with_filters_and_cursor(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    chat = (await upload(client, account, unique_export())).json()

    async def seqs(**params: Any) -> list[int]:
        return [m["seq"] for m in (await messages(client, account, chat["id"], **params))["items"]]

    assert await seqs(from_seq=4) == [4, 5, 6]
    assert await seqs(from_seq=0) == [1, 2, 3, 4, 5, 6]
    assert await seqs(from_seq=7) == []
    assert await seqs(from_seq=2, sender="Ana") == [3, 5]
    assert await seqs(from_seq=3, until="2024-03-14T00:00:00Z") == [3, 4]
    first = await messages(client, account, chat["id"], from_seq=3, limit=2)
    assert [m["seq"] for m in first["items"]] == [3, 4]
    assert await seqs(from_seq=3, limit=2, cursor=first["next_cursor"]) == [5, 6]
    # A cursor from a page without from_seq goes on from where it was, within the filter.
    before = await messages(client, account, chat["id"], limit=1)
    assert await seqs(from_seq=3, limit=2, cursor=before["next_cursor"]) == [3, 4]
    negative = await client.get(
        f"/api/v1/chats/{chat['id']}/messages", params={"from_seq": -1}, headers=account.headers
    )
    assert_envelope(negative, 422, "validation_error")


async def test_one_message_by_id(client: httpx.AsyncClient) -> None:
    account = await register(client)
    chat = (await upload(client, account, unique_export())).json()
    other = (await upload(client, account, unique_export())).json()
    page = (await messages(client, account, chat["id"]))["items"]
    path = f"/api/v1/chats/{chat['id']}/messages"

    for message in page:
        read = await client.get(f"{path}/{message['id']}", headers=account.headers)
        assert read.status_code == 200, read.text
        assert read.json() == message
    # A message of the reader's other chat, or no message at all, is not in this chat.
    elsewhere = (await messages(client, account, other["id"]))["items"][0]["id"]
    for missing in (elsewhere, max(m["id"] for m in page) + 1000, 0, -1):
        response = await client.get(f"{path}/{missing}", headers=account.headers)
        assert_envelope(response, 404, "not_found")
    not_an_id = await client.get(f"{path}/first", headers=account.headers)
    assert_envelope(not_an_id, 422, "validation_error")

    await client.delete(f"/api/v1/chats/{chat['id']}", headers=account.headers)
    gone = await client.get(f"{path}/{page[0]['id']}", headers=account.headers)
    assert_envelope(gone, 404, "not_found")


async def test_the_same_file_twice_is_one_chat(client: httpx.AsyncClient) -> None:
    account = await register(client)
    data = unique_export()
    first = await upload(client, account, data)
    again = await upload(client, account, data)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    other = await register(client)  # another user's copy is their own chat
    assert (await upload(client, other, data)).status_code == 201


async def test_ten_concurrent_uploads_of_one_file_make_one_chat(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    data = unique_export()
    responses = await asyncio.gather(*(upload(client, account, data) for _ in range(10)))
    assert {r.status_code for r in responses} == {201}
    assert sum("Idempotent-Replayed" in r.headers for r in responses) == 9
    assert len({r.json()["id"] for r in responses}) == 1
    async with SessionLocal() as session:
        chats = await session.scalar(
            select(func.count()).select_from(Chat).where(Chat.user_id == account.id)
        )
        stored = await session.scalar(
            select(func.count())
            .select_from(ChatMessage)
            .where(ChatMessage.chat_id == uuid.UUID(responses[0].json()["id"]))
        )
    assert (chats, stored) == (1, 6)


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        b"just some words\nno chat\n",
        b"",
    ],
)
async def test_a_file_that_is_no_export_is_422_and_stores_nothing(
    client: httpx.AsyncClient, data: bytes
) -> None:
    account = await register(client)
    response = await upload(client, account, data)
    assert_envelope(response, 422, "invalid_export")
    listed = (await client.get("/api/v1/chats", headers=account.headers)).json()
    assert listed["items"] == []


async def test_uploads_over_the_limit_are_413() -> None:
    app = create_app(Settings(environment="test", max_upload_mb=1))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        account = await register(client)
        response = await upload(client, account, b"x" * (1024 * 1024 + 1))
    assert_envelope(response, 413, "payload_too_large")


async def test_empty_chat_then_frontend_messages(client: httpx.AsyncClient) -> None:
    account = await register(client)
    created = await client.post("/api/v1/chats", json={"title": "Live"}, headers=account.headers)
    assert created.status_code == 201
    chat = created.json()
    assert (chat["status"], chat["source_format"], chat["message_count"]) == ("ready", "api", 0)

    def batch(start: int, n: int) -> dict[str, Any]:
        base = datetime(2026, 1, 2, 13, 0, tzinfo=UTC)
        return {
            "messages": [
                {
                    "sender": ["Ada", "Bob"][i % 2],
                    "sent_at": (base + timedelta(minutes=start + i)).isoformat(),
                    "text": f"message {start + i}",
                }
                for i in range(n)
            ]
        }

    responses = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/chats/{chat['id']}/messages",
                json=batch(10 * k, 10),
                headers=account.headers,
            )
            for k in range(5)
        )
    )
    assert {r.status_code for r in responses} == {201}
    final = (await client.get(f"/api/v1/chats/{chat['id']}", headers=account.headers)).json()
    assert final["message_count"] == 50
    assert final["participants"] == ["Ada", "Bob"]
    page = await messages(client, account, chat["id"], limit=100)
    assert [m["seq"] for m in page["items"]] == list(range(1, 51))
    # each batch landed whole and in its own order
    texts = [m["text"] for m in page["items"]]
    for k in range(5):
        at = texts.index(f"message {10 * k}")
        assert texts[at : at + 10] == [f"message {10 * k + i}" for i in range(10)]

    naive = await client.post(
        f"/api/v1/chats/{chat['id']}/messages",
        json={"messages": [{"sender": "A", "sent_at": "2026-01-02T13:00:00", "text": "x"}]},
        headers=account.headers,
    )
    assert_envelope(naive, 422, "validation_error")


async def test_rename_delete_restore(client: httpx.AsyncClient) -> None:
    account = await register(client)
    chat = (await upload(client, account, unique_export())).json()
    path = f"/api/v1/chats/{chat['id']}"
    renamed = await client.patch(path, json={"title": "Ana & Ben"}, headers=account.headers)
    assert renamed.json()["title"] == "Ana & Ben"

    assert (await client.delete(path, headers=account.headers)).status_code == 204
    assert_envelope(await client.get(path, headers=account.headers), 404, "not_found")
    assert_envelope(await client.get(f"{path}/messages", headers=account.headers), 404, "not_found")
    assert (await client.get("/api/v1/chats", headers=account.headers)).json()["items"] == []

    restored = await client.post(f"{path}/restore", headers=account.headers)
    assert restored.status_code == 200
    assert restored.json()["title"] == "Ana & Ben"
    assert len((await messages(client, account, chat["id"]))["items"]) == 6


async def test_restore_refuses_when_the_file_was_imported_again(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    data = unique_export()
    first = (await upload(client, account, data)).json()
    await client.delete(f"/api/v1/chats/{first['id']}", headers=account.headers)
    second = await upload(client, account, data)
    assert second.status_code == 201  # a deleted chat does not count as a duplicate
    conflict = await client.post(f"/api/v1/chats/{first['id']}/restore", headers=account.headers)
    assert_envelope(conflict, 409, "restore_conflict")


async def test_chats_are_private_on_every_endpoint(client: httpx.AsyncClient) -> None:
    owner, stranger = await register(client), await register(client)
    chat = (await upload(client, owner, unique_export())).json()
    path = f"/api/v1/chats/{chat['id']}"
    message_id = (await messages(client, owner, chat["id"]))["items"][0]["id"]
    one = {"messages": [{"sender": "X", "sent_at": "2026-01-01T00:00:00Z", "text": "hi"}]}
    for method, url, body in [
        ("GET", path, None),
        ("PATCH", path, {"title": "mine now"}),
        ("DELETE", path, None),
        ("POST", f"{path}/restore", None),
        ("GET", f"{path}/messages", None),
        ("GET", f"{path}/messages/{message_id}", None),
        ("POST", f"{path}/messages", one),
    ]:
        response = await client.request(method, url, json=body, headers=stranger.headers)
        assert_envelope(response, 404, "not_found")
    assert (await client.get("/api/v1/chats", headers=stranger.headers)).json()["items"] == []
    assert (await client.get(path, headers=owner.headers)).json()["title"] == chat["title"]


async def test_purge_removes_chats_deleted_past_retention(client: httpx.AsyncClient) -> None:
    account = await register(client)
    old = (await upload(client, account, unique_export())).json()
    recent = (await upload(client, account, unique_export())).json()
    for chat in (old, recent):
        await client.delete(f"/api/v1/chats/{chat['id']}", headers=account.headers)
    async with SessionLocal() as session:
        stale = await session.get(
            Chat, uuid.UUID(old["id"]), execution_options={"include_deleted": True}
        )
        assert stale is not None
        stale.deleted_at = datetime.now(UTC) - timedelta(days=31)
        await session.commit()
    async with SessionLocal() as session:
        assert uuid.UUID(old["id"]) in await chats_service.purge_deleted(session)
        await session.commit()
    async with SessionLocal() as session:
        left = (
            await session.scalars(
                select(Chat.id).where(Chat.user_id == account.id),
                execution_options={"include_deleted": True},
            )
        ).all()
        orphans = await session.scalar(
            select(func.count())
            .select_from(ChatMessage)
            .where(ChatMessage.chat_id == uuid.UUID(old["id"]))
        )
    assert set(left) == {uuid.UUID(recent["id"])}
    assert orphans == 0
