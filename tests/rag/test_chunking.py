"""Unit tests of the chunker and the token estimate, on small hand-made chats.

Most chats here use lines such as "Ana: one two", which the estimate counts as 4 tokens
("Ana", ":", "one", "two"), so the budgets below can be followed by hand. Message ids are
10 x seq, to tell ids and seqs apart.
"""

import random
from datetime import UTC, datetime, timedelta

import pytest

from src.rag.chunking import Chunk, ChunkMessage, chunk_messages, estimate_tokens

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def msg(
    seq: int, minute: int, text: str = "one two", sender: str | None = "Ana", kind: str = "text"
) -> ChunkMessage:
    return ChunkMessage(
        id=seq * 10,
        seq=seq,
        sender=sender,
        sent_at=START + timedelta(minutes=minute),
        text=text,
        kind=kind,
    )


def spans(chunks: list[Chunk]) -> list[tuple[int, int]]:
    return [(c.first_seq, c.last_seq) for c in chunks]


def random_chat(count: int, seed: int) -> list[ChunkMessage]:
    rng = random.Random(seed)
    words = "picnic park saturday rain kayak sandwiches mañana vale ok 😂 great idea!".split()
    messages = []
    minute = 0
    for seq in range(1, count + 1):
        minute += rng.choice([1, 1, 2, 5, 40, 150])
        kind = rng.choices(["text", "media", "system"], [90, 6, 4])[0]
        text = {
            "text": " ".join(rng.choices(words, k=rng.randint(1, 30))),
            "media": "<Media omitted>",
            "system": "Ben joined",
        }[kind]
        sender = None if kind == "system" else rng.choice(["Ana", "Ben", "Cleo"])
        messages.append(msg(seq, minute, text, sender, kind))
    return messages


def test_estimate_tokens_hand_counts() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("Ana: one two") == 4
    assert estimate_tokens("hello, world!") == 4
    assert estimate_tokens("The quick brown fox jumps over the lazy dog") == 9
    assert estimate_tokens("internationalization") == 5  # 1 + (20 - 3) // 4
    assert estimate_tokens("mañana") == 3  # accented: 1 + 6 // 3
    assert estimate_tokens("你好") == 2
    assert estimate_tokens("😂😂 ok") == 3


def test_estimate_tokens_sanity() -> None:
    text = "Are we still on for the picnic at the park on Saturday? I'll bring sandwiches!"
    words = len(text.split())
    assert 1.0 * words <= estimate_tokens(text) <= 1.6 * words
    grown = ""
    previous = 0
    for word in text.split():
        grown = f"{grown} {word}".strip()
        assert estimate_tokens(grown) >= previous
        previous = estimate_tokens(grown)
    assert estimate_tokens("a b") == estimate_tokens("a") + estimate_tokens("b")
    assert estimate_tokens("x" * 500) <= 500


def test_token_budget_splits_with_overlap() -> None:
    chat = [msg(seq, seq) for seq in range(1, 6)]  # 4 tokens each
    chunks = chunk_messages(chat, max_tokens=12, overlap_messages=2)
    assert spans(chunks) == [(1, 3), (2, 4), (3, 5)]
    assert chunks[0] == Chunk(
        first_seq=1,
        last_seq=3,
        message_ids=[10, 20, 30],
        text="Ana: one two\nAna: one two\nAna: one two",
        started_at=START + timedelta(minutes=1),
        ended_at=START + timedelta(minutes=3),
        token_estimate=12,
    )


def test_no_overlap_and_overlap_trimmed_to_fit() -> None:
    chat = [msg(seq, seq) for seq in range(1, 6)]
    assert spans(chunk_messages(chat, max_tokens=12, overlap_messages=0)) == [(1, 3), (4, 5)]
    # Two overlap messages (8 tokens) and the next one (4) do not fit in 10: one is dropped.
    chunks = chunk_messages(chat, max_tokens=10, overlap_messages=2)
    assert spans(chunks) == [(1, 2), (2, 3), (3, 4), (4, 5)]
    assert [c.message_ids for c in chunks][1] == [20, 30]


def test_silence_splits_without_overlap() -> None:
    chat = [msg(1, 0), msg(2, 1), msg(3, 200), msg(4, 201), msg(5, 321)]  # 199 min, then 120
    chunks = chunk_messages(chat, max_tokens=100, silence_minutes=120)
    assert spans(chunks) == [(1, 2), (3, 5)]  # exactly 120 minutes is not a silence
    # A silence and a full budget at once: a clean start, no overlap.
    assert spans(chunk_messages(chat, max_tokens=8, silence_minutes=120)) == [
        (1, 2),
        (3, 4),
        (4, 5),
    ]


def test_long_message_is_truncated_into_its_own_chunk() -> None:
    chat = [msg(1, 0, "hi", "Ben"), msg(2, 1, "a b c d e f g"), msg(3, 2, "ok", "Ben")]
    chunks = chunk_messages(chat, max_tokens=5, overlap_messages=2)
    assert spans(chunks) == [(1, 1), (2, 2), (3, 3)]
    assert [c.text for c in chunks] == ["Ben: hi", "Ana: a b c", "Ben: ok"]
    assert [c.token_estimate for c in chunks] == [3, 5, 3]
    [giant] = chunk_messages([msg(1, 0, "x" * 100)], max_tokens=5)
    assert (giant.text, giant.token_estimate) == ("Ana: xxx", 3)


def test_system_and_media_without_caption_are_skipped() -> None:
    chat = [
        msg(1, 0, "Ana added Ben", None, "system"),
        msg(2, 1, "<Media omitted>", kind="media"),
        msg(3, 2, "IMG-0001.jpg (file attached)\nlook at this", "Ben", "media"),
        msg(4, 3, "   \n "),
        msg(5, 4, "hello\n  world", "Cleo"),
        msg(6, 5, "image omitted", kind="media"),
        msg(7, 6, "sunset photo", kind="media"),  # a tabular import's caption
    ]
    [chunk] = chunk_messages(chat)
    assert chunk.message_ids == [30, 50, 70]
    assert (chunk.first_seq, chunk.last_seq) == (3, 7)
    assert chunk.text == "Ben: look at this\nCleo: hello world\nAna: sunset photo"
    assert chunk_messages([msg(1, 0, "x joined", None, "system")]) == []
    assert chunk_messages([]) == []


def test_min_tokens_drops_small_chunks_only() -> None:
    chat = [msg(1, 0, "ok"), msg(2, 300), msg(3, 301), msg(4, 600, "ok")]
    assert spans(chunk_messages(chat, min_tokens=4)) == [(2, 3)]


def test_invalid_limits() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        chunk_messages([], max_tokens=0)


def test_deterministic_and_within_budget() -> None:
    chat = random_chat(400, seed=3)
    first = chunk_messages(chat, max_tokens=60)
    assert first == chunk_messages(list(chat), max_tokens=60)
    assert len(first) > 20
    kept = {m.id for m in chat if m.kind == "text"}
    assert {i for c in first for i in c.message_ids} == kept
    assert all(c.token_estimate == estimate_tokens(c.text) <= 60 for c in first)
    assert [c.first_seq for c in first] == sorted({c.first_seq for c in first})


def test_tail_consistency() -> None:
    chat = random_chat(400, seed=5)
    full = chunk_messages(chat, max_tokens=60)
    # Re-chunking from where any chunk starts gives that chunk and all the following ones.
    for index, chunk in enumerate(full):
        tail = [m for m in chat if m.seq >= chunk.first_seq]
        assert chunk_messages(tail, max_tokens=60) == full[index:]
    # The messages after a chunk that a silence ended give the full run's following chunks.
    after_silence = [j for j in range(1, len(full)) if full[j].first_seq > full[j - 1].last_seq]
    assert after_silence
    for j in after_silence:
        tail = [m for m in chat if m.seq > full[j - 1].last_seq]
        assert chunk_messages(tail, max_tokens=60) == full[j:]
