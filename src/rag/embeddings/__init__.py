"""Text embeddings for retrieval: the configured `Embedder`, one per process.

`EMBEDDING_PROVIDER=local` runs all-MiniLM-L6-v2 (English) on onnxruntime in this process;
`multilingual` runs multilingual-e5-small in this process; `openai` calls an
OpenAI-compatible `/embeddings` endpoint. Either way `embed` gives one unit-length vector per
text, in order, and raises `EmbeddingError` when it cannot.
"""

import threading

from src.config import get_settings
from src.rag.embeddings.base import DIMENSION, Embedder, EmbeddingError
from src.rag.embeddings.local import LocalEmbedder
from src.rag.embeddings.multilingual import MultilingualEmbedder
from src.rag.embeddings.openai_compat import OpenAIEmbedder

__all__ = [
    "DIMENSION",
    "Embedder",
    "EmbeddingError",
    "LocalEmbedder",
    "MultilingualEmbedder",
    "OpenAIEmbedder",
    "get_embedder",
    "reset_embedder",
]

_lock = threading.Lock()
_embedder: Embedder | None = None


def get_embedder() -> Embedder:
    """The configured embedder, created on first use and then shared by the whole process.

    Creating it is cheap: the local model is loaded by its first `embed`, in the process that
    embeds (so a worker pool's parent never holds it).
    """
    global _embedder
    embedder = _embedder
    if embedder is not None:
        return embedder
    with _lock:
        if _embedder is None:
            _embedder = _create()
        return _embedder


def reset_embedder() -> None:
    """Forget the shared embedder (tests; settings changed): the next call creates it anew."""
    global _embedder
    with _lock:
        _embedder = None


def _create() -> Embedder:
    settings = get_settings()
    provider = getattr(settings, "embedding_provider", "local")
    dimension = int(getattr(settings, "embedding_dimension", DIMENSION))
    batch_size = int(getattr(settings, "embedding_batch_size", 64))
    if provider == "local":
        if dimension != DIMENSION:
            raise EmbeddingError(
                f"the local embedder makes {DIMENSION}-dimensional vectors, "
                f"but EMBEDDING_DIMENSION is {dimension}"
            )
        return LocalEmbedder(batch_size=batch_size)
    if provider == "multilingual":
        if dimension != DIMENSION:
            raise EmbeddingError(
                f"the multilingual embedder makes {DIMENSION}-dimensional vectors, "
                f"but EMBEDDING_DIMENSION is {dimension}"
            )
        return MultilingualEmbedder()
    if provider == "openai":
        api_key = getattr(settings, "embedding_openai_api_key", None)
        return OpenAIEmbedder(
            base_url=getattr(settings, "embedding_openai_base_url", "https://api.openai.com/v1"),
            api_key=api_key,
            model=getattr(settings, "embedding_openai_model", "text-embedding-3-small"),
            dimension=dimension,
            batch_size=batch_size,
            connect_timeout=float(getattr(settings, "openai_connect_timeout_seconds", 5.0)),
            read_timeout=float(getattr(settings, "openai_read_timeout_seconds", 60.0)),
            max_retries=int(getattr(settings, "openai_max_retries", 3)),
            send_dimensions=bool(getattr(settings, "embedding_openai_send_dimensions", False)),
        )
    raise EmbeddingError(f"unknown EMBEDDING_PROVIDER {provider!r} (local, multilingual or openai)")
