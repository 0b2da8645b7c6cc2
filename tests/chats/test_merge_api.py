"""Merging a newer export into a chat, through the real app and database."""

import asyncio
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from src.chats import importing
from src.chats.models import Chat, ChatStatus
from src.database import SessionLocal
from src.insights.models import Insight, InsightStatus
from src.insights.providers import local
from src.insights.providers.base import InsightOptions
from src.rag import indexing
from src.rag.models import ChatChunk
from tests.chats.test_api import messages, upload
from tests.factories import Account, assert_envelope, register

FIRST = (
    "13/03/2024, 09:15 - Ana: Good morning\n"
    "13/03/2024, 09:16 - Ben: Morning! Coffee?\n"
    "I can bring croissants\n"
    "14/03/2024, 18:02 - Ana: ok\n"
    "14/03/2024, 18:02 - Ana: ok\n"
    "15/03/2024, 20:30 - Ana: See you at 8\n"
)
# Taken later: overlaps the first export (one "ok" more in the same minute) and goes on.
NEWER = (
    "14/03/2024, 18:02 - Ana: ok\n"
    "14/03/2024, 18:02 - Ana: ok\n"
    "14/03/2024, 18:02 - Ana: ok\n"
    "15/03/2024, 20:30 - Ana: See you at 8\n"
    "16/03/2024, 10:00 - Ben: Running late\n"
    "16/03/2024, 10:05 - Ana: No problem\n"
)


def tagged(export: str, tag: str) -> bytes:
    """The export with a last line that makes these bytes (and their SHA-256) unique."""
    return (export + f"31/12/2024, 23:59 - Ben: {tag}\n").encode()


async def merge(
    client: httpx.AsyncClient, account: Account, chat_id: str, data: bytes, **form: str
) -> httpx.Response:
    return await client.post(
        f"/api/v1/chats/{chat_id}/import",
        files={"file": ("WhatsApp Chat with Ana.txt", data, "text/plain")},
        data=form,
        headers=account.headers,
    )


async def all_messages(client: httpx.AsyncClient, account: Account, chat_id: str) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = await messages(client, account, chat_id, **params)
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def imported(client: httpx.AsyncClient, account: Account, data: bytes) -> dict[str, Any]:
    response = await upload(client, account, data)
    assert response.status_code == 201, response.text
    chat: dict[str, Any] = response.json()
    return chat


async def test_a_newer_export_adds_only_what_the_chat_lacks(client: httpx.AsyncClient) -> None:
    account = await register(client)
    tag = uuid.uuid4().hex
    chat = await imported(client, account, tagged(FIRST, tag))
    assert chat["message_count"] == 6

    response = await merge(client, account, chat["id"], tagged(NEWER, tag))

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["added"], body["already_present"]) == (3, 4)
    assert body["chat"]["message_count"] == 9
    assert body["chat"]["last_merge_added"] == 3
    assert body["chat"]["last_merge_already_present"] == 4
    listed = await all_messages(client, account, chat["id"])
    assert [m["seq"] for m in listed] == list(range(1, 10))
    times = [m["sent_at"] for m in listed]
    assert times == sorted(times)
    assert [m["text"] for m in listed].count("ok") == 3
    assert [m["text"] for m in listed[-3:]] == ["Running late", "No problem", tag]

    # the same file again adds nothing
    again = await merge(client, account, chat["id"], tagged(NEWER, tag))
    assert (again.json()["added"], again.json()["already_present"]) == (0, 7)
    assert again.json()["chat"]["message_count"] == 9


async def test_older_messages_are_placed_in_time_order(client: httpx.AsyncClient) -> None:
    account = await register(client)
    chat = await imported(client, account, tagged(NEWER, uuid.uuid4().hex))

    response = await merge(client, account, chat["id"], FIRST.encode())

    assert response.json()["added"] == 2  # 09:15 and 09:16: the rest is there
    listed = await all_messages(client, account, chat["id"])
    assert [m["text"] for m in listed[:2]] == [
        "Good morning",
        "Morning! Coffee?\nI can bring croissants",
    ]
    assert [m["seq"] for m in listed] == list(range(1, len(listed) + 1))
    times = [m["sent_at"] for m in listed]
    assert times == sorted(times)


async def test_exports_of_both_participants_merge_without_doubles(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    anas = (
        "13/03/2024, 09:15 - Ana: Are you coming tonight?\n"
        "13/03/2024, 09:16 - Ben Smith: Yes, at 8\n"
        "13/03/2024, 09:17 - Ana: Bring the map\n"
        "13/03/2024, 09:18 - Ben Smith: Got it\n"
        f"13/03/2024, 09:19 - Ana: ref {uuid.uuid4().hex}\n"
    )
    # Ben's phone knows Ana as "Ana García" and writes his own name as "Ben".
    bens = (
        "13/03/2024, 09:15 - Ana García: Are you coming tonight?\n"
        "13/03/2024, 09:16 - Ben: Yes, at 8\n"
        "13/03/2024, 09:17 - Ana García: Bring the map\n"
        "13/03/2024, 09:18 - Ben: Got it\n"
        "13/03/2024, 22:40 - Ben: Home now, thanks!\n"
    )
    chat = await imported(client, account, anas.encode())

    body = (await merge(client, account, chat["id"], bens.encode())).json()

    assert (body["added"], body["already_present"]) == (1, 4)
    assert body["chat"]["participants"] == ["Ana", "Ben Smith"]
    listed = await all_messages(client, account, chat["id"])
    assert (listed[-1]["sender"], listed[-1]["text"]) == ("Ben Smith", "Home now, thanks!")


async def test_merge_reads_times_in_the_chat_zone(client: httpx.AsyncClient) -> None:
    account = await register(client)
    tag = uuid.uuid4().hex
    response = await upload(client, account, tagged(FIRST, tag), timezone="Europe/Madrid")
    chat = response.json()

    body = (await merge(client, account, chat["id"], tagged(FIRST, tag) + b"\n")).json()

    assert body["added"] == 0


async def test_merge_is_private_and_waits_for_ready_chats(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    other = await register(client)
    chat = await imported(client, owner, tagged(FIRST, uuid.uuid4().hex))

    assert_envelope(await merge(client, other, chat["id"], NEWER.encode()), 404, "not_found")
    missing = str(uuid.uuid4())
    assert_envelope(await merge(client, owner, missing, NEWER.encode()), 404, "not_found")
    async with SessionLocal() as session:
        await session.execute(
            update(Chat).where(Chat.id == uuid.UUID(chat["id"])).values(status=ChatStatus.IMPORTING)
        )
        await session.commit()
    assert_envelope(await merge(client, owner, chat["id"], NEWER.encode()), 409, "chat_not_ready")


async def test_a_bad_file_merges_nothing(client: httpx.AsyncClient) -> None:
    account = await register(client)
    chat = await imported(client, account, tagged(FIRST, uuid.uuid4().hex))

    response = await merge(client, account, chat["id"], b"this is not a chat export\n" * 20)

    assert_envelope(response, 422, "invalid_export")
    assert len(await all_messages(client, account, chat["id"])) == 6


async def test_merge_marks_earlier_insights_stale(client: httpx.AsyncClient) -> None:
    account = await register(client)
    chat = await imported(client, account, tagged(FIRST, uuid.uuid4().hex))
    requested = await client.post(
        f"/api/v1/chats/{chat['id']}/insights",
        json={"insight_type": "activity"},
        headers=account.headers,
    )
    assert requested.status_code == 202, requested.text
    async with SessionLocal() as session:  # as if the worker had finished it
        await session.execute(
            update(Insight)
            .where(Insight.id == uuid.UUID(requested.json()["id"]))
            .values(
                status=InsightStatus.COMPLETED,
                result=local.compute("activity", [], InsightOptions()),
            )
        )
        await session.commit()

    await merge(client, account, chat["id"], NEWER.encode())

    insight = (
        await client.get(f"/api/v1/insights/{requested.json()['id']}", headers=account.headers)
    ).json()
    assert insight["stale"] is True
    regenerated = await client.post(
        f"/api/v1/chats/{chat['id']}/insights?regenerate=true",
        json={"insight_type": "activity"},
        headers=account.headers,
    )
    assert regenerated.json()["stale"] is False


async def chunks(chat_id: str) -> list[ChatChunk]:
    async with SessionLocal() as session:
        rows = await session.scalars(
            select(ChatChunk).where(ChatChunk.chat_id == uuid.UUID(chat_id)).order_by(ChatChunk.id)
        )
        return list(rows)


async def test_only_the_added_messages_are_indexed(client: httpx.AsyncClient) -> None:
    account = await register(client)
    chat = await imported(client, account, tagged(NEWER, uuid.uuid4().hex))
    assert await indexing.run_index(uuid.UUID(chat["id"])) == "indexed"
    before = await chunks(chat["id"])
    indexed_ids = {chunk.message_id for chunk in before}

    await merge(client, account, chat["id"], FIRST.encode())
    assert await indexing.run_index(uuid.UUID(chat["id"])) == "indexed"
    # a second run finds nothing new
    assert await indexing.run_index(uuid.UUID(chat["id"])) == "indexed"

    after = await chunks(chat["id"])
    new = after[len(before) :]
    assert new, "the added messages were not indexed"
    new_ids = {chunk.message_id for chunk in new}
    assert len(new_ids) == len(new)
    assert not new_ids & indexed_ids
    listed = await all_messages(client, account, chat["id"])
    by_id = {m["id"]: m for m in listed}
    assert {by_id[i]["text"] for i in new_ids} >= {"Good morning"}
    # the units made after the merge carry their messages' positions, senders and times
    for chunk in new:
        message = by_id[chunk.message_id]
        assert (chunk.seq, chunk.sender) == (message["seq"], message["sender"])
        assert chunk.sent_at == datetime.fromisoformat(message["sent_at"])
    state = (await client.get(f"/api/v1/chats/{chat['id']}", headers=account.headers)).json()
    assert state["index_status"] == "ready"
    assert state["indexed_messages"] == state["message_count"]


@pytest.mark.usefixtures("jobs_for_every_upload")
async def test_a_large_merge_runs_as_a_job(client: httpx.AsyncClient) -> None:
    account = await register(client)
    tag = uuid.uuid4().hex
    chat = await imported_by_job(client, account, tagged(FIRST, tag))

    response = await merge(client, account, chat["id"], tagged(NEWER, tag))

    assert response.status_code == 202, response.text
    assert response.json()["chat"]["status"] == "importing"
    assert response.json()["added"] is None
    # while it runs, the chat takes no other writes
    busy = await merge(client, account, chat["id"], tagged(NEWER, tag))
    assert_envelope(busy, 409, "chat_not_ready")
    assert await importing.run_import(uuid.UUID(chat["id"])) == "merged"
    done = (await client.get(f"/api/v1/chats/{chat['id']}", headers=account.headers)).json()
    assert (done["status"], done["last_merge_added"], done["last_merge_already_present"]) == (
        "ready",
        3,
        4,
    )
    assert done["message_count"] == 9


async def imported_by_job(
    client: httpx.AsyncClient, account: Account, data: bytes
) -> dict[str, Any]:
    response = await upload(client, account, data)
    assert response.status_code == 202, response.text
    assert await importing.run_import(uuid.UUID(response.json()["id"])) == "imported"
    chat: dict[str, Any] = (
        await client.get(f"/api/v1/chats/{response.json()['id']}", headers=account.headers)
    ).json()
    return chat


@pytest.mark.usefixtures("jobs_for_every_upload")
async def test_a_merge_job_that_fails_leaves_the_chat_as_it_was(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    chat = await imported_by_job(client, account, tagged(FIRST, uuid.uuid4().hex))

    queued = await merge(client, account, chat["id"], b"not an export at all\n" * 30)
    assert queued.status_code == 202
    assert await importing.run_import(uuid.UUID(chat["id"])) == "failed"

    done = (await client.get(f"/api/v1/chats/{chat['id']}", headers=account.headers)).json()
    assert done["status"] == "ready"
    assert done["error"].startswith("The merge failed")
    assert done["message_count"] == 6


TELEGRAM = Path(__file__).parent / "fixtures" / "telegram" / "single_chat.json"


async def test_rich_messages_come_back_from_the_api(client: httpx.AsyncClient) -> None:
    account = await register(client)
    response = await client.post(
        "/api/v1/chats/import",
        files={"file": ("result.json", TELEGRAM.read_bytes(), "application/json")},
        headers=account.headers,
    )
    assert response.status_code == 201, response.text
    listed = await all_messages(client, account, response.json()["id"])
    by_id = {m["id"]: m for m in listed}

    edited = next(m for m in listed if m["edited"])
    assert edited["reply_to"] is not None
    replied = by_id[edited["reply_to"]]
    assert replied["seq"] < edited["seq"]
    assert {"emoji": "👍", "count": 2}.items() <= edited["reactions"][0].items()
    forwarded = next(m for m in listed if m["forwarded_from"] == "Travel Deals")
    thanks = next(m for m in listed if m["text"] == "thanks")
    assert thanks["reply_to"] == forwarded["id"]
    lost = next(m for m in listed if m["text"] == "to a lost message")
    assert lost["reply_to"] is None
    attachments = {m["attachment"]["kind"] for m in listed if m["attachment"]}
    assert {"photo", "sticker", "voice", "video", "document"} <= attachments


async def test_the_chat_shows_the_date_order_and_the_upload_can_override_it(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    # One day, 12 or less: neither the dates nor their chronology decide, the default does.
    export = (
        "01/02/2024, 09:00 - Ana: first\n"
        "01/02/2024, 09:05 - Ben: second\n"
        f"01/02/2024, 09:10 - Ana: {uuid.uuid4().hex}\n"
    ).encode()

    guessed = (await upload(client, account, export)).json()
    assert (guessed["date_order"], guessed["date_order_source"]) == ("dmy", "default")
    assert guessed["first_message_at"].startswith("2024-02-01")
    assert guessed["time_precision"] == 60

    other = await register(client)
    chosen = (await upload(client, other, export, date_order="mdy")).json()
    assert (chosen["date_order"], chosen["date_order_source"]) == ("mdy", "requested")
    assert chosen["first_message_at"].startswith("2024-01-02")

    bad = await upload(client, other, export, date_order="myd")
    assert_envelope(bad, 422, "validation_error")


async def test_concurrent_merges_and_appends_keep_one_consistent_chat(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    tag = uuid.uuid4().hex
    chat = await imported(client, account, tagged(FIRST, tag))
    newer = tagged(NEWER, tag)

    async def append(n: int) -> httpx.Response:
        return await client.post(
            f"/api/v1/chats/{chat['id']}/messages",
            json={
                "messages": [{"sender": "Cleo", "sent_at": "2025-01-01T10:00:00Z", "text": f"{n}"}]
            },
            headers=account.headers,
        )

    results = await asyncio.gather(
        *(merge(client, account, chat["id"], newer) for _ in range(5)),
        *(append(n) for n in range(3)),
    )

    assert all(r.status_code in (200, 201) for r in results), [r.text for r in results]
    assert sum(r.json()["added"] for r in results[:5]) == 3  # added once, whoever came first
    listed = await all_messages(client, account, chat["id"])
    assert len(listed) == 6 + 3 + 3
    assert [m["seq"] for m in listed] == list(range(1, len(listed) + 1))
    times = [m["sent_at"] for m in listed]
    assert times == sorted(times)


async def test_an_export_with_media_merges_into_one_without(client: httpx.AsyncClient) -> None:
    account = await register(client)
    without_media = (
        "13/03/2024, 09:15 - Ana: <Media omitted>\n"
        "13/03/2024, 09:16 - Ben: Nice photo!\n"
        f"13/03/2024, 09:17 - Ana: ref {uuid.uuid4().hex}\n"
    )
    with_media = (
        "13/03/2024, 09:15 - Ana: IMG-20240313-WA0001.jpg (file attached)\n"
        "13/03/2024, 09:16 - Ben: Nice photo!\n"
        "13/03/2024, 09:20 - Ben: PTT-20240313-WA0002.opus (file attached)\n"
    )
    chat = await imported(client, account, without_media.encode())

    body = (await merge(client, account, chat["id"], with_media.encode())).json()

    assert (body["added"], body["already_present"]) == (1, 2)
    listed = await all_messages(client, account, chat["id"])
    assert listed[-1]["attachment"] == {"kind": "voice", "file_name": "PTT-20240313-WA0002.opus"}


async def test_merges_take_uploads_up_to_the_upload_cap_not_the_body_cap() -> None:
    from src.config import Settings
    from src.main import create_app

    app = create_app(Settings(environment="test", max_body_mb=1, max_upload_mb=2))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        account = await register(client)
        chat = await imported(client, account, tagged(FIRST, uuid.uuid4().hex))
        padding = b"\n" * (1024 * 1024 + 10)  # over the body cap, under the upload cap

        allowed = await merge(client, account, chat["id"], NEWER.encode() + padding)
        too_large = await merge(client, account, chat["id"], b"\n" * (2 * 1024 * 1024 + 10))

    assert allowed.status_code in (200, 202), allowed.text
    assert_envelope(too_large, 413, "payload_too_large")
