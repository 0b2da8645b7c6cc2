"""Telegram Desktop JSON exports: one chat (`result.json` with "messages") or a full export.

Times: Telegram writes `date` as naive local time of the exporting computer and, in newer
versions, `date_unixtime` as the exact instant. The exact instant is preferred and shown in
`tz`; `date` is read as local time in `tz` only when `date_unixtime` is missing. The corpus
targets (naive times equal to the UTC instant, read with tz="UTC") agree with this choice.

Texts are joined exactly as Telegram renders them; service messages become system lines
worded from their `action`; replies, forwards, edits, reactions and media are kept.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
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

# What Telegram shows for a person or peer whose account no longer exists (the export: null).
DELETED_ACCOUNT = "Deleted Account"

# `media_type` of a document: the attachment kind and the placeholder label (today's texts).
_MEDIA_TYPES = {
    "sticker": (AttachmentKind.STICKER, "sticker"),
    "animation": (AttachmentKind.GIF, "animation"),
    "video_file": (AttachmentKind.VIDEO, "video file"),
    "video_message": (AttachmentKind.VIDEO, "video message"),
    "voice_message": (AttachmentKind.VOICE, "voice message"),
    "audio_file": (AttachmentKind.AUDIO, "audio file"),
}
# Other keys whose presence marks a media message, in the order they are tried, with the key
# of the exported file that goes with it (None: there is no file).
_MEDIA_KEYS = (
    ("photo", AttachmentKind.PHOTO, "photo", "photo"),
    ("sticker_emoji", AttachmentKind.STICKER, "sticker", "file"),
    ("file", AttachmentKind.DOCUMENT, "file", "file"),
    ("contact_information", AttachmentKind.CONTACT, "contact", "contact_vcard"),
    ("contact_vcard", AttachmentKind.CONTACT, "contact", "contact_vcard"),
    ("location_information", AttachmentKind.LOCATION, "location", None),
    ("place_name", AttachmentKind.LOCATION, "location", None),
    ("poll", AttachmentKind.POLL, "poll", None),
    ("game_title", AttachmentKind.OTHER, "game", None),
    ("invoice_information", AttachmentKind.OTHER, "invoice", None),
    ("giveaway_information", AttachmentKind.OTHER, "giveaway", None),
    ("paid_stars_amount", AttachmentKind.OTHER, "paid media", None),
)
# What the export writes instead of a path when the file was not downloaded.
_SKIPPED_FILE = re.compile(
    r"\(File (?:not included|exceeds maximum size|unavailable)[^()]*\)\s*$", re.IGNORECASE
)
# How much of a pinned message its "pinned" notice quotes.
_QUOTE_CHARS = 50

# Looks a message of the same chat up by its export id.
Lookup = Callable[[object], ParsedMessage | None]


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
    """Join Telegram's `text` or `text_entities`: a string, or a list of strings and
    {"type", "text"} entities, concatenated exactly as Telegram renders them (each piece
    carries its own spacing, so nothing is inserted between touching entities)."""
    if isinstance(text, str):
        return text
    if not isinstance(text, list):
        return ""
    out: list[str] = []
    for piece in text:
        value = piece.get("text") if isinstance(piece, dict) else piece
        if isinstance(value, str):
            out.append(value)
    return "".join(out)


def _message_text(raw: dict[str, Any]) -> str:
    # `text_entities` is the canonical list in newer exports; `text` the older, mixed form.
    return join_text(raw.get("text_entities")) or join_text(raw.get("text"))


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


def _export_id(value: object) -> int | None:
    """A message id as the export writes it (a number, sometimes a string of digits)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdecimal():
        return int(value)
    return None


def _name(value: object) -> str:
    """A person's or chat's name; null (a deleted account) reads as Telegram shows it."""
    return value if isinstance(value, str) and value else DELETED_ACCOUNT


def _file_name(path: object) -> str | None:
    """The base name of an exported file's relative path; None when it was not downloaded."""
    if not isinstance(path, str) or not path.strip() or _SKIPPED_FILE.search(path):
        return None
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or None


# --- media ----------------------------------------------------------------------------------


def _media(raw: dict[str, Any]) -> tuple[Attachment, str] | None:
    """The attachment of a message and its placeholder label, or None when it has none."""
    media_type = raw.get("media_type")
    if isinstance(media_type, str) and media_type:
        kind, label = _MEDIA_TYPES.get(
            media_type, (AttachmentKind.OTHER, media_type.replace("_", " "))
        )
        return Attachment(kind, _document_name(raw)), label
    for key, kind, label, file_key in _MEDIA_KEYS:
        # A location without valid coordinates is written as "location_information": null.
        if raw.get(key) or (key == "location_information" and key in raw):
            if file_key == "file":
                return Attachment(kind, _document_name(raw)), label
            return Attachment(kind, _file_name(raw.get(file_key) if file_key else None)), label
    return None


def _document_name(raw: dict[str, Any]) -> str | None:
    # The downloaded file's name, else the original name Telegram keeps for documents.
    name = _file_name(raw.get("file"))
    original = raw.get("file_name")
    if name is None and isinstance(original, str) and original.strip():
        return original.strip()
    return name


# --- reactions ------------------------------------------------------------------------------


def _reactions(value: object) -> tuple[Reaction, ...]:
    """Reactions grouped per emoji; `recent` names some (not always all) of the reactors."""
    if not isinstance(value, list):
        return ()
    return group_reactions(
        _reaction(item, emoji)
        for item in value
        if isinstance(item, dict) and (emoji := _reaction_emoji(item)) is not None
    )


def _reaction(item: dict[str, Any], emoji: str) -> tuple[str, int, list[str]]:
    recent = item.get("recent")
    names = (
        [_name(r.get("from")) for r in recent if isinstance(r, dict)]
        if isinstance(recent, list)
        else []
    )
    count = item.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        count = len(names) or 1
    return emoji, count, names


def _reaction_emoji(item: dict[str, Any]) -> str | None:
    emoji = item.get("emoji")
    if isinstance(emoji, str) and emoji:
        return emoji
    kind = item.get("type")
    if kind == "paid":
        return "⭐"  # paid reactions are Telegram Stars
    if kind == "custom_emoji":
        return "custom"  # the export names only the sticker document, not a character
    return None


# --- service messages -----------------------------------------------------------------------


def _duration(seconds: object) -> str | None:
    """A duration in its largest unit and the next ("42 s", "3 min 5 s", "1 h", "1 d 2 h");
    the rest is dropped. None for no (or a zero) duration."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 1:
        return None
    units = ((86_400, "d"), (3_600, "h"), (60, "min"), (1, "s"))
    rest = int(seconds)
    first = next(i for i, (size, _) in enumerate(units) if rest >= size)
    parts: list[str] = []
    for size, unit in units[first : first + 2]:
        if rest >= size:
            parts.append(f"{rest // size} {unit}")
        rest %= size
    return " ".join(parts)


def _members(value: object) -> list[str]:
    return [_name(member) for member in value] if isinstance(value, list) else []


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _QUOTE_CHARS else flat[: _QUOTE_CHARS - 1].rstrip() + "…"


def _service_text(raw: dict[str, Any], lookup: Lookup) -> str:
    """A readable line for a service message, worded after Telegram's own notices."""
    actor = _name(raw.get("actor")) if "actor" in raw else "Someone"
    action = raw.get("action")
    title = raw.get("title") if isinstance(raw.get("title"), str) else ""
    members = _members(raw.get("members"))
    listed = ", ".join(members) or "someone"
    match action:
        case "create_group":
            return f"{actor} created group «{title}»" if title else f"{actor} created the group"
        case "create_channel":
            return f"{actor} created channel «{title}»" if title else f"{actor} created a channel"
        case "migrate_to_supergroup":
            return f"{actor} converted the group to a supergroup"
        case "migrate_from_group":
            return f"{actor} converted group «{title}» to a supergroup"
        case "edit_group_title":
            return f"{actor} changed the group title to «{title}»"
        case "edit_group_photo":
            return f"{actor} changed the group photo"
        case "delete_group_photo":
            return f"{actor} removed the group photo"
        case "invite_members" if members == [actor]:
            return f"{actor} joined the group"
        case "invite_members":
            return f"{actor} invited {listed}"
        case "remove_members" if members == [actor]:
            return f"{actor} left the group"
        case "remove_members":
            return f"{actor} removed {listed}"
        case "join_group_by_link":
            return f"{actor} joined the group by link"
        case "join_group_by_request":
            return f"{actor} joined the group by request"
        case "pin_message":
            pinned = lookup(raw.get("message_id"))
            if pinned is not None and pinned.kind is MessageKind.TEXT:
                return f"{actor} pinned «{_quote(pinned.text)}»"
            return f"{actor} pinned a message"
        case "clear_history":
            return f"{actor} cleared the history"
        case "score_in_game":
            return f"{actor} scored {raw.get('score', '?')} in a game"
        case "send_payment":
            return "A payment was sent"
        case "phone_call":
            return _call_text(raw)
        case "group_call":
            duration = _duration(raw.get("duration", raw.get("duration_seconds")))
            return f"Group call ({duration})" if duration else f"{actor} started a group call"
        case "invite_to_group_call":
            return f"{actor} invited {listed} to the group call"
        case "group_call_scheduled":
            return f"{actor} scheduled a group call"
        case "set_messages_ttl":
            period = _duration(raw.get("period"))
            if period is None:
                return f"{actor} turned off auto-delete"
            return f"{actor} set messages to auto-delete after {period}"
        case "edit_chat_theme":
            emoticon = raw.get("emoticon")
            if isinstance(emoticon, str) and emoticon:
                return f"{actor} changed the chat theme to {emoticon}"
            return f"{actor} turned off the chat theme"
        case "take_screenshot":
            return f"{actor} took a screenshot"
        case "joined_telegram" | "contact_sign_up":
            return f"{actor} joined Telegram"
        case "topic_created":
            return f"{actor} created topic «{title}»"
        case "topic_edit":
            new_title = raw.get("new_title")
            if isinstance(new_title, str) and new_title:
                return f"{actor} renamed the topic to «{new_title}»"
            return f"{actor} changed the topic icon"
        case "boost_apply":
            return f"{actor} boosted the group"
    return _other_service_text(raw, actor, action)


def _call_text(raw: dict[str, Any]) -> str:
    duration = _duration(raw.get("duration_seconds"))
    if duration:
        return f"Phone call ({duration})"
    reason = raw.get("discard_reason")
    if reason == "missed":
        return "Missed phone call"
    if reason == "busy":
        return "Declined phone call"
    return "Phone call"


def _other_service_text(raw: dict[str, Any], actor: str, action: object) -> str:
    """An action this module does not word: the export's own text, else its action name."""
    for key in ("information_text", "text_entities", "text"):
        text = join_text(raw.get(key)).strip()
        if text:
            return text
    if isinstance(action, str) and action:
        return f"{actor}: {action.replace('_', ' ')}"
    return "Service message"


# --- messages and chats ---------------------------------------------------------------------


def _sender(raw: dict[str, Any]) -> str:
    if "from" not in raw and isinstance(raw.get("from_id"), str) and raw["from_id"]:
        return str(raw["from_id"])  # very old exports name the peer only by id
    return _name(raw.get("from"))


def _message(raw: dict[str, Any], zone: tzinfo, lookup: Lookup) -> ParsedMessage | None:
    """One Telegram message (reply not yet resolved), or None for one with nothing in it."""
    sent_at = _sent_at(raw, zone)
    if raw.get("type") == "service":
        return ParsedMessage(None, sent_at, _service_text(raw, lookup), MessageKind.SYSTEM)
    text = _message_text(raw)
    media = _media(raw)
    kind = MessageKind.TEXT
    if not text.strip():
        if media is None:
            return None
        # The placeholder downstream code recognises (rag.chunking's `_PLACEHOLDER`).
        text, kind = f"<{media[1]} omitted>", MessageKind.MEDIA
    forwarded = _name(raw["forwarded_from"]) if "forwarded_from" in raw else None
    return ParsedMessage(
        sender=_sender(raw),
        sent_at=sent_at,
        text=text,
        kind=kind,
        edited=bool(raw.get("edited") or raw.get("edited_unixtime")),
        forwarded_from=forwarded,
        reactions=_reactions(raw.get("reactions")),
        attachment=media[0] if media else None,
    )


def _read_chat(
    raw_messages: list[Any], zone: tzinfo, tick: Callable[[], None]
) -> list[ParsedMessage]:
    """The messages of one chat in file order, replies resolved to positions in the list."""
    messages: list[ParsedMessage] = []
    position: dict[int, int] = {}  # export id -> index in `messages`
    replies: list[tuple[int, int]] = []  # (index, export id it answers)

    def lookup(value: object) -> ParsedMessage | None:
        key = _export_id(value)
        found = None if key is None else position.get(key)
        return None if found is None else messages[found]

    for raw in raw_messages:
        tick()
        # "unsupported" entries carry nothing but an id: not even a date.
        if not isinstance(raw, dict) or raw.get("type") == "unsupported":
            continue
        message = _message(raw, zone, lookup)
        if message is None:
            continue
        own_id = _export_id(raw.get("id"))
        if own_id is not None:
            position[own_id] = len(messages)
        target = _export_id(raw.get("reply_to_message_id"))
        # With `reply_to_peer_id` the id belongs to another chat's numbering.
        if target is not None and "reply_to_peer_id" not in raw:
            replies.append((len(messages), target))
        messages.append(message)
    for index, target in replies:
        found = position.get(target)
        if found is not None and found != index:
            messages[index] = dataclasses.replace(messages[index], reply_to=found)
    return messages


def _merge(chats: list[list[ParsedMessage]]) -> list[ParsedMessage]:
    """Several chats' messages in one time order, each reply pointing at its new position."""
    if len(chats) == 1:
        return chats[0]
    # A stable sort over the chats in file order: ties keep each chat's own order.
    order = sorted(
        ((chat, index) for chat, messages in enumerate(chats) for index in range(len(messages))),
        key=lambda place: chats[place[0]][place[1]].sent_at,
    )
    new_index = {place: position for position, place in enumerate(order)}
    merged: list[ParsedMessage] = []
    for chat, index in order:
        message = chats[chat][index]
        if message.reply_to is not None:
            message = dataclasses.replace(message, reply_to=new_index[(chat, message.reply_to)])
        merged.append(message)
    return merged


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
    ParsedChat, merged in time order (replies still point within their own chat); its title
    is the chat's name only when exactly one chat has messages.
    """
    if not isinstance(data, dict):
        raise MalformedExport("This is not a Telegram export: the JSON is not an object.")
    chats = _chats(data)
    total = sum(len(c["messages"]) for c in chats if isinstance(c.get("messages"), list)) or 1
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if done % PROGRESS_EVERY == 0:
            progress(done / total)

    per_chat: list[list[ParsedMessage]] = []
    names: list[str | None] = []
    for chat in chats:
        raw_messages = chat.get("messages")
        if not isinstance(raw_messages, list) or not raw_messages:
            continue
        name = chat.get("name")
        names.append(name if isinstance(name, str) and name else None)
        per_chat.append(_read_chat(raw_messages, zone, tick))
    messages = _merge(per_chat) if per_chat else []
    progress(1.0)
    require_messages(messages, "Telegram")
    return ParsedChat(
        format=ChatFormat.TELEGRAM,
        title=names[0] if len(names) == 1 else None,
        messages=messages,
    )
