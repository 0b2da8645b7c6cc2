"""Unit tests of the retrieval units (one per message, with context) and the token
estimate, on small hand-made chats. Message ids are 10 x seq, to tell ids and seqs apart."""

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


def ids(chunks: list[Chunk]) -> list[int]:
    return [c.message_id for c in chunks]


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


def test_one_unit_per_message_with_the_message_before_as_context() -> None:
    chat = [msg(1, 0, "what time is your train?", "Ben"), msg(2, 1, "7:15 at Central")]
    first, second = chunk_messages(chat)
    assert (first.message_id, first.seq, first.sender) == (10, 1, "Ben")
    assert (first.text, first.context, first.context_ids) == (
        "Ben: what time is your train?",
        "",
        [],
    )
    assert first.embedding_text == first.text
    assert (second.text, second.context, second.context_ids) == (
        "Ana: 7:15 at Central",
        "Ben: what time is your train?",
        [10],
    )
    assert second.embedding_text == "Ben: what time is your train?\nAna: 7:15 at Central"
    assert second.sent_at == START + timedelta(minutes=1)


def test_context_length_and_silence() -> None:
    chat = [msg(1, 0, "one"), msg(2, 1, "two"), msg(3, 2, "three"), msg(4, 500, "four")]
    units = chunk_messages(chat, context_messages=2, silence_minutes=120)
    assert [u.context_ids for u in units] == [[], [10], [10, 20], []]
    assert units[2].context == "Ana: one\nAna: two"
    assert [u.context for u in chunk_messages(chat, context_messages=0)] == [""] * 4
    # A silence inside the context ends it there.
    gap = [msg(1, 0, "one"), msg(2, 300, "two"), msg(3, 301, "three")]
    assert chunk_messages(gap, context_messages=2)[2].context_ids == [20]


def test_long_lines_are_truncated() -> None:
    chat = [msg(1, 0, "a b c d e f g"), msg(2, 1, "ok", "Ben")]
    first, second = chunk_messages(chat, max_tokens=5, context_tokens=4)
    assert first.text == "Ana: a b c"
    assert second.context == "Ana: a b"
    [giant] = chunk_messages([msg(1, 0, "x" * 100)], max_tokens=5)
    assert giant.text == "Ana: xxx"


def test_system_media_and_empty_messages_get_no_unit() -> None:
    chat = [
        msg(1, 0, "Ana added Ben", None, "system"),
        msg(2, 1, "<Media omitted>", kind="media"),
        msg(3, 2, "IMG-0001.jpg (file attached)\nlook at this", "Ben", "media"),
        msg(4, 3, "   \n "),
        msg(5, 4, "hello\n  world", "Cleo"),
        msg(6, 5, "image omitted", kind="media"),
        msg(7, 6, "sunset photo", kind="media"),  # a tabular import's caption
        msg(8, 7, "😂😂 !!"),
    ]
    units = chunk_messages(chat)
    assert ids(units) == [30, 50, 70]
    assert [u.text for u in units] == [
        "Ben: look at this",
        "Cleo: hello world",
        "Ana: sunset photo",
    ]
    # Skipped messages take no part in a context either.
    assert units[1].context_ids == [30]
    assert chunk_messages([msg(1, 0, "x joined", None, "system")]) == []
    assert chunk_messages([]) == []


def test_invalid_limits() -> None:
    with pytest.raises(ValueError, match="token limits"):
        chunk_messages([], max_tokens=0)
    with pytest.raises(ValueError, match="negative"):
        chunk_messages([], context_messages=-1)


def test_only_the_new_messages_and_the_same_units_as_a_full_run() -> None:
    chat = random_chat(400, seed=5)
    full = chunk_messages(chat, context_messages=2)
    assert full == chunk_messages(list(chat), context_messages=2)
    kept = {m.id for m in chat if m.kind == "text" and any(c.isalnum() for c in m.text)}
    assert set(ids(full)) == kept
    # Indexing a tail: the new messages with a few earlier ones for their context.
    for cut in (1, 57, 200, 399):
        new = {m.id for m in chat if m.seq > cut}
        window = [m for m in chat if m.seq > cut - 16]
        tail = chunk_messages(window, only=new, context_messages=2)
        assert tail == [u for u in full if u.message_id in new]
