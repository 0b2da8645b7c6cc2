"""A real Celery worker process for end-to-end tests, and reading its JSON log lines."""

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

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


async def start_worker(*, purge: bool = True, **env_overrides: str) -> WorkerProcess:
    """A solo-pool worker on the test broker, started and ready. By default the queue is
    emptied first: tasks that earlier tests queued (with no worker running) are not this
    test's business."""
    if purge:
        from workers.celery_app import celery_app

        await asyncio.to_thread(celery_app.control.purge)
    env = {
        **os.environ,
        "CELERY_WORKER": "true",
        "LOG_JSON": "true",
        "LOG_LEVEL": "INFO",
        **env_overrides,
    }
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
        "chatsight,chatsight.bulk",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    handle = WorkerProcess(process)
    await handle.wait_for(lambda line: "ready." in line)
    return handle


async def stop_worker(handle: WorkerProcess) -> None:
    process = handle.process
    if process.returncode is None:
        process.terminate()
        try:
            async with asyncio.timeout(20):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


@pytest.fixture
async def worker() -> AsyncIterator[WorkerProcess]:
    handle = await start_worker()
    try:
        yield handle
    finally:
        await stop_worker(handle)
