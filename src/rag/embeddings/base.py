"""What every embedder shares: the vector size, the error type and the `Embedder` protocol."""

import os
import weakref
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
    """Turns texts into unit-length vectors of `dimension` floats, one per text, in order.

    `query=True` embeds questions, the default embeds what is searched (stored messages): a
    model trained with a prefix for each (e5's "query: " / "passage: ") needs to know which."""

    name: str
    dimension: int
    #: How much of the question's form (`rag.query.question_form`: its stop words, names and
    #: punctuation) is taken out of its vector: the question searched for is
    #: `vector(question) - form_weight x vector(form)` (0: the question as it is).
    form_weight: float
    #: The score below which a message is not taken as evidence for a question: its dot
    #: product with that vector (each model's scores sit in a band of their own).
    min_similarity: float
    #: How far below the closest message's score another's may be and still be evidence.
    similarity_margin: float

    async def embed(self, texts: Sequence[str], *, query: bool = False) -> list[list[float]]: ...


class Forgetful(Protocol):
    def _forget(self) -> None: ...


_forked: "weakref.WeakSet[Forgetful]" = weakref.WeakSet()


def forget_when_forked(embedder: Forgetful) -> None:
    """Have `embedder._forget()` called in a forked child: a model's thread pool does not
    survive fork(), and a lock may have been held by a thread that does not exist in the
    child, so the child starts from scratch (and loads its own model on first use)."""
    _forked.add(embedder)


def _after_fork_in_child() -> None:
    for embedder in list(_forked):
        embedder._forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


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
