"""The embedders: the local model against reference vectors of the original fp32 model, and the
OpenAI-compatible client against a small HTTP server started here on localhost."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from pydantic import SecretStr

import src.rag.embeddings as embeddings
from src.rag.embeddings import (
    DIMENSION,
    EmbeddingError,
    LocalEmbedder,
    OpenAIEmbedder,
    get_embedder,
    reset_embedder,
)

FIXTURE = Path(__file__).parent / "fixtures" / "reference_vectors.json"


@pytest.fixture(scope="module")
def local() -> LocalEmbedder:
    embedder = LocalEmbedder()
    embedder.load()
    return embedder


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# --- local -------------------------------------------------------------------------------


async def test_local_matches_the_fp32_reference(
    local: LocalEmbedder, reference: dict[str, Any]
) -> None:
    vectors = np.array(await local.embed(reference["sentences"]))
    expected = np.array(reference["vectors"])
    assert vectors.shape == expected.shape == (len(reference["sentences"]), DIMENSION)
    cosines = _cosines(vectors, expected)
    assert cosines.min() >= 0.99, dict(zip(reference["sentences"], cosines.round(4), strict=True))


async def test_local_vectors_are_unit_length_floats(
    local: LocalEmbedder, reference: dict[str, Any]
) -> None:
    vectors = await local.embed([*reference["sentences"], "", "   "])
    assert all(len(v) == DIMENSION and isinstance(v[0], float) for v in vectors)
    np.testing.assert_allclose(np.linalg.norm(np.array(vectors), axis=1), 1.0, atol=1e-5)


async def test_local_batch_keeps_the_order_of_mixed_lengths(local: LocalEmbedder) -> None:
    texts = [
        "see you at 8",
        "The landlord called again about the heating: he says the technician can only come on "
        "Thursday morning, so somebody has to be home between nine and twelve to let him in. " * 6,
        "ok 👍",
        "¿A qué hora sale el tren mañana?",
        "word " * 400,  # past the 256-token limit
        "Can you send me the photos from the weekend?",
        "x",
    ]
    # Runs of at most 2 texts and 300 padded tokens: the long texts run alone.
    small_batches = LocalEmbedder(batch_size=2, max_batch_tokens=300)
    together = np.array(await small_batches.embed(texts))
    one_by_one = np.array([(await local.embed([text]))[0] for text in texts])
    np.testing.assert_allclose(_cosines(together, one_by_one), 1.0, atol=1e-4)


async def test_local_truncates_long_texts(local: LocalEmbedder) -> None:
    long_text = " ".join(f"message{i}" for i in range(600))
    longer, long_ = await local.embed([long_text + " and then much more text", long_text])
    assert np.dot(longer, long_) == pytest.approx(1.0, abs=1e-5)


def test_local_runs_respect_the_batch_limits() -> None:
    embedder = LocalEmbedder(batch_size=3, max_batch_tokens=100)
    lengths = [10, 10, 10, 10, 40, 60, 200]
    groups = embedder._groups(list(range(len(lengths))), lengths)
    assert groups == [[0, 1, 2], [3, 4], [5], [6]]


async def test_local_empty_input(local: LocalEmbedder) -> None:
    assert await local.embed([]) == []
    assert local.embed_sync([]).shape == (0, DIMENSION)


async def test_local_refuses_a_bare_string(local: LocalEmbedder) -> None:
    with pytest.raises(TypeError):
        await local.embed("a single string")  # type: ignore[arg-type]


async def test_local_paraphrase_is_closer_than_an_unrelated_sentence(
    local: LocalEmbedder,
) -> None:
    anchor, paraphrase, unrelated = np.array(
        await local.embed(
            [
                "Can you pick up the kids from school tomorrow?",
                "Would you be able to collect the children after school tomorrow?",
                "The quarterly invoice for the server hosting is overdue.",
            ]
        )
    )
    assert np.dot(anchor, paraphrase) > np.dot(anchor, unrelated) + 0.2


async def test_local_embed_sync_returns_float32_rows(local: LocalEmbedder) -> None:
    matrix = local.embed_sync(["one", "two", "three"])
    assert matrix.dtype == np.float32
    assert matrix.shape == (3, DIMENSION)


async def test_local_embed_leaves_the_event_loop_free(local: LocalEmbedder) -> None:
    texts = [f"message number {i} about the trip to the mountains next summer" for i in range(256)]
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    await local.embed(texts)
    elapsed = time.perf_counter() - started
    done.set()
    await task
    # Were the loop blocked, the ticker could not run at all while the batch is embedded.
    assert elapsed > 0.05
    assert ticks >= 3


# --- get_embedder ------------------------------------------------------------------------


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Replace the settings get_embedder reads with just the given fields."""

    def use(**fields: Any) -> None:
        monkeypatch.setattr(embeddings, "get_settings", lambda: SimpleNamespace(**fields))
        reset_embedder()

    yield use
    reset_embedder()


def test_get_embedder_defaults_to_local_and_is_cached(settings: Callable[..., None]) -> None:
    settings()  # none of the embedding fields: their defaults apply
    embedder = get_embedder()
    assert isinstance(embedder, LocalEmbedder)
    assert (embedder.name, embedder.dimension, embedder.batch_size) == ("local", DIMENSION, 64)
    assert get_embedder() is embedder


def test_get_embedder_openai(settings: Callable[..., None]) -> None:
    settings(
        embedding_provider="openai",
        embedding_openai_base_url="http://127.0.0.1:9/v1/",
        embedding_openai_api_key=SecretStr("sk-test"),
        embedding_openai_model="all-minilm",
        embedding_dimension=384,
        embedding_batch_size=16,
    )
    embedder = get_embedder()
    assert isinstance(embedder, OpenAIEmbedder)
    assert (embedder.name, embedder.endpoint.url("embeddings"), embedder.model) == (
        "openai",
        "http://127.0.0.1:9/v1/embeddings",
        "all-minilm",
    )
    assert (embedder.dimension, embedder.batch_size) == (384, 16)
    assert "sk-test" not in repr(vars(embedder))


def test_get_embedder_refuses_a_local_dimension_other_than_384(
    settings: Callable[..., None],
) -> None:
    settings(embedding_provider="local", embedding_dimension=1536)
    with pytest.raises(EmbeddingError, match="384"):
        get_embedder()


# --- openai ------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeEmbeddingsServer:
    """An OpenAI-compatible `/v1/embeddings` on localhost. Each request takes the next scripted
    reply (a `Reply`, or a function of the request body); past the script it answers with
    vectors of `dimension` floats, listed in reverse order to exercise the `index` sort."""

    dimension: int = DIMENSION
    script: list[Reply | Callable[[dict[str, Any]], Reply]] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    url: str = ""

    def vectors_for(self, body: dict[str, Any]) -> Reply:
        data = [
            {"object": "embedding", "index": i, "embedding": _fake_vector(text, self.dimension)}
            for i, text in enumerate(body["input"])
        ]
        return Reply(200, {"object": "list", "data": data[::-1], "model": body["model"]})

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode().strip()
            headers: dict[str, str] = {}
            while (line := (await reader.readline()).decode().strip()) != "":
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            raw = await reader.readexactly(int(headers.get("content-length", "0")))
            body = json.loads(raw) if raw else {}
            self.requests.append((request_line, headers, body))
            step = self.script.pop(0) if self.script else self.vectors_for
            reply = step(body) if callable(step) else step
            payload = json.dumps(reply.body).encode()
            head = [f"HTTP/1.1 {reply.status} X", "Content-Type: application/json"]
            head += [f"Content-Length: {len(payload)}", "Connection: close"]
            head += [f"{k}: {v}" for k, v in reply.headers.items()]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
            await writer.drain()
        finally:
            writer.close()
            await writer.wait_closed()


def _fake_vector(text: str, dimension: int) -> list[float]:
    rng = np.random.default_rng(sum(text.encode()) + len(text))
    return [float(x) for x in rng.normal(size=dimension) * 3.0]  # deliberately not unit length


@pytest.fixture
async def fake_server() -> AsyncIterator[FakeEmbeddingsServer]:
    fake = FakeEmbeddingsServer()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    fake.url = f"http://127.0.0.1:{port}/v1"
    async with server:
        yield fake


def _client(fake: FakeEmbeddingsServer, **overrides: Any) -> OpenAIEmbedder:
    options: dict[str, Any] = {
        "base_url": fake.url,
        "api_key": "sk-test-key",
        "model": "test-embedder",
        "dimension": DIMENSION,
        "batch_size": 3,
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
        "max_retries": 2,
        "backoff_seconds": 0.01,
    }
    return OpenAIEmbedder(**(options | overrides))


async def test_openai_success_orders_by_index(fake_server: FakeEmbeddingsServer) -> None:
    texts = ["first", "second message", "third", "fourth one", "fifth"]
    vectors = await _client(fake_server).embed(texts)

    assert len(vectors) == len(texts)
    for text, vector in zip(texts, vectors, strict=True):
        expected = np.array(_fake_vector(text, DIMENSION))
        assert np.dot(vector, expected / np.linalg.norm(expected)) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(np.linalg.norm(np.array(vectors), axis=1), 1.0, atol=1e-5)
    # Two requests of at most `batch_size` texts, in order, with the key and the model.
    assert [body["input"] for _, _, body in fake_server.requests] == [texts[:3], texts[3:]]
    request_line, headers, body = fake_server.requests[0]
    assert request_line == "POST /v1/embeddings HTTP/1.1"
    assert headers["authorization"] == "Bearer sk-test-key"
    assert body["model"] == "test-embedder"
    assert "dimensions" not in body


async def test_openai_empty_input_sends_nothing(fake_server: FakeEmbeddingsServer) -> None:
    assert await _client(fake_server).embed([]) == []
    assert fake_server.requests == []


async def test_openai_retries_503_then_succeeds(fake_server: FakeEmbeddingsServer) -> None:
    unavailable = Reply(503, {"error": {"message": "overloaded"}})
    fake_server.script = [unavailable, unavailable]
    vectors = await _client(fake_server).embed(["hello", "world"])
    assert len(vectors) == 2
    assert len(fake_server.requests) == 3


async def test_openai_gives_up_with_a_transient_error(fake_server: FakeEmbeddingsServer) -> None:
    fake_server.script = [Reply(429, {}, {"Retry-After": "0"})] * 3
    with pytest.raises(EmbeddingError, match="HTTP 429") as caught:
        await _client(fake_server, max_retries=2).embed(["hello"])
    assert caught.value.transient is True
    assert len(fake_server.requests) == 3


async def test_openai_unreachable_is_transient() -> None:
    embedder = OpenAIEmbedder(
        base_url="http://127.0.0.1:9/v1",  # the discard port: nothing listens there
        model="m",
        connect_timeout=1.0,
        max_retries=1,
        backoff_seconds=0.01,
    )
    with pytest.raises(EmbeddingError, match="transport error") as caught:
        await embedder.embed(["hello"])
    assert caught.value.transient is True


async def test_openai_400_is_permanent(fake_server: FakeEmbeddingsServer) -> None:
    fake_server.script = [Reply(400, {"error": {"message": "input too long"}})]
    with pytest.raises(EmbeddingError, match="HTTP 400: input too long") as caught:
        await _client(fake_server).embed(["hello"])
    assert caught.value.transient is False
    assert len(fake_server.requests) == 1


async def test_openai_wrong_dimension_is_an_error(fake_server: FakeEmbeddingsServer) -> None:
    fake_server.dimension = 1536
    with pytest.raises(EmbeddingError, match="dimension 1536, expected 384") as caught:
        await _client(fake_server).embed(["hello"])
    assert caught.value.transient is False


async def test_openai_missing_vectors_are_an_error(fake_server: FakeEmbeddingsServer) -> None:
    def one_short(body: dict[str, Any]) -> Reply:
        reply = fake_server.vectors_for(body)
        reply.body["data"] = reply.body["data"][1:]
        return reply

    fake_server.script = [one_short]
    with pytest.raises(EmbeddingError, match="2 vectors for 3 texts"):
        await _client(fake_server).embed(["a", "b", "c"])


async def test_openai_can_ask_for_the_dimension(fake_server: FakeEmbeddingsServer) -> None:
    await _client(fake_server, send_dimensions=True).embed(["hello"])
    assert fake_server.requests[0][2]["dimensions"] == DIMENSION
