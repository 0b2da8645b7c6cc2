"""The request path: `GET /api/v1/chats/{id}` against a bare asyncpg ASGI app serving the same
row (bench/bare_app.py), each under uvicorn as `make run` starts the API, loaded by `wrk`
(2 threads, 32 connections) in the same run. Writes bench/reports/request_path.md.

    make bench   (or: python -m scripts.stack exec -- python -m bench.request_path)

Needs `wrk` (Debian: `apt-get install wrk`).
"""

import argparse
import asyncio
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import delete

from scripts.stack import api_worker_count, free_port
from src.auth.security import create_access_token
from src.chats import service as chats_service
from src.chats.importing import ImportRequest
from src.config import get_settings
from src.database import SessionLocal, engine, get_async_db_transaction
from src.users.models import User

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "bench" / "reports" / "request_path.md"
EXPORT = "".join(
    f"01/02/2024, 10:{minute:02d} - {'Ana' if minute % 2 else 'Ben'}: message {minute}\n"
    for minute in range(60)
)


BARE = "bare asyncpg ASGI app"
PRODUCT = "Chatsight API"


@dataclass(frozen=True)
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def plain_dsn(url: str) -> str:
    """The asyncpg DSN of a SQLAlchemy URL (no `+asyncpg`)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql"))


async def serve(
    app: str, env: dict[str, str], workers: int
) -> tuple[asyncio.subprocess.Process, str]:
    """`app` under uvicorn (`workers` processes), as `make run` starts the API; its base URL
    once it answers."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "uvicorn", app, "--port", str(port), "--no-access-log"),
        *(("--workers", str(workers)) if workers > 1 else ()),
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            with suppress(httpx.HTTPError):
                await http.get(url + "/")
                return process, url
            await asyncio.sleep(0.1)
    process.kill()
    await process.wait()
    raise RuntimeError(f"{app} did not start")


def wrk(url: str, token: str, seconds: int, connections: int) -> Load:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        assert match, out
        value, unit = float(match[1]), match[2]
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert rate, out
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non_2xx[1]) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Load(float(rate[1]), latency("50%"), latency("99%"), errors)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--workers",
        type=int,
        default=api_worker_count(dict(os.environ)),
        help="uvicorn processes for each server (default: as many as `make run` starts)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")

    async with SessionLocal() as session:
        user = User(email=f"bench-{uuid.uuid4().hex}@example.com", password_hash="x")
        session.add(user)
        await session.commit()
        user_id, generation = user.id, user.token_generation
    chat, _ = await chats_service.import_export(
        user_id,
        ImportRequest(
            data=EXPORT.encode(), filename="chat.txt", title=None, timezone="UTC", format=None
        ),
    )
    token = create_access_token(user_id, generation)
    path = f"/api/v1/chats/{chat.id}"

    bare_env = {
        "BARE_DATABASE_URL": plain_dsn(get_settings().database_url),
        "BARE_USER_ID": str(user_id),
    }
    # Several API processes add their metrics up through files, as under `make run`.
    product_env = (
        {"PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="chatsight-metrics-")}
        if args.workers > 1
        else {}
    )
    # (what, app, its environment, path): the anchor, the product, and the product's floor
    # without the database (its middleware and framework alone).
    servers = [
        (BARE, "bench.bare_app:app", bare_env, path),
        (PRODUCT, "src.main:app", product_env, path),
        ("Chatsight API, `GET /health` (no database)", "src.main:app", product_env, "/health"),
    ]
    runs: dict[str, Load] = {}
    try:
        for name, app, env, route in servers:
            process, url = await serve(app, env, args.workers)
            try:
                # A warm-up first: pools, caches.
                await asyncio.to_thread(wrk, url + route, token, 2, args.connections)
                runs[name] = await asyncio.to_thread(
                    wrk, url + route, token, args.seconds, args.connections
                )
            finally:
                process.terminate()
                await process.wait()
            print(name, runs[name], flush=True)
    finally:
        async with get_async_db_transaction() as session:
            await session.execute(delete(User).where(User.id == user_id))
        await engine.dispose()

    bare, product = runs[BARE], runs[PRODUCT]
    lines = [
        "# The request path: one chat by id",
        "",
        f"`GET {'/api/v1/chats/{id}'}` of a 60-message chat, `wrk` 2 threads, "
        f"{args.connections} connections, {args.seconds} s after a 2 s warm-up; each server "
        f"alone under uvicorn with {args.workers} process(es), as `make run` starts the API "
        "here. Measured "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.system()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}.",
        "",
        "| server | requests/s | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {load.requests_per_second:.0f} | {load.p50_ms:.1f} | "
            f"{load.p99_ms:.1f} | {load.errors} |"
            for name, load in runs.items()
        ),
        "",
        f"Ratio: requests/s {product.requests_per_second / bare.requests_per_second:.2f}x the "
        f"bare app (target at least 0.5x); p99 {product.p99_ms / bare.p99_ms:.1f}x (target at "
        "most 2x).",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    REPORT.write_text(report)


if __name__ == "__main__":
    asyncio.run(main())
