"""WhatsApp text exports (Android and iOS, any date layout) and the line engine they share.

One header line starts each message: a date, a time, then `Name: text` (or just a notice for
system lines). Lines without a header continue the previous message. The layout of the date
(day-first or month-first) is decided once for the whole file, see `_day_first`.
"""

from __future__ import annotations

import posixpath
import re
from datetime import datetime, tzinfo

from src.chats.parsers.base import (
    PROGRESS_EVERY,
    ChatFormat,
    DateOrder,
    MalformedExport,
    MessageKind,
    ParsedChat,
    ParsedMessage,
    Progress,
    require_messages,
)

# Invisible direction marks and BOMs that iOS and some phones put around names and lines.
MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
_SP = "[ \u00a0\u202f]"  # plain, no-break and narrow no-break space

# Every header regex has the same eight groups, so the engine can unpack `m.groups()`:
# (bracket, a, b, c, hour, minute, second, am/pm), where a/b/c are the date fields in file order.
HEADER = re.compile(
    rf"""
    [{MARKS}]*
    (\[)?                                               # iOS brackets the date and time
    (\d{{1,4}})[./-](\d{{1,2}})[./-](\d{{1,4}})\.?
    (?:,{_SP}?|{_SP})
    (\d{{1,2}})[:.](\d{{2}})(?:[:.](\d{{2}}))?
    (?:{_SP}?([AaPp])\.?{_SP}?[Mm]\.?)?                 # "PM", "pm", "p. m.", "p.m."
    (?(1)\]{_SP}?|{_SP}?[-\u2013]{_SP})                 # "] " after brackets, else " - "
    """,
    re.VERBOSE,
)

# Placeholders WhatsApp writes instead of media: Android "<Media omitted>" (a few locales),
# iOS "<attached: file>" or "image omitted", Android "file.jpg (file attached)".
_MEDIA = re.compile(
    rf"""[{MARKS}]*(?:
        <(?:Media\ omitted|Multimedia\ omitido|Medien\ ausgeschlossen|Médias\ omis
           |Media\ weggelaten|Mídia\ oculta|Media\ omessi|Media\ tidak\ disertakan)>$
      | <attached:\ [^>]*>
      | (?:image|video|audio|sticker|GIF|Contact\ card|contact\ card)\ omitted$
      | .*\u200edocument\ omitted$
      | .+\ \(file\ attached\)$
    )""",
    re.VERBOSE,
)

# A system notice that happens to contain ": " (a quoted subject) must not yield a sender.
_SYSTEM_VERB = re.compile(r"\b(?:changed|created|added|removed|joined|left)\b")

# "WhatsApp Chat with Alice.txt", "WhatsApp Chat - Alice.zip" and a few translations.
_TITLE = re.compile(
    r"""^(?:WhatsApp\ Chat\ with|WhatsApp\ Chat\ -|WhatsApp-Chat\ mit|Chat\ de\ WhatsApp\ con
        |Conversa\ do\ WhatsApp\ com|Discussion\ WhatsApp\ avec|WhatsApp-chat\ met
        |Chat\ WhatsApp\ con)\ (.+?)(?:\ \(\d+\))?(?:\.txt|\.zip)?$""",
    re.VERBOSE | re.IGNORECASE,
)

# A header line: its regex groups, the text after the time, and the whole line.
_Entry = tuple[tuple[str, ...], str, str]


def title_from_filename(filename: str | None) -> str | None:
    """The chat partner or group named by a WhatsApp export's file name, if it names one."""
    if not filename:
        return None
    match = _TITLE.match(posixpath.basename(filename.replace("\\", "/")))
    return (match.group(1).strip() or None) if match else None


def looks_like(text: str, header: re.Pattern[str] = HEADER, lines: int = 20) -> bool:
    """Whether one of the first non-empty lines is a message header of this line format."""
    seen = 0
    for line in text[: 64 * 1024].split("\n"):
        if not line.strip():
            continue
        if header.match(line):
            return True
        seen += 1
        if seen >= lines:
            break
    return False


def _day_first(entries: list[_Entry]) -> bool:
    """Decide from every header of the file whether dates are day-first.

    A first field above 12 proves day-first and a second field above 12 proves month-first.
    When the whole file is ambiguous (every day was 12 or less) day-first wins, as most of the
    world writes dates that way. Year-first dates (yyyy-mm-dd) are never ambiguous and ignored.
    """
    pairs = {(groups[1], groups[2]) for groups, _, _ in entries}
    if any(len(a) <= 2 and int(a) > 12 for a, _ in pairs):
        return True
    return not any(len(a) <= 2 and int(b) > 12 for a, b in pairs)


def parse_lines(
    text: str,
    zone: tzinfo,
    progress: Progress,
    *,
    fmt: ChatFormat,
    header: re.Pattern[str],
    title: str | None,
) -> ParsedChat:
    """Parse a line-based export whose messages start with a `header` match."""
    lines = text.split("\n")
    total = len(lines) or 1
    entries: list[_Entry] = []
    extras: dict[int, list[str]] = {}  # continuation lines, by index of their header entry
    match = header.match
    # Pass 1: split into headers and continuation lines, in slices between progress reports.
    for start in range(0, len(lines), PROGRESS_EVERY):
        for line in lines[start : start + PROGRESS_EVERY]:
            m = match(line)
            if m is not None:
                entries.append((m.groups(""), line[m.end() :], line))
            elif entries:
                index = len(entries) - 1
                more = extras.get(index)
                if more is None:
                    extras[index] = [line]
                else:
                    more.append(line)
            # Lines before the first header carry no message; they are skipped.
        if progress.active:
            progress(0.8 * (start + PROGRESS_EVERY) / total)
    if not entries:
        raise MalformedExport(f"No {_label(fmt)} message lines were found in this file.")
    messages = _build(entries, extras, zone, _day_first(entries))
    progress(1.0)
    require_messages(messages, _label(fmt))
    return ParsedChat(format=fmt, title=title, messages=messages)


def _label(fmt: ChatFormat) -> str:
    return {ChatFormat.WHATSAPP: "WhatsApp", ChatFormat.SIGNAL: "Signal"}.get(fmt, str(fmt))


def _build(
    entries: list[_Entry], extras: dict[int, list[str]], zone: tzinfo, day_first: bool
) -> list[ParsedMessage]:
    """Pass 2: turn header entries into messages, resolving dates through a small cache."""
    dates: dict[tuple[str, str, str], tuple[int, int, int]] = {}
    messages: list[ParsedMessage] = []
    # The message being assembled; continuation and non-header lines are added to `parts`.
    sender: str | None = None
    sent_at: datetime | None = None
    kind = MessageKind.TEXT
    parts: list[str] = []
    for index, (groups, rest, line) in enumerate(entries):
        _, a, b, c, hh, mm, ss, ampm = groups
        extra = extras.get(index)
        try:
            key = (a, b, c)
            ymd = dates.get(key)
            if ymd is None:
                ymd = dates[key] = _ymd(a, b, c, day_first)
            hour = int(hh)
            if ampm:
                hour = hour % 12 + (12 if ampm in "Pp" else 0)
            stamp = datetime(*ymd, hour, int(mm), int(ss) if ss else 0, tzinfo=zone)
        except ValueError:
            # An impossible date or time: text that merely looks like a header.
            if sent_at is not None:
                parts.append(line)
                if extra:
                    parts.extend(extra)
            continue
        if sent_at is not None:
            messages.append(_finish(sender, sent_at, kind, parts))
        sender, kind, first = _classify(rest)
        sent_at = stamp
        parts = [first, *extra] if extra else [first]
    if sent_at is not None:
        messages.append(_finish(sender, sent_at, kind, parts))
    return messages


def _ymd(a: str, b: str, c: str, day_first: bool) -> tuple[int, int, int]:
    if len(a) == 4:
        return int(a), int(b), int(c)
    year = int(c) + 2000 if len(c) <= 2 else int(c)
    day, month = (int(a), int(b)) if day_first else (int(b), int(a))
    if month > 12 >= day:  # a stray line in the other order than the rest of the file
        day, month = month, day
    return year, month, day


def _classify(rest: str) -> tuple[str | None, MessageKind, str]:
    """Split the text after the time into (sender, kind, first line of the message)."""
    sep = rest.find(": ")
    if sep == -1:
        return None, MessageKind.SYSTEM, rest.strip(MARKS)
    sender = rest[:sep].strip(MARKS + " ")
    body = rest[sep + 2 :]
    if not sender or (('"' in sender or "\u201c" in sender) and _SYSTEM_VERB.search(sender)):
        return None, MessageKind.SYSTEM, rest.strip(MARKS)
    if _MEDIA.match(body):
        return sender, MessageKind.MEDIA, body.strip(MARKS)
    if body.startswith("\u200e"):
        # iOS marks its notices ("Messages and calls are end-to-end encrypted", "Alice added
        # Bob", "This message was deleted") with a leading LRM after the group or contact name.
        # Right-to-left text typed by people starts with other marks, if any.
        return None, MessageKind.SYSTEM, body.strip(MARKS)
    return sender, MessageKind.TEXT, body


def _finish(
    sender: str | None, sent_at: datetime, kind: MessageKind, parts: list[str]
) -> ParsedMessage:
    while len(parts) > 1 and not parts[-1].strip():
        parts.pop()  # WhatsApp trims messages: trailing blank lines come from the file's end
    text = parts[0] if len(parts) == 1 else "\n".join(parts)
    return ParsedMessage(sender=sender, sent_at=sent_at, text=text, kind=kind)


def parse_whatsapp(
    text: str,
    zone: tzinfo,
    progress: Progress,
    *,
    title: str | None = None,
    date_order: DateOrder | None = None,
) -> ParsedChat:
    """Parse a WhatsApp `.txt` export (see `title_from_filename` for a title)."""
    return parse_lines(text, zone, progress, fmt=ChatFormat.WHATSAPP, header=HEADER, title=title)
