"""Retries wait Celery's exponential backoff with full jitter: bounded, growing, and spread."""

from types import SimpleNamespace
from typing import Any

from workers.decorators import RETRY_BACKOFF_MAX, retry_countdown


def countdowns(retries: int, samples: int = 300) -> list[int]:
    task: Any = SimpleNamespace(request=SimpleNamespace(retries=retries))
    return [retry_countdown(task) for _ in range(samples)]


def test_the_wait_doubles_up_to_the_cap_and_is_spread_out() -> None:
    for retries in range(8):
        ceiling = min(RETRY_BACKOFF_MAX, 2 * 2**retries)
        waits = countdowns(retries)
        assert all(0 <= wait <= ceiling for wait in waits), (retries, max(waits))
        if ceiling >= 8:
            # Full jitter: tasks failing together come back at different times.
            assert len(set(waits)) > ceiling // 2, (retries, sorted(set(waits)))
    assert max(countdowns(20)) <= RETRY_BACKOFF_MAX
