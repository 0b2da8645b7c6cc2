"""The `response_times` insight: how fast participants answer each other.

A reply is a message whose sender differs from the previous message's sender (system lines
are skipped, media counts); its delay is the time since that previous message. Delays longer
than `silence_minutes` are not replies but new conversations, and are left out. A delay of
exactly `silence_minutes` still counts. Out-of-order timestamps give a delay of 0.

The p90 uses the nearest-rank method: the ceil(0.9 * n)-th smallest delay (so with fewer
than 10 replies it is the largest one).

The distribution counts replies in fixed delay ranges (up to 1 min, 5 min, 15 min, 1 h, 6 h,
1 day, then up to the silence limit), those starting at or past the limit left out and the
last one kept ending at the limit.

The pairs say who answers whom: a reply counts for its sender and the previous message's
sender, in that order.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Sequence
from itertools import pairwise
from typing import cast

from pydantic import Field

from src.insights.providers.base import InsightMessage, InsightOptions
from src.insights.providers.local._common import (
    ADDED_LATER,
    ResultModel,
    median,
    nearest_rank,
    participants_of,
    round4_or_none,
    sender_messages,
)

PERCENTILE = 90
DELAY_BOUNDS = (60, 300, 900, 3600, 21_600, 86_400)  # seconds: 1 min ... 1 day


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


class DelayBucket(ResultModel):
    """Replies whose delay falls in one range."""

    min_seconds: int = Field(
        description="Delays longer than this many seconds (the first range, from 0, includes 0)."
    )
    max_seconds: int = Field(description="Delays up to this many seconds, included.")
    replies: int = Field(description="Replies of everyone with a delay in this range.")


class ReplyPair(ResultModel):
    """Replies of one participant to another: who answers whom, and how fast."""

    participant: str = Field(description="Who replied, as their name appears in the chat.")
    to: str = Field(description="Whom they answered: the sender of the message before.")
    replies: int = Field(description="Replies of `participant` to `to`.")
    median_seconds: float = Field(description="Median of these replies' delays in seconds.")


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
    distribution: list[DelayBucket] = Field(
        default_factory=list,
        description="Replies by delay, shortest range first: ranges ending at 1 min, 5 min, "
        "15 min, 1 h, 6 h and 1 day, then at the silence limit, those starting at or past "
        "the limit left out and the last one ending at it; the replies add up to "
        f"`overall.replies`. {ADDED_LATER}",
    )
    pairs: list[ReplyPair] = Field(
        default_factory=list,
        description="Who answers whom: one entry per replier and person answered with at "
        "least one reply, in order of the replier's first message, then of the answered "
        f"one's; the replies add up to `overall.replies`. {ADDED_LATER}",
    )


def _stats(delays: list[float]) -> tuple[int, float | None, float | None]:
    delays.sort()
    return (
        len(delays),
        round4_or_none(median(delays)),
        round4_or_none(nearest_rank(delays, PERCENTILE)),
    )


def _distribution(delays: list[float], limit: int) -> list[DelayBucket]:
    """Count `delays` (none longer than `limit`) in the ranges up to each bound below the
    limit, then up to the limit."""
    uppers = [bound for bound in DELAY_BOUNDS if bound < limit] + [limit]
    counts = Counter(bisect.bisect_left(uppers, delay) for delay in delays)
    return [
        DelayBucket(min_seconds=lower, max_seconds=upper, replies=counts[index])
        for index, (lower, upper) in enumerate(pairwise([0, *uppers]))
    ]


def _pairs(delays: dict[tuple[str, str], list[float]], order: list[str]) -> list[ReplyPair]:
    """One entry per (replier, answered) pair in `delays`, both in the participants' `order`."""
    rank = {name: index for index, name in enumerate(order)}
    pairs = []
    for participant, to in sorted(delays, key=lambda pair: (rank[pair[0]], rank[pair[1]])):
        replies, median_seconds, _ = _stats(delays[participant, to])
        assert median_seconds is not None  # a pair is listed only with a reply
        pairs.append(
            ReplyPair(
                participant=participant, to=to, replies=replies, median_seconds=median_seconds
            )
        )
    return pairs


def compute(messages: Sequence[InsightMessage], options: InsightOptions) -> ResponseTimesResult:
    """Collect every reply's delay per replying participant, then summarise them."""
    kept = sender_messages(messages)
    limit = options.silence_minutes * 60
    delays: dict[str, list[float]] = {name: [] for name in participants_of(kept)}
    by_pair: dict[tuple[str, str], list[float]] = defaultdict(list)
    everyone: list[float] = []

    for previous, current in zip(kept, kept[1:], strict=False):
        if current.sender == previous.sender or current.sender is None:
            continue
        delay = max((current.sent_at - previous.sent_at).total_seconds(), 0.0)
        if delay > limit:
            continue
        delays[current.sender].append(delay)
        by_pair[current.sender, cast(str, previous.sender)].append(delay)
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
        distribution=_distribution(everyone, limit),
        pairs=_pairs(by_pair, list(delays)),
    )
