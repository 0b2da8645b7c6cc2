"""Splitting a chat into windows of consecutive messages: the unit that RAG embeds and searches.

Each chunk's text is one "Sender: text" line per message, joined by newlines. Which messages
take part:

- system lines are skipped (they are notices, not something anyone said);
- media messages are skipped unless they carry a caption: the parsers store a placeholder
  such as "<Media omitted>", "<Photo omitted>", "image omitted" or "x.jpg (file attached)"
  (or its translation) as the first line, so the first line of a media message with an
  attachment, or one shaped like an English placeholder, is dropped and whatever follows it
  (a caption) is kept; a media message whose text is not a placeholder at all
  (a tabular import) is kept as it is;
- messages with no text left (empty, or only whitespace) are skipped.

Whitespace inside a message, newlines included, is collapsed to single spaces.

Where a chunk ends: a new chunk starts when adding the next message would take the chunk over
`max_tokens`, or when more than `silence_minutes` passed since the previous kept message.
After a split caused by the token budget (not by a silence) the new chunk begins with the
last `overlap_messages` messages of the previous one, fewer if they would not leave room for
the next message, so every chunk has at least one new message. A message longer than
`max_tokens` on its own is truncated, by words, to fit, and becomes its own chunk.

Incremental indexing. Chunks are identified by (first_seq, last_seq). The function is a pure
function of its input and decides each split only from the messages before it, so:

- given the tail of a chat (the messages with seq > N), it makes exactly the chunks it would
  make for a chat holding only those messages;
- re-chunking from the first_seq of any chunk of a full run reproduces that chunk and all the
  following ones exactly (a chunk starting after a budget split starts with overlap messages
  that fit together with the next one, so nothing in the tail run splits differently).

The indexer passes "the messages after the last indexed chunk's last_seq, minus the overlap"
(starting at the first of that chunk's last `overlap_messages` messages), so that the new
chunks overlap the old ones; it should do so only when there are messages after last_seq, or
the overlap messages would be stored again as a chunk of their own. The alternative that
gives exactly the chunks of a full run is to delete the last indexed chunk (which may have
grown) and re-chunk from its first_seq.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Chunk", "ChunkMessage", "chunk_messages", "estimate_tokens"]

# Hiragana, katakana, CJK ideographs and Hangul: BERT's tokenizer splits each into a token.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
# One piece per CJK character, per run of other letters/digits, per punctuation character.
_PIECES = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|[^\w\s]")
# First lines that are media placeholders, as the parsers write them.
_PLACEHOLDER = re.compile(
    r"\s*(?:<[^<>]*>|.*\bomitted|.*\(file attached\))\s*", re.IGNORECASE | re.DOTALL
)


@dataclass(frozen=True, slots=True)
class ChunkMessage:
    """A message of the chat being chunked, as the indexer passes it, in chat order."""

    id: int  # the message's database id
    seq: int  # position in the chat, from 1, increasing
    sender: str | None  # None for system lines
    sent_at: datetime  # aware
    text: str
    kind: str  # "text" | "media" | "system"
    # The parser recognised an attachment: a media message's first line is then its
    # placeholder, in whatever language the export was written.
    attachment: bool = False


@dataclass(frozen=True, slots=True)
class Chunk:
    """A window of consecutive messages, ready to be stored, embedded and full-text indexed."""

    first_seq: int
    last_seq: int
    message_ids: list[int]  # the messages whose text is in `text`, in order
    text: str  # "Sender: text" lines joined by "\n"
    started_at: datetime
    ended_at: datetime
    token_estimate: int


@dataclass(slots=True)
class _Line:
    """A kept message, as the line it contributes to a chunk."""

    id: int
    seq: int
    sent_at: datetime
    text: str
    tokens: int


def estimate_tokens(text: str) -> int:
    """A cheap estimate of the WordPiece tokens all-MiniLM-L6-v2 (BERT's uncased vocabulary)
    makes of `text`, without the [CLS]/[SEP] pair.

    BERT first splits on whitespace and around every punctuation character, then cuts words
    missing from its vocabulary into pieces. So: each punctuation or symbol character (emoji
    included) counts 1, each CJK character 1, an ASCII word of up to 6 characters 1 and one
    more per further 4 characters (long words are rarer and get cut), a word with other
    letters (accents, other scripts) 1 plus one per 3 characters, since the vocabulary holds
    few of those. On English chat text this comes to about 1.2-1.3 per word; it errs on the
    high side for accented text. It is additive over whitespace-separated parts, it never
    exceeds the number of characters, and it does not decrease when text is appended.
    """
    total = 0
    for piece in _PIECES.findall(text):
        size = len(piece)
        if not piece.isascii():
            total += 1 + size // 3
        elif size < 7:
            total += 1
        else:
            total += 1 + (size - 3) // 4
    return total


def _body(message: ChunkMessage) -> str:
    """The text a message contributes (whitespace collapsed), or "" when it is skipped."""
    if message.kind == "system":
        return ""
    text = message.text
    if message.kind == "media":
        first, _, rest = text.partition("\n")
        if message.attachment or _PLACEHOLDER.fullmatch(first):
            text = rest
    return " ".join(text.split())


def _truncate(prefix: str, body: str, max_tokens: int) -> tuple[str, int]:
    """`prefix` + the longest run of leading words of `body` estimated at no more than
    `max_tokens` in all; a first word too long on its own is cut to fit (an estimate never
    exceeds the number of characters)."""
    total = estimate_tokens(prefix)
    if total >= max_tokens:  # an absurdly long sender name
        line = (prefix + body)[:max_tokens]
        return line, estimate_tokens(line)
    kept: list[str] = []
    for word in body.split(" "):
        tokens = estimate_tokens(word)
        if total + tokens > max_tokens:
            if not kept:
                kept.append(word[: max_tokens - total])
                total += estimate_tokens(kept[0])
            break
        kept.append(word)
        total += tokens
    return prefix + " ".join(kept), total


def _lines(messages: Sequence[ChunkMessage], max_tokens: int) -> list[_Line]:
    lines: list[_Line] = []
    for message in messages:
        body = _body(message)
        if not body:
            continue
        prefix = "" if message.sender is None else f"{message.sender}: "
        text = prefix + body
        tokens = estimate_tokens(text)
        if tokens > max_tokens:
            text, tokens = _truncate(prefix, body, max_tokens)
        lines.append(_Line(message.id, message.seq, message.sent_at, text, tokens))
    return lines


def _chunk(window: list[_Line], tokens: int) -> Chunk:
    return Chunk(
        first_seq=window[0].seq,
        last_seq=window[-1].seq,
        message_ids=[line.id for line in window],
        text="\n".join(line.text for line in window),
        started_at=window[0].sent_at,
        ended_at=window[-1].sent_at,
        token_estimate=tokens,
    )


def _overlap(window: list[_Line], count: int, room: int) -> list[_Line]:
    """The last `count` lines of `window`, dropping the oldest until they fit in `room`."""
    kept = window[len(window) - count :] if count > 0 else []
    total = sum(line.tokens for line in kept)
    while kept and total > room:
        total -= kept.pop(0).tokens
    return kept


def chunk_messages(
    messages: Sequence[ChunkMessage],
    *,
    max_tokens: int = 200,
    overlap_messages: int = 2,
    silence_minutes: int = 120,
    min_tokens: int = 0,
) -> list[Chunk]:
    """Cut `messages` (in chat order) into chunks, as the module docstring describes.

    Chunks whose token estimate is below `min_tokens` (say a lone "ok" between two long
    silences) are left out; that does not change where the other chunks split. The silence is
    measured between kept messages, so skipped system lines neither split nor bridge a gap.
    """
    if max_tokens < 1 or overlap_messages < 0 or silence_minutes < 0 or min_tokens < 0:
        raise ValueError("max_tokens must be positive; the other limits must not be negative.")
    silence = timedelta(minutes=silence_minutes)
    chunks: list[Chunk] = []
    window: list[_Line] = []
    tokens = 0
    for line in _lines(messages, max_tokens):
        if window:
            if line.sent_at - window[-1].sent_at > silence:
                if tokens >= min_tokens:
                    chunks.append(_chunk(window, tokens))
                window, tokens = [], 0
            elif tokens + line.tokens > max_tokens:
                if tokens >= min_tokens:
                    chunks.append(_chunk(window, tokens))
                window = _overlap(window, overlap_messages, max_tokens - line.tokens)
                tokens = sum(kept.tokens for kept in window)
        window.append(line)
        tokens += line.tokens
    if window and tokens >= min_tokens:
        chunks.append(_chunk(window, tokens))
    return chunks
