"""An OpenAI-compatible model server on localhost for insight tests (a pytest plugin, see
tests/conftest.py): `model_server["mode"]` picks its answers; `summary_on_openai` serves the
catalogue's `summary` insight through it."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import httpx
import pytest

# Nothing from the application at import time: plugins load before tests/conftest.py points
# the settings at the test database and broker.
if TYPE_CHECKING:
    from tests.factories import Account


@pytest.fixture
async def model_server() -> AsyncIterator[dict[str, Any]]:
    """A small OpenAI-compatible server on localhost; `state["mode"]` picks its answers."""
    state: dict[str, Any] = {
        "mode": "ok",
        "delay": 1.0,
        "calls": 0,
        "release": asyncio.Event(),
        "called": asyncio.Event(),
        "answer": {"unexpected": True},
    }

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        length = next(
            int(line.split(":", 1)[1])
            for line in head.split("\r\n")
            if line.lower().startswith("content-length")
        )
        await reader.readexactly(length)
        state["calls"] += 1
        state["called"].set()
        if state["mode"] == "hang":
            await state["release"].wait()
        if state["mode"] == "slow":  # a model that takes its time, then answers
            await asyncio.sleep(state["delay"])
        if state["mode"] == "refuse":
            status, body = "400 Bad Request", json.dumps({"error": "no"})
        elif state["mode"] == "busy" or (state["mode"] == "flaky" and state["calls"] <= 2):
            status, body = "503 Service Unavailable", json.dumps({"error": "busy"})
        else:
            content = json.dumps(state["answer"])
            body = json.dumps({"choices": [{"message": {"content": content}}]})
            status = "200 OK"
        raw = body.encode()
        # The caller may have gone away meanwhile (its worker was killed).
        with suppress(ConnectionError):
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(raw)}\r\nConnection: close\r\n\r\n".encode()
                + raw
            )
            await writer.drain()
        writer.close()

    from src.config import get_settings

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    settings = get_settings()
    before = settings.openai_base_url, settings.openai_max_retries
    settings.openai_base_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    state["url"] = settings.openai_base_url
    settings.openai_max_retries = 0
    try:
        async with server:
            yield state
    finally:
        settings.openai_base_url, settings.openai_max_retries = before
        state["release"].set()


@pytest.fixture
async def summary_on_openai(client: httpx.AsyncClient) -> AsyncIterator["Account"]:
    """The catalogue's `summary` served by the openai provider for one test; yields an admin."""
    from tests.factories import make_admin, register

    admin = await register(client)
    await make_admin(admin)

    async def provider(name: str) -> None:
        response = await client.patch(
            "/api/v1/admin/insight-types/summary", json={"provider": name}, headers=admin.headers
        )
        assert response.status_code == 200, response.text

    await provider("openai")
    try:
        yield admin
    finally:
        await provider("local")
