"""What every answerer receives and produces: evidence in, answer text (in pieces) out.

An answer refers to evidence with markers `[1]`, `[2]`, ... (1-based positions in the evidence
it was given); `markers_used` reads them back so that only the evidence an answer actually
cites is kept as its citations.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["MARKER", "AnswerError", "Answerer", "Evidence", "Turn", "markers_used"]

# "[3]", and lists such as "[1, 2]" that language models sometimes write.
MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


@dataclass(frozen=True, slots=True)
class Evidence:
    """A message that may be cited, already ranked (the caller passes the best first)."""

    message_id: int
    chat_id: uuid.UUID
    sender: str | None
    sent_at: datetime
    text: str
    score: float


@dataclass(frozen=True, slots=True)
class Turn:
    """An earlier turn of the conversation."""

    role: str  # "user" | "assistant"
    content: str


class AnswerError(Exception):
    """The answer could not be produced; `transient` when asking again later may work."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient


class Answerer(Protocol):
    """Something that answers a question from evidence, streaming the text."""

    name: str

    def stream(
        self, question: str, evidence: Sequence[Evidence], history: Sequence[Turn]
    ) -> AsyncIterator[str]:
        """Yield the answer's text in pieces (tokens). Markers [1], [2] ... refer to evidence
        by 1-based position."""
        ...


def markers_used(text: str) -> list[int]:
    """The distinct marker numbers in `text`, in order of first use ("[1] ... [3][1]" gives
    [1, 3]; "[2, 4]" counts as [2][4]). Numbers below 1 are ignored; the caller drops those
    beyond its evidence (a "[2024]" in the prose would otherwise be taken for a marker)."""
    found: dict[int, None] = {}
    for match in MARKER.finditer(text):
        for number in match.group(1).split(","):
            value = int(number)
            if value >= 1:
                found.setdefault(value, None)
    return list(found)
