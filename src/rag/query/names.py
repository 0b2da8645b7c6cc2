"""Finding the participants a question names, and which of them it asks what they said.

A participant is named by their full name, or by one word (3+ letters, not a stop word)
of a multi-word name that no other participant shares ("Ana" for "Ana Souza"), ignoring case
and accents; a full name wins over a word of a longer one ("Ana" is "Ana" when both "Ana"
and "Ana Souza" take part). A family word ("mother", "Mutti", "mamá") names the participant
whose name is a family word of the same kind ("Mum"). A name that fits two participants
names neither. Every named participant is a mention; those the question asks what they said
(wrote, sent, mentioned...) are also the senders: the name is the subject of a speech verb
("did Ana say", "Ana wrote", "dijo Ana", "hat Ana ... gesagt", "meinte Jonas") or comes after
"messages from", "according to", "mensajes de", "según", "Nachrichten von", "laut". Names
joined by "and"/"y"/"und" share their verb. A possessive ("Ana's birthday") is not a speaker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from src.rag.query.text import STOP_WORDS, WORD, Word, by_word, fold, listed

# --- Name words --------------------------------------------------------------------------
# Left out: words that are common words elsewhere ("mere", "gran", Portuguese "avó").
_FAMILY = {
    "mother": "mum mom mam mummy mommy mother mama mami mamita madre mutter mutti mae maman mamma",
    "father": "dad daddy father papa papi padre vater vati papai pai pere babbo",
    "grandmother": (
        "grandma granny nan nana grandmother abuela abuelita oma omi großmutter grossmutter "
        "nonna mamie"
    ),
    "grandfather": (
        "grandpa grandad granddad grandfather abuelo abuelito opa großvater grossvater nonno papy"
    ),
    "sister": "sister sis hermana hermanita schwester irma soeur sorella",
    "brother": "brother bro hermano hermanito bruder irmao frere fratello",
}
# Before the subject: "did Ana say", "hat Ana ... gesagt", "ha dicho"; after it: "Ana has said".
_AUXILIARIES = frozenset(
    "did does do has had have will would could can is was are were s "
    "hat hatte haben hatten ha habia han".split()
)
# Within three words after an auxiliary and the subject ("did Ana ever say").
_SAID_AFTER_AUXILIARY = frozenset(
    """
    say saying said write writing written send sending sent mention mentioning mentioned
    tell telling told ask asking asked suggest suggesting suggested promise promising promised
    text texting texted post posting posted share sharing shared reply replying replied
    answer answering answered recommend recommending recommended propose proposing proposed
    think thinking thought talk talking talked complain complaining complained mean meant
    dicho escrito mandado enviado comentado mencionado contado preguntado sugerido propuesto
    prometido respondido contestado detto scritto
    """.split()
)
# German puts the participle at the end of the clause: "hat Ana über den Urlaub gesagt".
_SAID_PARTICIPLE_DE = frozenset(
    """
    gesagt geschrieben geschickt erwahnt erzahlt gefragt vorgeschlagen versprochen gemeint
    geantwortet empfohlen gedacht mitgeteilt
    """.split()
)
# Right before the subject in es/de/pt/fr/it questions ("¿Qué dijo Ana?", "Was meinte Jonas").
_SAID_BEFORE_SUBJECT = frozenset(
    """
    dijo dice decia dijeron escribio escribe mando envio comento comenta menciono conto
    pregunto propuso sugirio prometio opina opino piensa penso respondio contesto recomendo
    dicho escrito mandado enviado comentado mencionado contado preguntado sugerido propuesto
    prometido
    sagte sagt schrieb schreibt meinte meint erzahlte fragte fragt erwahnte schickte schickt
    dachte denkt antwortete versprach schlug
    disse diz escreveu falou mandou comentou perguntou dit ecrit detto scritto scrisse
    """.split()
)
# Right after the subject ("what Ana wrote", "Ana me dijo", "Ana sagte").
_SAID_AFTER_SUBJECT = _SAID_BEFORE_SUBJECT | frozenset(
    """
    said says wrote writes sent sends mentioned mentions told tells asked asks suggested
    suggests promised promises texted texts posted posts shared replied answered recommended
    proposed thought thinks talked talks complained meant means
    """.split()
)
# Phrases right before or after a name that make it the source ("messages from Ana").
_SOURCE_BEFORE = (
    "messages from, message from, texts from, text from, according to, sent by, written by, "
    "said by, mensajes de, mensaje de, segun, escrito por, enviado por, dicho por, "
    "nachrichten von, nachricht von, laut, mensagens de, mensagem de, messages de, "
    "message de, selon, messaggi di, messaggio di"
)
_SOURCE_AFTER = "s messages, s message, s texts, zufolge"
# Skipped when looking for the word before a name ("did my mother say", "dijo la abuela")...
_SKIP_BEFORE = frozenset(
    """
    the my our your me te le les nos lo la el los las mi mis tu tus nuestra nuestro su
    mein meine meinem meiner unser unsere unserer die der minha meu ma mon mia
    """.split()
)
# ... and after it ("Ana also said", "Ana me dijo", "Ana hat mir gesagt").
_SKIP_AFTER = frozenset(
    """
    also ever just already really then once never me te le les nos lo la ya tambien mir uns
    dir ihm ihr euch auch noch schon mal
    """.split()
)
_CONJUNCTIONS = frozenset("and or y o e und oder et".split())

_ROLE_OF = by_word(_FAMILY)
_SOURCE_BEFORE_WORDS = [phrase.split() for phrase in listed(_SOURCE_BEFORE)]
_SOURCE_AFTER_WORDS = [phrase.split() for phrase in listed(_SOURCE_AFTER)]


# --- Finding names -----------------------------------------------------------------------


@dataclass(frozen=True)
class Roster:
    """The participants, by what can name them."""

    full: dict[str, frozenset[str]]  # folded full name ("ana souza")
    parts: dict[str, frozenset[str]]  # one word of a multi-word name ("ana")
    roles: dict[str, frozenset[str]]  # family role ("mother") of names that are family words
    longest: int  # words in the longest full name


@dataclass(frozen=True)
class _Hit:
    first: int  # word index
    last: int  # one past the last word
    names: frozenset[str]  # the participants that fit; more than one is ambiguous


def roster(participants: Sequence[str]) -> Roster:
    full: dict[str, set[str]] = {}
    parts: dict[str, set[str]] = {}
    roles: dict[str, set[str]] = {}
    for name in dict.fromkeys(participants):
        words = WORD.findall(fold(name))
        if not words:
            continue
        key = " ".join(words)
        full.setdefault(key, set()).add(name)
        if key in _ROLE_OF:
            roles.setdefault(_ROLE_OF[key], set()).add(name)
        if len(words) > 1:
            for word in words:
                if len(word) >= 3 and word not in STOP_WORDS:
                    parts.setdefault(word, set()).add(name)
    return Roster(
        full={key: frozenset(names) for key, names in full.items()},
        parts={key: frozenset(names) for key, names in parts.items()},
        roles={key: frozenset(names) for key, names in roles.items()},
        longest=max((len(key.split()) for key in full), default=0),
    )


def _name_at(roster: Roster, words: list[str], index: int) -> _Hit | None:
    """The name starting at `words[index]`: the longest full name, else one word of a name,
    else a family word."""
    for size in range(min(roster.longest, len(words) - index), 0, -1):
        names = roster.full.get(" ".join(words[index : index + size]))
        if names:
            return _Hit(index, index + size, names)
    word = words[index]
    names = roster.parts.get(word) or roster.roles.get(_ROLE_OF.get(word, ""))
    return _Hit(index, index + 1, names) if names else None


def find_names(roster: Roster, words: list[str]) -> list[_Hit]:
    hits: list[_Hit] = []
    index = 0
    while index < len(words):
        hit = _name_at(roster, words, index)
        if hit:
            hits.append(hit)
            index = hit.last
        else:
            index += 1
    return hits


def groups(hits: list[_Hit], words: list[str]) -> list[list[_Hit]]:
    """Names side by side or joined by a conjunction ("Ana and Ben"): they share a verb."""
    groups: list[list[_Hit]] = []
    for hit in hits:
        previous = groups[-1][-1] if groups else None
        if previous and (
            hit.first == previous.last
            or (hit.first == previous.last + 1 and words[previous.last] in _CONJUNCTIONS)
        ):
            groups[-1].append(hit)
        else:
            groups.append([hit])
    return groups


def _index_before(words: list[str], first: int) -> int:
    """The index of the word before `first`, skipping articles, possessives and clitics."""
    index = first - 1
    while index >= 0 and words[index] in _SKIP_BEFORE:
        index -= 1
    return index


def _index_after(words: list[str], last: int) -> int:
    """The index of the word at or after `last`, skipping adverbs and clitics."""
    index = last
    while index < len(words) and words[index] in _SKIP_AFTER:
        index += 1
    return index


def _said_with_auxiliary(words: list[Word], first: int, last: int) -> bool:
    """ "did Ana (ever) say", "has Ana mentioned", "Ana hat mir ... gesagt", "ha dicho"."""
    texts = [word.text for word in words]
    before, after = _index_before(texts, first), _index_after(texts, last)
    if before >= 0 and texts[before] in _AUXILIARIES:
        start = last
    elif after < len(texts) and texts[after] in _AUXILIARIES:
        start = after + 1
    else:
        return False
    # English and Spanish put the verb right after the subject ("did Ana ever say"); German
    # puts the participle at the end of the clause ("hat Ana über den Urlaub gesagt").
    clause = words[last - 1].clause
    window = [word.text for word in words[start : start + 8] if word.clause == clause]
    return bool(
        _SAID_AFTER_AUXILIARY.intersection(window[:3]) or _SAID_PARTICIPLE_DE.intersection(window)
    )


def _source_before(words: list[str], first: int) -> bool:
    """ "messages from Ana", "según Ana", "Nachrichten von Lena"."""
    tail = words[: _index_before(words, first) + 1]
    return any(tail[-len(phrase) :] == phrase for phrase in _SOURCE_BEFORE_WORDS)


def _source_after(words: list[str], last: int) -> bool:
    """ "Ana's messages", "Lena zufolge"."""
    return any(words[last : last + len(phrase)] == phrase for phrase in _SOURCE_AFTER_WORDS)


def is_speaker(words: list[Word], first: int, last: int) -> bool:
    """Whether the question asks what the names at words[first:last] said."""
    texts = [word.text for word in words]
    if last < len(texts) and texts[last] == "s":  # "Ana's birthday", unless "Ana's messages"
        return _source_after(texts, last)
    before, after = _index_before(texts, first), _index_after(texts, last)
    return (
        _said_with_auxiliary(words, first, last)
        or (before >= 0 and texts[before] in _SAID_BEFORE_SUBJECT)
        or (after < len(texts) and texts[after] in _SAID_AFTER_SUBJECT)
        or _source_before(texts, first)
        or _source_after(texts, last)
    )
