"""The offline answerer: deterministic and extractive, it quotes the best evidence.

It needs no model and no network, which suits tests, demos and installs without an API key.
The answer is a lead sentence, then up to `MAX_QUOTES` of the best evidence (the first ones
given) as quotes in the order they were written, each ending with its marker:

    Here are the 2 most relevant messages in your chats, oldest first:
    On 2024-03-12 Ana wrote: "The picnic is on Saturday at noon." [2].
    On 2024-03-14 Ben wrote: "I'll bring the sandwiches." [1].

Quotes are trimmed to about `QUOTE_CHARS` characters on a word boundary. Anything in a quote
that looks like a marker ("see [2]") is rewritten as "(2)", so that the answer's markers are
only its own. The question and the conversation's history do not change the answer.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence

from src.rag.answerers.base import MARKER, Evidence, Turn, markers_used

__all__ = ["MAX_QUOTES", "QUOTE_CHARS", "LocalAnswerer", "answer", "markers_used"]

MAX_QUOTES = 3
QUOTE_CHARS = 200
NOTHING_FOUND = "I couldn't find anything relevant to that in your chats."

# A word with the whitespace after it: the pieces an answer is streamed in.
_PIECE = re.compile(r"\s*\S+\s*")


def _clean(text: str) -> str:
    """`text` on one line, with marker look-alikes turned into parentheses."""
    return MARKER.sub(lambda match: f"({match.group(1)})", " ".join(text.split()))


def _quote(text: str) -> str:
    """`text` cleaned and trimmed to about `QUOTE_CHARS` characters, ending on a word."""
    flat = _clean(text)
    if len(flat) <= QUOTE_CHARS:
        return flat
    cut = flat.rfind(" ", 0, QUOTE_CHARS + 1)
    if cut < QUOTE_CHARS // 2:  # no space, or only near the start: cut inside the word
        cut = QUOTE_CHARS
    return flat[:cut].rstrip() + "…"


def _line(marker: int, evidence: Evidence) -> str:
    day = evidence.sent_at.date().isoformat()
    who = f"{_clean(evidence.sender)} wrote" if evidence.sender else "a chat notice said"
    return f'On {day} {who}: "{_quote(evidence.text)}" [{marker}].'


def answer(question: str, evidence: Sequence[Evidence], history: Sequence[Turn]) -> str:
    """The whole answer `LocalAnswerer` streams (see the module docstring)."""
    if not evidence:
        return NOTHING_FOUND
    chosen = sorted(
        enumerate(evidence[:MAX_QUOTES], start=1),
        key=lambda item: (item[1].sent_at, item[0]),
    )
    if len(chosen) == 1:
        lead = "Here is the most relevant message in your chats:"
    else:
        lead = f"Here are the {len(chosen)} most relevant messages in your chats, oldest first:"
    return "\n".join([lead, *(_line(marker, item) for marker, item in chosen)])


class LocalAnswerer:
    """Answers by quoting the evidence; see the module docstring."""

    name: str = "local"

    async def stream(
        self, question: str, evidence: Sequence[Evidence], history: Sequence[Turn]
    ) -> AsyncIterator[str]:
        """Yield `answer(...)` word by word, each word with the whitespace after it."""
        for piece in _PIECE.findall(answer(question, evidence, history)):
            yield piece
            await asyncio.sleep(0)  # let other tasks run between tokens, as a real model would
