"""What every embedder shares: the vector size, the error type and the `Embedder` protocol."""

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

#: The size of an all-MiniLM-L6-v2 vector, and of the `chat_chunks.embedding` column.
DIMENSION = 384


class EmbeddingError(Exception):
    """Embedding failed. `transient` tells the caller that trying again later may succeed
    (a provider overloaded or unreachable); otherwise the request or configuration is wrong."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class Embedder(Protocol):
    """Turns texts into unit-length vectors of `dimension` floats, one per text, in order."""

    name: str
    dimension: int

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def check_texts(texts: Sequence[str]) -> list[str]:
    """The texts as a list, refusing a bare string (which would be embedded per character)."""
    if isinstance(texts, str):
        raise TypeError("embed() takes a sequence of texts, not a single string")
    items = list(texts)
    for text in items:
        if not isinstance(text, str):
            raise TypeError(f"embed() takes strings, got {type(text).__name__}")
    return items


def normalised(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Each row scaled to unit L2 length (a zero row stays zero, as sentence-transformers does)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    result: npt.NDArray[np.float32] = (vectors / np.maximum(norms, 1e-12)).astype(
        np.float32, copy=False
    )
    return result
