"""Settings as people set them: `.env` under the environment for `make run` / `make test` /
the app, and `.env.example` as the one list of every setting, readable by the shell too."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values

from scripts.stack import Servers, environment
from src.config import Settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / ".env.example"
#: Read by `scripts/stack.py` (make run / make test), not by the app's settings.
STACK_SETTINGS = {
    "PORT",
    "HOST",
    "API_WORKERS",
    "WORKER_CONCURRENCY",
    "BULK_WORKER_CONCURRENCY",
    "BULK_WORKER_NICE",
    "EMBEDDED_PG_PORT",
    "EMBEDDED_VALKEY_PORT",
    "CHATSIGHT_DATA_DIR",
}
ASSIGNMENT = re.compile(r"^(?:# ?)?([A-Z][A-Z0-9_]*)=(.*)$")


def example_lines(*, uncommented: bool) -> str:
    """The example as written, or with every commented `# NAME=value` line made live."""
    lines = EXAMPLE.read_text().splitlines()
    if uncommented:
        lines = [line.removeprefix("# ") if ASSIGNMENT.match(line) else line for line in lines]
    return "\n".join(lines) + "\n"


def shell_values(path: Path) -> dict[str, str]:
    """What `set -a; . path` exports, read back from a clean environment."""
    out = subprocess.run(
        [
            "sh",
            "-ec",
            'set -a; . "$1"; set +a; exec "$2" -c '
            '"import json, os; print(json.dumps(dict(os.environ)))"',
            "sh",
            str(path),
            sys.executable,
        ],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    values: dict[str, str] = json.loads(out)
    return values


@pytest.mark.parametrize("uncommented", [False, True], ids=["as-written", "all-uncommented"])
def test_env_example_means_the_same_to_the_shell_and_to_the_app(
    tmp_path: Path, uncommented: bool
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(example_lines(uncommented=uncommented))
    read_by_app = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    assert read_by_app, "the example sets nothing"
    by_shell = shell_values(env_file)
    assert {name: by_shell.get(name) for name in read_by_app} == read_by_app
    assert read_by_app["DB_ISOLATION_LEVEL"] == "REPEATABLE READ"
    if uncommented:
        assert json.loads(read_by_app["CREDIT_PACKAGES"])["small"]["credits"] == 50


def test_every_setting_is_in_env_example_and_nothing_else_is() -> None:
    documented = {
        match[1] for line in EXAMPLE.read_text().splitlines() if (match := ASSIGNMENT.match(line))
    }
    settings = {name.upper() for name in Settings.model_fields}
    assert settings - documented == set(), "settings missing from .env.example"
    assert documented - settings - STACK_SETTINGS == set(), ".env.example names no setting"


def test_env_example_values_are_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Every value here is the default": loading the example changes no setting."""
    env_file = tmp_path / ".env"
    env_file.write_text(example_lines(uncommented=False))
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    from_example = Settings(_env_file=env_file)  # type: ignore[call-arg]
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert from_example.model_dump() == defaults.model_dump()


def test_the_environment_wins_over_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "DATABASE_URL=postgresql://db.example/chatsight\n"
        "export REDIS_URL='redis://cache.example:6379/0'\n"
        "LOG_LEVEL=DEBUG\n"
        "# PORT=9000\n"
        "DECLARED_ONLY\n"
    )
    merged = environment({"LOG_LEVEL": "WARNING", "PATH": "/bin"}, env_file)
    assert merged == {
        "DATABASE_URL": "postgresql://db.example/chatsight",
        "REDIS_URL": "redis://cache.example:6379/0",
        "LOG_LEVEL": "WARNING",
        "PATH": "/bin",
    }
    assert environment({"PATH": "/bin"}, tmp_path / "missing") == {"PATH": "/bin"}


def test_servers_named_in_env_file_are_used_not_started(tmp_path: Path) -> None:
    """`make run` / `make test` decide from the environment over `.env`: URLs written only in
    the file start no embedded server."""
    env_file = tmp_path / ".env"
    env_file.write_text(
        "DATABASE_URL=postgresql://db.example/chatsight\nREDIS_URL=redis://cache.example/0\n"
    )
    servers = Servers(base=environment({}, env_file))
    assert servers.start() == {}
    assert (servers.postgres, servers.valkey) == (None, None)


def test_app_settings_read_env_file_under_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("LOG_LEVEL=DEBUG\nRAG_CITATIONS=7\n")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.delenv("RAG_CITATIONS", raising=False)
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert (settings.log_level, settings.rag_citations) == ("WARNING", 7)
