"""Create, re-create and drop databases, through the server's `postgres` maintenance database."""

import asyncio
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def _split(url: str) -> tuple[str, str]:
    """(URL of the maintenance database, name of the target database) for a database URL."""
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    name = parts.path.lstrip("/")
    if not name:
        raise ValueError(f"no database name in {url!r}")
    return urlunsplit(parts._replace(path="/postgres")), name


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _ensure(url: str, *, recreate: bool, drop_only: bool = False) -> None:
    admin_url, name = _split(url)
    connection = await asyncpg.connect(admin_url)
    try:
        if recreate or drop_only:
            await connection.execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
        if drop_only:
            return
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f"CREATE DATABASE {_quote(name)}")
    finally:
        await connection.close()


def ensure_database(url: str) -> None:
    asyncio.run(_ensure(url, recreate=False))


def recreate_database(url: str) -> None:
    asyncio.run(_ensure(url, recreate=True))


def drop_database(url: str) -> None:
    asyncio.run(_ensure(url, recreate=False, drop_only=True))
