"""The `sentiment` insight: VADER compound scores of text messages, per participant and month.

Each text message with some non-blank text gets VADER's compound score (-1 .. 1); media and
system messages are not scored. A score >= 0.05 is positive, <= -0.05 negative, anything in
between neutral (VADER's usual thresholds). Months are "YYYY-MM" in the chat's time zone.

VADER is built for English; other languages mostly score as neutral.
"""

from __future__ import annotations

import math
import string
import threading
from collections.abc import Sequence
from typing import Any, cast

from pydantic import Field

from src.insights.providers.base import InsightMessage, InsightOptions
from src.insights.providers.local._common import (
    ResultModel,
    is_media,
    participants_of,
    round4,
    sender_messages,
    to_local,
    zone_for,
)

_PUNCTUATION = string.punctuation

POSITIVE = 0.05
NEGATIVE = -0.05

_analyzer: Any = None
_analyzer_lock = threading.Lock()


def _surely_neutral(text: str, analyzer: Any) -> bool:
    """Whether VADER is bound to score `text` 0.0: it holds no emoji and none of its words,
    split and stripped of punctuation the way VADER does it, is in VADER's lexicon. VADER's
    boosters, negations, idioms and punctuation only ever scale the valence of lexicon words,
    so such a text sums to 0. A cheap check that spares the full analysis of most small talk.
    """
    if not text.isascii():
        emojis = analyzer.emojis
        if any(char in emojis for char in text):
            return False
    lexicon = analyzer.lexicon
    for word in text.split():
        stripped = word.strip(_PUNCTUATION)
        if (word if len(stripped) <= 2 else stripped).lower() in lexicon:
            return False
    return True


def _get_analyzer() -> Any:
    """The process's one VADER analyzer, created on first use (it loads its lexicon)."""
    global _analyzer
    if _analyzer is None:
        with _analyzer_lock:
            if _analyzer is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                _analyzer = SentimentIntensityAnalyzer()
    return _analyzer


class SentimentStats(ResultModel):
    """Scores of a group of messages."""

    messages: int = Field(description="Text messages scored.")
    mean_compound: float | None = Field(
        description="Mean VADER compound score (-1 .. 1), 4 places; null without messages."
    )
    positive: int = Field(description="Messages scoring >= 0.05.")
    negative: int = Field(description="Messages scoring <= -0.05.")
    neutral: int = Field(description="Messages scoring in between.")


class ParticipantSentiment(ResultModel):
    """Scores of one participant's text messages."""

    participant: str = Field(description="The sender's name as it appears in the chat.")
    sentiment: SentimentStats = Field(
        description="Their scores; zero counts and a null mean if they sent no text."
    )


class MonthParticipantSentiment(ResultModel):
    """One participant's mean score in one month."""

    participant: str = Field(description="The sender's name as it appears in the chat.")
    messages: int = Field(description="Their text messages scored that month.")
    mean_compound: float = Field(description="Mean compound score of those messages, 4 places.")


class MonthSentiment(ResultModel):
    """Scores of one calendar month."""

    month: str = Field(
        pattern=r"^\d{4}-\d{2}$", description="Month in the chat's time zone, YYYY-MM."
    )
    sentiment: SentimentStats = Field(description="All scored messages of the month.")
    participants: list[MonthParticipantSentiment] = Field(
        description="Participants who wrote that month, in order of their first message "
        "in the chat."
    )


class SentimentResult(ResultModel):
    """VADER sentiment of the chat."""

    overall: SentimentStats = Field(description="All scored messages together.")
    participants: list[ParticipantSentiment] = Field(
        description="One entry per participant, in order of their first message."
    )
    months: list[MonthSentiment] = Field(
        description="Months with at least one scored message, oldest first."
    )


class _Tally:
    """The scores of one group, kept for an exactly rounded mean, and their signs."""

    __slots__ = ("scores", "positive", "negative")

    def __init__(self) -> None:
        self.scores: list[float] = []
        self.positive = 0
        self.negative = 0

    def add(self, score: float) -> None:
        self.scores.append(score)
        if score >= POSITIVE:
            self.positive += 1
        elif score <= NEGATIVE:
            self.negative += 1

    def mean(self) -> float:
        """Mean score (math.fsum: independent of order), 4 places; 0 for no scores."""
        return round4(math.fsum(self.scores) / len(self.scores)) if self.scores else 0.0

    def stats(self) -> SentimentStats:
        count = len(self.scores)
        return SentimentStats(
            messages=count,
            mean_compound=self.mean() if count else None,
            positive=self.positive,
            negative=self.negative,
            neutral=count - self.positive - self.negative,
        )


def _score(text: str, analyzer: Any, cache: dict[str, float]) -> float:
    """VADER's compound score of `text`, computed once per distinct text."""
    score = cache.get(text)
    if score is None:
        if _surely_neutral(text, analyzer):
            score = 0.0
        else:
            score = float(analyzer.polarity_scores(text)["compound"])
        cache[text] = score
    return score


def compute(messages: Sequence[InsightMessage], options: InsightOptions) -> SentimentResult:
    """Score every text message once (identical texts share one score) and aggregate per
    participant, per month and per participant within a month."""
    zone = zone_for(options.timezone)
    kept = sender_messages(messages)
    analyzer = _get_analyzer()
    cache: dict[str, float] = {}
    overall = _Tally()
    people = {name: _Tally() for name in participants_of(kept)}
    months: dict[str, _Tally] = {}
    month_people: dict[str, dict[str, _Tally]] = {}

    for message in kept:
        if is_media(message) or not message.text.strip():
            continue
        score = _score(message.text, analyzer, cache)
        sender = cast(str, message.sender)
        local = to_local(message.sent_at, zone)
        month = f"{local.year:04d}-{local.month:02d}"
        if month not in months:
            months[month] = _Tally()
            month_people[month] = {}
        overall.add(score)
        people[sender].add(score)
        months[month].add(score)
        month_people[month].setdefault(sender, _Tally()).add(score)

    order = {name: index for index, name in enumerate(people)}
    return SentimentResult(
        overall=overall.stats(),
        participants=[
            ParticipantSentiment(participant=name, sentiment=tally.stats())
            for name, tally in people.items()
        ],
        months=[
            MonthSentiment(
                month=month,
                sentiment=months[month].stats(),
                participants=[
                    MonthParticipantSentiment(
                        participant=name,
                        messages=len(tally.scores),
                        mean_compound=tally.mean(),
                    )
                    for name, tally in sorted(
                        month_people[month].items(), key=lambda item: order[item[0]]
                    )
                ],
            )
            for month in sorted(months)
        ],
    )
