"""The interface every insight provider shares: its input messages, its options and its error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class InsightMessage:
    """One message of a chat as the providers see it."""

    seq: int
    """Position in the chat, from 1."""
    sender: str | None
    """Who sent it; None for system lines."""
    sent_at: datetime
    """When it was sent, timezone-aware."""
    text: str
    kind: str
    """"text", "media" or "system"."""


@dataclass(frozen=True)
class InsightOptions:
    """Knobs of the insights; every provider reads only the ones it needs."""

    timezone: str = "UTC"
    """The chat's IANA zone: weekdays, hours, days and months are local to it."""
    silence_minutes: int = 240
    """A message after more than this much silence opens a new conversation."""
    summary_size: int = 8
    """How many messages the summary picks."""
    keywords_per_participant: int = 10
    """How many keywords the keywords insight returns per participant."""
    language: str = "en"
    """Stop-word language ("en", "es"; a region suffix such as "es-AR" is accepted); any
    other value falls back to English."""


class InsightError(Exception):
    """A provider failed. `transient` True means retrying may succeed (network, rate limit)."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient
