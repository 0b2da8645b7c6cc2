"""End to end with a real worker process: a request's id reaches its background task's log."""

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import register

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_SECONDS = 60


class WorkerProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    async def wait_for(self, predicate: Any) -> str:
        """Read the worker's output until a line matches (bounded by a deadline)."""
        assert self.process.stdout is not None
        async with asyncio.timeout(DEADLINE_SECONDS):
            while True:
                raw = await self.process.stdout.readline()
                if not raw:
                    raise AssertionError("worker exited:\n" + "\n".join(self.lines[-30:]))
                line = raw.decode(errors="replace").rstrip()
                self.lines.append(line)
                if predicate(line):
                    return line


def json_event(line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@pytest.fixture
async def worker() -> AsyncIterator[WorkerProcess]:
    env = {**os.environ, "CELERY_WORKER": "true", "LOG_JSON": "true", "LOG_LEVEL": "INFO"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery_app",
        "worker",
        "--pool",
        "solo",
        "-Q",
        "chatsight",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    handle = WorkerProcess(process)
    try:
        await handle.wait_for(lambda line: "ready." in line)
        yield handle
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                async with asyncio.timeout(20):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


async def test_request_id_reaches_the_worker_log(
    client: httpx.AsyncClient, worker: WorkerProcess
) -> None:
    account = await register(client)
    request_id = f"e2e-{os.getpid()}-{id(worker)}"
    response = await client.post(
        "/api/v1/diagnostics/ping", headers={**account.headers, "X-Request-ID": request_id}
    )
    assert response.status_code == 202
    assert response.json()["request_id"] == request_id

    line = await worker.wait_for(
        lambda text: (
            json_event(text).get("event") == "diagnostics.ping"
            and json_event(text).get("request_id") == request_id
        )
    )
    event = json_event(line)
    assert event["task_id"] == response.json()["task_id"]
    assert event["user_id"] == str(account.id)
    assert any(
        json_event(text).get("event") == "Database engine configured for Celery worker"
        and json_event(text).get("pool") == "NullPool"
        for text in worker.lines
    )


def test_celery_settings_do_not_lose_work() -> None:
    from workers.celery_app import celery_app

    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.accept_content == ["json"]
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    celery_app.loader.import_default_modules()
    for entry in conf.beat_schedule.values():
        assert entry["task"] in celery_app.tasks
