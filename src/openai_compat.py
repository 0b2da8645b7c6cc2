"""The one client for OpenAI-compatible servers (a hosted API, vLLM, Ollama, ...): embeddings,
answers and insights all call them through here, with one retry policy.

- Retried: transport errors, 429 and 5xx, up to `max_retries` more times, waiting what the
  server's `Retry-After` asks (capped) or else an exponential backoff with full jitter
  (`backoff * 2^n`, capped at `max_backoff`), so that callers failing together do not come
  back together. Giving up raises `EndpointUnavailable` (transient: try again later).
- Not retried: any other status from 300 up (a wrong URL, model or key; a request the server
  refuses) raises `EndpointRefused`, with the server's own message when it sent one.
- Streams (`stream_data`) are Server-Sent Events read with httpx-sse; they are retried only
  before their first event, and a stream that breaks after it raises `StreamBroken`.

Each caller turns these into its own domain's error (`EmbeddingError`, `AnswerError`,
`InsightError`). A client is made per call: a Celery task's event loop is not the API's.
"""

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import SSEError, aconnect_sse
from pydantic import SecretStr

from src.config import get_settings
from src.logging import get_logger

log = get_logger(__name__)

#: Besides 5xx: request timeout and rate limiting.
_RETRIED_STATUSES = {408, 429}


class EndpointError(Exception):
    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class EndpointUnavailable(EndpointError):
    """Every attempt failed in a way that may pass (no answer, 429, 5xx)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=True)


class EndpointRefused(EndpointError):
    """The server answered that it will not do this (4xx other than the retried ones)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message, transient=False)
        self.status = status


class StreamBroken(EndpointError):
    """The stream stopped or became unreadable after it had started."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=True)


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    api_key: SecretStr | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_retries: int = 3
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 8.0
    transport: httpx.AsyncBaseTransport | None = None  # tests

    @classmethod
    def for_chat(cls) -> "Endpoint":
        """The chat-completions server of the settings (answers and insights)."""
        settings = get_settings()
        return cls(
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key,
            connect_timeout=settings.openai_connect_timeout_seconds,
            read_timeout=settings.openai_read_timeout_seconds,
            max_retries=settings.openai_max_retries,
        )

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds to wait before retry number `attempt` (from 1)."""
        if response is not None:
            try:
                asked = float(response.headers.get("Retry-After", ""))
            except ValueError:
                pass
            else:
                return min(self.max_backoff_seconds, max(0.0, asked))
        ceiling = min(self.max_backoff_seconds, self.backoff_seconds * 2.0 ** (attempt - 1))
        return random.uniform(0.0, ceiling)

    @asynccontextmanager
    async def client(self) -> AsyncIterator[httpx.AsyncClient]:
        headers = {"Accept": "application/json"}
        if self.api_key is not None:
            headers["Authorization"] = f"Bearer {self.api_key.get_secret_value()}"
        timeout = httpx.Timeout(self.read_timeout, connect=self.connect_timeout)
        async with httpx.AsyncClient(
            timeout=timeout, headers=headers, transport=self.transport
        ) as client:
            yield client


def _retried(status: int) -> bool:
    return status in _RETRIED_STATUSES or status >= 500


def _refused(response: httpx.Response) -> EndpointRefused:
    return EndpointRefused(
        f"refused the request: HTTP {response.status_code}{error_detail(response)}",
        response.status_code,
    )


async def post_json(
    client: httpx.AsyncClient, endpoint: Endpoint, path: str, body: dict[str, Any]
) -> Any:
    """POST `body` to `path` under the retry policy; the answer's JSON."""
    last_error = "no attempt"
    last_response: httpx.Response | None = None
    for attempt in range(endpoint.max_retries + 1):
        if attempt:
            await asyncio.sleep(endpoint.delay(attempt, last_response))
            last_response = None
        try:
            response = await client.post(endpoint.url(path), json=body)
        except httpx.TransportError as exc:
            last_error = f"transport error: {type(exc).__name__}"
        else:
            if _retried(response.status_code):
                last_error = f"HTTP {response.status_code}"
                last_response = response
            elif response.status_code >= 300:  # redirects are not followed: a wrong base URL
                raise _refused(response)
            else:
                try:
                    return response.json()
                except ValueError as exc:
                    raise EndpointRefused("answered with something not JSON", 200) from exc
        log.info("openai_compat.retry", path=path, attempt=attempt + 1, error=last_error)
    raise EndpointUnavailable(f"unavailable ({last_error})")


async def stream_data(
    client: httpx.AsyncClient, endpoint: Endpoint, path: str, body: dict[str, Any]
) -> AsyncIterator[str]:
    """POST `body` to `path` and yield the `data` of each Server-Sent Event until `[DONE]`,
    retried under the policy until the first event."""
    last_error = "no attempt"
    last_response: httpx.Response | None = None
    for attempt in range(endpoint.max_retries + 1):
        if attempt:
            await asyncio.sleep(endpoint.delay(attempt, last_response))
            last_response = None
        started = False
        try:
            async with aconnect_sse(client, "POST", endpoint.url(path), json=body) as source:
                response = source.response
                if _retried(response.status_code):
                    last_error = f"HTTP {response.status_code}"
                    last_response = response
                    continue
                if response.status_code >= 300:
                    await response.aread()
                    raise _refused(response)
                async for event in source.aiter_sse():
                    if event.data == "[DONE]":
                        return
                    started = True
                    yield event.data
                return
        except (httpx.TransportError, SSEError) as exc:
            if started:
                raise StreamBroken(f"the stream broke: {exc!r}") from exc
            last_error = f"transport error: {type(exc).__name__}"
        log.info("openai_compat.retry", path=path, attempt=attempt + 1, error=last_error)
    raise EndpointUnavailable(f"unavailable ({last_error})")


def error_detail(response: httpx.Response) -> str:
    """`: <message>` from an OpenAI-style error body, shortened; empty when there is none."""
    try:
        payload = response.json()
        message = payload["error"]["message"] if isinstance(payload, dict) else None
    except (ValueError, KeyError, TypeError):
        message = None
    if not isinstance(message, str) or not message:
        return ""
    return f": {message[:200]}"
