"""WhatsApp text exports (Android and iOS, any date layout and language) and the line engine
they share with Signal.

One header line starts each message: a date, a time, then `Name: text` (or only a notice, for
system lines). Lines without a header continue the previous message.

Headers read (`HEADER`): the three date fields in any order, two- or four-digit years, split by
a run of `/`, `.` or `-` (also `12.03.21.` and Korean `2021. 3. 12.`); a comma or a space, and
Finnish `klo`, Danish `kl.` or French `à`, before the time; `:` or `.` inside the time, with
seconds or without; 24 h clocks, and 12 h clocks with the am/pm word of any language in
`whatsapp_locales.MERIDIEM_WORDS` after the time or before it (`下午3:45`); then `] ` after
iOS brackets, ` - ` or ` – ` on Android, or `: ` in old Android exports
(`12/03/2021 14:05: Name: text`).

The date order is decided once, from every header of the file (`_decide`):
1. the orders (dmy, mdy, ymd, ydm) that give a valid date on every header stay candidates.
   Two-digit years are 20YY; a two-digit field that would make a year after next year is not
   a year (`31/01/21` is not 2031-01-21);
2. of several candidates, the one whose timestamps run forward wins: the fewest steps back of
   more than six hours (clock changes and late deliveries step back less); then a reading
   that packs the chat into at most a quarter of the time any other needs (`01/02`..`09/02`
   are nine days of February, not nine months);
3. a file that nothing decides is read day-first (`dmy`), the documented default, as most of
   the world writes dates so (then mdy, ymd, ydm among the remaining candidates).
A requested order wins over all of this. A header whose date is not valid in the order used
is text of the previous message. When no order is valid on every header, the order valid on
the most header lines is used.

Old-colon headers count only in a file where most headers are old-colon ones: elsewhere
`12/03/2021 14:05: meeting moved` is a line of a message, not a header.
What the text after a header means (media, attachments, deleted and edited markers, notices)
is in `whatsapp_locales`.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from src.chats.parsers import whatsapp_locales as loc
from src.chats.parsers.base import (
    PROGRESS_EVERY,
    Attachment,
    ChatFormat,
    DateOrder,
    DateOrderSource,
    MalformedExport,
    MessageKind,
    ParsedChat,
    ParsedMessage,
    Progress,
    require_messages,
)
from src.chats.parsers.whatsapp_locales import MARKS, SPACES

_SP = f"[{SPACES}]"
_MK = f"[{MARKS}]*+"  # possessive: a run of marks is read once, never re-tried
_MERIDIEM = rf"(?=[{loc.meridiem_starts()}])(?i:{loc.meridiem_pattern(_SP)})"
_SEP = rf"{_MK}[./-]++{_SP}?{_MK}"

# Every header regex the engine reads has these ten groups (Signal's too):
# (bracket, a, b, c, am/pm before, hour, minute, second, am/pm after, old colon), where a, b, c
# are the date fields in file order. Every quantifier is bounded or possessive and nothing is
# searched: a match costs time linear in the line, whatever the line holds.
HEADER = re.compile(
    rf"""
    {_MK}(\[)?{_MK}
    (\d{{1,4}}){_SEP}(\d{{1,4}}){_SEP}(\d{{1,4}}){_MK}\.?
    (?:,{_SP}*+|{_SP}++)(?:(?:klo|kl\.|à){_SP}++)?
    (?:({_MERIDIEM})[{SPACES}{MARKS}]*+)?
    (\d{{1,2}})[:.](\d{{2}})(?:[:.](\d{{2}}))?
    (?:[{SPACES}{MARKS}]*+({_MERIDIEM}))?
    {_MK}
    (?(1)\]{_SP}?|{_SP}*+(?:[-\u2013]{_SP}|(:){_SP}))
    """,
    re.VERBOSE,
)
_BRACKET, _A, _B, _C, _PRE, _HOUR, _MINUTE, _SECOND, _POST, _COLON = range(10)

_ORDERS = (DateOrder.DMY, DateOrder.MDY, DateOrder.YMD, DateOrder.YDM)  # also the preference
_BACK_SLACK = 6 * 60  # minutes a message may step back in time without counting against an order
_DENSER = 4  # a reading wins on time span when every other one needs this many times as long
# Quote marks that open or close a quoted subject; not apostrophes (O'Brien, l’objet).
_QUOTES = '"\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a\u300c\u300d\u300e\u300f\u2033'

Groups = tuple[str, ...]  # `match.groups("")`: a group that did not take part is ""
Triple = tuple[str, ...]  # the date fields (a, b, c) as written
# A header line: its regex groups, the text after the header, and the whole line.
_Entry = tuple[Groups, str, str]


@dataclass(frozen=True, slots=True)
class _Layout:
    """How a file's headers are read, decided once from all of them."""

    order: DateOrder
    source: DateOrderSource
    dates: dict[Triple, tuple[int, int, int] | None]  # date fields -> (y, m, d), None if invalid
    colon: bool  # whether old-colon headers are read (the file is mostly made of them)
    precision: int  # 1, or 60 when no header has seconds


def title_from_filename(filename: str | None) -> str | None:
    """The chat partner or group named by a WhatsApp export's file name, if it names one
    ("WhatsApp Chat with Alice.txt", "WhatsApp-Chat mit Alice (1).zip", ...)."""
    if not filename:
        return None
    name = posixpath.basename(filename.replace("\\", "/"))
    if name[-4:].lower() in (".txt", ".zip"):
        name = name[:-4]
    if name.endswith(")"):  # " (1)" from a second download
        start = name.rfind(" (")
        if start != -1 and name[start + 2 : -1].isdigit():
            name = name[:start]
    lower = name.lower()
    for prefix in loc.TITLE_PREFIXES:
        if lower.startswith(prefix + " "):
            return name[len(prefix) + 1 :].strip() or None
    return None


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


def parse_whatsapp(
    text: str,
    zone: tzinfo,
    progress: Progress,
    *,
    title: str | None = None,
    date_order: DateOrder | None = None,
) -> ParsedChat:
    """Parse a WhatsApp `.txt` export (see `title_from_filename` for a title); `date_order`
    overrides the order of the date fields decided from the file."""
    return parse_lines(
        text,
        zone,
        progress,
        fmt=ChatFormat.WHATSAPP,
        header=HEADER,
        title=title,
        date_order=DateOrder(date_order) if date_order else None,  # also a plain string
        source=DateOrderSource.REQUESTED if date_order else None,
    )


def parse_lines(
    text: str,
    zone: tzinfo,
    progress: Progress,
    *,
    fmt: ChatFormat,
    header: re.Pattern[str],
    title: str | None,
    date_order: DateOrder | None = None,
    source: DateOrderSource | None = None,
) -> ParsedChat:
    """Parse a line-based export whose messages start with a `header` match (ten groups, as in
    `HEADER`). A given `date_order` is used as is (`source` says why); else the file decides."""
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
            progress(0.5 * (start + PROGRESS_EVERY) / total)
    if not entries:
        raise MalformedExport(f"No {_label(fmt)} message lines were found in this file.")
    layout = _decide(entries, fmt, date_order, source)
    messages = _build(entries, extras, zone, layout, progress)
    progress(1.0)
    require_messages(messages, _label(fmt))
    return ParsedChat(
        format=fmt,
        title=title,
        messages=messages,
        time_precision=layout.precision,
        date_order=layout.order,
        date_order_source=layout.source,
    )


def _label(fmt: ChatFormat) -> str:
    return {ChatFormat.WHATSAPP: "WhatsApp", ChatFormat.SIGNAL: "Signal"}.get(fmt, str(fmt))


# --- the layout -----------------------------------------------------------------------------


def _decide(
    entries: list[_Entry],
    fmt: ChatFormat,
    requested: DateOrder | None,
    source: DateOrderSource | None,
) -> _Layout:
    """Decide the date order (and whether old-colon headers count) from every header.

    Linear: one pass collects the distinct date triples and the places where the date
    changes; the orders are tried on the distinct triples, and time runs only along the
    changes of date (steps within one date are the same in every order).
    """
    changes, seconds, colons = _scan(entries, skip_colon=False)
    colon = colons * 2 > len(entries)
    skip = colons > 0 and not colon
    if skip:  # a few old-colon lines among other headers: lines of messages, not headers
        changes, seconds, _ = _scan(entries, skip_colon=True)
    distinct = {entries[index][0][1:4] for _, index in changes}
    latest = date.today().year + 1
    readings = {order: _dates(distinct, order, latest) for order in _ORDERS}

    if requested is not None:
        order, source = requested, source or DateOrderSource.REQUESTED
        if not any(readings[order].values()):
            raise MalformedExport(
                f"No message line of this {_label(fmt)} export has a valid date when read as "
                f"{order.value} ({_ORDER_NAMES[order]}): try another date order."
            )
    else:
        order, source = _best_order(entries, changes, readings, skip)
    dates = {key: (d.year, d.month, d.day) if d else None for key, d in readings[order].items()}
    return _Layout(order, source, dates, colon, 1 if seconds else 60)


def _scan(entries: list[_Entry], *, skip_colon: bool) -> tuple[list[tuple[int, int]], bool, int]:
    """One pass over the headers: where the date changes (entry before, entry after), whether
    any header has seconds, and how many are old-colon headers."""
    changes: list[tuple[int, int]] = []
    seconds = False
    colons = 0
    previous: Triple = ()
    last = -1
    for index, (groups, _, _) in enumerate(entries):
        if groups[_COLON]:
            colons += 1
            if skip_colon:
                continue
        triple = groups[1:4]
        if triple != previous:
            changes.append((last, index))
            previous = triple
        if groups[_SECOND]:
            seconds = True
        last = index
    return changes, seconds, colons


_ORDER_NAMES = {
    DateOrder.DMY: "day/month/year",
    DateOrder.MDY: "month/day/year",
    DateOrder.YMD: "year/month/day",
    DateOrder.YDM: "year/day/month",
}


def _dates(triples: set[Triple], order: DateOrder, latest: int) -> dict[Triple, date | None]:
    """Each distinct date triple read in `order`, or None where it is not a date."""
    return {triple: _date(triple, order, latest) for triple in triples}


def _date(triple: Triple, order: DateOrder, latest: int) -> date | None:
    a, b, c = triple
    if order is DateOrder.DMY:
        day, month, year = a, b, c
    elif order is DateOrder.MDY:
        month, day, year = a, b, c
    elif order is DateOrder.YMD:
        year, month, day = a, b, c
    else:
        year, day, month = a, b, c
    if len(day) > 2 or len(month) > 2 or len(year) not in (2, 4):
        return None
    number = int(year) if len(year) == 4 else 2000 + int(year)
    if len(year) == 2 and number > latest:
        return None
    try:
        return date(number, int(month), int(day))
    except ValueError:
        return None


def _best_order(
    entries: list[_Entry],
    changes: list[tuple[int, int]],
    readings: dict[DateOrder, dict[Triple, date | None]],
    skip_colon: bool,
) -> tuple[DateOrder, DateOrderSource]:
    full = [order for order in _ORDERS if all(readings[order].values())]
    if len(full) == 1:
        return full[0], DateOrderSource.DATES
    if full:
        decided = _by_chronology(entries, changes, readings, full)
        if decided is not None:
            return decided, DateOrderSource.CHRONOLOGY
        return full[0], DateOrderSource.DEFAULT
    # No order reads every header: some are text that looks like one. Take the order that
    # reads the most header lines (a second, counting pass: this is the rare case).
    counts = Counter(groups[1:4] for groups, _, _ in entries if not (skip_colon and groups[_COLON]))
    score = {o: sum(n for t, n in counts.items() if readings[o][t]) for o in _ORDERS}
    best = max(score.values())
    if best == 0:
        raise MalformedExport("No message line of this WhatsApp export has a valid date.")
    tied = [order for order in _ORDERS if score[order] == best]
    return tied[0], DateOrderSource.DATES if len(tied) == 1 else DateOrderSource.DEFAULT


def _by_chronology(
    entries: list[_Entry],
    changes: list[tuple[int, int]],
    readings: dict[DateOrder, dict[Triple, date | None]],
    candidates: list[DateOrder],
) -> DateOrder | None:
    """The one candidate whose timestamps run forward, or the one that packs the chat into a
    much shorter time than any other; None when that does not single one out."""
    clock = {i: _minute_of_day(entries[i][0]) for pair in changes for i in pair if i >= 0}
    scored = []
    for order in candidates:
        days = {t: d.toordinal() * 1440 for t, d in readings[order].items() if d}
        back = travel = 0
        for before, after in changes:
            if before < 0:
                continue
            step = (
                days[entries[after][0][1:4]]
                + clock[after]
                - days[entries[before][0][1:4]]
                - clock[before]
            )
            if step < -_BACK_SLACK:
                back += 1
            elif step > 0:
                travel += step
        scored.append((back, travel, order))
    fewest = min(back for back, _, _ in scored)
    tied = sorted((travel, order) for back, travel, order in scored if back == fewest)
    if len(tied) == 1:
        return tied[0][1]
    if tied[0][0] * _DENSER < tied[1][0]:
        return tied[0][1]
    return None


def _minute_of_day(groups: Groups) -> int:
    hour = int(groups[_HOUR])
    meridiem = groups[_PRE] or groups[_POST]
    if meridiem:
        hour = hour % 12 + (12 if loc.is_pm(meridiem) else 0)
    return hour * 60 + int(groups[_MINUTE])


# --- the messages ---------------------------------------------------------------------------


def _build(
    entries: list[_Entry],
    extras: dict[int, list[str]],
    zone: tzinfo,
    layout: _Layout,
    progress: Progress,
) -> list[ParsedMessage]:
    """Pass 2: turn header entries into messages; a header that is not valid in the layout
    (a date or time that does not exist, an old colon) is text of the message before."""
    dates = layout.dates
    colon = layout.colon
    senders: dict[str, str] = {}  # sender part as written -> name ("" for a notice)
    messages: list[ParsedMessage] = []
    active = progress.active
    total = len(entries)
    # The message being assembled; continuation and non-header lines are added to `parts`.
    sender: str | None = None
    sent_at: datetime | None = None
    kind = MessageKind.TEXT
    attachment: Attachment | None = None
    parts: list[str] = []
    # Plain group indexes keep this loop fast: 1:4 date, 4 and 8 am/pm, 5 hour, 6 minute,
    # 7 second, 9 old colon (see HEADER).
    for index, (groups, rest, line) in enumerate(entries):
        if active and not index % PROGRESS_EVERY:
            progress(0.5 + 0.5 * index / total)
        extra = extras.get(index)
        ymd = dates.get(groups[1:4])
        stamp = None
        if ymd is not None and (colon or not groups[9]):
            hour = int(groups[5])
            meridiem = groups[4] or groups[8]
            if meridiem:
                # "12:05 AM" is 00:05; an hour past 12 with an am/pm word is no time at all.
                hour = hour % 12 + 12 * loc.is_pm(meridiem) if hour <= 12 else 24
            second = groups[7]
            try:
                stamp = datetime(
                    *ymd, hour, int(groups[6]), int(second) if second else 0, tzinfo=zone
                )
            except ValueError:
                stamp = None
        if stamp is None:
            # Not a real header: text that merely looks like one.
            if sent_at is not None:
                parts.append(line)
                if extra:
                    parts.extend(extra)
            continue
        if sent_at is not None:
            messages.append(_finish(sender, sent_at, kind, parts, attachment))
        sender, kind, first, attachment = _classify(rest, senders)
        sent_at = stamp
        parts = [first, *extra] if extra else [first]
    if sent_at is not None:
        messages.append(_finish(sender, sent_at, kind, parts, attachment))
    return messages


def _classify(
    rest: str, senders: dict[str, str]
) -> tuple[str | None, MessageKind, str, Attachment | None]:
    """Split the text after the header into (sender, kind, first line, attachment)."""
    sep = rest.find(": ")
    if sep == -1:
        return None, MessageKind.SYSTEM, rest.strip(MARKS), None
    written = rest[:sep]
    sender = senders.get(written)
    if sender is None:
        sender = senders[written] = _sender(written)
    if not sender:
        return None, MessageKind.SYSTEM, rest.strip(MARKS), None
    body = rest[sep + 2 :]
    if body[:1] == "\u200e":
        return _marked(sender, body)
    meaning = loc.PLAIN.get(body)
    if meaning is not None:
        return (sender if meaning.keeps_sender else None), meaning.kind, body, meaning.attachment
    found = None
    end = body[-1:]
    if end == ")":
        found = loc.attachment_line(body)
    elif end == ">" and body[:1] == "<":
        found = loc.bracketed(body[1:-1])
    elif "\u200e" in body:
        found = loc.document_omitted(body)
    if found is not None:
        return sender, MessageKind.MEDIA, body, found
    return sender, MessageKind.TEXT, body, None


def _sender(written: str) -> str:
    """The name before a header's first ": ", or "" when that is no name: a notice quoting a
    subject with ": " inside ends its part in the middle of a quote, so its quotes do not
    pair up ('Alice changed the subject to "Trip: Rome"', „…“, «…», 「…」 alike)."""
    name = written.strip(MARKS + SPACES)
    if sum(map(name.count, _QUOTES)) % 2:
        return ""
    return name


def _marked(sender: str, body: str) -> tuple[str | None, MessageKind, str, Attachment | None]:
    """A body after a left-to-right mark: iOS writes its placeholders and its notices ("Alice
    added Bob", "Messages and calls are end-to-end encrypted") so, after a contact or group
    name. Right-to-left text typed by people starts with other marks, if any."""
    clean = body.strip(MARKS)
    meaning = loc.FOLDED.get(loc.fold(clean)) if len(clean) <= loc.LONGEST else None
    if meaning is not None:
        return (sender if meaning.keeps_sender else None), meaning.kind, clean, meaning.attachment
    found = None
    if clean[:1] == "<" and clean[-1:] == ">":
        found = loc.bracketed(clean[1:-1])
    if found is None:
        found = loc.document_omitted(body)
    if found is not None:
        return sender, MessageKind.MEDIA, clean, found
    return None, MessageKind.SYSTEM, clean, None


def _finish(
    sender: str | None,
    sent_at: datetime,
    kind: MessageKind,
    parts: list[str],
    attachment: Attachment | None,
) -> ParsedMessage:
    while len(parts) > 1 and not parts[-1].strip():
        parts.pop()  # WhatsApp trims messages: trailing blank lines come from the file's end
    text = parts[0] if len(parts) == 1 else "\n".join(parts)
    edited = False
    if text[-1:] in _MAY_END_EDITED:
        text, edited = loc.strip_edited(text)
    return ParsedMessage(sender, sent_at, text, kind, edited, None, None, (), attachment)


# The last character of a text that may end with an edited marker ("...edited>" and spaces).
_MAY_END_EDITED = frozenset(">" + MARKS + SPACES + "\t\r")
