"""The `summary` insight: an extractive summary, the chat's most representative messages.

Every text message is tokenised once (see `_common.Tokenizer`: stop words, noise and short
words removed). A term's weight is its count in the whole chat divided by the count of the
chat's most frequent term (0 .. 1). A message's score is the mean weight of its distinct
terms, so long messages are not favoured just for being long. Messages with fewer than
`MIN_TERMS` distinct terms are skipped as too short to say much. The `summary_size` best
scores are picked (ties: the earlier message) and returned in chat order.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from collections import Counter
from collections.abc import Sequence

from pydantic import Field

from src.insights.providers.base import InsightMessage, InsightOptions
from src.insights.providers.local._common import (
    ResultModel,
    Tokenizer,
    is_media,
    participants_of,
    round4,
    sender_messages,
    to_local,
    zone_for,
)

MIN_TERMS = 3


class SummaryMessage(ResultModel):
    """One picked message."""

    seq: int = Field(description="Position of the message in the chat, from 1.")
    sender: str = Field(description="Who sent it.")
    sent_at: dt.datetime = Field(description="When it was sent, in the chat's time zone.")
    text: str = Field(description="The message text, unchanged.")
    score: float = Field(
        description="Mean chat-frequency weight (0 .. 1) of its distinct terms, 4 places."
    )


class SummaryResult(ResultModel):
    """The picked messages and the chat's extent."""

    participants: list[str] = Field(
        description="Everyone who sent a message, in order of their first message."
    )
    started_at: dt.datetime | None = Field(
        description="Earliest message, in the chat's time zone; null when there are none."
    )
    ended_at: dt.datetime | None = Field(
        description="Latest message, in the chat's time zone; null when there are none."
    )
    candidates: int = Field(
        description=f"Text messages long enough to be picked (at least {MIN_TERMS} distinct "
        "content terms)."
    )
    messages: list[SummaryMessage] = Field(
        description="Up to summary_size best-scoring messages, in chat order."
    )


def compute(messages: Sequence[InsightMessage], options: InsightOptions) -> SummaryResult:
    """Weight terms by chat frequency, score messages by their terms' mean weight, pick the
    best and put them back in chat order."""
    zone = zone_for(options.timezone)
    tokenizer = Tokenizer(options.language)
    kept = sender_messages(messages)

    frequencies: Counter[str] = Counter()
    candidates: list[tuple[InsightMessage, list[str]]] = []
    for message in kept:
        if is_media(message):
            continue
        tokens = tokenizer.tokens(message.text)
        frequencies.update(tokens)
        distinct = list(dict.fromkeys(tokens))  # insertion order: no set order leaks out
        if len(distinct) >= MIN_TERMS:
            candidates.append((message, distinct))

    top = max(frequencies.values(), default=0)
    scored = [
        (math.fsum(frequencies[t] for t in distinct) / (top * len(distinct)), message)
        for message, distinct in candidates
    ]
    size = max(options.summary_size, 0)
    # Best score first, the earlier message on a tie; then back to chat order.
    picked = heapq.nsmallest(size, scored, key=lambda pair: (-pair[0], pair[1].seq))
    picked.sort(key=lambda pair: pair[1].seq)

    times = [m.sent_at for m in kept]
    return SummaryResult(
        participants=participants_of(kept),
        started_at=to_local(min(times), zone) if times else None,
        ended_at=to_local(max(times), zone) if times else None,
        candidates=len(candidates),
        messages=[
            SummaryMessage(
                seq=message.seq,
                sender=message.sender or "",
                sent_at=to_local(message.sent_at, zone),
                text=message.text,
                score=round4(score),
            )
            for score, message in picked
        ],
    )
