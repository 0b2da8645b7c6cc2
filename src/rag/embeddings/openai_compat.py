"""The `openai` embedder: any OpenAI-compatible `POST {base}/embeddings` (the hosted API,
vLLM, Ollama, text-embeddings-inference...).

Requests go through the one client for such servers (`src.openai_compat`: its retry policy
for timeouts, connection errors, 429 and 5xx); what still fails then is a transient
`EmbeddingError`. Any other 4xx, a malformed answer or vectors of the wrong size are
permanent ones: retrying would not change them.
"""

from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np
from pydantic import SecretStr

from src.openai_compat import Endpoint, EndpointError, post_json
from src.rag.embeddings.base import DIMENSION, EmbeddingError, check_texts, normalised


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
        self.model = model
        self.dimension = dimension
        self.batch_size = batch_size
        self.send_dimensions = send_dimensions
        self.endpoint = Endpoint(
            base_url=base_url,
            api_key=SecretStr(api_key) if isinstance(api_key, str) else api_key,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_retries=max_retries,
            backoff_seconds=backoff_seconds,
            max_backoff_seconds=max_backoff_seconds,
            transport=transport,
        )

    async def embed(self, texts: Sequence[str], *, query: bool = False) -> list[list[float]]:
        """One unit-length vector per text, in order, in requests of `batch_size` texts."""
        items = check_texts(texts)
        if not items:
            return []
        vectors: list[list[float]] = []
        async with self.endpoint.client() as client:
            for start in range(0, len(items), self.batch_size):
                batch = items[start : start + self.batch_size]
                body: dict[str, Any] = {"model": self.model, "input": batch}
                if self.send_dimensions:
                    body["dimensions"] = self.dimension
                try:
                    answer = await post_json(client, self.endpoint, "embeddings", body)
                except EndpointError as exc:
                    raise EmbeddingError(
                        f"the embedding endpoint {exc}", transient=exc.transient
                    ) from exc
                vectors.extend(self._vectors(answer, len(batch)))
        return vectors

    def _vectors(self, answer: Any, expected: int) -> list[list[float]]:
        """The answer's vectors in input order (by `index`), checked and normalised."""
        try:
            data = answer["data"]
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
