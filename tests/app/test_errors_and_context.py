"""The error envelope, the request id, the ownership dependency and CORS, on an app built by
`create_app` with a few extra routes that fail on purpose."""

import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from src.auth.dependencies import owned
from src.config import Settings, get_settings
from src.database import SessionLocal
from src.dependencies import DbSession
from src.exceptions import LockTimeoutException
from src.main import create_app
from tests.factories import register
from tests.models import Note, NoteRepository

pytestmark = pytest.mark.usefixtures("test_tables")

probe = APIRouter(prefix="/probe")


@probe.get("/crash")
async def crash() -> None:
    raise RuntimeError("secret internals: password=hunter2")


@probe.get("/bad-sql")
async def bad_sql(session: DbSession) -> None:
    await session.execute(text("SELECT * FROM table_that_does_not_exist"))


@probe.post("/null-owner")
async def null_owner(session: DbSession) -> None:
    await session.execute(
        text("INSERT INTO test_notes (id, user_id, body) VALUES (gen_random_uuid(), NULL, 'x')")
    )


@probe.get("/busy")
async def busy() -> None:
    raise LockTimeoutException(retry_after=3)


@probe.get("/slow")
async def slow(session: DbSession) -> None:
    await session.execute(text("SET LOCAL statement_timeout = 50"))
    await session.execute(text("SELECT pg_sleep(2)"))


@probe.get("/pool-exhausted")
async def pool_exhausted() -> None:
    tiny = create_async_engine(
        get_settings().database_url, pool_size=1, max_overflow=0, pool_timeout=0.2
    )
    try:
        async with tiny.connect() as held, tiny.connect() as second:
            await held.execute(text("SELECT 1"))
            await second.execute(text("SELECT 1"))
    finally:
        await tiny.dispose()


@probe.get("/refused")
async def refused() -> None:
    # A port nothing listens on: the connection is refused.
    nowhere = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:9/none")
    try:
        async with nowhere.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await nowhere.dispose()


@probe.get("/notes/{note_id}")
async def read_note(
    note: Annotated[Note, Depends(owned(NoteRepository, param="note_id", resource="Note"))],
) -> dict[str, str]:
    return {"id": str(note.id), "body": note.body}


def build(settings: Settings | None = None) -> FastAPI:
    app = create_app(settings)
    app.include_router(probe)
    return app


@pytest.fixture
async def probe_client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def error_of(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "request_id", "details"}
    assert body["error"]["request_id"] == response.headers["X-Request-ID"]
    return body["error"]


async def test_unhandled_exception_is_a_bare_500(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/probe/crash")
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "internal_error"
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text


async def test_database_error_reveals_no_sql_outside_development(
    probe_client: httpx.AsyncClient,
) -> None:
    assert not get_settings().is_development
    response = await probe_client.get("/probe/bad-sql")
    assert response.status_code == 500
    assert error_of(response)["code"] == "database_error"
    assert "table_that_does_not_exist" not in response.text
    assert "SELECT" not in response.text


async def test_constraint_violation_from_input_is_422(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/probe/null-owner")
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_input"
    assert "test_notes" not in response.text


async def test_lock_timeout_is_503_with_retry_after(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/probe/busy")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3"
    assert error_of(response)["code"] == "lock_timeout"


@pytest.mark.parametrize(
    ("path", "retry_after"),
    [("/probe/slow", "2"), ("/probe/pool-exhausted", "2"), ("/probe/refused", "5")],
)
async def test_a_database_too_slow_full_or_away_is_503_with_retry_after(
    probe_client: httpx.AsyncClient, path: str, retry_after: str
) -> None:
    response = await probe_client.get(path)
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == retry_after
    assert error_of(response)["code"] == "service_unavailable"


async def test_request_statements_have_a_time_limit_and_workers_none() -> None:
    from src.database import create_engine

    for worker, expected in ((False, "10s"), (True, "0")):
        engine = create_engine(Settings(environment="test", celery_worker=worker))
        try:
            async with engine.connect() as connection:
                shown = (await connection.execute(text("SHOW statement_timeout"))).scalar_one()
        finally:
            await engine.dispose()
        assert shown == expected


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/v1/nowhere", 404, "not_found"),
        ("PUT", "/api/v1/users/me", 405, "method_not_allowed"),
        ("POST", "/api/v1/auth/token", 422, "validation_error"),
    ],
)
async def test_framework_errors_use_the_envelope(
    probe_client: httpx.AsyncClient, method: str, path: str, status: int, code: str
) -> None:
    response = await probe_client.request(method, path)
    assert response.status_code == status
    assert error_of(response)["code"] == code


async def test_request_id_is_echoed_or_made(probe_client: httpx.AsyncClient) -> None:
    given = await probe_client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = await probe_client.get("/health")
    assert len(made.headers["X-Request-ID"]) == 32
    hostile = await probe_client.get("/health", headers={"X-Request-ID": "x" * 500})
    assert hostile.headers["X-Request-ID"] != "x" * 500
    error = await probe_client.get("/nowhere", headers={"X-Request-ID": "trace-404"})
    assert error_of(error)["request_id"] == "trace-404"


async def test_the_request_line_names_route_user_status_and_duration(
    client: httpx.AsyncClient, capfd: pytest.CaptureFixture[str]
) -> None:
    account = await register(client)
    capfd.readouterr()
    missing = uuid.uuid4()
    await client.get(
        f"/api/v1/chats/{missing}", headers={**account.headers, "X-Request-ID": "rl-1"}
    )
    await client.get("/health", headers={"X-Request-ID": "rl-2"})
    lines = [
        json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")
    ]
    done = {e["request_id"]: e for e in lines if e.get("event") == "request.completed"}
    chat = done["rl-1"]
    assert chat["route"] == "/api/v1/chats/{chat_id}"
    assert chat["path"] == f"/api/v1/chats/{missing}"
    assert (chat["method"], chat["status"], chat["user_id"]) == ("GET", 404, str(account.id))
    assert isinstance(chat["duration_ms"], float | int)
    probe = done["rl-2"]
    assert (probe["route"], probe["status"]) == ("/health", 200)
    assert "user_id" not in probe


async def test_owned_resource_is_404_for_anyone_else(probe_client: httpx.AsyncClient) -> None:
    owner, stranger = await register(probe_client), await register(probe_client)
    async with SessionLocal() as session:
        note = Note(user_id=owner.id, body="mine")
        session.add(note)
        await session.commit()

    mine = await probe_client.get(f"/probe/notes/{note.id}", headers=owner.headers)
    assert mine.status_code == 200
    assert mine.json()["body"] == "mine"

    theirs = await probe_client.get(f"/probe/notes/{note.id}", headers=stranger.headers)
    missing = await probe_client.get(f"/probe/notes/{uuid.uuid4()}", headers=owner.headers)
    for response in (theirs, missing):
        assert response.status_code == 404
        assert error_of(response) | {"request_id": None} == {
            "code": "not_found",
            "message": "Note not found",
            "request_id": None,
            "details": None,
        }
    anonymous = await probe_client.get(f"/probe/notes/{note.id}")
    assert anonymous.status_code == 401


async def test_cors_allows_configured_origins_only() -> None:
    settings = Settings(environment="test", cors_origins="https://app.example.com")  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=build(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        preflight = {"Access-Control-Request-Method": "POST"}
        allowed = await http.options(
            "/api/v1/auth/register", headers={"Origin": "https://app.example.com", **preflight}
        )
        denied = await http.options(
            "/api/v1/auth/register", headers={"Origin": "https://evil.example.com", **preflight}
        )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in denied.headers
    assert allowed.headers["X-Request-ID"]


async def test_a_browser_on_another_origin_reads_every_answer_413_and_500_included() -> None:
    origin = "https://app.example.com"
    settings = Settings(environment="test", cors_origins=origin, max_body_mb=1)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=build(settings), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        crashed = await http.get("/probe/crash", headers={"Origin": origin})
        too_large = await http.post(
            "/api/v1/auth/register",
            content=b"{" + b" " * (1024 * 1024) + b"}",
            headers={"Origin": origin, "Content-Type": "application/json"},
        )
        account = await register(http)
        replayed = [
            await http.post(
                "/api/v1/payments",
                json={"package": "small"},
                headers={**account.headers, "Origin": origin, "Idempotency-Key": "k-1"},
            )
            for _ in range(2)
        ][1]
    assert error_of(crashed)["code"] == "internal_error"
    assert error_of(too_large)["code"] == "payload_too_large"
    assert error_of(too_large)["details"] == {"max_bytes": 1024 * 1024}
    for response in (crashed, too_large, replayed):
        assert response.headers["access-control-allow-origin"] == origin
    exposed = {
        h.strip().lower() for h in replayed.headers["access-control-expose-headers"].split(",")
    }
    assert {"x-request-id", "retry-after", "idempotent-replayed", "ratelimit-reset"} <= exposed
    assert replayed.headers["Idempotent-Replayed"] == "true"


async def test_openapi_documents_the_envelope(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    register_op = schema["paths"]["/api/v1/auth/register"]["post"]
    assert {"201", "409", "422"} <= set(register_op["responses"])
    assert "ErrorEnvelope" in schema["components"]["schemas"]


async def test_the_web_app_is_served_at_app(client: httpx.AsyncClient) -> None:
    home = await client.get("/")
    assert home.status_code == 307
    assert home.headers["location"] == "/app/"
    page = await client.get("/app/")
    script = await client.get("/app/app.js")
    assert page.status_code == script.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="app.js">' in page.text
    assert "javascript" in script.headers["content-type"]
    assert "./lib/api.js" in script.text
    api = await client.get("/app/lib/api.js")
    assert "/api/v1" in api.text
    chart_license = await client.get("/app/vendor/uplot/LICENSE")
    assert "MIT" in chart_license.text
