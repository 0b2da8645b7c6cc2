"""Planning a search from a question: the words to look for, whose messages, and from when.

`plan_query` reads questions in English, Spanish and German, and the commonest phrases of
Portuguese, French and Italian. The language is not given: the patterns of all of them are
tried at once (they rarely collide). The phrases understood are described where they are
read: dates in `dates`, names in `names`; `text` holds the folding and word splitting both
share. This module reads one question with them and joins a follow-up to the question
before it.

Follow-ups. With a `previous` question, a question reads as a follow-up when it starts with a
connective ("and", "what about", "y", "und", "e", "et"), is a question (a question mark)
of at most one content word ("what time does it leave?"; a bare keyword is a search of its
own, and "When are we travelling to Portugal?" is a question of its own), or
refers back with a pronoun ("it", "that", "eso", "das", "dort"...) and has at most three
content words. Its text is then the previous question's followed by its own (both without
their date phrase); without a date of its own it takes the previous one's; without senders of
its own it takes the previous one's senders, unless it is nothing but names ("And Ben?",
"¿Y Ana?"), which then become the senders asked about.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from src.rag.query.dates import find_period
from src.rag.query.names import Roster, find_names, groups, is_speaker
from src.rag.query.names import roster as _roster  # `roster` names a local below
from src.rag.query.text import STOP_WORDS, WORD, Word, fold
from src.rag.query.text import words as _words  # `words` names a local below

__all__ = ["QueryPlan", "plan_query", "question_form"]


@dataclass(frozen=True)
class QueryPlan:
    """What the retriever should search for.

    `text` is the question (after the previous one, for a follow-up) without its date phrase;
    `senders` the participants whose own messages answer it (None: anyone's); `since` and
    `until` an aware period in the chat's time zone, `until` excluded; `mentions` every
    participant the question names, a softer signal. Names are exactly as given.
    `full_text` is `text` with the date phrase left in, for a caller that does not take the
    period as the time the messages were sent ("Where do we eat on December 25th?").
    """

    text: str
    senders: list[str] | None
    since: datetime | None
    until: datetime | None
    mentions: list[str]
    full_text: str = ""


# --- Follow-up words ---------------------------------------------------------------------
_CONNECTIVES = frozenset(
    "and also plus y ademas tambien und außerdem ausserdem e et".split()
    + ["what about", "how about", "and what", "y que", "und was"]
)
_PRONOUNS = frozenset("it that there eso ello es das dort isso ca cio".split())
# Pronouns that are also determiners ("that restaurant", "das Auto").
_PRONOUNS_ALSO_DETERMINERS = frozenset("that das".split())
_QUESTION_WORDS_ES = frozenset(
    "que cual cuales quien quienes cuando donde como cuanto cuanta".split()
)


# --- Follow-ups --------------------------------------------------------------------------


def _refers_back(words: list[Word], index: int) -> bool:
    """Whether words[index] is a pronoun standing alone ("who paid for it?"), not a determiner
    ("that restaurant", "das Auto") nor the Spanish verb ("¿Qué es...?", "¿Es verdad?")."""
    word = words[index].text
    if word not in _PRONOUNS:
        return False
    following = words[index + 1] if index + 1 < len(words) else None
    if (
        word in _PRONOUNS_ALSO_DETERMINERS
        and following
        and following.clause == words[index].clause
        and following.text not in STOP_WORDS
    ):
        return False
    if word == "es":
        return index > 0 and words[index - 1].text not in _QUESTION_WORDS_ES
    return True


def _reads_as_follow_up(words: list[Word], asked: bool) -> bool:
    """`asked`: the text is a question (it has a question mark); a bare keyword or two
    ("ZX-4417", "sofa price") is a search of its own, not a follow-up."""
    texts = [word.text for word in words]
    if texts[:1] and (texts[0] in _CONNECTIVES or " ".join(texts[:2]) in _CONNECTIVES):
        return True
    content = _content_words(texts)
    if len(content) <= 1 and asked:
        return True
    return len(content) <= 3 and any(_refers_back(words, index) for index in range(len(words)))


def _content_words(words: Iterable[str]) -> list[str]:
    return [word for word in words if word not in STOP_WORDS and (len(word) > 1 or word.isdigit())]


# --- Planning ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reading:
    """One question read on its own."""

    text: str
    full_text: str  # `text` with the date phrase left in
    senders: list[str] | None
    period: tuple[datetime, datetime] | None
    mentions: list[str]
    follows_up: bool  # reads as a follow-up of an earlier question
    names_only: bool  # nothing but names besides stop words and connectives ("And Ben?")


def _midnight(day: date, now: datetime) -> datetime:
    return datetime.combine(day, time(), tzinfo=now.tzinfo)


def _cut(text: str, start: int, end: int) -> str:
    """`text` without [start, end) and a possessive "'s" right after it ("today's"): spaces
    collapsed, none before punctuation or after an opening "¿", and no comma left dangling
    at either end or before "?"."""
    if re.match(r"['’]s\b", text[end:]):
        end += 2
    joined = re.sub(r"\s+", " ", f"{text[:start]} {text[end:]}")
    joined = re.sub(r" (?=[?!.,;:)])", "", joined)
    joined = re.sub(r"(?<=[¿¡(]) ", "", joined)
    joined = re.sub(r"[,;:]+(?=[?!.])", "", joined)
    return joined.strip(" ,;:")


def _read(question: str, roster: Roster, now: datetime) -> _Reading:
    found = find_period(fold(question), now.date())
    text = question if found is None else _cut(question, found.start, found.end)
    period = None
    if found:
        first, end = found.period
        period = (_midnight(first, now), _midnight(end, now))
    words = _words(text)
    texts = [word.text for word in words]
    hits = find_names(roster, texts)
    senders = [
        name
        for group in groups(hits, texts)
        if is_speaker(words, group[0].first, group[-1].last)
        for hit in group
        if len(hit.names) == 1
        for name in hit.names
    ]
    mentions = [name for hit in hits if len(hit.names) == 1 for name in hit.names]
    named = {index for hit in hits for index in range(hit.first, hit.last)}
    others = _content_words(word for index, word in enumerate(texts) if index not in named)
    return _Reading(
        text=text,
        full_text=question,
        senders=list(dict.fromkeys(senders)) or None,
        period=period,
        mentions=list(dict.fromkeys(mentions)),
        follows_up=_reads_as_follow_up(words, "?" in question),
        names_only=bool(mentions) and not others,
    )


def _follow(earlier: _Reading, later: _Reading) -> _Reading:
    """`later` read as a follow-up of `earlier`."""
    senders: list[str] | None
    if later.senders:
        senders = later.senders
    elif later.names_only and earlier.senders:
        senders = later.mentions  # "What did Ana say about it?" then "And Ben?"
    else:
        senders = earlier.senders
    return _Reading(
        text=f"{earlier.text} {later.text}".strip(),
        full_text=f"{earlier.full_text} {later.full_text}".strip(),
        senders=senders,
        period=later.period or earlier.period,
        mentions=list(dict.fromkeys(earlier.mentions + later.mentions)),
        follows_up=False,
        names_only=False,
    )


def plan_query(
    question: str,
    *,
    participants: Sequence[str],
    now: datetime,
    previous: str | None = None,
) -> QueryPlan:
    """What to search for to answer `question`, asked about chats whose senders are
    `participants`, as of `now` (aware, in the chat's time zone: relative dates are read
    against it and the period is given in it). `previous` is the conversation's previous
    question, used when this one reads as a follow-up of it. See the docstrings of this
    package and of its `dates` and `names` modules for the phrases understood. Raises
    ValueError when `now` is naive.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    roster = _roster(participants)
    reading = _read(question, roster, now)
    if previous and previous.strip() and reading.follows_up:
        reading = _follow(_read(previous, roster, now), reading)
    since, until = reading.period or (None, None)
    return QueryPlan(
        text=reading.text,
        senders=reading.senders,
        since=since,
        until=until,
        mentions=reading.mentions,
        full_text=reading.full_text,
    )


# --- The form of a question ----------------------------------------------------------------

_TOKEN = re.compile(rf"{WORD.pattern}|[^\w\s]")


def question_form(text: str, participants: Sequence[str]) -> str:
    """`text` without its topic: its stop words, single letters, the participants' names it
    holds and its punctuation, in order ("What time does Jess's train get in?" reads "What
    does Jess ' s get in ?"). What a message shares with this is the shape of a question or
    a name, not an answer: the retriever takes it out of the question's vector (see
    `rag.service.find_evidence`)."""
    folded = fold(text)
    tokens = list(_TOKEN.finditer(folded))
    texts = [token.group() for token in tokens if WORD.fullmatch(token.group())]
    named = {
        index
        for hit in find_names(_roster(participants), texts)
        for index in range(hit.first, hit.last)
    }
    kept, word_index = [], 0
    for token in tokens:
        word = token.group()
        if WORD.fullmatch(word):
            topical = word not in STOP_WORDS and (len(word) > 1 or word.isdigit())
            if topical and word_index not in named:
                word_index += 1
                continue
            word_index += 1
        kept.append(text[token.start() : token.end()])
    return " ".join(kept)
