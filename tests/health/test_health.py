from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from src import broker
from src.database import SessionLocal, get_engine
from src.main import app as main_app
from src.outbox import service as outbox


async def test_liveness(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_database_and_broker_answer(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.fixture
async def unreachable() -> Any:
    """Real clients pointed at a port where nothing listens."""
    engine = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:9/none")
    redis = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=1)
    yield engine, redis
    await engine.dispose()
    await redis.aclose()


@pytest.mark.parametrize("broken", ["database", "broker"])
async def test_not_ready_when_a_dependency_is_down(
    client: httpx.AsyncClient, unreachable: Any, broken: str
) -> None:
    engine, redis = unreachable
    override = (
        {get_engine: lambda: engine} if broken == "database" else {broker.get_redis: lambda: redis}
    )
    main_app.dependency_overrides.update(override)
    try:
        response = await client.get("/health/ready")
    finally:
        main_app.dependency_overrides.clear()
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    error = response.json()["error"]
    assert error["code"] == "not_ready"
    assert error["details"][broken] == "unreachable"
    other = "broker" if broken == "database" else "database"
    assert error["details"][other] == "ok"


async def test_db_pool_reports_real_figures(client: httpx.AsyncClient, engine: Any) -> None:
    await outbox.wait_idle()  # no after-commit relay of an earlier test holds a connection
    async with engine.connect() as held:
        await held.exec_driver_sql("SELECT 1")
        busy = (await client.get("/health/db-pool")).json()
    idle = (await client.get("/health/db-pool")).json()

    assert busy["pool_class"] == "AsyncAdaptedQueuePool"
    assert busy["size"] == 10
    assert busy["max_overflow"] == 5
    assert busy["checked_out"] >= 1
    assert idle["checked_out"] == busy["checked_out"] - 1
    assert idle["isolation_level"] == {
        "configured": "REPEATABLE READ",
        "server_reported": "repeatable read",
    }


async def test_metrics_exposes_requests_pool_and_retries(client: httpx.AsyncClient) -> None:
    await client.get("/health")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert 'chatsight_http_requests_total{method="GET",route="/health",status="200"}' in body
    assert "chatsight_db_pool_size 10.0" in body
    assert "chatsight_db_retries_total" in body


async def test_metrics_add_up_every_api_process(tmp_path: Path) -> None:
    """With several API processes (`API_WORKERS`), whichever answers a scrape counts every
    process's requests and pools (prometheus_client's multiprocess mode)."""
    from tests.faults.processes import start_api

    api = await start_api(workers=2, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    try:
        for _ in range(40):
            # A new connection each time, so that both processes get some.
            async with httpx.AsyncClient(base_url=api.url) as http:
                assert (await http.get("/api/v1/payments/packages")).status_code == 200
        async with httpx.AsyncClient(base_url=api.url) as http:
            body = (await http.get("/metrics")).text
    finally:
        await api.process.stop()
    assert "chatsight_db_pool_size 20.0" in body  # two pools of 10: both processes counted
    route = 'chatsight_http_requests_total{method="GET",route="/api/v1/payments/packages"'
    [line] = [line for line in body.splitlines() if line.startswith(route)]
    assert float(line.rsplit(" ", 1)[1]) == 40


def _series(body: str, name: str) -> list[str]:
    return [line for line in body.splitlines() if line.startswith(name + "{")]


async def test_invented_methods_and_paths_add_no_series(client: httpx.AsyncClient) -> None:
    await client.get("/health")
    before = _series((await client.get("/metrics")).text, "chatsight_http_requests_total")
    for n in range(20):
        await client.request(f"BREW{n}", "/health")
        await client.get(f"/no/such/path/{n}")
        await client.request(f"BREW{n}", f"/made-up-{n}")
    body = (await client.get("/metrics")).text
    after = _series(body, "chatsight_http_requests_total")
    for invented in ("BREW", "/no/such", "made-up"):
        assert invented not in body
    # At most the fixed series these requests can land in, whatever was sent.
    new = set(after) - set(before)
    assert {line.split(" ")[0] for line in new} <= {
        'chatsight_http_requests_total{method="other",route="/health",status="405"}',
        'chatsight_http_requests_total{method="GET",route="unmatched",status="404"}',
        'chatsight_http_requests_total{method="other",route="unmatched",status="404"}',
        'chatsight_http_requests_total{method="GET",route="/metrics",status="200"}',
    }


async def test_metrics_show_the_process_and_the_unfinished_work(client: httpx.AsyncClient) -> None:
    def unsent(body: str) -> float:
        [line] = [
            line
            for line in _series(body, "chatsight_jobs")
            if 'kind="relay"' in line and 'state="unsent"' in line
        ]
        return float(line.rsplit(" ", 1)[1])

    body = (await client.get("/metrics")).text
    for name in ("process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds"):
        assert name in body
    for kind, state in [
        ("import", "importing"),
        ("indexing", "pending"),
        ("indexing", "indexing"),
        ("insight", "pending"),
        ("insight", "running"),
    ]:
        assert f'chatsight_jobs{{kind="{kind}",state="{state}"}}' in body
    async with SessionLocal() as session:
        await session.execute(
            text(
                "INSERT INTO outbox (task_name, args, attempts) "
                "VALUES ('chatsight.test.noop', '[]', 0)"
            )
        )
        await session.commit()
    try:
        assert unsent((await client.get("/metrics")).text) == unsent(body) + 1
    finally:
        async with SessionLocal() as session:
            await session.execute(
                text("DELETE FROM outbox WHERE task_name = 'chatsight.test.noop'")
            )
            await session.commit()
