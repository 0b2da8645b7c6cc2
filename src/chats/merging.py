"""Deciding what a newer (or the other participant's) export adds to a chat: pure functions.

Messages are compared as a multiset of (sender, time at the coarser precision of the chat and
the export, text): two identical messages sent in the same minute are both real, so an export
holding three of them adds one to a chat that holds two. The one case no content can settle:
when the chat ends and the export begins inside the same minute, each holding some of that
minute's identical messages, they count as the same ones (exports of one phone begin with the
chat's history, so this needs exports of two phones with different histories).

Senders. Each phone names people its own way: the exporter's own messages carry their own
name, the others the names in their address book (or phone numbers). Where the two exports
overlap, the same (time, text) written under a different name in each says that the names are
one person: a name of the export is mapped onto the chat's name when most of its overlapping
messages say so. Exports that do not overlap cannot be matched this way; their names are kept
as written (rename in the export, or merge an overlapping export first).

Media messages that carry an attachment are compared as media, whatever their text: an export
taken without media writes "<Media omitted>" where one taken with media names the file.

System notices are worded from each exporter's side ("You added Ben" / "Ana added Ben"): a
notice that matches nothing and falls inside the period the chat already covers is taken as
present, so the chat keeps its own wording and never holds the same event twice.

Positions. The chat's messages and the added ones are merged like two sorted runs: each keeps
its own order, and an added message goes before the first stored one that is later than it.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from src.chats.parsers import MessageKind, ParsedMessage

# How many overlapping messages must agree before a name is mapped onto another one.
MIN_VOTES = 2


# What a media message with an attachment is compared by, instead of its text: one phone
# exports "<Media omitted>", another "IMG-0001.jpg (file attached)" for the same photo.
MEDIA_TEXT = "<media>"
# The same choice in SQL, for the stored side (`digest` below must agree with it).
DIGEST_SQL = (
    "decode(md5(CASE WHEN kind = 'media' AND attachment_kind IS NOT NULL"
    f" THEN '{MEDIA_TEXT}' ELSE text END), 'hex')"
)


def digest(text: str) -> bytes:
    """The text's fingerprint; PostgreSQL computes the same one as `decode(md5(text), 'hex')`."""
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).digest()


def message_digest(message: ParsedMessage) -> bytes:
    """What a message is compared by: its text, or for media with an attachment, only that it
    is media (the placeholder and caption depend on how the export was taken)."""
    if message.kind is MessageKind.MEDIA and message.attachment is not None:
        return digest(MEDIA_TEXT)
    return digest(message.text)


class StoredMessage(NamedTuple):
    """A message the chat holds, as the merge needs it (a tuple: chats hold many)."""

    id: int
    seq: int
    sender: str | None
    epoch: int  # its time in whole seconds since 1970 (floored)
    digest: bytes


def epoch(moment: datetime) -> int:
    """Whole seconds since 1970, floored as PostgreSQL's `floor(extract(epoch ...))`."""
    return math.floor(moment.timestamp())


@dataclass
class MergePlan:
    # (position, index in the export) of each message to add, in the export's order.
    added: list[tuple[int, int]] = field(default_factory=list)
    # (message id, new position) of stored messages that move to make room.
    moved: list[tuple[int, int]] = field(default_factory=list)
    already_present: int = 0
    # Export index -> id of the stored message it matched (for replies to it).
    matched: dict[int, int] = field(default_factory=dict)
    # Export name -> the chat's name for the same person.
    renamed: dict[str, str] = field(default_factory=dict)


# Stands for "more than one sender" where one (time, text) was written by several.
_SEVERAL = object()


def _marks(
    incoming: Sequence[ParsedMessage], precision: int
) -> tuple[list[int], list[tuple[int, bytes]]]:
    """The incoming messages' epochs, and their (time bucket, text digest) marks."""
    epochs = [epoch(m.sent_at) for m in incoming]
    return epochs, [
        (seconds // precision, message_digest(m))
        for seconds, m in zip(epochs, incoming, strict=True)
    ]


def sender_mapping(
    stored: Sequence[StoredMessage],
    incoming: Sequence[ParsedMessage],
    precision: int,
    marks: Sequence[tuple[int, bytes]] | None = None,
) -> dict[str, str]:
    """Names of the export that the overlap shows to be another name of the chat."""
    marks = marks if marks is not None else _marks(incoming, precision)[1]
    # (bucket, digest) -> the one sender who wrote it, or _SEVERAL.
    sender_at: dict[tuple[int, bytes], object] = {}
    for row in stored:
        mark = (row.epoch // precision, row.digest)
        found = sender_at.setdefault(mark, row.sender)
        if found is not _SEVERAL and found != row.sender:
            sender_at[mark] = _SEVERAL
    same: Counter[str] = Counter()
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for message, mark in zip(incoming, marks, strict=True):
        if message.sender is None or message.kind is MessageKind.SYSTEM:
            continue
        there = sender_at.get(mark, _SEVERAL)
        if there == message.sender:
            same[message.sender] += 1
        elif isinstance(there, str):
            votes[message.sender][there] += 1
    mapping: dict[str, str] = {}
    for name, counter in votes.items():
        target, count = counter.most_common(1)[0]
        # Not when the export also writes `target` for somebody whose messages match as is.
        if count >= MIN_VOTES and count > same[name] and same[target] == 0:
            mapping[name] = target
    return mapping


def plan_merge(
    stored: Sequence[StoredMessage],
    incoming: Sequence[ParsedMessage],
    *,
    precision: int,
    start: int = 1,
    covered: tuple[datetime, datetime] | None = None,
) -> MergePlan:
    """What to add from `incoming` to a chat, and where.

    `stored` is the chat's messages in position order from position `start` on (where added
    messages would begin when it is empty): every message before it must be earlier than
    every incoming one, so a merge of a newer export reads only the chat's tail. `covered`
    is the chat's whole time span (default: that of `stored`).
    """
    epochs, marks = _marks(incoming, precision)
    plan = MergePlan(renamed=sender_mapping(stored, incoming, precision, marks))
    # (sender, bucket, digest) -> the stored ids with that key, last first (popped).
    waiting: dict[tuple[str | None, int, bytes], list[int]] = {}
    for row in reversed(stored):
        waiting.setdefault((row.sender, row.epoch // precision, row.digest), []).append(row.id)
    span = (
        (epoch(covered[0]), epoch(covered[1]))
        if covered is not None
        else (min(r.epoch for r in stored), max(r.epoch for r in stored))
        if stored
        else None
    )

    fresh: list[int] = []
    renamed = plan.renamed
    for index, (message, mark) in enumerate(zip(incoming, marks, strict=True)):
        sender = renamed.get(message.sender, message.sender) if message.sender else None
        ids = waiting.get((sender, *mark))
        if ids:
            plan.matched[index] = ids.pop()
            plan.already_present += 1
        elif (
            message.kind is MessageKind.SYSTEM
            and span is not None
            and span[0] <= epochs[index] <= span[1]
        ):
            plan.already_present += 1
        else:
            fresh.append(index)

    # Interleave like two sorted runs; ties keep the stored message first.
    position = start - 1
    i = 0
    for index in fresh:
        moment = epochs[index]
        while i < len(stored) and stored[i].epoch <= moment:
            position += 1
            _place(plan, stored[i], position)
            i += 1
        position += 1
        plan.added.append((position, index))
    while i < len(stored):
        position += 1
        _place(plan, stored[i], position)
        i += 1
    return plan


def _place(plan: MergePlan, message: StoredMessage, position: int) -> None:
    if message.seq != position:
        plan.moved.append((message.id, position))
