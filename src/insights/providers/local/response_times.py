"""The `response_times` insight: how fast participants answer each other.

A reply is a message whose sender differs from the previous message's sender (system lines
are skipped, media counts); its delay is the time since that previous message. Delays longer
than `silence_minutes` are not replies but new conversations, and are left out. A delay of
exactly `silence_minutes` still counts. Out-of-order timestamps give a delay of 0.

The p90 uses the nearest-rank method: the ceil(0.9 * n)-th smallest delay (so with fewer
than 10 replies it is the largest one).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from src.insights.providers.base import InsightMessage, InsightOptions
from src.insights.providers.local._common import (
    ResultModel,
    median,
    nearest_rank,
    participants_of,
    round4_or_none,
    sender_messages,
)

PERCENTILE = 90


class ResponseStats(ResultModel):
    """Reply delays of everyone together."""

    replies: int = Field(description="Replies counted (delay within the silence limit).")
    median_seconds: float | None = Field(
        description="Median reply delay in seconds (mean of the two middle ones for an even "
        "count); null without replies."
    )
    p90_seconds: float | None = Field(
        description="90th percentile of the reply delay in seconds, nearest-rank method "
        "(the ceil(0.9*n)-th smallest); null without replies."
    )


class ParticipantResponseTimes(ResultModel):
    """Reply delays of one participant: how long they took to answer someone else."""

    participant: str = Field(description="The sender's name as it appears in the chat.")
    replies: int = Field(description="Replies this participant sent.")
    median_seconds: float | None = Field(
        description="Median of their reply delays in seconds; null without replies."
    )
    p90_seconds: float | None = Field(
        description="90th percentile (nearest rank) of their reply delays in seconds; "
        "null without replies."
    )


class ResponseTimesResult(ResultModel):
    """Reply counts and delays, per participant and overall."""

    silence_minutes: int = Field(
        description="Delays longer than this many minutes were not counted as replies."
    )
    overall: ResponseStats = Field(description="All replies together.")
    participants: list[ParticipantResponseTimes] = Field(
        description="One entry per participant, in order of their first message, zero "
        "replies included."
    )


def _stats(delays: list[float]) -> tuple[int, float | None, float | None]:
    delays.sort()
    return (
        len(delays),
        round4_or_none(median(delays)),
        round4_or_none(nearest_rank(delays, PERCENTILE)),
    )


def compute(messages: Sequence[InsightMessage], options: InsightOptions) -> ResponseTimesResult:
    """Collect every reply's delay per replying participant, then summarise them."""
    kept = sender_messages(messages)
    limit = options.silence_minutes * 60.0
    delays: dict[str, list[float]] = {name: [] for name in participants_of(kept)}
    everyone: list[float] = []

    for previous, current in zip(kept, kept[1:], strict=False):
        if current.sender == previous.sender or current.sender is None:
            continue
        delay = max((current.sent_at - previous.sent_at).total_seconds(), 0.0)
        if delay > limit:
            continue
        delays[current.sender].append(delay)
        everyone.append(delay)

    participants = []
    for name, own in delays.items():
        replies, median_seconds, p90_seconds = _stats(own)
        participants.append(
            ParticipantResponseTimes(
                participant=name,
                replies=replies,
                median_seconds=median_seconds,
                p90_seconds=p90_seconds,
            )
        )
    replies, median_seconds, p90_seconds = _stats(everyone)
    return ResponseTimesResult(
        silence_minutes=options.silence_minutes,
        overall=ResponseStats(
            replies=replies, median_seconds=median_seconds, p90_seconds=p90_seconds
        ),
        participants=participants,
    )
