"""The real processes a fault is injected into: the API (uvicorn), Celery workers and beat,
and a TCP proxy that stands between them and the broker, so that the broker can go away and
come back without touching the server itself (which may be someone's real Redis)."""

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from scripts.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 60


class Process:
    """A child process in its own process group, its output in a file (a pipe nobody reads
    would block it)."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.log = Path(tempfile.mkstemp(prefix=f"chatsight-{name}-", suffix=".log")[1])
        with self.log.open("wb") as out:
            self.popen = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def wait_for_output(self, text: str) -> None:
        deadline = time.monotonic() + START_SECONDS
        while text not in self.output():
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name} did not print {text!r}:\n{self.output()[-3000:]}"
                )
            await asyncio.sleep(0.1)

    def children(self) -> list[int]:
        """The pids of this process's children (a prefork worker's pool processes), from
        each process's parent in /proc."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with suppress(OSError, IndexError, ValueError):
                # "pid (name) state ppid ...": the name may hold spaces, so split after it.
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.popen.pid:
                    found.append(int(stat.parent.name))
        return found

    def kill(self) -> None:
        """SIGKILL the whole process group: nothing gets to clean up."""
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    async def stop(self) -> None:
        if self.popen.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                await asyncio.to_thread(self.popen.wait, 20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.unlink(missing_ok=True)


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


async def start_worker(*, concurrency: int = 2, **env: str) -> Process:
    """A prefork worker for both queues, as `make run` runs them (one process per queue
    there; one here, so that a kill reaches every kind of job)."""
    worker = Process(
        "worker",
        python(
            "-m",
            "celery",
            "-A",
            "workers.celery_app",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(concurrency),
            "-Q",
            "chatsight,chatsight.bulk",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "INFO",
        ),
        {"CELERY_WORKER": "true", "LOG_LEVEL": "INFO", **env},
    )
    await worker.wait_for_output("ready.")
    return worker


async def start_beat(**env: str) -> Process:
    schedule = Path(tempfile.mkdtemp(prefix="chatsight-beat-")) / "schedule"
    beat = Process(
        "beat",
        python(
            "-m",
            "celery",
            "-A",
            "workers.celery_app",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(schedule),
        ),
        {"CELERY_WORKER": "true", **env},
    )
    await beat.wait_for_output("beat: Starting")
    return beat


class Api:
    """The API as `make run` serves it, in a process of its own."""

    def __init__(self, process: Process, port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"


async def start_api(*, workers: int = 1, **env: str) -> Api:
    """The API under uvicorn, with `workers` processes as `API_WORKERS` gives `make run`."""
    port = free_port()
    process = Process(
        "api",
        python(
            *("-m", "uvicorn", "src.main:app", "--port", str(port), "--no-access-log"),
            *(("--workers", str(workers)) if workers > 1 else ()),
        ),
        {"LOG_LEVEL": "WARNING", **env},
    )
    api = Api(process, port)
    deadline = time.monotonic() + START_SECONDS
    async with httpx.AsyncClient(base_url=api.url) as http:
        while True:
            with suppress(httpx.HTTPError):
                if (await http.get("/health")).status_code == 200:
                    return api
            if process.popen.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the API did not start:\n{process.output()[-3000:]}")
            await asyncio.sleep(0.1)


class TcpProxy:
    """Forwards a local port to the broker. `down()` drops every connection and refuses new
    ones, as a broker that died would; `up()` accepts again on the same port."""

    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self.target_host = parts.hostname or "127.0.0.1"
        self.target_port = parts.port or 6379
        self.port = free_port()
        self.url = urlunsplit(parts._replace(netloc=f"127.0.0.1:{self.port}"))
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def down(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                self.target_host, self.target_port
            )
        except OSError:
            writer.transport.abort()
            return
        self.writers |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
            with suppress(OSError, asyncio.CancelledError):
                while data := await source.read(65536):
                    target.write(data)
                    await target.drain()
            target.transport.abort()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        self.writers -= {writer, upstream_writer}


@asynccontextmanager
async def proxy_to(url: str) -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy(url)
    await proxy.up()
    try:
        yield proxy
    finally:
        await proxy.down()
