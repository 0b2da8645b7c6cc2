"""`parse_export`: unzip, decode, recognise the format and hand the text to its parser."""

from __future__ import annotations

import json
import posixpath

from src.chats.parsers.base import (
    ChatFormat,
    DateOrder,
    MalformedExport,
    ParsedChat,
    Progress,
    ProgressFn,
    UnknownFormat,
    zone_for,
)
from src.chats.parsers.decoding import decode_text, extract_zip_member, is_zip
from src.chats.parsers.instagram import looks_like_instagram, parse_instagram
from src.chats.parsers.signal import looks_like_signal, parse_signal
from src.chats.parsers.tabular import csv_header, json_records, parse_csv, parse_json_messages
from src.chats.parsers.telegram import looks_like_telegram, parse_telegram
from src.chats.parsers.whatsapp import looks_like, parse_whatsapp, title_from_filename
from src.logging import get_logger

log = get_logger(__name__)

_JSON_FORMATS = (ChatFormat.TELEGRAM, ChatFormat.INSTAGRAM, ChatFormat.JSON)
_NAMES = {
    ChatFormat.WHATSAPP: "a WhatsApp export",
    ChatFormat.TELEGRAM: "a Telegram JSON export",
    ChatFormat.JSON: "a JSON list of messages",
    ChatFormat.CSV: "a CSV of messages",
    ChatFormat.SIGNAL: "a Signal export",
    ChatFormat.INSTAGRAM: "an Instagram JSON export",
}
_UNKNOWN = (
    "This file is not a chat export we can read: upload a WhatsApp or Signal .txt (or the "
    "WhatsApp .zip), a Telegram or Instagram .json, or a JSON/CSV list of messages."
)


def parse_export(
    data: bytes,
    *,
    filename: str | None = None,
    tz: str = "UTC",
    format: ChatFormat | None = None,
    progress: ProgressFn | None = None,
    max_unzipped_bytes: int = 200 * 1024 * 1024,
    date_order: DateOrder | None = None,
) -> ParsedChat:
    """Parse the bytes of an uploaded chat export.

    Zips are opened (their export member must unpack to at most `max_unzipped_bytes`), text
    is decoded, and the format is recognised by content unless `format` forces one; the
    file name is only a hint. Naive export times are read as local time in `tz` (an IANA
    name; ValueError when unknown). `progress` receives fractions from 0.0 up to 1.0.
    `date_order` overrides the date layout a line format would decide from the file.
    Raises UnknownFormat when nothing matches and MalformedExport for broken, empty or
    mismatched content.
    """
    zone = zone_for(tz)
    if format is not None:
        format = ChatFormat(format)  # also accepts the plain string value
    report = Progress(progress)
    report(0.0)
    if not data or data.isspace():
        raise MalformedExport("The file is empty.")
    title = title_from_filename(filename)
    hint = filename
    if is_zip(data):
        member, data = extract_zip_member(
            data, max_unzipped_bytes=max_unzipped_bytes, wanted=format
        )
        title = title_from_filename(member) or title
        hint = member
    text = decode_text(data)
    if not text or text.isspace():
        raise MalformedExport("The file is empty.")
    report(0.05)
    step = Progress(progress, 0.05, 1.0)

    decoded: object = None
    if format is None:
        format, decoded = _detect(text, hint)
    elif format in _JSON_FORMATS:
        decoded = _load_json(text, format)

    if format is ChatFormat.WHATSAPP:
        chat = parse_whatsapp(text, zone, step, title=title, date_order=date_order)
    elif format is ChatFormat.SIGNAL:
        chat = parse_signal(text, zone, step)
    elif format is ChatFormat.CSV:
        chat = parse_csv(text, zone, step)
    elif format is ChatFormat.TELEGRAM:
        if not looks_like_telegram(decoded):
            raise _mismatch(format, "it has no Telegram messages or chats list")
        chat = parse_telegram(decoded, zone, step)
    elif format is ChatFormat.INSTAGRAM:
        chat = parse_instagram(decoded, zone, step)
    else:
        chat = parse_json_messages(decoded, zone, step)
    log.info("chats.parsers.parsed", format=chat.format.value, messages=len(chat.messages))
    return chat


def _mismatch(format: ChatFormat, reason: str) -> MalformedExport:
    return MalformedExport(f"This file is not {_NAMES[format]}: {reason}.")


def _json_problem(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON at line {exc.lineno}, column {exc.colno}"
    return "its JSON is nested too deeply"


def _load_json(text: str, format: ChatFormat) -> object:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise _mismatch(format, _json_problem(exc)) from exc


def _detect(text: str, hint: str | None) -> tuple[ChatFormat, object]:
    """Recognise the format from the content; the file name only breaks ties."""
    name = posixpath.basename((hint or "").replace("\\", "/")).lower()
    start = text.lstrip()[:1]
    broken_json: str | None = None
    if start in ("{", "["):
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            # "[" also starts iOS WhatsApp lines, so broken JSON is only final further down.
            broken_json = _json_problem(exc)
        else:
            if looks_like_telegram(data):
                return ChatFormat.TELEGRAM, data
            if looks_like_instagram(data):
                return ChatFormat.INSTAGRAM, data
            if json_records(data) is not None:
                return ChatFormat.JSON, data
            raise UnknownFormat(
                "This JSON file is not a chat export we know: expected a Telegram or "
                'Instagram export, or a list of messages with "sender", "sent_at" and "text".'
            )
    if looks_like(text):
        if looks_like_signal(text) and "whatsapp" not in name:
            return ChatFormat.SIGNAL, None
        return ChatFormat.WHATSAPP, None
    if csv_header(text) is not None:
        return ChatFormat.CSV, None
    if broken_json is not None and (start == "{" or name.endswith(".json")):
        raise MalformedExport(f"This file looks like JSON but is broken: {broken_json}.")
    raise UnknownFormat(_UNKNOWN)
