"""Asking questions of your own chats: indexing, hybrid retrieval, citations, scope, SSE,
limits; against the real database and broker (indexing run as the worker runs it)."""

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse
from starlette.requests import ClientDisconnect

from src.config import get_settings
from src.database import engine
from src.outbox import service as outbox
from src.rag import indexing
from src.rag import service as rag_service
from src.rag.schemas import QuestionCreate
from tests.factories import Account, assert_envelope, register
from tests.workers.process import WorkerProcess, json_event

TRIP = (
    "02/03/2024, 10:00 - Ana: Morning! Did you see the weather for the weekend?\n"
    "02/03/2024, 10:02 - Ben: Rain all Saturday apparently\n"
    "02/03/2024, 10:05 - Ana: Ugh. The football match might be cancelled too\n"
    "05/03/2024, 19:30 - Ben: Ok let's postpone the trip to Lisbon until April 12th\n"
    "05/03/2024, 19:31 - Ana: Agreed, April works better for me anyway\n"
    "09/03/2024, 08:15 - Ana: My booking reference is ZX-4417 for the hotel\n"
    "09/03/2024, 08:20 - Ben: Thanks, I will add it to the shared notes\n"
    "15/03/2024, 21:00 - Ben: Pizza tonight? I'm starving\n"
    "15/03/2024, 21:01 - Ana: Yes please, pepperoni\n"
)
OTHER = (
    "01/02/2024, 09:00 - Carla: The dentist appointment is on Friday at 5\n"
    "01/02/2024, 09:05 - Dan: Fine, I will pick up the kids after that\n"
)


async def import_chat(client: httpx.AsyncClient, account: Account, body: str) -> str:
    data = (body + f"20/03/2024, 10:00 - Ana: ref {uuid.uuid4().hex}\n").encode()
    response = await client.post(
        "/api/v1/chats/import",
        files={"file": ("chat.txt", data, "text/plain")},
        headers=account.headers,
    )
    assert response.status_code == 201, response.text
    chat_id: str = response.json()["id"]
    assert await indexing.run_index(uuid.UUID(chat_id)) == "indexed"
    return chat_id


async def conversation(client: httpx.AsyncClient, account: Account, *chat_ids: str) -> str:
    response = await client.post(
        "/api/v1/rag/conversations", json={"chat_ids": list(chat_ids)}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    conversation_id: str = response.json()["id"]
    return conversation_id


async def ask(
    client: httpx.AsyncClient, account: Account, conversation_id: str, content: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/rag/conversations/{conversation_id}/messages",
        json={"content": content, **extra},
        headers=account.headers,
    )


def cited_texts(answer: dict[str, Any]) -> list[str]:
    return [c["text"] for c in answer["citations"]]


async def test_import_indexes_the_chat(client: httpx.AsyncClient) -> None:
    account = await register(client)
    chat_id = await import_chat(client, account, TRIP)
    chat = (await client.get(f"/api/v1/chats/{chat_id}", headers=account.headers)).json()
    assert chat["index_status"] == "ready"
    assert chat["indexed_messages"] == chat["message_count"] == 10
    # idempotent: a second run changes nothing
    assert await indexing.run_index(uuid.UUID(chat_id)) == "indexed"
    again = (await client.get(f"/api/v1/chats/{chat_id}", headers=account.headers)).json()
    assert again["indexed_messages"] == 10
    await outbox.wait_idle()


async def test_answers_cite_the_right_message(client: httpx.AsyncClient) -> None:
    account = await register(client)
    chat_id = await import_chat(client, account, TRIP)
    conversation_id = await conversation(client, account, chat_id)

    direct = await ask(client, account, conversation_id, "When did we postpone the trip to Lisbon?")
    assert direct.status_code == 200, direct.text
    answer = direct.json()
    assert answer["role"] == "assistant"
    assert "trip to Lisbon" in cited_texts(answer)[0]
    assert "[1]" in answer["content"]

    rare = await ask(client, account, conversation_id, "ZX-4417")
    assert "ZX-4417" in cited_texts(rare.json())[0]

    paraphrase = await ask(client, account, conversation_id, "When are we travelling to Portugal?")
    assert "trip to Lisbon" in " ".join(cited_texts(paraphrase.json())[:2])

    detail = (
        await client.get(f"/api/v1/rag/conversations/{conversation_id}", headers=account.headers)
    ).json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant"] * 3
    await outbox.wait_idle()


async def test_nothing_relevant_cites_nothing(client: httpx.AsyncClient) -> None:
    account = await register(client)
    chat_id = await import_chat(client, account, TRIP)
    conversation_id = await conversation(client, account, chat_id)
    answer = (await ask(client, account, conversation_id, "quantum chromodynamics lattice")).json()
    assert answer["citations"] == []
    await outbox.wait_idle()


async def test_scope_is_the_conversation_the_user_and_live_chats(
    client: httpx.AsyncClient,
) -> None:
    owner, stranger = await register(client), await register(client)
    trip = await import_chat(client, owner, TRIP)
    other = await import_chat(client, owner, OTHER)
    theirs = await import_chat(client, stranger, OTHER)
    conversation_id = await conversation(client, owner, trip)

    answer = (await ask(client, owner, conversation_id, "dentist appointment Friday")).json()
    assert all(c["chat_id"] == trip for c in answer["citations"])
    assert other not in {c["chat_id"] for c in answer["citations"]}
    assert theirs not in {c["chat_id"] for c in answer["citations"]}

    # another user's chat cannot join a conversation; another user's conversation is a 404
    refused = await client.post(
        "/api/v1/rag/conversations", json={"chat_ids": [trip, theirs]}, headers=owner.headers
    )
    assert_envelope(refused, 404, "not_found")
    path = f"/api/v1/rag/conversations/{conversation_id}"
    for method, url, body in [
        ("GET", path, None),
        ("DELETE", path, None),
        ("POST", f"{path}/messages", {"content": "trip?"}),
    ]:
        response = await client.request(method, url, json=body, headers=stranger.headers)
        assert_envelope(response, 404, "not_found")

    # a chat deleted after the conversation started is no longer cited
    await client.delete(f"/api/v1/chats/{trip}", headers=owner.headers)
    after = (await ask(client, owner, conversation_id, "trip to Lisbon")).json()
    assert after["citations"] == []
    await outbox.wait_idle()


async def test_filters_restrict_the_citations(client: httpx.AsyncClient) -> None:
    account = await register(client)
    chat_id = await import_chat(client, account, TRIP)
    # Ben and Ana both wrote about April; asked for Ana's messages, only hers are cited.
    everyone = await ask(client, account, await conversation(client, account, chat_id), "April")
    assert {c["sender"] for c in everyone.json()["citations"]} == {"Ana", "Ben"}
    conversation_id = await conversation(client, account, chat_id)
    answer = (
        await ask(client, account, conversation_id, "April", filters={"senders": ["Ana"]})
    ).json()
    assert answer["citations"]
    assert {c["sender"] for c in answer["citations"]} == {"Ana"}
    await outbox.wait_idle()


async def test_the_answer_streams_as_server_sent_events(client: httpx.AsyncClient) -> None:
    account = await register(client)
    chat_id = await import_chat(client, account, TRIP)
    conversation_id = await conversation(client, account, chat_id)
    kinds: list[str] = []
    tokens: list[str] = []
    done: dict[str, Any] = {}
    async with aconnect_sse(
        client,
        "POST",
        f"/api/v1/rag/conversations/{conversation_id}/messages",
        json={"content": "When did we postpone the trip to Lisbon?"},
        headers={**account.headers, "Accept": "text/event-stream"},
    ) as source:
        assert source.response.headers["content-type"].startswith("text/event-stream")
        async for event in source.aiter_sse():
            kinds.append(event.event)
            if event.event == "token":
                tokens.append(json.loads(event.data))
            if event.event == "done":
                done = json.loads(event.data)
    assert kinds[0] == "citations"
    assert kinds[-1] == "done"
    assert "token" in kinds
    assert done["content"] == "".join(tokens).strip()
    assert "trip to Lisbon" in done["citations"][0]["text"]
    await outbox.wait_idle()


async def test_question_limits(client: httpx.AsyncClient) -> None:
    account = await register(client)
    chat_id = await import_chat(client, account, TRIP)
    conversation_id = await conversation(client, account, chat_id)
    settings = get_settings()
    too_long = await ask(
        client, account, conversation_id, "x" * (settings.rag_max_question_chars + 1)
    )
    assert_envelope(too_long, 422, "invalid_input")
    many = await client.post(
        "/api/v1/rag/conversations",
        json={
            "chat_ids": [
                str(uuid.uuid4()) for _ in range(settings.rag_max_chats_per_conversation + 1)
            ]
        },
        headers=account.headers,
    )
    assert_envelope(many, 422, "invalid_input")

    before = settings.rag_questions_per_minute
    settings.rag_questions_per_minute = 2
    # The limit counts per wall-clock minute: start well inside one, so all three questions
    # fall in the same window.
    if time.time() % 60 > 50:
        await asyncio.sleep(61 - time.time() % 60)
    try:
        allowed = [
            (await ask(client, account, conversation_id, "pizza?")).status_code for _ in range(2)
        ]
        limited = await ask(client, account, conversation_id, "pizza?")
    finally:
        settings.rag_questions_per_minute = before
    # the first test questions of this minute went elsewhere: this conversation's two fit
    assert allowed == [200, 200]
    assert_envelope(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1
    await outbox.wait_idle()


@pytest.fixture
async def slow_model() -> AsyncIterator[dict[str, Any]]:
    """An OpenAI-compatible streaming endpoint that waits for the test before answering."""
    state: dict[str, Any] = {"called": asyncio.Event(), "release": asyncio.Event()}

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        length = next(
            int(h.split(":", 1)[1])
            for h in head.split("\r\n")
            if h.lower().startswith("content-length")
        )
        await reader.readexactly(length)
        state["called"].set()
        await state["release"].wait()
        chunks = [
            {"choices": [{"delta": {"content": piece}}]} for piece in ("Early ", "April [1].")
        ]
        body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            + f"Content-Length: {len(body.encode())}\r\nConnection: close\r\n\r\n".encode()
            + body.encode()
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    settings = get_settings()
    before = settings.rag_answerer, settings.openai_base_url
    settings.rag_answerer = "openai"
    settings.openai_base_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    try:
        async with server:
            yield state
    finally:
        settings.rag_answerer, settings.openai_base_url = before
        state["release"].set()


async def test_no_connection_is_held_while_the_model_answers(
    client: httpx.AsyncClient, slow_model: dict[str, Any]
) -> None:
    account = await register(client)
    chat_id = await import_chat(client, account, TRIP)
    conversation_id = await conversation(client, account, chat_id)
    question = await rag_service.prepare(
        account.id, uuid.UUID(conversation_id), QuestionCreate(content="When is the trip?")
    )
    events: list[Any] = []

    async def consume() -> None:
        async for event in rag_service.answer_events(question):
            events.append(event)

    consuming = asyncio.create_task(consume())
    async with asyncio.timeout(30):
        await slow_model["called"].wait()
    await outbox.wait_idle()  # the import's after-commit relay is not this request
    # the model is generating: no connection of this process's pool is checked out
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    slow_model["release"].set()
    await consuming
    assert [e.kind for e in events][0] == "citations"
    assert events[-1].kind == "done"
    assert events[-1].data["content"] == "Early April [1]."
    assert len(events[-1].data["citations"]) == 1
    await outbox.wait_idle()


async def test_a_worker_indexes_an_imported_chat(
    client: httpx.AsyncClient, worker: WorkerProcess
) -> None:
    account = await register(client)
    data = (TRIP + f"20/03/2024, 10:00 - Ana: ref {uuid.uuid4().hex}\n").encode()
    response = await client.post(
        "/api/v1/chats/import",
        files={"file": ("chat.txt", data, "text/plain")},
        headers=account.headers,
    )
    chat_id = response.json()["id"]
    assert response.json()["index_status"] == "pending"
    await worker.wait_for(
        lambda line: (
            json_event(line).get("event") == "chat.indexed"
            and json_event(line).get("chat_id") == chat_id
        )
    )
    chat = (await client.get(f"/api/v1/chats/{chat_id}", headers=account.headers)).json()
    assert (chat["index_status"], chat["indexed_messages"]) == ("ready", 10)

    appended = await client.post(
        f"/api/v1/chats/{chat_id}/messages",
        json={
            "messages": [
                {
                    "sender": "Ben",
                    "sent_at": "2024-03-21T10:00:00Z",
                    "text": "The ferry to Porto leaves at nine",
                }
            ]
        },
        headers=account.headers,
    )
    assert appended.json()["index_status"] == "pending"
    await worker.wait_for(
        lambda line: (
            json_event(line).get("event") == "chat.indexed"
            and json_event(line).get("chat_id") == chat_id
        )
    )
    chat = (await client.get(f"/api/v1/chats/{chat_id}", headers=account.headers)).json()
    assert (chat["index_status"], chat["indexed_messages"]) == ("ready", 11)


@pytest.mark.parametrize("spec_version", ["2.3", "2.4"])
async def test_an_answer_is_stored_when_the_client_leaves_mid_stream(
    app: Any, client: httpx.AsyncClient, slow_model: dict[str, Any], spec_version: str
) -> None:
    """The client goes away after the first event, while the model is still answering (ASGI
    2.3 servers say so with `http.disconnect`; 2.4 ones make `send` fail)."""
    account = await register(client)
    chat_id = await import_chat(client, account, TRIP)
    conversation_id = await conversation(client, account, chat_id)
    body = json.dumps({"content": "When is the trip?"}).encode()
    first_event = asyncio.Event()
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await first_event.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if first_event.is_set() and spec_version == "2.4":
            raise OSError("the client is gone")
        sent.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            first_event.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/api/v1/rag/conversations/{conversation_id}/messages",
        "raw_path": b"",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"test"),
            (b"content-type", b"application/json"),
            (b"accept", b"text/event-stream"),
            (b"authorization", account.headers["Authorization"].encode()),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("test", 80),
    }
    async with asyncio.timeout(30):
        streaming = asyncio.create_task(app(scope, receive, send))
        await first_event.wait()
        await asyncio.sleep(0.05)  # the server notices the client is gone (2.3)
        slow_model["release"].set()
        with contextlib.suppress(ClientDisconnect):  # how 2.4 servers learn of it
            await streaming
        await rag_service.wait_answers()
    streamed = b"".join(m.get("body", b"") for m in sent)
    assert b"event: citations" in streamed
    assert b"event: done" not in streamed
    detail = await client.get(
        f"/api/v1/rag/conversations/{conversation_id}", headers=account.headers
    )
    messages = detail.json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["content"] == "Early April [1]."
    assert len(messages[1]["citations"]) == 1
    await outbox.wait_idle()
