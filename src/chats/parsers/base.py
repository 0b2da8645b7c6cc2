"""Shared types of the chat-export parsers: formats, parsed messages, errors and small helpers."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ProgressFn = Callable[[float], None]

# How many lines or records a parser handles between two progress reports.
PROGRESS_EVERY = 10_000


class ChatFormat(StrEnum):
    """The export formats this package reads."""

    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"
    JSON = "json"
    CSV = "csv"
    SIGNAL = "signal"
    INSTAGRAM = "instagram"


class MessageKind(StrEnum):
    """What a parsed message is: something typed, a media placeholder, or a system notice."""

    TEXT = "text"
    MEDIA = "media"
    SYSTEM = "system"


class AttachmentKind(StrEnum):
    """What a message carries besides (or instead of) its text."""

    PHOTO = "photo"
    VIDEO = "video"
    AUDIO = "audio"
    VOICE = "voice"
    STICKER = "sticker"
    GIF = "gif"
    DOCUMENT = "document"
    CONTACT = "contact"
    LOCATION = "location"
    POLL = "poll"
    OTHER = "other"


class DateOrder(StrEnum):
    """The order of the day, month and year fields of an export's dates."""

    DMY = "dmy"
    MDY = "mdy"
    YMD = "ymd"
    YDM = "ydm"


class DateOrderSource(StrEnum):
    """What decided an export's date order, so a person can judge (and override) it."""

    REQUESTED = "requested"  # the upload's `date_order`
    DATES = "dates"  # only one order gives a valid date on every header
    CHRONOLOGY = "chronology"  # several were valid; only one runs forward in time
    DEFAULT = "default"  # nothing in the file decides: the documented default (dmy)
    FORMAT = "format"  # the format fixes it (ISO dates)


@dataclass(frozen=True, slots=True)
class Attachment:
    kind: AttachmentKind
    file_name: str | None = None


@dataclass(frozen=True, slots=True)
class Reaction:
    """One emoji's reactions to a message: how many, and by whom where the export says."""

    emoji: str
    count: int
    senders: tuple[str, ...] = ()


def group_reactions(items: Iterable[tuple[str, int, Sequence[str]]]) -> tuple[Reaction, ...]:
    """(emoji, count, who) items grouped per emoji, in order of first appearance."""
    counts: dict[str, int] = {}
    senders: dict[str, list[str]] = {}
    for emoji, count, who in items:
        counts[emoji] = counts.get(emoji, 0) + count
        senders.setdefault(emoji, []).extend(who)
    return tuple(Reaction(emoji, count, tuple(senders[emoji])) for emoji, count in counts.items())


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """One message of an export; `sent_at` is always timezone-aware.

    `reply_to` is the index, in the same `ParsedChat.messages` list, of the message this one
    answers (parsers resolve the export's own ids to positions; None when unknown or absent).
    """

    sender: str | None
    sent_at: datetime
    text: str
    kind: MessageKind
    edited: bool = False
    forwarded_from: str | None = None
    reply_to: int | None = None
    reactions: tuple[Reaction, ...] = ()
    attachment: Attachment | None = None


@dataclass
class ParsedChat:
    """A whole parsed export, messages in chronological (file) order.

    `time_precision` is 60 when the export's times have no seconds, else 1: messages of two
    exports are compared at the coarser of the two. `date_order` and `date_order_source`
    say how a line format's dates were read (None for formats with exact timestamps).
    """

    format: ChatFormat
    title: str | None
    messages: list[ParsedMessage] = field(default_factory=list)
    time_precision: int = 1
    date_order: DateOrder | None = None
    date_order_source: DateOrderSource | None = None

    @property
    def participants(self) -> list[str]:
        """Distinct non-None senders, in order of first appearance."""
        # dict keeps insertion order, so it doubles as an ordered set.
        seen: dict[str, None] = {}
        for message in self.messages:
            if message.sender is not None and message.sender not in seen:
                seen[message.sender] = None
        return list(seen)


class ExportError(Exception):
    """Base of the parser errors; `str(exc)` is a short sentence a user can act on."""


class UnknownFormat(ExportError):
    """The content matches none of the known export formats."""


class MalformedExport(ExportError):
    """The format is known (or was forced) but the content is broken, undecodable or empty."""


class UnpackedTooLarge(ExportError):
    """A zipped export unpacks to more than the caller allows."""

    def __init__(self, unpacked: int) -> None:
        super().__init__(f"The chat inside the zip is too large ({unpacked} bytes unpacked).")
        self.unpacked = unpacked


@functools.lru_cache(maxsize=64)
def zone_for(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, cached; ValueError for an unknown name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"Unknown time zone {name!r}") from exc


class Progress:
    """Forwards fractions of one parsing step to the caller's callback, scaled to a range.

    A parser reports its own 0..1 fraction; the dispatcher decides which part of the overall
    0..1 that step covers. Reports never go backwards.
    """

    __slots__ = ("_callback", "_start", "_span", "_last")

    def __init__(self, callback: ProgressFn | None, start: float = 0.0, end: float = 1.0) -> None:
        self._callback = callback
        self._start = start
        self._span = end - start
        self._last = -1.0

    def __call__(self, fraction: float) -> None:
        if self._callback is None:
            return
        value = self._start + self._span * min(max(fraction, 0.0), 1.0)
        if value > self._last:
            self._last = value
            self._callback(value)

    @property
    def active(self) -> bool:
        """Whether anybody listens; lets hot loops skip the bookkeeping entirely."""
        return self._callback is not None


def require_messages(messages: list[ParsedMessage], what: str) -> None:
    """Raise MalformedExport when an export holds nothing but system notices (or nothing)."""
    if not any(m.kind is not MessageKind.SYSTEM for m in messages):
        raise MalformedExport(f"No messages found in this {what} export.")
