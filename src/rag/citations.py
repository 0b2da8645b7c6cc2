"""Choosing which messages of a retrieved chunk to cite: word matching against the question.

Matching ignores case and accents: both sides are case-folded and decomposed (NFKD) with the
combining marks dropped, so "Mañana" matches "manana" and "café" matches "CAFE". Words are
runs of letters and digits; there is no stemming ("picnics" does not match "picnic").

The score of a message is BM25 over the messages given (the chunk, not the whole chat):
saturating term frequency (k1 = 1.2), length normalisation against the average message
length (b = 0.75) and an idf computed within the given messages, never below a floor, so a
word that every message contains still counts when it is the only match. A message that also
contains two consecutive question words next to each other (stop words aside) gets a small
bonus per such pair.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

__all__ = ["query_terms", "rank_messages"]

K1 = 1.2
B = 0.75
IDF_FLOOR = 0.1
BIGRAM_BONUS = 0.25

_WORD = re.compile(r"[^\W_]+")

# Kept accent-free, as the terms they are compared with. Besides grammatical words, they hold
# the verbs people use to ask about a chat ("what did Ana say about...").
_EN = frozenset(
    """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing done down during each few
    for from further had has have having he her here hers herself him himself his how i if
    in into is it its itself just me more most my myself no nor not now of off on once only
    or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you
    your yours yourself yourselves ever anyone someone something anything thing things
    say says said tell told talk talked mention mentioned write wrote ask asked know get got
    chat chats message messages
    """.split()
)
_ES = frozenset(
    """
    a al algo alguien algun alguna algunas alguno algunos ante antes como con contra cual
    cuales cuando cuanto de del desde donde dos el ella ellas ellos en entre era eramos eran
    es esa esas ese eso esos esta estaba estado estan estar este esto estos fue fueron ha
    habia han hasta hay la las le les lo los mas me mi mis mucho muy nada ni no nos nosotros
    o os otra otro para pero poco por porque que quien quienes se sea ser si sin sobre son
    su sus tambien te tiene tienen todo todos tu tus un una unas uno unos vosotros y ya yo
    dijo dice dicen dijeron decir hablo hablamos hablaron hablar menciono escribio pregunto
    chat chats mensaje mensajes
    """.split()
)
_STOP_WORDS = {"en": _EN, "english": _EN, "es": _ES, "spanish": _ES}
_ANY = _EN | _ES


def _fold(text: str) -> str:
    """Case-folded, with accents and other combining marks removed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    if decomposed.isascii():
        return decomposed
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _words(text: str) -> list[str]:
    return _WORD.findall(_fold(text))


def _stop_words(language: str) -> frozenset[str]:
    """The list for "en"/"english" or "es"/"spanish" (also "es-AR" and the like); both
    lists together for anything else, such as "simple" or "any"."""
    code = language.strip().lower()
    return _STOP_WORDS.get(code) or _STOP_WORDS.get(code.split("-")[0].split("_")[0]) or _ANY


def _content_words(question: str, stop: frozenset[str]) -> list[str]:
    return [w for w in _words(question) if w not in stop and (len(w) > 1 or w.isdigit())]


def query_terms(question: str, language: str = "en") -> list[str]:
    """The distinct words of `question` worth matching, in order of first appearance:
    case-folded and accent-free, without stop words of `language` or single letters."""
    return list(dict.fromkeys(_content_words(question, _stop_words(language))))


def rank_messages(
    question: str,
    messages: Sequence[tuple[int, str]],
    *,
    limit: int = 3,
    language: str = "any",
) -> list[tuple[int, float]]:
    """The best `limit` (message id, score) pairs of `messages` for `question`, highest score
    first, ties by id ascending; only messages sharing a word with the question (score > 0).

    Scores are rounded to 4 places (before ordering, so equal-looking scores tie). Stop words
    of both English and Spanish are ignored unless `language` names one of them.
    """
    stop = _stop_words(language)
    sequence = _content_words(question, stop)
    terms = list(dict.fromkeys(sequence))
    if not terms or not messages or limit < 1:
        return []
    pairs = set(zip(sequence, sequence[1:], strict=False))
    documents = [(message_id, _words(text)) for message_id, text in messages]
    average = sum(len(words) for _, words in documents) / len(documents) or 1.0
    counts = [Counter(words) for _, words in documents]
    total = len(documents)
    idf = {}
    for term in terms:
        df = sum(1 for count in counts if term in count)
        idf[term] = max(math.log(1 + (total - df + 0.5) / (df + 0.5)), IDF_FLOOR)
    ranked: list[tuple[int, float]] = []
    for (message_id, words), count in zip(documents, counts, strict=True):
        norm = K1 * (1 - B + B * len(words) / average)
        score = 0.0
        for term in terms:
            tf = count.get(term, 0)
            if tf:
                score += idf[term] * tf * (K1 + 1) / (tf + norm)
        if score <= 0:
            continue
        if pairs:
            content = [w for w in words if w not in stop]
            score += BIGRAM_BONUS * len(pairs & set(zip(content, content[1:], strict=False)))
        ranked.append((message_id, round(score, 4)))
    ranked.sort(key=lambda pair: (-pair[1], pair[0]))
    return ranked[:limit]
