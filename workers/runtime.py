"""Per worker process: one event loop and one NullPool engine, created once, disposed at
shutdown. A task body is `runtime.run(service_call(ids...))`."""

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

from src.database import engine, log_engine_configuration

T = TypeVar("T")

_runner: asyncio.Runner | None = None
_owner_pid: int | None = None


def start() -> None:
    """Create this process's loop (idempotent; a forked child never reuses its parent's)."""
    global _runner, _owner_pid
    if _runner is not None and _owner_pid == os.getpid():
        return
    _runner = asyncio.Runner()
    _owner_pid = os.getpid()
    log_engine_configuration()


def run(coro: Coroutine[Any, Any, T]) -> T:
    start()
    assert _runner is not None
    return _runner.run(coro)


def stop() -> None:
    global _runner, _owner_pid
    if _runner is None or _owner_pid != os.getpid():
        return
    _runner.run(engine.dispose())
    _runner.close()
    _runner = None
    _owner_pid = None
