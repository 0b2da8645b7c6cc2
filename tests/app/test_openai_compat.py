"""The one client for OpenAI-compatible servers: how long it waits between attempts."""

import httpx

from src.openai_compat import Endpoint


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    endpoint = Endpoint(base_url="http://model.test/v1", max_backoff_seconds=8.0)
    asked = httpx.Response(429, headers={"Retry-After": "3"})
    too_long = httpx.Response(503, headers={"Retry-After": "120"})
    assert endpoint.delay(1, asked) == 3.0
    assert endpoint.delay(1, too_long) == 8.0


def test_without_retry_after_the_wait_is_a_jittered_doubling_backoff() -> None:
    endpoint = Endpoint(
        base_url="http://model.test/v1/", backoff_seconds=0.5, max_backoff_seconds=8.0
    )
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (9, 8.0)]:
        waits = [endpoint.delay(attempt, httpx.Response(503)) for _ in range(200)]
        assert all(0.0 <= wait <= ceiling for wait in waits)
        assert len(set(waits)) > 100  # spread out, not all the same moment
    assert endpoint.url("/chat/completions") == "http://model.test/v1/chat/completions"
