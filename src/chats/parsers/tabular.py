"""Generic exports: a JSON list of {"sender", "sent_at", "text"[, "kind"]} objects (or the same
under "messages"), and CSV with a header row naming sender, sent_at and text.

`sent_at` is ISO 8601: with an offset it is an exact instant and kept as written; without one
it is local time in `tz`. An empty or null sender means a system line. Messages keep file order.
"""

from __future__ import annotations

import csv
import io
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

REQUIRED = ("sender", "sent_at", "text")
_DELIMITERS = (",", ";", "\t")
_KINDS = {kind.value: kind for kind in MessageKind}


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


def _record(
    sender: object, sent_at: object, text: object, kind: object, where: str, zone: tzinfo
) -> ParsedMessage:
    """One message from its raw fields; `where` names it in error messages."""
    name = sender.strip() if isinstance(sender, str) else None
    if sender is not None and not isinstance(sender, str):
        raise MalformedExport(f"{where}: sender must be text.")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise MalformedExport(f"{where}: text must be a string.")
    if kind in (None, ""):
        resolved = MessageKind.TEXT if name else MessageKind.SYSTEM
    else:
        found = _KINDS.get(str(kind).strip().lower())
        if found is None:
            raise MalformedExport(f"{where}: kind must be one of text, media or system.")
        resolved = found
    return ParsedMessage(name or None, _sent_at(sent_at, where, zone), text, resolved)


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
        messages.append(
            _record(
                raw.get("sender"), raw["sent_at"], raw.get("text"), raw.get("kind"), where, zone
            )
        )
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
    first = text.split("\n", 1)[0]
    for delimiter in _DELIMITERS:
        if delimiter not in first:
            continue
        names = next(csv.reader([first], delimiter=delimiter), [])
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
    sender_at, time_at, text_at = (columns[name] for name in REQUIRED)
    kind_at = columns.get("kind")
    needed = max(sender_at, time_at, text_at) + 1
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
            kind = row[kind_at] if kind_at is not None and kind_at < len(row) else None
            messages.append(_record(row[sender_at], row[time_at], row[text_at], kind, where, zone))
    except csv.Error as exc:
        raise MalformedExport(f"The CSV is malformed near line {reader.line_num}.") from exc
    progress(1.0)
    require_messages(messages, "CSV")
    return ParsedChat(format=ChatFormat.CSV, title=None, messages=messages)
