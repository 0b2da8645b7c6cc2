"""Generic exports: a JSON list of {"sender", "sent_at", "text"[, "kind"]} objects (or the same
under "messages"), and CSV with a header row naming sender, sent_at and text.

`sent_at` is ISO 8601: with an offset it is an exact instant and kept as written; without one
it is local time in `tz`. An empty or null sender means a system line. Messages keep file order.

Optional fields (JSON keys or CSV columns), empty or absent meaning "not set":
- `edited`: true/false (JSON booleans, or "true"/"false", "1"/"0", "yes"/"no");
- `forwarded_from`: the name of the original author;
- `reply_to`: the position, counted from 1 in file order, of an earlier message of the same
  file (CSV rows that are entirely blank are not counted);
- `attachment_kind` (or `attachment`): photo, video, audio, voice, sticker, gif, document,
  contact, location, poll or other; `attachment_name`: the file's name. A name without a
  kind is an attachment of kind "other". With no `kind`, a message with an attachment and
  no text is a media message.
"""

from __future__ import annotations

import csv
import io
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
    require_messages,
)

REQUIRED = ("sender", "sent_at", "text")
_DELIMITERS = (",", ";", "\t")
_HEADER_MAX = 4096
_KINDS = {kind.value: kind for kind in MessageKind}
_ATTACHMENT_KINDS = {kind.value: kind for kind in AttachmentKind}
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no", ""})

# Reads one field of the current record by name; None when the record has no such field.
Field = Callable[[str], object]


def json_records(data: object) -> list[Any] | None:
    """The message list of generic JSON, or None when the shape is something else."""
    records = data.get("messages") if isinstance(data, dict) else data
    if not isinstance(records, list):
        return None
    sample = records[:20]
    if all(isinstance(r, dict) and "sent_at" in r and "text" in r for r in sample):
        return records
    return None


def _sent_at(value: object, where: str, zone: tzinfo) -> datetime:
    if isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=zone)
    shown = repr(value)[:40]
    raise MalformedExport(f"{where}: sent_at {shown} is not an ISO 8601 date and time.")


def _record(field: Field, number: int, where: str, zone: tzinfo) -> ParsedMessage:
    """Message `number` (from 1, in file order) from its fields; `where` names it in errors."""
    sender, text = field("sender"), field("text")
    if sender is not None and not isinstance(sender, str):
        raise MalformedExport(f"{where}: sender must be text.")
    name = sender.strip() if sender else None
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise MalformedExport(f"{where}: text must be a string.")
    attachment = _attachment(field, where)
    kind = field("kind")
    if kind in (None, ""):
        if not name:
            resolved = MessageKind.SYSTEM
        elif attachment is not None and not text.strip():
            resolved = MessageKind.MEDIA
        else:
            resolved = MessageKind.TEXT
    else:
        found = _KINDS.get(str(kind).strip().lower())
        if found is None:
            raise MalformedExport(f"{where}: kind must be one of text, media or system.")
        resolved = found
    return ParsedMessage(
        name or None,
        _sent_at(field("sent_at"), where, zone),
        text,
        resolved,
        edited=_edited(field("edited"), where),
        forwarded_from=_optional_text(field("forwarded_from"), "forwarded_from", where),
        reply_to=_reply_to(field("reply_to"), number, where),
        attachment=attachment,
    )


def _optional_text(value: object, key: str, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedExport(f"{where}: {key} must be text.")
    return value.strip() or None


def _edited(value: object, where: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise MalformedExport(f"{where}: edited must be true or false.")


def _reply_to(value: object, number: int, where: str) -> int | None:
    """The index of the message answered: `reply_to` is its position counted from 1."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    position: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        position = value
    elif isinstance(value, str) and value.strip().isdecimal():
        position = int(value)
    if position is None or not 1 <= position < number:
        raise MalformedExport(
            f"{where}: reply_to must be the position (from 1) of an earlier message."
        )
    return position - 1


def _attachment(field: Field, where: str) -> Attachment | None:
    kind = field("attachment_kind")
    if kind in (None, ""):
        kind = field("attachment")
    name = _optional_text(field("attachment_name"), "attachment_name", where)
    if kind in (None, ""):
        return None if name is None else Attachment(AttachmentKind.OTHER, name)
    found = _ATTACHMENT_KINDS.get(kind.strip().lower()) if isinstance(kind, str) else None
    if found is None:
        raise MalformedExport(
            f"{where}: attachment_kind must be one of {', '.join(_ATTACHMENT_KINDS)}."
        )
    return Attachment(found, name)


def parse_json_messages(data: object, zone: tzinfo, progress: Progress) -> ParsedChat:
    """Parse decoded generic JSON (a list of messages, or {"messages": [...]})."""
    records = json_records(data)
    if records is None:
        raise MalformedExport(
            'This JSON is not a list of messages with "sender", "sent_at" and "text".'
        )
    total = len(records) or 1
    messages: list[ParsedMessage] = []
    for number, raw in enumerate(records, start=1):
        if number % PROGRESS_EVERY == 0:
            progress(number / total)
        where = f"Message {number}"
        if not isinstance(raw, dict):
            raise MalformedExport(f"{where} is not an object.")
        if "sent_at" not in raw:
            raise MalformedExport(f"{where} has no sent_at.")
        messages.append(_record(raw.get, number, where, zone))
    progress(1.0)
    require_messages(messages, "JSON")
    title = data.get("title") if isinstance(data, dict) else None
    return ParsedChat(
        format=ChatFormat.JSON,
        title=title if isinstance(title, str) and title else None,
        messages=messages,
    )


def csv_header(text: str) -> tuple[str, dict[str, int]] | None:
    """(delimiter, column index by lower-case name) when the first line is a usable header."""
    first = text[:_HEADER_MAX].split("\n", 1)[0]
    if len(first) >= _HEADER_MAX:
        return None  # no header names columns over this many characters
    for delimiter in _DELIMITERS:
        if delimiter not in first:
            continue
        try:
            names = next(csv.reader([first], delimiter=delimiter), [])
        except csv.Error:
            continue
        columns: dict[str, int] = {}
        for index, name in enumerate(names):
            columns.setdefault(name.strip().strip("\ufeff").lower(), index)
        if all(column in columns for column in REQUIRED):
            return delimiter, columns
    return None


def parse_csv(text: str, zone: tzinfo, progress: Progress) -> ParsedChat:
    """Parse CSV whose header names sender, sent_at and text (any order, any case)."""
    header = csv_header(text)
    if header is None:
        raise MalformedExport("This CSV needs a header row with sender, sent_at and text columns.")
    delimiter, columns = header
    needed = max(columns[name] for name in REQUIRED) + 1
    total = text.count("\n") or 1
    messages: list[ParsedMessage] = []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        next(reader)  # the header
        for count, row in enumerate(reader, start=1):
            if count % PROGRESS_EVERY == 0:
                progress(reader.line_num / total)
            if not row or not any(cell.strip() for cell in row):
                continue
            where = f"CSV line {reader.line_num}"
            if len(row) < needed:
                raise MalformedExport(f"{where} has fewer columns than the header.")
            messages.append(_record(_cells(row, columns), len(messages) + 1, where, zone))
    except csv.Error as exc:
        raise MalformedExport(f"The CSV is malformed near line {reader.line_num}.") from exc
    progress(1.0)
    require_messages(messages, "CSV")
    return ParsedChat(format=ChatFormat.CSV, title=None, messages=messages)


def _cells(row: list[str], columns: dict[str, int]) -> Field:
    """Reads a CSV row's cells by column name; None for a column the header or row lacks."""

    def field(name: str) -> object:
        index = columns.get(name)
        return row[index] if index is not None and index < len(row) else None

    return field
