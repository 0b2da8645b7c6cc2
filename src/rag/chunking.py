"""One retrieval unit per message: the message people may cite, with a little of what came
before it.

A unit ("chunk") stands for one message. Its `text` is that message as a "Sender: text" line,
searched by full text; the embedding reads `context` (the lines of the few kept messages
before it, within the silence limit) followed by `text`, so that a short reply ("7:15 at
Central") is found by what it answers, while a hit still points at the one message it cites.

Which messages get a unit:

- system lines do not (they are notices, not something anyone said);
- media messages only for a caption: the parsers store a placeholder such as
  "<Media omitted>", "<Photo omitted>", "image omitted" or "x.jpg (file attached)" (or its
  translation) as the first line, so the first line of a media message with an attachment,
  or one shaped like an English placeholder, is dropped and whatever follows it is kept; a
  media message whose text is not a placeholder at all (a tabular import) is kept as it is;
- messages with no letter or digit left (empty, whitespace, emoji or punctuation only) do not.

Whitespace inside a message, newlines included, is collapsed to single spaces. A line longer
than `max_tokens` is truncated, by words, to fit; a context line to `context_tokens`.

Incremental indexing: units are a pure function of the messages given, and a unit's context
depends only on the messages before it. The indexer passes the messages not indexed yet
together with enough earlier ones for their context, and asks (`only`) for the units of the
new ones.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["MIN_VECTOR_WORDS", "Chunk", "ChunkMessage", "chunk_messages", "estimate_tokens"]

# Hiragana, katakana, CJK ideographs and Hangul: BERT's tokenizer splits each into a token.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
# One piece per CJK character, per run of other letters/digits, per punctuation character.
_PIECES = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|[^\w\s]")
# First lines that are media placeholders, as the parsers write them.
_PLACEHOLDER = re.compile(
    r"\s*(?:<[^<>]*>|.*\bomitted|.*\(file attached\))\s*", re.IGNORECASE | re.DOTALL
)
_ALNUM = re.compile(r"[^\W_]")
#: Units of fewer words are not embedded, and found by their words only: the meaning of a
#: short message is mostly its sender's name, which would bring every "ok" of a person a
#: question names (measured on `make eval`: hit@1 0.75 against 0.67 in English), and they
#: are a third of a chat's messages, spared the embedder.
MIN_VECTOR_WORDS = 3
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class ChunkMessage:
    """A message of the chat being indexed, as the indexer passes it, in chat order."""

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
    """The retrieval unit of one message, ready to be stored, embedded and searched."""

    message_id: int  # the message it stands for: what a hit cites
    seq: int
    sender: str | None
    sent_at: datetime
    text: str  # "Sender: text" of the message
    words: int  # the words of the message itself (runs of letters or digits)
    context: str  # the lines before it that the embedding reads too ("" when none)
    context_ids: list[int]  # the messages of `context`, in order

    @property
    def embedding_text(self) -> str:
        return f"{self.context}\n{self.text}" if self.context else self.text


@dataclass(slots=True)
class _Line:
    """A kept message, as the line it contributes."""

    message: ChunkMessage
    prefix: str
    body: str


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


def _lines(messages: Sequence[ChunkMessage]) -> list[_Line]:
    lines = []
    for message in messages:
        body = _body(message)
        if not _ALNUM.search(body):
            continue
        prefix = "" if message.sender is None else f"{message.sender}: "
        lines.append(_Line(message, prefix, body))
    return lines


def _fitted(line: _Line, max_tokens: int) -> str:
    text = line.prefix + line.body
    if estimate_tokens(text) <= max_tokens:
        return text
    return _truncate(line.prefix, line.body, max_tokens)[0]


def chunk_messages(
    messages: Sequence[ChunkMessage],
    *,
    only: Collection[int] | None = None,
    context_messages: int = 1,
    context_tokens: int = 48,
    max_tokens: int = 200,
    silence_minutes: int = 120,
) -> list[Chunk]:
    """The units of `messages` (in chat order), as the module docstring describes, for the
    messages whose ids are in `only` (all kept messages when None), in chat order.

    A unit's context is the `context_messages` kept messages just before it, each sent at
    most `silence_minutes` after the one before it (a silence ends the context).
    """
    if max_tokens < 1 or context_tokens < 1 or context_messages < 0 or silence_minutes < 0:
        raise ValueError("token limits must be positive; the other limits must not be negative.")
    silence = timedelta(minutes=silence_minutes)
    lines = _lines(messages)
    chunks = []
    for index, line in enumerate(lines):
        if only is not None and line.message.id not in only:
            continue
        context: list[_Line] = []
        later = line
        for earlier in reversed(lines[max(0, index - context_messages) : index]):
            if later.message.sent_at - earlier.message.sent_at > silence:
                break
            context.insert(0, earlier)
            later = earlier
        chunks.append(
            Chunk(
                message_id=line.message.id,
                seq=line.message.seq,
                sender=line.message.sender,
                sent_at=line.message.sent_at,
                text=_fitted(line, max_tokens),
                words=len(_WORD.findall(line.body)),
                context="\n".join(_fitted(c, context_tokens) for c in context),
                context_ids=[c.message.id for c in context],
            )
        )
    return chunks
