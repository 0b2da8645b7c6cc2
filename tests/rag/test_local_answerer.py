"""Unit tests of the offline answerer and of reading markers back from an answer."""

import uuid
from datetime import UTC, datetime

from src.rag.answerers import Answerer, AnswerError, Evidence, LocalAnswerer, Turn, markers_used
from src.rag.answerers.local import NOTHING_FOUND, answer

CHAT = uuid.UUID("00000000-0000-0000-0000-000000000001")


def ev(message_id: int, day: int, sender: str | None, text: str, score: float) -> Evidence:
    return Evidence(
        message_id=message_id,
        chat_id=CHAT,
        sender=sender,
        sent_at=datetime(2024, 3, day, 12, 0, tzinfo=UTC),
        text=text,
        score=score,
    )


EVIDENCE = [
    ev(31, 14, "Ben", "I'll bring the sandwiches.", 0.9),
    ev(12, 12, "Ana", "The picnic is on Saturday\nat noon.", 0.8),
    ev(20, 13, None, "Cleo changed the group name", 0.7),
    ev(5, 10, "Cleo", "Not shown: only the best three are quoted", 0.6),
]

EXPECTED = (
    "Here are the 3 most relevant messages in your chats, oldest first:\n"
    'On 2024-03-12 Ana wrote: "The picnic is on Saturday at noon." [2].\n'
    'On 2024-03-13 a chat notice said: "Cleo changed the group name" [3].\n'
    'On 2024-03-14 Ben wrote: "I\'ll bring the sandwiches." [1].'
)


async def collect(answerer: Answerer, evidence: list[Evidence]) -> list[str]:
    history = [Turn(role="user", content="Hi"), Turn(role="assistant", content="Hello")]
    return [piece async for piece in answerer.stream("When is the picnic?", evidence, history)]


def test_answer_quotes_the_best_three_in_time_order() -> None:
    text = answer("When is the picnic?", EVIDENCE, [])
    assert text == EXPECTED
    assert markers_used(text) == [2, 3, 1]


def test_single_evidence() -> None:
    text = answer("q", EVIDENCE[:1], [])
    assert text == (
        "Here is the most relevant message in your chats:\n"
        'On 2024-03-14 Ben wrote: "I\'ll bring the sandwiches." [1].'
    )


async def test_empty_evidence() -> None:
    assert answer("Where is the kayak?", [], []) == NOTHING_FOUND
    assert markers_used(NOTHING_FOUND) == []
    assert "".join(await collect(LocalAnswerer(), [])) == NOTHING_FOUND


async def test_streaming_word_by_word_adds_up_to_the_answer() -> None:
    answerer = LocalAnswerer()
    assert answerer.name == "local"
    pieces = await collect(answerer, EVIDENCE)
    assert "".join(pieces) == EXPECTED
    assert len(pieces) == len(EXPECTED.split())
    assert all(len(piece.split()) == 1 for piece in pieces)
    assert pieces[:3] == ["Here ", "are ", "the "]


def test_long_quotes_are_trimmed_on_a_word() -> None:
    text = answer("q", [ev(1, 1, "Ana", "word " * 60, 1.0)], [])
    quoted = text.split('"')[1]
    assert quoted == " ".join(["word"] * 40) + "…"  # 199 characters, then the ellipsis
    no_spaces = answer("q", [ev(1, 1, "Ana", "x" * 300, 1.0)], [])
    assert no_spaces.split('"')[1] == "x" * 200 + "…"


def test_marker_look_alikes_in_quotes_are_neutralised() -> None:
    text = answer("q", [ev(1, 1, "Ana [7]", "see [2] and [1, 3], not [x]", 1.0)], [])
    assert 'Ana (7) wrote: "see (2) and (1, 3), not [x]" [1].' in text
    assert markers_used(text) == [1]


def test_markers_used() -> None:
    assert markers_used("[1] ... [3][1]") == [1, 3]
    assert markers_used("As said [2, 4] and [4,5]; not [0], [x] or [ 1 ].") == [2, 4, 5]
    assert markers_used("no markers") == []


def test_answer_error() -> None:
    error = AnswerError("rate limited", transient=True)
    assert (str(error), error.message, error.transient) == ("rate limited", "rate limited", True)
    assert AnswerError("bad request").transient is False
