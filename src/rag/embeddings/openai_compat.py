"""The `openai` embedder: any OpenAI-compatible `POST {base}/embeddings` (the hosted API,
vLLM, Ollama, text-embeddings-inference...).

429 and 5xx answers, timeouts and connection errors are retried a bounded number of times
with exponential backoff (a numeric `Retry-After` is honoured, up to the backoff cap); what
still fails then is a transient `EmbeddingError`. Any other 4xx, a malformed answer or
vectors of the wrong size are permanent ones: retrying would not change them.
"""

import asyncio
import random
from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np
from pydantic import SecretStr

from src.logging import get_logger
from src.rag.embeddings.base import DIMENSION, EmbeddingError, check_texts, normalised

log = get_logger(__name__)

#: Besides 5xx: request timeout and rate limiting.
_TRANSIENT_STATUSES = frozenset({408, 429})


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible HTTP endpoint."""

    name = "openai"
    # A cautious floor for OpenAI's text-embedding-3 models, not measured here: another
    # model behind this endpoint wants RAG_MIN_SIMILARITY set for it.
    form_weight = 0.0  # not measured for this model
    min_similarity = 0.3
    similarity_margin = 2.0  # none (cosines span 2): not measured for this model

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: SecretStr | str | None = None,
        dimension: int = DIMENSION,
        batch_size: int = 64,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_retries: int = 3,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 8.0,
        send_dimensions: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`send_dimensions` adds `"dimensions": <dimension>` to the request, for models that
        can shorten their vectors (OpenAI's text-embedding-3-*); `transport` is for tests."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if max_retries < 0:
            raise ValueError("max_retries cannot be negative")
        self.url = base_url.rstrip("/") + "/embeddings"
        self.model = model
        self.dimension = dimension
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.send_dimensions = send_dimensions
        self._api_key = SecretStr(api_key) if isinstance(api_key, str) else api_key
        self._timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self._transport = transport

    async def embed(self, texts: Sequence[str], *, query: bool = False) -> list[list[float]]:
        """One unit-length vector per text, in order, in requests of `batch_size` texts."""
        items = check_texts(texts)
        if not items:
            return []
        headers = {"Accept": "application/json"}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        # A client per call: the event loop of a Celery task is not the API's.
        async with httpx.AsyncClient(
            timeout=self._timeout, headers=headers, transport=self._transport
        ) as client:
            vectors: list[list[float]] = []
            for start in range(0, len(items), self.batch_size):
                vectors.extend(
                    await self._embed_batch(client, items[start : start + self.batch_size])
                )
        return vectors

    async def _embed_batch(self, client: httpx.AsyncClient, batch: list[str]) -> list[list[float]]:
        body: dict[str, Any] = {"model": self.model, "input": batch}
        if self.send_dimensions:
            body["dimensions"] = self.dimension
        last_error = "no attempt"
        last_response: httpx.Response | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                await asyncio.sleep(self._delay(attempt, last_response))
                last_response = None
            try:
                response = await client.post(self.url, json=body)
            except httpx.TransportError as exc:
                last_error = f"transport error: {type(exc).__name__}"
                log.info("embeddings.openai_retry", attempt=attempt + 1, error=last_error)
                continue
            status = response.status_code
            if status in _TRANSIENT_STATUSES or status >= 500:
                last_error = f"HTTP {status}"
                last_response = response
                log.info("embeddings.openai_retry", attempt=attempt + 1, error=last_error)
                continue
            if status >= 300:  # 4xx, or a redirect (not followed: the base URL is wrong)
                raise EmbeddingError(
                    f"the embedding endpoint refused the request: HTTP {status}"
                    f"{_error_detail(response)}"
                )
            return self._vectors(response, len(batch))
        log.warning(
            "embeddings.openai_unavailable", attempts=self.max_retries + 1, error=last_error
        )
        raise EmbeddingError(
            f"the embedding endpoint is unavailable ({last_error})", transient=True
        )

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds to wait before `attempt` (1-based retry number)."""
        if response is not None:
            retry_after = response.headers.get("Retry-After", "")
            try:
                return min(self.max_backoff_seconds, max(0.0, float(retry_after)))
            except ValueError:
                pass
        ceiling = min(self.max_backoff_seconds, self.backoff_seconds * 2.0 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)

    def _vectors(self, response: httpx.Response, expected: int) -> list[list[float]]:
        """The answer's vectors in input order (by `index`), checked and normalised."""
        try:
            data = response.json()["data"]
            rows = sorted(
                [
                    (int(item.get("index", position)), item["embedding"])
                    for position, item in enumerate(data)
                ],
                key=lambda row: row[0],
            )
            indexes = [index for index, _ in rows]
            matrix = np.array([embedding for _, embedding in rows], dtype=np.float32)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise EmbeddingError(f"malformed answer from the embedding endpoint: {exc!r}") from exc
        if indexes != list(range(expected)):
            raise EmbeddingError(
                f"the embedding endpoint returned {len(indexes)} vectors for {expected} texts"
            )
        if matrix.ndim != 2 or matrix.shape[1] != self.dimension:
            got = matrix.shape[1] if matrix.ndim == 2 else "ragged"
            raise EmbeddingError(
                f"the embedding endpoint returned vectors of dimension {got}, "
                f"expected {self.dimension} (model {self.model!r})"
            )
        if not np.isfinite(matrix).all() or not np.linalg.norm(matrix, axis=1).all():
            raise EmbeddingError("the embedding endpoint returned a zero or non-finite vector")
        result: list[list[float]] = normalised(matrix).tolist()
        return result


def _error_detail(response: httpx.Response) -> str:
    """`: <message>` from an OpenAI-style error body, shortened; empty when there is none."""
    try:
        payload = response.json()
        message = payload["error"]["message"] if isinstance(payload, dict) else None
    except (ValueError, KeyError, TypeError):
        message = None
    if not isinstance(message, str) or not message:
        return ""
    return f": {message[:200]}"
