"""The `keywords` insight: the terms that set each participant apart from the rest of the chat.

Terms are the tokenizer's content words of text messages (see `_common.Tokenizer`). Each
participant's term counts are compared with everyone else's by the weighted log-odds ratio
with an informative Dirichlet prior (Monroe, Colaresi & Quinn, 2008), the prior being the
whole chat's counts:

    a_w = chat count of w, a0 = chat total
    d_w = log((y_w + a_w) / (n + a0 - y_w - a_w)) - log((r_w + a_w) / (m + a0 - r_w - a_w))
    score_w = d_w / sqrt(1 / (y_w + a_w) + 1 / (r_w + a_w))

where y_w / n are the participant's count of w / total terms and r_w / m those of everyone
else. The score is a z-score: positive means "used more than the others", and frequent
differences outweigh one-off words. Only terms the participant used are ranked; with a single
participant (nobody to compare with) every score is 0 and the ranking is by count.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Sequence

from pydantic import Field

from src.insights.providers.base import InsightMessage, InsightOptions
from src.insights.providers.local._common import (
    ResultModel,
    Tokenizer,
    is_media,
    participants_of,
    round4,
    sender_messages,
)
from src.insights.providers.local.stopwords import resolve_language

METHOD = "log_odds_dirichlet"


class Keyword(ResultModel):
    """One distinctive term of a participant."""

    term: str = Field(description="The term, lower-case, accents kept.")
    count: int = Field(description="How many times this participant used it.")
    score: float = Field(
        description="Weighted log-odds z-score against the rest of the chat, 4 places; "
        "higher is more distinctive, about 2 or more is notable."
    )


class ParticipantKeywords(ResultModel):
    """The distinctive terms of one participant."""

    participant: str = Field(description="The sender's name as it appears in the chat.")
    terms: int = Field(description="Content terms (after stop words) this participant wrote.")
    keywords: list[Keyword] = Field(
        description="Up to keywords_per_participant terms, highest score first; ties by "
        "higher count, then alphabetically."
    )


class KeywordsResult(ResultModel):
    """Distinctive terms per participant."""

    method: str = Field(
        description="Scoring method: log_odds_dirichlet, the weighted log-odds ratio of the "
        "participant against everyone else, with the whole chat's counts as the prior."
    )
    language: str = Field(description="Stop-word language actually used (en or es).")
    participants: list[ParticipantKeywords] = Field(
        description="One entry per participant, in order of their first message."
    )


def _log_odds(count: float, total: float) -> float:
    return math.log(count / (total - count))


def _scores(own: Counter[str], chat: Counter[str], chat_total: int) -> dict[str, tuple[float, int]]:
    """score and count of each term in `own` against the rest of the chat."""
    own_total = sum(own.values())
    rest_total = chat_total - own_total
    if len(chat) < 2:  # one term only: the odds are undefined, nothing sets anyone apart
        return {term: (0.0, count) for term, count in own.items()}
    scored = {}
    for term, count in own.items():
        prior = chat[term]
        rest = prior - count
        delta = _log_odds(count + prior, own_total + chat_total) - _log_odds(
            rest + prior, rest_total + chat_total
        )
        scored[term] = (delta / math.sqrt(1 / (count + prior) + 1 / (rest + prior)), count)
    return scored


def compute(messages: Sequence[InsightMessage], options: InsightOptions) -> KeywordsResult:
    """Tokenise each text message once, count terms per participant and rank them."""
    tokenizer = Tokenizer(options.language)
    kept = sender_messages(messages)
    per_person: dict[str, Counter[str]] = {name: Counter() for name in participants_of(kept)}
    for message in kept:
        if not is_media(message):
            per_person[message.sender or ""].update(tokenizer.tokens(message.text))

    chat: Counter[str] = Counter()
    for counts in per_person.values():
        chat.update(counts)
    chat_total = sum(chat.values())

    limit = max(options.keywords_per_participant, 0)
    rows = []
    for name, own in per_person.items():
        candidates = [
            (round4(score), count, term)
            for term, (score, count) in _scores(own, chat, chat_total).items()
        ]
        # Same as sorted(...)[:limit], without sorting the whole vocabulary.
        ranked = heapq.nsmallest(limit, candidates, key=lambda row: (-row[0], -row[1], row[2]))
        rows.append(
            ParticipantKeywords(
                participant=name,
                terms=sum(own.values()),
                keywords=[Keyword(term=t, count=c, score=s) for s, c, t in ranked],
            )
        )
    return KeywordsResult(
        method=METHOD, language=resolve_language(options.language), participants=rows
    )
