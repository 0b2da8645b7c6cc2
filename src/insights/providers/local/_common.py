"""Helpers shared by the local insight providers: message selection, local time, tokens,
statistics and rounding.

Conventions every local insight follows:

- Only messages with a sender count; system messages (no sender, or kind "system") are
  ignored. Media messages count as messages but carry no words.
- Messages are taken in chat order (by `seq`), whatever order they are passed in.
- Participants are listed in order of their first message in the chat.
- Floats are rounded to 4 places; a mean or median over nothing is None.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

from src.insights.providers.base import InsightError, InsightMessage
from src.insights.providers.local.stopwords import stop_words_for

DECIMALS = 4

MEDIA = "media"
SYSTEM = "system"

# Runs of letters (any script, accents included); digits and underscores split words.
_WORD = re.compile(r"[^\W\d_]+")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# Laughter such as "haha", "jajaja", "hehe", "jejej": one syllable repeated.
_LAUGH = re.compile(r"([hj])([aeiou])(?:\1\2)+\1?")
MIN_TOKEN_LENGTH = 3

# Results are stored as computed: a field added since has a default (an empty list), so that
# older results still validate, and its description ends with this.
ADDED_LATER = "Empty in a result computed before this field was added (`?regenerate=true`)."


class ResultModel(BaseModel):
    """Base of the result models: unknown fields are rejected when a result is validated. A
    field with a default is still required in the schema of what the API sends: every result
    it sends went through the model, so the field is always there."""

    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


@functools.lru_cache(maxsize=64)
def zone_for(name: str) -> ZoneInfo:
    """The ZoneInfo of an IANA name; a permanent InsightError when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InsightError(f"Unknown time zone {name!r}") from exc


def to_local(moment: datetime, zone: ZoneInfo) -> datetime:
    """`moment` in the chat's zone; a naive datetime (not expected) is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)


def sender_messages(messages: Sequence[InsightMessage]) -> list[InsightMessage]:
    """The participants' messages (sender set, not a system line), in chat order."""
    kept = [m for m in messages if m.sender is not None and m.kind != SYSTEM]
    kept.sort(key=lambda m: m.seq)
    return kept


def participants_of(messages: Iterable[InsightMessage]) -> list[str]:
    """Distinct senders in order of first appearance (the dict doubles as an ordered set)."""
    seen: dict[str, None] = {}
    for message in messages:
        if message.sender is not None:
            seen.setdefault(message.sender, None)
    return list(seen)


def is_media(message: InsightMessage) -> bool:
    """Whether the message is a media placeholder (it counts, but has no words)."""
    return message.kind == MEDIA


def round4(value: float) -> float:
    """`value` rounded to 4 places, without a negative zero."""
    return round(value, DECIMALS) + 0.0


def round4_or_none(value: float | None) -> float | None:
    """`round4`, passing None through."""
    return None if value is None else round4(value)


def median(ordered: Sequence[float]) -> float | None:
    """Median of ascending values: the middle one, or the mean of the two middle ones."""
    n = len(ordered)
    if n == 0:
        return None
    middle = n // 2
    if n % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def nearest_rank(ordered: Sequence[float], percent: int) -> float | None:
    """Percentile of ascending values by the nearest-rank method: the ceil(p/100 * n)-th
    smallest value (integer arithmetic, so no float rounding can shift the rank)."""
    n = len(ordered)
    if n == 0:
        return None
    rank = max(1, -(-percent * n // 100))
    return ordered[rank - 1]


class Tokenizer:
    """Lower-case words of letters, at least 3 long, accents kept (NFC), with stop words,
    chat noise, URLs and laughter removed."""

    __slots__ = ("_stop",)

    def __init__(self, language: str) -> None:
        self._stop = stop_words_for(language)

    def tokens(self, text: str) -> list[str]:
        """The content words of `text`, in order, repeats kept."""
        lowered = text.lower()
        if not lowered.isascii():
            lowered = unicodedata.normalize("NFC", lowered)
        if "://" in lowered or "www." in lowered:
            lowered = _URL.sub(" ", lowered)
        stop = self._stop
        return [
            word
            for word in _WORD.findall(lowered)
            if len(word) >= MIN_TOKEN_LENGTH
            and word not in stop
            and not (word[0] in "hj" and _LAUGH.fullmatch(word))
        ]
