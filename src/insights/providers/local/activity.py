"""The `activity` insight: who writes how much, and when (weekdays, hours, busiest days,
months).

Words are the whitespace-separated words of text messages; media messages count as messages
and as media, with no words. Weekdays, hours, days and months are in the chat's time zone.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Literal, cast

from pydantic import Field

from src.insights.providers.base import InsightMessage, InsightOptions
from src.insights.providers.local._common import (
    ADDED_LATER,
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
HOURS = 24


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


class WeekdayHourCount(ResultModel):
    """Messages sent during one hour of one weekday."""

    weekday: Weekday = Field(description="Day of the week in the chat's time zone.")
    hour: int = Field(ge=0, le=23, description="Hour of the day (0-23) in the chat's time zone.")
    count: int = Field(description="Messages sent during that hour of that weekday.")


class DayCount(ResultModel):
    """Messages sent on one calendar day."""

    date: dt.date = Field(description="Calendar day (YYYY-MM-DD) in the chat's time zone.")
    count: int = Field(description="Messages sent that day.")


class ParticipantMonthCount(ResultModel):
    """What one participant sent in one month."""

    participant: str = Field(description="The sender's name as it appears in the chat.")
    messages: int = Field(description="Messages sent that month, media included.")


class MonthActivity(ResultModel):
    """Messages of one calendar month, per participant."""

    month: str = Field(
        pattern=r"^\d{4}-\d{2}$", description="Month in the chat's time zone, YYYY-MM."
    )
    participants: list[ParticipantMonthCount] = Field(
        description="One entry per participant, in order of their first message in the chat, "
        "zero counts included."
    )


class ActivityResult(ResultModel):
    """Message volume per participant and over time."""

    timezone: str = Field(description="IANA time zone the weekdays, hours, days and months are in.")
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
    by_weekday_hour: list[WeekdayHourCount] = Field(
        default_factory=list,
        description="168 entries, Monday hour 0 to Sunday hour 23 (each weekday's 24 hours in "
        f"turn), zero counts included. {ADDED_LATER}",
    )
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
    months: list[MonthActivity] = Field(
        default_factory=list,
        description="Every calendar month from the first message's to the last message's, "
        "oldest first, months without messages included; empty when there are no messages. "
        f"{ADDED_LATER}",
    )


def _months(per_month: Counter[tuple[int, str]], names: list[str]) -> list[MonthActivity]:
    """Every month from the first to the last one with messages, each with every
    participant's count; `per_month` counts messages by (months since year 0, sender)."""
    if not per_month:
        return []
    indexes = [index for index, _ in per_month]
    return [
        MonthActivity(
            month=f"{index // 12:04d}-{index % 12 + 1:02d}",
            participants=[
                ParticipantMonthCount(participant=name, messages=per_month[index, name])
                for name in names
            ],
        )
        for index in range(min(indexes), max(indexes) + 1)
    ]


def compute(messages: Sequence[InsightMessage], options: InsightOptions) -> ActivityResult:
    """Count messages, words and media per participant, and messages per hour of each
    weekday, day and month in the chat's time zone."""
    zone = zone_for(options.timezone)
    kept = sender_messages(messages)
    names = participants_of(kept)
    counts = {name: [0, 0, 0] for name in names}  # messages, words, media
    week = [0] * (len(WEEKDAYS) * HOURS)  # by weekday * 24 + hour
    days: Counter[dt.date] = Counter()
    per_month: Counter[tuple[int, str]] = Counter()
    first: dt.datetime | None = None
    last: dt.datetime | None = None

    for message in kept:
        sender = cast(str, message.sender)
        row = counts[sender]
        row[0] += 1
        if is_media(message):
            row[2] += 1
        else:
            row[1] += len(message.text.split())
        local = to_local(message.sent_at, zone)
        week[local.weekday() * HOURS + local.hour] += 1
        days[local.date()] += 1
        per_month[local.year * 12 + local.month - 1, sender] += 1
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
            WeekdayCount(weekday=day, count=sum(week[i * HOURS : (i + 1) * HOURS]))
            for i, day in enumerate(WEEKDAYS)
        ],
        by_hour=[HourCount(hour=hour, count=sum(week[hour::HOURS])) for hour in range(HOURS)],
        by_weekday_hour=[
            WeekdayHourCount(weekday=WEEKDAYS[i // HOURS], hour=i % HOURS, count=count)
            for i, count in enumerate(week)
        ],
        busiest_days=[DayCount(date=d, count=c) for d, c in busiest],
        first_message_at=first,
        last_message_at=last,
        months=_months(per_month, names),
    )
