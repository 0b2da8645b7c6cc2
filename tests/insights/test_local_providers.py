"""Unit tests of the local insight providers, on a hand-built chat with hand-computed answers.

The chat (times UTC; Europe/Madrid is UTC+1 in winter):

    seq  when (UTC)             who   text
     1   Wed 2024-01-31 08:59   -     system line
     2   Wed 2024-01-31 09:00   Ana   Picnic saturday park, great idea!
     3   Wed 2024-01-31 09:01   Ben   Terrible weather forecast for saturday, awful rain
     4   Wed 2024-01-31 09:04   Ben   I hate rain
     5   Wed 2024-01-31 09:10   Cleo  Kayak instead? The kayak club rents boats
     6   Wed 2024-01-31 09:11   Ana   (media)
     7   Wed 2024-01-31 09:30   Ana   Picnic park saturday, love it, wonderful
     8   Wed 2024-01-31 23:30   Cleo  Kayak kayak kayak!          <- 14 h of silence; Thu in Madrid
     9   Wed 2024-01-31 23:40   Ben   Bad idea, sorry             <- Thu in Madrid
    10   Thu 2024-02-01 18:00   Ben   Awful day, everything went wrong
    11   Thu 2024-02-01 18:05   Ana   Cheer up Ben! Picnic saturday will be fun
    12   Thu 2024-02-01 18:06   Cleo  Kayak saturday then picnic
    13   Thu 2024-02-01 18:20   Ana   Yes! Happy happy day
    14   Thu 2024-02-01 18:21   Ana   Great
    15   Sat 2024-02-03 10:00   Ana   Picnic today, the park is lovely
    16   Sat 2024-02-03 10:30   Cleo  Kayak photos coming
    17   Sat 2024-02-03 12:00   Ben   Noted
    18   Sat 2024-02-03 12:02   Cleo  See you
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from src.insights.providers.base import InsightError, InsightMessage, InsightOptions
from src.insights.providers.local import RESULT_MODELS, compute
from src.insights.providers.local._common import Tokenizer, nearest_rank
from src.insights.providers.local.activity import WEEKDAYS
from src.insights.providers.local.sentiment import _get_analyzer, _surely_neutral

SLUGS = ["activity", "response_times", "initiators", "sentiment", "keywords", "summary"]
UTC_OPTIONS = InsightOptions()
MADRID = InsightOptions(timezone="Europe/Madrid")


def _message(
    seq: int, sender: str | None, when: str, text: str, kind: str = "text"
) -> InsightMessage:
    sent_at = datetime.fromisoformat(when).replace(tzinfo=UTC)
    return InsightMessage(seq=seq, sender=sender, sent_at=sent_at, text=text, kind=kind)


CHAT: list[InsightMessage] = [
    _message(1, None, "2024-01-31 08:59", "Ana created the group", "system"),
    _message(2, "Ana", "2024-01-31 09:00", "Picnic saturday park, great idea!"),
    _message(3, "Ben", "2024-01-31 09:01", "Terrible weather forecast for saturday, awful rain"),
    _message(4, "Ben", "2024-01-31 09:04", "I hate rain"),
    _message(5, "Cleo", "2024-01-31 09:10", "Kayak instead? The kayak club rents boats"),
    _message(6, "Ana", "2024-01-31 09:11", "IMG-0001.jpg (file attached)", "media"),
    _message(7, "Ana", "2024-01-31 09:30", "Picnic park saturday, love it, wonderful"),
    _message(8, "Cleo", "2024-01-31 23:30", "Kayak kayak kayak!"),
    _message(9, "Ben", "2024-01-31 23:40", "Bad idea, sorry"),
    _message(10, "Ben", "2024-02-01 18:00", "Awful day, everything went wrong"),
    _message(11, "Ana", "2024-02-01 18:05", "Cheer up Ben! Picnic saturday will be fun"),
    _message(12, "Cleo", "2024-02-01 18:06", "Kayak saturday then picnic"),
    _message(13, "Ana", "2024-02-01 18:20", "Yes! Happy happy day"),
    _message(14, "Ana", "2024-02-01 18:21", "Great"),
    _message(15, "Ana", "2024-02-03 10:00", "Picnic today, the park is lovely"),
    _message(16, "Cleo", "2024-02-03 10:30", "Kayak photos coming"),
    _message(17, "Ben", "2024-02-03 12:00", "Noted"),
    _message(18, "Cleo", "2024-02-03 12:02", "See you"),
]


def _by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["participant"]: row for row in rows}


def _months(result: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Month -> participant -> messages, of a result with `months`."""
    return {
        month["month"]: {row["participant"]: row["messages"] for row in month["participants"]}
        for month in result["months"]
    }


# --- activity -------------------------------------------------------------------------------


def test_activity_counts_per_participant() -> None:
    result = compute("activity", CHAT, UTC_OPTIONS)

    # words: Ana 5+6+8+4+1+6, Ben 7+3+3+5+1, Cleo 7+3+4+3+2; the media message has none.
    assert result["participants"] == [
        {"participant": "Ana", "messages": 7, "words": 30, "media": 1},
        {"participant": "Ben", "messages": 5, "words": 19, "media": 0},
        {"participant": "Cleo", "messages": 5, "words": 19, "media": 0},
    ]
    assert (result["total_messages"], result["total_words"], result["total_media"]) == (17, 68, 1)
    assert result["first_message_at"] == "2024-01-31T09:00:00Z"
    assert result["last_message_at"] == "2024-02-03T12:02:00Z"


def test_activity_buckets_in_utc() -> None:
    result = compute("activity", CHAT, UTC_OPTIONS)

    weekdays = {row["weekday"]: row["count"] for row in result["by_weekday"]}
    assert list(weekdays) == [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
    assert weekdays == {
        "Monday": 0,
        "Tuesday": 0,
        "Wednesday": 8,
        "Thursday": 5,
        "Friday": 0,
        "Saturday": 4,
        "Sunday": 0,
    }
    hours = [row["count"] for row in result["by_hour"]]
    assert [row["hour"] for row in result["by_hour"]] == list(range(24))
    assert {hour: n for hour, n in enumerate(hours) if n} == {9: 6, 10: 2, 12: 2, 18: 5, 23: 2}
    assert result["busiest_days"] == [
        {"date": "2024-01-31", "count": 8},
        {"date": "2024-02-01", "count": 5},
        {"date": "2024-02-03", "count": 4},
    ]


def test_activity_buckets_follow_the_time_zone() -> None:
    result = compute("activity", CHAT, MADRID)

    # 23:30 and 23:40 UTC on Wednesday are 00:30 and 00:40 on Thursday in Madrid.
    weekdays = {row["weekday"]: row["count"] for row in result["by_weekday"]}
    assert (weekdays["Wednesday"], weekdays["Thursday"], weekdays["Saturday"]) == (6, 7, 4)
    hours = {row["hour"]: row["count"] for row in result["by_hour"] if row["count"]}
    assert hours == {0: 2, 10: 6, 11: 2, 13: 2, 19: 5}
    assert result["busiest_days"] == [
        {"date": "2024-02-01", "count": 7},
        {"date": "2024-01-31", "count": 6},
        {"date": "2024-02-03", "count": 4},
    ]
    assert result["first_message_at"] == "2024-01-31T10:00:00+01:00"
    assert result["timezone"] == "Europe/Madrid"


@pytest.mark.parametrize(
    ("options", "busy"),
    [
        (UTC_OPTIONS, {"Wed 9": 6, "Wed 23": 2, "Thu 18": 5, "Sat 10": 2, "Sat 12": 2}),
        # In Madrid (UTC+1) seq 8 and 9 move to Thursday 0:00-1:00.
        (MADRID, {"Wed 10": 6, "Thu 0": 2, "Thu 19": 5, "Sat 11": 2, "Sat 13": 2}),
    ],
    ids=["utc", "madrid"],
)
def test_activity_per_hour_of_each_weekday(options: InsightOptions, busy: dict[str, int]) -> None:
    cells = compute("activity", CHAT, options)["by_weekday_hour"]
    assert [(row["weekday"], row["hour"]) for row in cells] == [
        (day, hour) for day in WEEKDAYS for hour in range(24)
    ]
    assert {
        f"{row['weekday'][:3]} {row['hour']}": row["count"] for row in cells if row["count"]
    } == busy


def test_activity_per_month_and_participant() -> None:
    assert _months(compute("activity", CHAT, UTC_OPTIONS)) == {
        "2024-01": {"Ana": 3, "Ben": 3, "Cleo": 2},
        "2024-02": {"Ana": 4, "Ben": 2, "Cleo": 3},
    }
    # Seq 8 (Cleo) and 9 (Ben) fall on 1 February in Madrid.
    assert _months(compute("activity", CHAT, MADRID)) == {
        "2024-01": {"Ana": 3, "Ben": 2, "Cleo": 1},
        "2024-02": {"Ana": 4, "Ben": 3, "Cleo": 4},
    }
    # Months without messages are listed too, across a year's end, in the chat's zone.
    sparse = [
        _message(1, "Ben", "2023-11-30 23:30", "late"),  # 1 December in Madrid
        _message(2, "Ana", "2024-02-10 12:00", "back"),
        _message(3, "Ana", "2024-02-11 12:00", "again"),
    ]
    assert _months(compute("activity", sparse, MADRID)) == {
        "2023-12": {"Ben": 1, "Ana": 0},
        "2024-01": {"Ben": 0, "Ana": 0},
        "2024-02": {"Ben": 0, "Ana": 2},
    }
    assert list(_months(compute("activity", sparse, UTC_OPTIONS))) == [
        "2023-11",
        "2023-12",
        "2024-01",
        "2024-02",
    ]


def test_busiest_days_keeps_five_and_breaks_ties_by_date() -> None:
    # Days 1..7 of March get 2, 3, 2, 1, 3, 2, 1 messages.
    days = [day for day, count in enumerate([2, 3, 2, 1, 3, 2, 1], start=1) for _ in range(count)]
    messages = [
        _message(seq, "Ana", f"2024-03-{day:02d} 12:00", "hi")
        for seq, day in enumerate(days, start=1)
    ]
    result = compute("activity", messages, UTC_OPTIONS)
    assert [(row["date"], row["count"]) for row in result["busiest_days"]] == [
        ("2024-03-02", 3),
        ("2024-03-05", 3),
        ("2024-03-01", 2),
        ("2024-03-03", 2),
        ("2024-03-06", 2),
    ]


# --- response times -------------------------------------------------------------------------


def test_response_times() -> None:
    result = compute("response_times", CHAT, UTC_OPTIONS)

    # Replies (s): Ana 60 (seq 6), 300, 840; Ben 60, 600, 5400; Cleo 360, 60, 1800, 120.
    # Cleo's 14 h before seq 8 is a new conversation, not a reply.
    people = _by_name(result["participants"])
    assert people["Ana"] == {
        "participant": "Ana",
        "replies": 3,
        "median_seconds": 300.0,
        "p90_seconds": 840.0,
    }
    assert people["Ben"] == {
        "participant": "Ben",
        "replies": 3,
        "median_seconds": 600.0,
        "p90_seconds": 5400.0,
    }
    # Even count: median of 120 and 360; p90 rank ceil(3.6) = 4.
    assert people["Cleo"] == {
        "participant": "Cleo",
        "replies": 4,
        "median_seconds": 240.0,
        "p90_seconds": 1800.0,
    }
    # All ten: 60 60 60 120 300 360 600 840 1800 5400 -> median 330, p90 rank 9 -> 1800.
    assert result["overall"] == {"replies": 10, "median_seconds": 330.0, "p90_seconds": 1800.0}
    assert result["silence_minutes"] == 240
    assert [row["participant"] for row in result["participants"]] == ["Ana", "Ben", "Cleo"]


def test_response_times_with_a_shorter_silence() -> None:
    result = compute("response_times", CHAT, InsightOptions(silence_minutes=15))

    # Delays over 900 s drop out: Ben's 5400 and Cleo's 1800.
    people = _by_name(result["participants"])
    assert (people["Ben"]["replies"], people["Ben"]["p90_seconds"]) == (2, 600.0)
    assert (people["Cleo"]["replies"], people["Cleo"]["median_seconds"]) == (3, 120.0)
    assert result["overall"]["replies"] == 8


def test_response_time_distribution() -> None:
    def counts(result: dict[str, Any]) -> list[tuple[int, int, int]]:
        return [(b["min_seconds"], b["max_seconds"], b["replies"]) for b in result["distribution"]]

    # The ten delays: 60 60 60 | 120 300 | 360 600 840 | 1800 | 5400, within 4 h.
    assert counts(compute("response_times", CHAT, UTC_OPTIONS)) == [
        (0, 60, 3),
        (60, 300, 2),
        (300, 900, 3),
        (900, 3600, 1),
        (3600, 14_400, 1),
    ]
    short = compute("response_times", CHAT, InsightOptions(silence_minutes=15))
    assert counts(short) == [(0, 60, 3), (60, 300, 2), (300, 900, 3)]
    # Delays of 0 (a timestamp out of order) and 60 are in the first range, 61 in the second.
    edges = [
        _message(1, "Ana", "2024-01-01 10:00:00", "a"),
        _message(2, "Ben", "2024-01-01 09:59:00", "b"),
        _message(3, "Ana", "2024-01-01 10:00:00", "c"),
        _message(4, "Ben", "2024-01-01 10:01:01", "d"),
    ]
    assert counts(compute("response_times", edges, UTC_OPTIONS))[:2] == [(0, 60, 2), (60, 300, 1)]


def test_reply_pairs() -> None:
    def pairs(result: dict[str, Any]) -> list[tuple[str, str, int, float]]:
        return [
            (p["participant"], p["to"], p["replies"], p["median_seconds"]) for p in result["pairs"]
        ]

    # The replies of test_response_times by whom they answer: Ana to Ben 300 (seq 11), to
    # Cleo 60 and 840; Ben to Ana 60, to Cleo 600 and 5400; Cleo to Ana 60 and 1800, to Ben
    # 360 and 120. Nobody answers themselves.
    result = compute("response_times", CHAT, UTC_OPTIONS)
    expected = [
        ("Ana", "Ben", 1, 300.0),
        ("Ana", "Cleo", 2, 450.0),
        ("Ben", "Ana", 1, 60.0),
        ("Ben", "Cleo", 2, 3000.0),
        ("Cleo", "Ana", 2, 930.0),
        ("Cleo", "Ben", 2, 240.0),
    ]
    assert pairs(result) == expected
    assert sum(p["replies"] for p in result["pairs"]) == result["overall"]["replies"] == 10
    # Past 15 min of silence Ben's 5400 (to Cleo) and Cleo's 1800 (to Ana) are no replies.
    short = compute("response_times", CHAT, InsightOptions(silence_minutes=15))
    expected[3:5] = [("Ben", "Cleo", 1, 600.0), ("Cleo", "Ana", 1, 60.0)]
    assert pairs(short) == expected
    assert sum(p["replies"] for p in short["pairs"]) == short["overall"]["replies"] == 8


@pytest.mark.parametrize(
    ("silence_minutes", "uppers"),
    [
        (1, [60]),
        (5, [60, 300]),
        (60, [60, 300, 900, 3600]),
        (100, [60, 300, 900, 3600, 6000]),
        (1440, [60, 300, 900, 3600, 21_600, 86_400]),
        (2000, [60, 300, 900, 3600, 21_600, 86_400, 120_000]),
    ],
)
def test_delay_ranges_end_at_the_silence_limit(silence_minutes: int, uppers: list[int]) -> None:
    result = compute("response_times", CHAT, InsightOptions(silence_minutes=silence_minutes))
    buckets = result["distribution"]
    assert [b["max_seconds"] for b in buckets] == uppers
    assert [b["min_seconds"] for b in buckets] == [0, *uppers[:-1]]
    assert sum(b["replies"] for b in buckets) == result["overall"]["replies"]


def test_a_delay_of_exactly_the_silence_is_a_reply() -> None:
    messages = [
        _message(1, "Ana", "2024-01-01 10:00", "hi"),
        _message(2, "Ben", "2024-01-01 11:00", "hello"),
        _message(3, "Ana", "2024-01-01 12:00:01", "late"),
    ]
    options = InsightOptions(silence_minutes=60)
    replies = compute("response_times", messages, options)
    assert replies["overall"] == {"replies": 1, "median_seconds": 3600.0, "p90_seconds": 3600.0}
    assert replies["distribution"][-1] == {"min_seconds": 900, "max_seconds": 3600, "replies": 1}
    initiators = compute("initiators", messages, options)
    assert initiators["total_conversations"] == 2


def test_nearest_rank_percentile() -> None:
    values = [float(v) for v in range(1, 21)]
    assert nearest_rank(values, 90) == 18.0  # ceil(0.9 * 20) = 18
    assert nearest_rank(values[:11], 90) == 10.0  # ceil(9.9) = 10
    assert nearest_rank([7.0], 90) == 7.0
    assert nearest_rank([], 90) is None


# --- initiators -----------------------------------------------------------------------------


def test_initiators() -> None:
    result = compute("initiators", CHAT, UTC_OPTIONS)

    # Conversations open at seq 2 (Ana), 8 (Cleo), 10 (Ben) and 15 (Ana).
    assert result["total_conversations"] == 4
    assert result["participants"] == [
        {"participant": "Ana", "conversations_started": 2, "share": 0.5},
        {"participant": "Ben", "conversations_started": 1, "share": 0.25},
        {"participant": "Cleo", "conversations_started": 1, "share": 0.25},
    ]


def test_initiators_with_a_shorter_silence_rounds_shares() -> None:
    result = compute("initiators", CHAT, InsightOptions(silence_minutes=15))

    # Also at seq 7 (19 min), 16 (30 min) and 17 (90 min): 7 conversations.
    assert result["total_conversations"] == 7
    assert result["participants"] == [
        {"participant": "Ana", "conversations_started": 3, "share": 0.4286},
        {"participant": "Ben", "conversations_started": 2, "share": 0.2857},
        {"participant": "Cleo", "conversations_started": 2, "share": 0.2857},
    ]


# --- sentiment ------------------------------------------------------------------------------


def test_sentiment_per_participant() -> None:
    result = compute("sentiment", CHAT, UTC_OPTIONS)

    people = {row["participant"]: row["sentiment"] for row in result["participants"]}
    ana, ben, cleo = people["Ana"], people["Ben"], people["Cleo"]
    # Ana's six texts are all upbeat (her media message is not scored).
    assert (ana["messages"], ana["positive"], ana["negative"], ana["neutral"]) == (6, 6, 0, 0)
    assert ana["mean_compound"] > 0.5
    # Ben complains four times and once says "Noted".
    assert (ben["messages"], ben["positive"], ben["negative"], ben["neutral"]) == (5, 0, 4, 1)
    assert ben["mean_compound"] < -0.4
    # Cleo only talks about kayaks.
    assert cleo == {"messages": 5, "mean_compound": 0.0, "positive": 0, "negative": 0, "neutral": 5}
    overall = result["overall"]
    assert (overall["messages"], overall["positive"], overall["negative"]) == (16, 6, 4)
    assert overall["neutral"] == 6


def test_sentiment_per_month_follows_the_time_zone() -> None:
    utc = compute("sentiment", CHAT, UTC_OPTIONS)
    assert _months(utc) == {
        "2024-01": {"Ana": 2, "Ben": 3, "Cleo": 2},
        "2024-02": {"Ana": 4, "Ben": 2, "Cleo": 3},
    }
    # Seq 8 (Cleo) and 9 (Ben) fall on 1 February in Madrid.
    madrid = compute("sentiment", CHAT, MADRID)
    assert _months(madrid) == {
        "2024-01": {"Ana": 2, "Ben": 2, "Cleo": 1},
        "2024-02": {"Ana": 4, "Ben": 3, "Cleo": 4},
    }
    for month in madrid["months"]:
        cleo = _by_name(month["participants"])["Cleo"]
        assert cleo["mean_compound"] == 0.0
        assert month["sentiment"]["messages"] == sum(r["messages"] for r in month["participants"])


def test_vader_shortcut_agrees_with_vader() -> None:
    analyzer = _get_analyzer()
    texts = [
        "See you at the station",
        "no",
        "NO!!!",
        ":)",
        "kind of",
        "the shit",
        "yeah right",
        "😂",
        "a 👍",
        "café con leche",
        "Noted.",
        "ok",
        "not bad at all",
        "train at 9, platform 4",
    ]
    for text in texts:
        if _surely_neutral(text, analyzer):
            assert analyzer.polarity_scores(text)["compound"] == 0.0, text
    assert _surely_neutral("See you at the station", analyzer)
    assert not _surely_neutral("a 👍", analyzer)
    assert not _surely_neutral(":)", analyzer)


# --- keywords -------------------------------------------------------------------------------


def test_keywords_find_the_planted_word() -> None:
    result = compute("keywords", CHAT, InsightOptions(keywords_per_participant=3))

    assert result["method"] == "log_odds_dirichlet"
    assert result["language"] == "en"
    people = _by_name(result["participants"])
    assert [row["participant"] for row in result["participants"]] == ["Ana", "Ben", "Cleo"]
    assert (people["Ana"]["terms"], people["Ben"]["terms"], people["Cleo"]["terms"]) == (23, 16, 16)
    # Cleo: kayak is 7 of her 16 terms and nobody else's; the chat has 55 terms, the others 39.
    # d = ln(14 / (16+55-14)) - ln(7 / (39+55-7)) = 1.116004; z = d / sqrt(1/14 + 1/7) = 2.4108.
    # Then seven words she used once and nobody else did (z = 0.8097), alphabetically.
    assert people["Cleo"]["keywords"] == [
        {"term": "kayak", "count": 7, "score": 2.4108},
        {"term": "boats", "count": 1, "score": 0.8097},
        {"term": "club", "count": 1, "score": 0.8097},
    ]
    # Ana: park (3, hers only) z = 1.1983 beats picnic (4 of the chat's 5) z = 1.0735; great
    # and happy (2 each, hers only) tie at 0.9604.
    assert [k["term"] for k in people["Ana"]["keywords"]] == ["park", "picnic", "great"]
    # Ben: awful and rain tie (2 each, his only): alphabetical.
    assert [k["term"] for k in people["Ben"]["keywords"]][:2] == ["awful", "rain"]


def test_keywords_limit_and_single_participant() -> None:
    messages = [
        _message(1, "Ana", "2024-01-01 10:00", "garden garden tomato"),
        _message(2, "Ana", "2024-01-01 10:01", "tomato garden basil"),
    ]
    result = compute("keywords", messages, InsightOptions(keywords_per_participant=2))
    # Nobody to compare with: all scores 0, ranked by count, then alphabetically.
    assert result["participants"][0]["keywords"] == [
        {"term": "garden", "count": 3, "score": 0.0},
        {"term": "tomato", "count": 2, "score": 0.0},
    ]


def test_tokenizer() -> None:
    english = Tokenizer("en")
    text = "Media omitted. Check https://example.com/x?y=1 or www.foo.org HAHAHA, it's GREAT 2day!"
    assert english.tokens(text) == ["check", "great", "day"]
    spanish = Tokenizer("es-AR")
    decomposed = "Cancio\u0301n"  # "Canción" with a combining accent
    assert spanish.tokens(f"¡Qué {decomposed} tan bonita para el niño! jajaja") == [
        "canción",
        "bonita",
        "niño",
    ]
    # The daughter is not laughter.
    assert spanish.tokens("hija hoja jeje") == ["hija", "hoja"]


def test_keywords_in_spanish() -> None:
    messages = [
        _message(1, "Lucía", "2024-05-01 10:00", "¿Dónde está la canción? Es para la fiesta"),
        _message(2, "Pablo", "2024-05-01 10:05", "La fiesta es mañana, también hay canción"),
        _message(3, "Lucía", "2024-05-01 10:06", "La canción de siempre, qué bonita"),
    ]
    result = compute("keywords", messages, InsightOptions(language="es"))
    assert result["language"] == "es"
    lucia = _by_name(result["participants"])["Lucía"]
    assert {k["term"] for k in lucia["keywords"]} == {"canción", "fiesta", "bonita"}
    assert compute("keywords", messages, InsightOptions(language="xx"))["language"] == "en"


# --- summary --------------------------------------------------------------------------------


def test_summary_picks_in_chat_order() -> None:
    result = compute("summary", CHAT, InsightOptions(summary_size=3))

    # Chat frequencies: kayak 7, picnic 5, saturday 5, park 3, 2 for great, happy, rain, awful,
    # idea, day. Best means (over 7): seq 12 17/21, seq 2 17/35, then seq 7 and 16 tie at
    # 3/7 and the earlier one wins.
    assert [(m["seq"], m["sender"], m["score"]) for m in result["messages"]] == [
        (2, "Ana", 0.4857),
        (7, "Ana", 0.4286),
        (12, "Cleo", 0.8095),
    ]
    first = result["messages"][0]
    assert first["text"] == "Picnic saturday park, great idea!"
    assert first["sent_at"] == "2024-01-31T09:00:00Z"
    assert result["participants"] == ["Ana", "Ben", "Cleo"]
    assert (result["started_at"], result["ended_at"]) == (
        "2024-01-31T09:00:00Z",
        "2024-02-03T12:02:00Z",
    )
    # Seqs 2, 3, 5, 7, 9, 10, 11, 12, 15 and 16 have 3 distinct terms or more.
    assert result["candidates"] == 10


def test_summary_default_size() -> None:
    result = compute("summary", CHAT, UTC_OPTIONS)
    # The two lowest (seq 9 at 4/21, seq 10 at 3/14) are left out.
    assert [m["seq"] for m in result["messages"]] == [2, 3, 5, 7, 11, 12, 15, 16]


# --- all insights ---------------------------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_result_validates_and_is_deterministic(slug: str) -> None:
    result = compute(slug, CHAT, MADRID)
    model = RESULT_MODELS[slug]
    assert model.model_validate(result).model_dump(mode="json") == result
    assert compute(slug, CHAT, MADRID) == result
    shuffled = list(CHAT)
    random.Random(3).shuffle(shuffled)
    assert compute(slug, shuffled, MADRID) == result
    assert model.model_json_schema()["properties"]


def test_every_result_field_is_described() -> None:
    def walk(schema: dict[str, Any], where: str) -> None:
        for name, prop in schema.get("properties", {}).items():
            assert prop.get("description"), f"{where}.{name}"

    for slug, model in RESULT_MODELS.items():
        schema = model.model_json_schema()
        walk(schema, slug)
        for name, definition in schema.get("$defs", {}).items():
            walk(definition, f"{slug}/{name}")


@pytest.mark.parametrize(
    ("slug", "added"),
    [
        ("activity", ["by_weekday_hour", "months"]),
        ("response_times", ["distribution", "pairs"]),
        ("response_times", ["pairs"]),
    ],
)
def test_a_result_stored_before_a_field_was_added_still_reads(slug: str, added: list[str]) -> None:
    stored = {
        name: value for name, value in compute(slug, CHAT, MADRID).items() if name not in added
    }
    read = RESULT_MODELS[slug].model_validate(stored).model_dump(mode="json")
    assert read == {**stored, **{name: [] for name in added}}


@pytest.mark.parametrize("messages", [[], CHAT[:1]], ids=["nothing", "system-only"])
def test_empty_chat(messages: list[InsightMessage]) -> None:
    results = {slug: compute(slug, messages, UTC_OPTIONS) for slug in SLUGS}

    activity = results["activity"]
    assert (activity["total_messages"], activity["total_words"], activity["participants"]) == (
        0,
        0,
        [],
    )
    assert [row["count"] for row in activity["by_weekday"]] == [0] * 7
    assert [row["count"] for row in activity["by_hour"]] == [0] * 24
    assert [row["count"] for row in activity["by_weekday_hour"]] == [0] * 168
    assert activity["months"] == []
    assert (activity["busiest_days"], activity["first_message_at"]) == ([], None)
    assert results["response_times"]["overall"] == {
        "replies": 0,
        "median_seconds": None,
        "p90_seconds": None,
    }
    assert [b["replies"] for b in results["response_times"]["distribution"]] == [0] * 5
    assert results["response_times"]["pairs"] == []
    assert results["initiators"] == {
        "silence_minutes": 240,
        "total_conversations": 0,
        "participants": [],
    }
    assert results["sentiment"]["overall"]["mean_compound"] is None
    assert results["sentiment"]["months"] == []
    assert results["keywords"]["participants"] == []
    assert results["summary"]["messages"] == []
    assert results["summary"]["started_at"] is None
    for slug, result in results.items():
        RESULT_MODELS[slug].model_validate(result)


def test_media_only_participant() -> None:
    messages = [
        _message(1, "Ana", "2024-01-01 10:00", "photo.jpg", "media"),
        _message(2, "Ben", "2024-01-01 10:01", "Lovely photo"),
    ]
    sentiment = compute("sentiment", messages, UTC_OPTIONS)
    ana = _by_name(sentiment["participants"])["Ana"]["sentiment"]
    assert (ana["messages"], ana["mean_compound"]) == (0, None)
    keywords = _by_name(compute("keywords", messages, UTC_OPTIONS)["participants"])
    assert keywords["Ana"] == {"participant": "Ana", "terms": 0, "keywords": []}


def test_errors_are_permanent() -> None:
    with pytest.raises(InsightError, match="Unknown local insight") as unknown:
        compute("horoscope", CHAT, UTC_OPTIONS)
    assert unknown.value.transient is False
    with pytest.raises(InsightError, match="time zone") as zone:
        compute("activity", CHAT, InsightOptions(timezone="Mars/Olympus_Mons"))
    assert zone.value.transient is False
    with pytest.raises(InsightError, match="silence_minutes"):
        compute("initiators", CHAT, InsightOptions(silence_minutes=0))


# --- a big chat -----------------------------------------------------------------------------

WORDS = (
    "picnic park train station dinner tomorrow coffee weekend football concert beach rain "
    "great love terrible awful happy sorry thanks the and you what when where with have"
).split()
BIG = 100_000


@pytest.fixture(scope="module")
def big_chat() -> list[InsightMessage]:
    rng = random.Random(42)
    people = ["Ana", "Ben", "Cleo", "Dev"]
    gaps = [5, 30, 60, 300, 900, 3600, 20_000]
    moment = datetime(2023, 1, 1, tzinfo=UTC)
    chat = []
    for seq in range(1, BIG + 1):
        moment += timedelta(seconds=rng.choice(gaps))
        roll = rng.random()
        if roll < 0.01:
            chat.append(InsightMessage(seq, None, moment, "Ana added Dev", "system"))
        elif roll < 0.06:
            chat.append(InsightMessage(seq, rng.choice(people), moment, "<Media omitted>", "media"))
        else:
            text = " ".join(rng.choices(WORDS, k=rng.randint(1, 12)))
            chat.append(InsightMessage(seq, rng.choice(people), moment, text, "text"))
    return chat


@pytest.mark.parametrize("slug", SLUGS)
def test_big_chat(slug: str, big_chat: list[InsightMessage]) -> None:
    result = compute(slug, big_chat, MADRID)
    senders = sum(1 for m in big_chat if m.sender is not None)
    if slug == "activity":
        assert result["total_messages"] == senders
        assert sum(row["count"] for row in result["by_hour"]) == senders
        assert sum(row["count"] for row in result["by_weekday_hour"]) == senders
        monthly = [row["messages"] for month in result["months"] for row in month["participants"]]
        assert (sum(monthly), len(monthly)) == (senders, 4 * len(result["months"]))
        assert len(result["busiest_days"]) == 5
    elif slug == "response_times":
        assert 0 < result["overall"]["replies"] < senders
        replies = [bucket["replies"] for bucket in result["distribution"]]
        assert sum(replies) == result["overall"]["replies"]
        assert sum(pair["replies"] for pair in result["pairs"]) == result["overall"]["replies"]
        assert len(result["pairs"]) == 12  # four people, each answering the three others
    elif slug == "initiators":
        assert math.isclose(sum(row["share"] for row in result["participants"]), 1.0, abs_tol=1e-3)
    elif slug == "sentiment":
        assert result["overall"]["messages"] == sum(1 for m in big_chat if m.kind == "text")
        assert len(result["months"]) >= 12
    elif slug == "keywords":
        assert [len(row["keywords"]) for row in result["participants"]] == [10] * 4
    else:
        assert len(result["messages"]) == 8
    assert len(result["participants"]) == 4
