"""Folding and splitting the text of questions and names, shared by `dates` and `names`.

Matching works on a folded copy of the text: lower case, accents dropped one character for
one ("März" reads "marz", "Jürgen" reads "jurgen"), so a match's span is also the span of the
original words. The word tables of `dates` and `names` are written folded, as comma- or
space-separated cells that `listed` and `by_word` turn into lookups.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TypeVar

_STOP_EN = """
    a about above after again all also am an and any anything are as at be been before being
    both but by can could did do does doing done during each else ever for from had has have
    having he her here hers him his how i if in into is it its just me more most my no not now
    of off on once only or other our out over own really same she should so some something
    such than that the their them then there these they this those through to too under until
    up very was we were what when where which while who whom whose why will with would you
    your anyone someone everyone may might let us please ok okay
    say says said tell told talk talked mention mentioned write wrote ask asked know think
    thought get got message messages chat chats
"""
_STOP_ES = """
    a al algo alguien algun alguna ante antes como con contra cual cuales cuando cuanto cuanta
    cuantos cuantas de del desde donde dos el ella ellas ello ellos en entre era es esa esas
    ese eso esos esta estaba estan estar este esto estos fue fueron ha habia han hasta hay la
    las le les lo los mas me mi mis mucho muy nada ni no nos o os otra otro para pero poco por
    porque que quien quienes se sea ser si sin sobre son su sus tambien te tiene tienen todo
    todos tu tus un una unas uno unos y ya yo
    dijo dice dicho decir hablo hablaron escribio escrito menciono pregunto conto mensaje
    mensajes chat
"""
_STOP_DE = """
    aber alle als also am an auch auf aus bei bin bis da damit dann das dass dein dem den denn
    der des die dies diese diesem diesen dieser dir doch dort du durch ein eine einem einen
    einer es etwas euch fur gab gibt hab habe haben hat hatte hatten ich ihm ihn ihr im in ist
    ja jemand kann konnte mal man mein mir mit nach nicht noch nur ob oder schon sehr sein
    seine sich sie sind so uber um und uns unser vom von vor war waren wann warum was welche
    welcher welches wer wie wieso wo wir wird zu zum zur genau eigentlich
    gesagt sagte sagt geschrieben schrieb erwahnt erwahnte erzahlt erzahlte gemeint meinte
    meint gefragt fragte nachricht nachrichten
"""
STOP_WORDS = frozenset((_STOP_EN + _STOP_ES + _STOP_DE).split())

WORD = re.compile(r"[^\W_]+")
_CLAUSE_END = re.compile(r"[.?!;:]")
_K = TypeVar("_K")


def _fold_char(char: str) -> str:
    if char in "’‘":
        return "'"
    base = unicodedata.normalize("NFKD", char)[0]
    lower = base.lower()
    return lower if len(lower) == 1 else base


def fold(text: str) -> str:
    """Lower case without accents, one character for one, so spans carry over to `text`."""
    return "".join(_fold_char(char) for char in text)


def listed(phrases: str) -> list[str]:
    """The phrases of a comma-separated table cell, spaces collapsed."""
    return [" ".join(phrase.split()) for phrase in phrases.split(",") if phrase.strip()]


def by_word(table: dict[_K, str]) -> dict[str, _K]:
    """Each word of a table's space-separated cells, mapped to the cell's key."""
    return {word: key for key, words in table.items() for word in words.split()}


@dataclass(frozen=True)
class Word:
    """A word of a text, as `words` splits it."""

    text: str  # folded
    clause: int  # numbered within the text; . ? ! ; : start a new one


def words(text: str) -> list[Word]:
    """The words of `text`, folded, each with the number of its clause."""
    folded = fold(text)
    words: list[Word] = []
    clause, previous_end = 0, 0
    for match in WORD.finditer(folded):
        clause += len(_CLAUSE_END.findall(folded, previous_end, match.start()))
        words.append(Word(match.group(), clause))
        previous_end = match.end()
    return words
