"""The `initiators` insight: who starts the conversations.

A conversation starts with the first message of the chat and with every message sent more
than `silence_minutes` after the previous one (system lines are skipped, media counts). A
gap of exactly `silence_minutes` does not start a new conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from pydantic import Field

from src.insights.providers.base import InsightMessage, InsightOptions
from src.insights.providers.local._common import (
    ResultModel,
    participants_of,
    round4,
    sender_messages,
)


class ParticipantInitiations(ResultModel):
    """How many conversations one participant opened."""

    participant: str = Field(description="The sender's name as it appears in the chat.")
    conversations_started: int = Field(description="Conversations this participant opened.")
    share: float = Field(
        ge=0.0,
        le=1.0,
        description="conversations_started / total_conversations, rounded to 4 places; "
        "0 when there are no conversations.",
    )


class InitiatorsResult(ResultModel):
    """Conversation openers."""

    silence_minutes: int = Field(
        description="A message after more than this many minutes of silence opens a new "
        "conversation."
    )
    total_conversations: int = Field(description="Conversations in the chat.")
    participants: list[ParticipantInitiations] = Field(
        description="One entry per participant, in order of their first message, zero included."
    )


def compute(messages: Sequence[InsightMessage], options: InsightOptions) -> InitiatorsResult:
    """Split the chat at silences longer than the limit and credit each opener."""
    kept = sender_messages(messages)
    limit = options.silence_minutes * 60.0
    started = dict.fromkeys(participants_of(kept), 0)
    previous_at = None
    for message in kept:
        if previous_at is None or (message.sent_at - previous_at).total_seconds() > limit:
            started[cast(str, message.sender)] += 1
        previous_at = message.sent_at

    total = sum(started.values())
    return InitiatorsResult(
        silence_minutes=options.silence_minutes,
        total_conversations=total,
        participants=[
            ParticipantInitiations(
                participant=name,
                conversations_started=count,
                share=round4(count / total) if total else 0.0,
            )
            for name, count in started.items()
        ],
    )
