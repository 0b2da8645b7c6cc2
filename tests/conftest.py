"""Test session: one freshly migrated test database per run, on real servers.

`make test` starts the embedded servers (or uses DATABASE_URL / REDIS_URL); running `pytest`
directly starts them too. The tests never touch the configured database itself: they use
`<name>_test` beside it, dropped and re-created at the start of the run, and Redis database 15.

Isolation: service and repository tests use `db_session`, inside an outer transaction that is
rolled back. API tests go through the real app and commit for real (the code under test owns
its transactions), using unique emails so that tests never see each other's rows.
"""

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
_servers: Any = None


def _test_database_url(url: str) -> str:
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "chatsight"
    return urlunsplit(parts._replace(path=f"/{name}_test"))


def _test_redis_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/15"))


def pytest_configure(config: pytest.Config) -> None:
    global _servers
    from scripts.stack import Servers, environment

    # `.env` under the environment, as `make test` passes them (pytest run directly too).
    os.environ.update(environment())
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        _servers = Servers(base=os.environ)
        os.environ.update(_servers.start())

    os.environ["DATABASE_URL"] = _test_database_url(os.environ["DATABASE_URL"])
    os.environ["REDIS_URL"] = _test_redis_url(os.environ["REDIS_URL"])
    os.environ["ENVIRONMENT"] = "test"
    # Every test client comes from one address and signs in and pays far more often than a
    # person: the abuse limits are lifted here, and tests/auth/test_rate_limits.py sets them.
    for limit in (
        "AUTH_ATTEMPTS_PER_MINUTE_PER_ADDRESS",
        "AUTH_ATTEMPTS_PER_MINUTE_PER_ACCOUNT",
        "PAYMENTS_PER_MINUTE",
        "DIAGNOSTICS_PER_MINUTE",
    ):
        os.environ[limit] = "1000000"
    os.environ.pop("CELERY_WORKER", None)

    from alembic.config import Config

    from alembic import command
    from scripts.dbadmin import recreate_database

    recreate_database(os.environ["DATABASE_URL"])
    alembic_config = Config(str(ROOT / "alembic.ini"))
    alembic_config.attributes["configure_logger"] = False
    command.upgrade(alembic_config, "head")


def error_answers_met() -> tuple[set[str], set[str]]:
    """(method, route, status) of every error answer the app gave during this session (its
    request counter, src/metrics.py) on an operation of the OpenAPI document: all of them,
    and those the document does not list for that operation. Routes the document does not
    have (test-only probe routes) are left out."""
    from src.main import app
    from src.metrics import HTTP_REQUESTS

    paths = app.openapi()["paths"]
    met: set[str] = set()
    undocumented: set[str] = set()
    for metric in HTTP_REQUESTS.collect():
        for sample in metric.samples:
            labels = sample.labels
            if not sample.name.endswith("_total") or sample.value == 0:
                continue
            status = int(labels["status"])
            operation = paths.get(labels["route"], {}).get(labels["method"].lower())
            if status < 400 or operation is None:
                continue
            answer = f"{labels['method']} {labels['route']} {status}"
            met.add(answer)
            if str(status) not in operation["responses"]:
                undocumented.add(answer)
    return met, undocumented


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The API's contract holds for every request of the suite: an error status the suite
    met that the operation does not document fails the run."""
    if _servers is None and "DATABASE_URL" not in os.environ:
        return  # configure did not run (collection error)
    met, undocumented = error_answers_met()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"contract: {len(met)} distinct error answers (method, route, status) met, "
            f"{len(undocumented)} not in the OpenAPI document"
        )
        for answer in sorted(undocumented):
            reporter.write_line(f"  undocumented: {answer}", red=True)
    if undocumented:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    if _servers is not None:
        _servers.stop()


@pytest.fixture(scope="session")
async def engine() -> AsyncIterator[Any]:
    from src.database import engine

    yield engine
    await engine.dispose()


@pytest.fixture
async def db_session(engine: Any) -> AsyncIterator[Any]:
    """A session inside an outer transaction that is rolled back after the test; the code's
    own commits become savepoint releases."""
    from sqlalchemy.ext.asyncio import AsyncSession

    async with engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            await session.close()
            await transaction.rollback()


@pytest.fixture(scope="session")
def app() -> Any:
    from src.main import app

    return app


@pytest.fixture
async def client(app: Any) -> AsyncIterator[Any]:
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture(scope="session")
async def test_tables(engine: Any) -> AsyncIterator[None]:
    """Create the test-only tables once (committed), drop them at the end."""
    from tests.models import TestBase

    async with engine.begin() as connection:
        await connection.run_sync(TestBase.metadata.create_all)
    yield
    async with engine.begin() as connection:
        await connection.run_sync(TestBase.metadata.drop_all)


pytest_plugins = ["tests.workers.process", "tests.model_server"]
