"""The `activity` insight: who writes how much, and when (weekdays, hours, busiest days).

Words are the whitespace-separated words of text messages; media messages count as messages
and as media, with no words. Weekdays, hours and days are in the chat's time zone.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Literal, cast

from pydantic import Field

from src.insights.providers.base import InsightMessage, InsightOptions
from src.insights.providers.local._common import (
    ResultModel,
    is_media,
    participants_of,
    sender_messages,
    to_local,
    zone_for,
)

Weekday = Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
WEEKDAYS: tuple[Weekday, ...] = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
BUSIEST_DAYS = 5


class ParticipantActivity(ResultModel):
    """What one participant sent."""

    participant: str = Field(description="The sender's name as it appears in the chat.")
    messages: int = Field(description="Messages sent, media included.")
    words: int = Field(description="Whitespace-separated words in their text messages.")
    media: int = Field(description="Media messages (photos, videos, audio, ...) sent.")


class WeekdayCount(ResultModel):
    """Messages sent on one weekday."""

    weekday: Weekday = Field(description="Day of the week in the chat's time zone.")
    count: int = Field(description="Messages sent on that weekday.")


class HourCount(ResultModel):
    """Messages sent during one hour of the day."""

    hour: int = Field(ge=0, le=23, description="Hour of the day (0-23) in the chat's time zone.")
    count: int = Field(description="Messages sent during that hour.")


class DayCount(ResultModel):
    """Messages sent on one calendar day."""

    date: dt.date = Field(description="Calendar day (YYYY-MM-DD) in the chat's time zone.")
    count: int = Field(description="Messages sent that day.")


class ActivityResult(ResultModel):
    """Message volume per participant and over time."""

    timezone: str = Field(description="IANA time zone the weekdays, hours and days are in.")
    total_messages: int = Field(description="Messages sent by participants (system lines aside).")
    total_words: int = Field(description="Words in all text messages.")
    total_media: int = Field(description="Media messages.")
    participants: list[ParticipantActivity] = Field(
        description="One entry per participant, in order of their first message."
    )
    by_weekday: list[WeekdayCount] = Field(
        description="Seven entries, Monday to Sunday, zero counts included."
    )
    by_hour: list[HourCount] = Field(description="24 entries, hour 0 to 23, zero counts included.")
    busiest_days: list[DayCount] = Field(
        description=(
            f"Up to {BUSIEST_DAYS} days with the most messages, most first; "
            "ties broken by the earlier date."
        )
    )
    first_message_at: dt.datetime | None = Field(
        description="Earliest message, in the chat's time zone; null when there are none."
    )
    last_message_at: dt.datetime | None = Field(
        description="Latest message, in the chat's time zone; null when there are none."
    )


def compute(messages: Sequence[InsightMessage], options: InsightOptions) -> ActivityResult:
    """Count messages, words and media per participant, and messages per weekday, hour and
    day in the chat's time zone."""
    zone = zone_for(options.timezone)
    kept = sender_messages(messages)
    names = participants_of(kept)
    counts = {name: [0, 0, 0] for name in names}  # messages, words, media
    weekdays = [0] * 7
    hours = [0] * 24
    days: Counter[dt.date] = Counter()
    first: dt.datetime | None = None
    last: dt.datetime | None = None

    for message in kept:
        row = counts[cast(str, message.sender)]
        row[0] += 1
        if is_media(message):
            row[2] += 1
        else:
            row[1] += len(message.text.split())
        local = to_local(message.sent_at, zone)
        weekdays[local.weekday()] += 1
        hours[local.hour] += 1
        days[local.date()] += 1
        if first is None or local < first:
            first = local
        if last is None or local > last:
            last = local

    busiest = sorted(days.items(), key=lambda item: (-item[1], item[0]))[:BUSIEST_DAYS]
    participants = [
        ParticipantActivity(participant=name, messages=row[0], words=row[1], media=row[2])
        for name, row in counts.items()
    ]
    return ActivityResult(
        timezone=options.timezone,
        total_messages=len(kept),
        total_words=sum(p.words for p in participants),
        total_media=sum(p.media for p in participants),
        participants=participants,
        by_weekday=[
            WeekdayCount(weekday=d, count=c) for d, c in zip(WEEKDAYS, weekdays, strict=True)
        ],
        by_hour=[HourCount(hour=h, count=c) for h, c in enumerate(hours)],
        busiest_days=[DayCount(date=d, count=c) for d, c in busiest],
        first_message_at=first,
        last_message_at=last,
    )
