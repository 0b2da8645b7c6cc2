"""Signal text exports: `[2019-12-24, 12:23] Name: text`, continuation lines as in WhatsApp."""

from __future__ import annotations

import re
from datetime import tzinfo

from src.chats.parsers.base import ChatFormat, DateOrder, DateOrderSource, ParsedChat, Progress
from src.chats.parsers.whatsapp import parse_lines

# The ten groups of the WhatsApp header (the am/pm and old-colon groups always match empty), so
# the shared line engine can read both. Signal writes ISO dates and minutes, never seconds.
HEADER = re.compile(
    r"(\[)(\d{4})-(\d{2})-(\d{2}),?[ ]()(\d{2}):(\d{2})(?::(\d{2}))?()\][ ]()",
)

# What tells Signal from a WhatsApp iOS export with ISO dates: the latter always has seconds.
_STRICT = re.compile(r"\[\d{4}-\d{2}-\d{2}, \d{2}:\d{2}\] ")


def looks_like_signal(text: str, lines: int = 20) -> bool:
    """Whether the first message headers all have Signal's exact layout."""
    found = False
    for line in text[: 64 * 1024].split("\n")[: lines * 5]:
        if HEADER.match(line):
            if not _STRICT.match(line):
                return False
            found = True
    return found


def parse_signal(text: str, zone: tzinfo, progress: Progress) -> ParsedChat:
    """Parse a Signal text export; its times are naive local times, read in `zone`."""
    return parse_lines(
        text,
        zone,
        progress,
        fmt=ChatFormat.SIGNAL,
        header=HEADER,
        title=None,
        date_order=DateOrder.YMD,
        source=DateOrderSource.FORMAT,
    )
