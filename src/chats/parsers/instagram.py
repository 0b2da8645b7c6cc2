"""Instagram (Meta) JSON message exports: `message_1.json` with "participants" and "messages".

Meta writes the UTF-8 bytes of non-ASCII text as separate \\u00XX escapes, so "é" arrives as
"Ã©"; names and texts are repaired when they round-trip through Latin-1. Messages are listed
newest first in the file and returned oldest first. `timestamp_ms` is an exact instant.
Reactions are grouped per emoji; the first photo, video, file, ... becomes the attachment.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from src.chats.parsers.base import (
    PROGRESS_EVERY,
    Attachment,
    AttachmentKind,
    ChatFormat,
    MalformedExport,
    MessageKind,
    ParsedChat,
    ParsedMessage,
    Progress,
    Reaction,
    group_reactions,
    require_messages,
)

# Keys of media a message carries: the attachment kind and its placeholder label.
_MEDIA_KEYS = (
    ("photos", AttachmentKind.PHOTO, "photo"),
    ("videos", AttachmentKind.VIDEO, "video"),
    ("audio_files", AttachmentKind.AUDIO, "audio"),
    ("gifs", AttachmentKind.GIF, "GIF"),
    ("files", AttachmentKind.DOCUMENT, "file"),
    ("sticker", AttachmentKind.STICKER, "sticker"),
    ("share", AttachmentKind.OTHER, "shared post"),
)

# Message types that record an event rather than something a person wrote.
_SYSTEM_TYPES = frozenset({"Call", "Subscribe", "Unsubscribe"})


def looks_like_instagram(data: object) -> bool:
    """Whether decoded JSON has the shape of an Instagram/Messenger message export."""
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        return False
    sample = [m for m in data["messages"][:20] if isinstance(m, dict)]
    return any("sender_name" in m and "timestamp_ms" in m for m in sample)


def repair(text: str) -> str:
    """Undo Meta's Latin-1 mojibake; text that is not mojibake comes back unchanged."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _media(raw: dict[str, Any]) -> tuple[Attachment, str] | None:
    """The message's first attachment (the model holds one) and its label, or None.

    Media are a list of {"uri": ...} (photos, videos, ...) or one such object (sticker);
    a share is {"link": ...} and has no file of its own.
    """
    for key, kind, label in _MEDIA_KEYS:
        value = raw.get(key)
        if not value:
            continue
        first = value[0] if isinstance(value, list) else value
        uri = first.get("uri") if isinstance(first, dict) else None
        name = None
        if isinstance(uri, str) and uri.strip():
            name = repair(uri.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]) or None
        return Attachment(kind, name), label
    return None


def _reactions(value: object) -> tuple[Reaction, ...]:
    """[{"reaction", "actor"}, ...] grouped per emoji, in order of first appearance."""
    if not isinstance(value, list):
        return ()
    return group_reactions(
        (repair(emoji), 1, [repair(actor)] if isinstance(actor, str) and actor else [])
        for item in value
        if isinstance(item, dict)
        for emoji, actor in [(item.get("reaction"), item.get("actor"))]
        if isinstance(emoji, str) and emoji
    )


def _message(raw: dict[str, Any], zone: tzinfo) -> ParsedMessage | None:
    try:
        sent_at = datetime.fromtimestamp(int(raw["timestamp_ms"]) / 1000, zone)
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        raise MalformedExport("An Instagram message has no readable timestamp_ms.") from exc
    sender = raw.get("sender_name")
    sender = repair(sender) if isinstance(sender, str) and sender else None
    content = raw.get("content")
    text = repair(content) if isinstance(content, str) else ""
    if raw.get("type") in _SYSTEM_TYPES:
        return ParsedMessage(None, sent_at, text, MessageKind.SYSTEM)
    media = _media(raw)
    kind = MessageKind.TEXT
    if not text.strip():
        if media is None:
            return None
        text, kind = f"<{media[1]} omitted>", MessageKind.MEDIA
    return ParsedMessage(
        sender,
        sent_at,
        text,
        kind,
        reactions=_reactions(raw.get("reactions")),
        attachment=media[0] if media else None,
    )


def parse_instagram(data: object, zone: tzinfo, progress: Progress) -> ParsedChat:
    """Parse decoded Instagram JSON into a chat in chronological order."""
    if not isinstance(data, dict) or not looks_like_instagram(data):
        raise MalformedExport(
            'This is not an Instagram export: it needs "messages" with sender_name '
            "and timestamp_ms."
        )
    raw_messages: list[Any] = data["messages"]
    total = len(raw_messages) or 1
    messages: list[ParsedMessage] = []
    # The file lists newest first; walking it backwards keeps ties in their written order.
    for done, raw in enumerate(reversed(raw_messages), start=1):
        if done % PROGRESS_EVERY == 0:
            progress(done / total)
        if isinstance(raw, dict) and (message := _message(raw, zone)) is not None:
            messages.append(message)
    messages.sort(key=lambda m: m.sent_at)
    progress(1.0)
    require_messages(messages, "Instagram")
    title = data.get("title")
    return ParsedChat(
        format=ChatFormat.INSTAGRAM,
        title=repair(title) if isinstance(title, str) and title else None,
        messages=messages,
    )
