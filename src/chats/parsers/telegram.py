"""Telegram Desktop JSON exports: one chat (`result.json` with "messages") or a full export.

Times: Telegram writes `date` as naive local time of the exporting computer and, in newer
versions, `date_unixtime` as the exact instant. The exact instant is preferred and shown in
`tz`; `date` is read as local time in `tz` only when `date_unixtime` is missing. The corpus
targets (naive times equal to the UTC instant, read with tz="UTC") agree with this choice.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from src.chats.parsers.base import (
    PROGRESS_EVERY,
    ChatFormat,
    MalformedExport,
    MessageKind,
    ParsedChat,
    ParsedMessage,
    Progress,
    require_messages,
)

# Keys whose presence marks a message as a photo, file, sticker, voice note and so on.
_MEDIA_KEYS = (
    ("sticker_emoji", "sticker"),
    ("photo", "photo"),
    ("media_type", ""),
    ("file", "file"),
    ("contact_information", "contact"),
    ("location_information", "location"),
    ("poll", "poll"),
    ("game_title", "game"),
    ("invoice_information", "invoice"),
)


def looks_like_telegram(data: object) -> bool:
    """Whether decoded JSON has the shape of a Telegram Desktop export."""
    if not isinstance(data, dict):
        return False
    chats = data.get("chats")
    if isinstance(chats, dict) and isinstance(chats.get("list"), list):
        return True
    messages = data.get("messages")
    if not isinstance(messages, list):
        return False
    sample = [m for m in messages[:20] if isinstance(m, dict)]
    return any(
        "date_unixtime" in m or ("date" in m and "type" in m) or m.get("type") == "service"
        for m in sample
    )


def join_text(text: object) -> str:
    """Join Telegram's `text`: a string, or a list of strings and {"type", "text"} entities.

    Plain strings carry their own spacing. Two formatting entities that touch without any
    whitespace between them (bold "Link:" then a link) are separated by one space: that is how
    the corpus target reads them, and glued entities are rare in typed text.
    """
    if isinstance(text, str):
        return text
    if not isinstance(text, list):
        return ""
    out: list[str] = []
    previous_entity = False
    for piece in text:
        if isinstance(piece, dict):
            value = piece.get("text", "")
            value = value if isinstance(value, str) else ""
            if previous_entity and out and value:
                last = out[-1]
                if last and not last[-1].isspace() and not value[0].isspace():
                    out.append(" ")
            previous_entity = True
        else:
            value = piece if isinstance(piece, str) else ""
            previous_entity = False
        if value:
            out.append(value)
    return "".join(out)


def _sent_at(raw: dict[str, Any], zone: tzinfo) -> datetime:
    unix = raw.get("date_unixtime")
    try:
        if unix is not None and str(unix).strip():
            return datetime.fromtimestamp(int(unix), zone)
        date = raw.get("date")
        if isinstance(date, str):
            stamp = datetime.fromisoformat(date)
            return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=zone)
    except (ValueError, OverflowError, OSError):
        pass
    raise MalformedExport(f"Telegram message {raw.get('id', '?')} has no readable date.")


def _media_label(raw: dict[str, Any]) -> str | None:
    for key, label in _MEDIA_KEYS:
        value = raw.get(key)
        if value:
            if key == "media_type":
                return str(value).replace("_", " ")
            return label
    return None


def _message(raw: dict[str, Any], zone: tzinfo) -> ParsedMessage | None:
    """One Telegram message, or None for an empty one (no text and no media)."""
    sent_at = _sent_at(raw, zone)
    text = join_text(raw.get("text"))
    if raw.get("type") == "service":
        if not text.strip():
            actor = raw.get("actor")
            action = str(raw.get("action") or "service message").replace("_", " ")
            text = f"{actor}: {action}" if actor else action
        return ParsedMessage(sender=None, sent_at=sent_at, text=text, kind=MessageKind.SYSTEM)
    sender = raw.get("from") or raw.get("from_id") or "Deleted Account"
    if text.strip():
        return ParsedMessage(str(sender), sent_at, text, MessageKind.TEXT)
    label = _media_label(raw)
    if label is None:
        return None
    return ParsedMessage(str(sender), sent_at, f"<{label} omitted>", MessageKind.MEDIA)


def _chats(data: dict[str, Any]) -> list[dict[str, Any]]:
    chats = data.get("chats")
    if isinstance(chats, dict) and isinstance(chats.get("list"), list):
        return [chat for chat in chats["list"] if isinstance(chat, dict)]
    if isinstance(data.get("messages"), list):
        return [data]
    raise MalformedExport('This is not a Telegram export: it has no "messages" list.')


def parse_telegram(data: object, zone: tzinfo, progress: Progress) -> ParsedChat:
    """Parse decoded Telegram JSON.

    A full export ("chats": {"list": [...]}) yields the messages of all its chats in one
    ParsedChat, merged in time order; its title is the chat's name only when exactly one chat
    has messages.
    """
    if not isinstance(data, dict):
        raise MalformedExport("This is not a Telegram export: the JSON is not an object.")
    chats = _chats(data)
    total = sum(len(c["messages"]) for c in chats if isinstance(c.get("messages"), list)) or 1
    done = 0
    messages: list[ParsedMessage] = []
    names: list[str | None] = []
    for chat in chats:
        raw_messages = chat.get("messages")
        if not isinstance(raw_messages, list) or not raw_messages:
            continue
        name = chat.get("name")
        names.append(name if isinstance(name, str) and name else None)
        for raw in raw_messages:
            done += 1
            if done % PROGRESS_EVERY == 0:
                progress(done / total)
            if isinstance(raw, dict) and (message := _message(raw, zone)) is not None:
                messages.append(message)
    if len(names) > 1:
        messages.sort(key=lambda m: m.sent_at)  # stable: each chat keeps its own order
    progress(1.0)
    require_messages(messages, "Telegram")
    return ParsedChat(
        format=ChatFormat.TELEGRAM,
        title=names[0] if len(names) == 1 else None,
        messages=messages,
    )
