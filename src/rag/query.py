"""Planning a search from a question: the words to look for, whose messages, and from when.

`plan_query` reads questions in English, Spanish and German, and the commonest phrases of
Portuguese, French and Italian. The language is not given: the patterns of all of them are
tried at once (they rarely collide).

Matching works on a folded copy of the text: lower case, accents dropped one character for
one ("März" reads "marz", "Jürgen" reads "jurgen"), so a match's span is also the span of the
original words. The word tables below are written folded.

Dates. The first date phrase of the question (the one starting earliest; the longest of those)
gives `since` (inclusive) and `until` (exclusive), midnights in the time zone of `now`, and is
cut out of the text. Phrases are read against `now`'s date:

- A month, season or weekday without a year is the latest one that does not start after
  today; "this March" is the current year's; with "last" ("letzten", "pasado", "dernier"...)
  it is the latest one that has ended, so "last December" said in December is a year ago.
- Weeks run Monday to Monday. Seasons are meteorological, northern hemisphere (spring is
  March to May, winter December to February); "summer 2023" starts in June 2023. "The start
  of the year" is January to March.
- "N days / weeks / months / years ago" is that day, the week containing that day, that
  calendar month, that calendar year. A day and month without a year ("14 March") is the
  latest such date on or before today.
- A month or season name counts only with a word that makes it one: a preposition or
  "last"/"this" before it ("in May", "letzten März", "en verano"), "pasado"-like after it, a
  year, or a day number beside it; a weekday needs "on"/"el"/"am"/"last"... or "pasado".
  So "May I ask", "next May" (plans, not when messages were sent), "en el mar" and the name
  "Domingo" are no dates. Numbers count only as a year after a preposition, as a day beside
  a month name, as an ISO date, or before a unit with "ago" ("7:15", "1,200" and "3 kids"
  are no dates).

Names. A participant is named by their full name, or by one word (3+ letters, not a stop word)
of a multi-word name that no other participant shares ("Ana" for "Ana Souza"), ignoring case
and accents; a full name wins over a word of a longer one ("Ana" is "Ana" when both "Ana"
and "Ana Souza" take part). A family word ("mother", "Mutti", "mamá") names the participant
whose name is a family word of the same kind ("Mum"). A name that fits two participants
names neither. Every named participant is a mention; those the question asks what they said
(wrote, sent, mentioned...) are also the senders: the name is the subject of a speech verb
("did Ana say", "Ana wrote", "dijo Ana", "hat Ana ... gesagt", "meinte Jonas") or comes after
"messages from", "according to", "mensajes de", "según", "Nachrichten von", "laut". Names
joined by "and"/"y"/"und" share their verb. A possessive ("Ana's birthday") is not a speaker.

Follow-ups. With a `previous` question, a question reads as a follow-up when it starts with a
connective ("and", "what about", "y", "und", "e", "et"), is a question (a question mark)
of at most two content words (a bare keyword or two is a search of its own), or
refers back with a pronoun ("it", "that", "eso", "das", "dort"...) and has at most three
content words. Its text is then the previous question's followed by its own (both without
their date phrase); without a date of its own it takes the previous one's; without senders of
its own it takes the previous one's senders, unless it is nothing but names ("And Ben?",
"¿Y Ana?"), which then become the senders asked about.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal, TypeVar

__all__ = ["QueryPlan", "plan_query"]


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


# --- Date words --------------------------------------------------------------------------
# Months and seasons in en, es, de, pt, fr, it, then abbreviations of en, es and de.
# Left out: abbreviations that are words elsewhere ("ago", "set", "out") and Portuguese
# "março", which folds to the name "Marco".
_MONTHS = {
    1: "january enero januar janner janeiro janvier gennaio jan ene",
    2: "february febrero februar fevereiro fevrier febbraio feb",
    3: "march marzo marz maerz mars mar",
    4: "april abril avril aprile apr abr",
    5: "may mayo mai maio maggio",
    6: "june junio juni junho juin giugno jun",
    7: "july julio juli julho juillet luglio jul",
    8: "august agosto aout aug",
    9: "september septiembre setiembre setembro septembre settembre sep sept",
    10: "october octubre oktober outubro octobre ottobre oct okt",
    11: "november noviembre novembro novembre nov",
    12: "december diciembre dezember dezembro decembre dicembre dec dic dez",
}
# Keyed by the month each season starts in. Italian "estate" is left out (an English word).
_SEASONS = {
    3: "spring primavera fruhling fruhjahr printemps",
    6: "summer verano sommer verao ete",
    9: "autumn fall otono herbst outono automne autunno",
    12: "winter invierno inverno hiver",
}
_WEEKDAYS = {
    0: "monday lunes montag lundi lunedi",
    1: "tuesday martes dienstag mardi martedi",
    2: "wednesday miercoles mittwoch mercredi mercoledi",
    3: "thursday jueves donnerstag jeudi giovedi",
    4: "friday viernes freitag vendredi venerdi",
    5: "saturday sabado samstag sonnabend samedi sabato",
    6: "sunday domingo sonntag dimanche domenica",
}
# Words before a month, season or weekday, by what they make of it.
_BEFORE_LAST = (
    "last, past, letzten, letztem, letzter, letzte, vergangenen, vergangenem, vergangener, "
    "vergangene, im letzten, im vergangenen, el pasado"
)
_BEFORE_THIS = (
    "this, este, esta, diesen, diesem, dieser, diese, in diesem, questo, questa, ce, cet, cette"
)
_BEFORE_IN = "in, im, during, en, durante, em, au, nel"
_BEFORE_DAY = "on, am, el, le, il"  # "on Tuesday", "am Dienstag", "el martes"
_AFTER_LAST = "pasado, pasada, passado, passada, dernier, derniere, scorso, scorsa"
_ARTICLES = "the, el, la, le, lo, il, o"
# Words after "may" that make it the verb even after "this"/"in" ("this may be wrong").
_AFTER_MODAL_MAY = frozenset(
    "be have not need want take come go also well i we you he she they".split()
)

# Fixed phrases, by the period they name.
_RELATIVE = {
    "today": "today, hoy, heute, hoje, oggi, aujourd'hui",
    "yesterday": "yesterday, ayer, gestern, ontem, ieri",
    "day_before_yesterday": (
        "the day before yesterday, anteayer, antier, antes de ayer, vorgestern, anteontem, "
        "avant-hier, l'altro ieri"
    ),
    "this_week": (
        "this week, esta semana, diese woche, in dieser woche, cette semaine, questa settimana"
    ),
    "last_week": (
        "last week, la semana pasada, letzte woche, vergangene woche, in der letzten woche, "
        "in der vergangenen woche, la semaine derniere, la settimana scorsa, a semana passada, "
        "na semana passada"
    ),
    "this_month": "this month, este mes, diesen monat, in diesem monat, ce mois-ci, questo mese",
    "last_month": (
        "last month, el mes pasado, letzten monat, im letzten monat, vergangenen monat, "
        "im vergangenen monat, le mois dernier, il mese scorso, o mes passado, no mes passado"
    ),
    "this_year": "this year, este ano, dieses jahr, in diesem jahr, cette annee, quest'anno",
    "last_year": (
        "last year, el ano pasado, letztes jahr, im letzten jahr, vergangenes jahr, "
        "im vergangenen jahr, l'annee derniere, l'anno scorso, o ano passado, no ano passado"
    ),
    "start_of_year": (
        "at the start of the year, at the beginning of the year, at the start of this year, "
        "at the beginning of this year, early this year, a principios de ano, "
        "a principios del ano, a principios de este ano, al principio del ano, "
        "a comienzos de ano, a comienzos del ano, anfang des jahres, am anfang des jahres, "
        "anfang dieses jahres, zu jahresbeginn, am jahresanfang, au debut de l'annee, "
        "all'inizio dell'anno, no inicio do ano"
    ),
}
_UNITS = {
    "day": "day days dia dias tag tage tagen jour jours giorno giorni",
    "week": "week weeks semana semanas woche wochen semaine semaines settimana settimane",
    "month": "month months mes meses monat monate monaten mois mese mesi",
    "year": "year years ano anos jahr jahre jahren an ans annee annees anno anni",
}
_NUMBERS = {
    1: "a an one un una uno ein eine einem einer eins um uma une",
    2: "two dos zwei dois duas deux due",
    3: "three tres drei trois tre",
    4: "four cuatro vier quatro quatre quattro",
    5: "five cinco funf cinq cinque",
    6: "six seis sechs sei",
    7: "seven siete sieben sete sept sette",
    8: "eight ocho acht oito huit otto",
    9: "nine nueve neun nove neuf",
    10: "ten diez zehn dez dix dieci",
}

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
_STOP_WORDS = frozenset((_STOP_EN + _STOP_ES + _STOP_DE).split())

_WORD = re.compile(r"[^\W_]+")
_CLAUSE_END = re.compile(r"[.?!;:]")
_YEAR = r"(?:19|20)\d\d(?!\d)"
_DAY = r"(?P<day>3[01]|[12]\d|0?[1-9])"

Modifier = Literal["in", "last", "this"]
Period = tuple[date, date]
_K = TypeVar("_K")


def _fold_char(char: str) -> str:
    if char in "’‘":
        return "'"
    base = unicodedata.normalize("NFKD", char)[0]
    lower = base.lower()
    return lower if len(lower) == 1 else base


def _fold(text: str) -> str:
    """Lower case without accents, one character for one, so spans carry over to `text`."""
    return "".join(_fold_char(char) for char in text)


def _listed(phrases: str) -> list[str]:
    """The phrases of a comma-separated table cell, spaces collapsed."""
    return [" ".join(phrase.split()) for phrase in phrases.split(",") if phrase.strip()]


def _by_word(table: dict[_K, str]) -> dict[str, _K]:
    return {word: key for key, words in table.items() for word in words.split()}


def _alternation(phrases: Iterable[str]) -> str:
    """A regex alternation of folded phrases, longest first ("im letzten" before "im");
    a space in a phrase matches any run of spaces."""
    ordered = sorted(set(phrases), key=len, reverse=True)
    return "|".join(r"\s+".join(map(re.escape, phrase.split())) for phrase in ordered)


_MONTH_OF = _by_word(_MONTHS)
_SEASON_OF = _by_word(_SEASONS)
_WEEKDAY_OF = _by_word(_WEEKDAYS)
_UNIT_OF = _by_word(_UNITS)
_NUMBER_OF = _by_word(_NUMBERS)
_ROLE_OF = _by_word(_FAMILY)
_LAST_WORDS = frozenset(_listed(_BEFORE_LAST))
_THIS_WORDS = frozenset(_listed(_BEFORE_THIS))
_SOURCE_BEFORE_WORDS = [phrase.split() for phrase in _listed(_SOURCE_BEFORE)]
_SOURCE_AFTER_WORDS = [phrase.split() for phrase in _listed(_SOURCE_AFTER)]

_LEADS = _alternation(_listed(_BEFORE_LAST) + _listed(_BEFORE_THIS) + _listed(_BEFORE_IN))
_DAY_LEADS = _alternation(_listed(_BEFORE_LAST) + _listed(_BEFORE_THIS) + _listed(_BEFORE_DAY))
_ARTICLE = rf"(?:(?:{_alternation(_listed(_ARTICLES))})\s+|l')"
_AFTER = _alternation(_listed(_AFTER_LAST))
_MONTH = _alternation(_MONTH_OF)
_ON = _alternation(_listed(_BEFORE_DAY))


def _named_period(names: Iterable[str], leads: str, *, with_year: bool) -> re.Pattern[str]:
    """[lead] [article] name [[of] year] [after]: "in March 2023", "el verano pasado"."""
    year = rf"(?:,?\s+(?:of\s+|de\s+|del\s+)?(?P<year>{_YEAR}))?" if with_year else ""
    return re.compile(
        rf"\b(?:(?P<lead>{leads})\s+)?(?P<article>{_ARTICLE})?(?P<name>{_alternation(names)})\b"
        rf"(?!'s){year}(?:\s+(?P<after>{_AFTER})\b)?"
    )


_MONTH_RE = _named_period(_MONTH_OF, _LEADS, with_year=True)
_SEASON_RE = _named_period(_SEASON_OF, _LEADS, with_year=True)
_WEEKDAY_RE = _named_period(_WEEKDAY_OF, _DAY_LEADS, with_year=False)
_DAY_MONTH_RES = (
    # "on 14 March", "the 14th of March", "el 14 de marzo de 2023", "am 14. März"
    re.compile(
        rf"\b(?:(?:{_ON})\s+)?(?:the\s+)?(?<![\d.,:/]){_DAY}"
        rf"(?:st|nd|rd|th|\.)?\s+(?:of\s+|de\s+)?(?P<name>{_MONTH})\b"
        rf"(?:,?\s+(?:de\s+|del\s+)?(?P<year>{_YEAR}))?"
    ),
    # "March 14", "on March 14th, 2024"
    re.compile(
        rf"\b(?:(?:{_ON})\s+)?(?P<name>{_MONTH})\s+(?:the\s+)?{_DAY}"
        rf"(?:st|nd|rd|th)?\b(?![.,:/]?\d)(?:,?\s+(?P<year>{_YEAR}))?"
    ),
)
_ISO_DATE_RE = re.compile(rf"\b(?:(?:{_ON})\s+)?(?P<year>\d{{4}})-(?P<month>\d\d)-(?P<day>\d\d)\b")
_YEAR_RE = re.compile(
    r"\b(?:in|during|en|durante|im\s+jahre?|in\s+the\s+year|en\s+el\s+ano|em|nel|en\s+l'an)"
    rf"\s+(?P<year>{_YEAR})(?![.,:/]\d)"
)
_RELATIVE_RE = re.compile(
    r"\b(?:"
    + "|".join(f"(?P<{kind}>{_alternation(_listed(text))})" for kind, text in _RELATIVE.items())
    + r")\b"
)
_NUMBER = rf"(?<![\d.,:])(?P<number>\d{{1,3}}|{_alternation(_NUMBER_OF)})"
_UNIT = rf"(?P<unit>{_alternation(_UNIT_OF)})"
_AGO_RES = tuple(
    re.compile(rf"\b{pattern}\b")
    for pattern in (
        rf"{_NUMBER}\s+{_UNIT}\s+(?:ago|atras|fa)",  # en, pt, it
        rf"(?:hace|vor|ha|il\s+y\s+a)\s+{_NUMBER}\s+{_UNIT}",  # es, de, pt, fr
    )
)


# --- Dates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    start: int
    end: int
    period: Period


def _day(day: date) -> Period:
    return day, day + timedelta(days=1)


def _week_of(day: date) -> Period:
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=7)


def _add_months(first: date, months: int) -> date:
    """The 1st of the month `months` after the month of `first` (negative: before)."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _months(first: date, months: int) -> Period:
    return first, _add_months(first, months)


def _year(year: int) -> Period:
    return date(year, 1, 1), date(year + 1, 1, 1)


def _latest(first_month: int, months: int, modifier: Modifier, today: date) -> Period:
    """The `months`-long period starting on the 1st of `first_month` that the modifier picks:
    "in" the latest not starting after today, "last" the latest that has ended, "this" the
    one of this year (or of last year while that one still runs, as winter in January)."""
    if modifier == "this":
        running = _months(date(today.year - 1, first_month, 1), months)
        return running if running[1] > today else _months(date(today.year, first_month, 1), months)
    year = today.year if date(today.year, first_month, 1) <= today else today.year - 1
    period = _months(date(year, first_month, 1), months)
    if modifier == "last" and period[1] > today:
        period = _months(date(year - 1, first_month, 1), months)
    return period


def _modifier(match: re.Match[str]) -> Modifier:
    lead = " ".join((match.group("lead") or "").split())
    if match.group("after") or lead in _LAST_WORDS:
        return "last"
    return "this" if lead in _THIS_WORDS else "in"


def _next_word(folded: str, position: int) -> str:
    match = _WORD.search(folded, position)
    return match.group() if match else ""


def _find_months(folded: str, today: date) -> Iterator[_Found]:
    for match in _MONTH_RE.finditer(folded):
        year, lead, after = match.group("year"), match.group("lead"), match.group("after")
        if not (year or after or (lead and not match.group("article"))):
            continue  # "agua de mar", "March on"
        if match.group("name") == "may" and not (year or after):
            if _next_word(folded, match.end()) in _AFTER_MODAL_MAY:
                continue  # "this may be wrong"
        month = _MONTH_OF[match.group("name")]
        if year:
            period = _months(date(int(year), month, 1), 1)
        else:
            period = _latest(month, 1, _modifier(match), today)
        yield _Found(match.start(), match.end(), period)


def _find_seasons(folded: str, today: date) -> Iterator[_Found]:
    for match in _SEASON_RE.finditer(folded):
        year = match.group("year")
        if not (year or match.group("lead") or match.group("after")):
            continue  # "the summer house"
        first_month = _SEASON_OF[match.group("name")]
        if year:
            period = _months(date(int(year), first_month, 1), 3)
        else:
            period = _latest(first_month, 3, _modifier(match), today)
        yield _Found(match.start(), match.end(), period)


def _find_weekdays(folded: str, today: date) -> Iterator[_Found]:
    """The latest such day on or before today; with "last", a week ago when it is today."""
    for match in _WEEKDAY_RE.finditer(folded):
        if not (match.group("lead") or match.group("after")):
            continue  # "Domingo" may be a name
        back = (today.weekday() - _WEEKDAY_OF[match.group("name")]) % 7
        if back == 0 and _modifier(match) == "last":
            back = 7
        yield _Found(match.start(), match.end(), _day(today - timedelta(days=back)))


def _dated_day(day: int, month: int, year: int | None, today: date) -> Period | None:
    """The day itself with a year; without one, the latest on or before today (29 February
    can be eight years back). None for a day the month does not have."""
    candidates = [year] if year else list(range(today.year, today.year - 9, -1))
    for candidate in candidates:
        try:
            found = date(candidate, month, day)
        except ValueError:
            continue
        if year or found <= today:
            return _day(found)
    return None


def _find_day_dates(folded: str, today: date) -> Iterator[_Found]:
    for pattern in _DAY_MONTH_RES:
        for match in pattern.finditer(folded):
            year = match.group("year")
            month = _MONTH_OF[match.group("name")]
            period = _dated_day(int(match.group("day")), month, int(year) if year else None, today)
            if period:
                yield _Found(match.start(), match.end(), period)


def _find_iso_dates(folded: str, today: date) -> Iterator[_Found]:
    for match in _ISO_DATE_RE.finditer(folded):
        year, month, day = (int(match.group(part)) for part in ("year", "month", "day"))
        period = _dated_day(day, month, year, today) if 1 <= month <= 12 else None
        if period:
            yield _Found(match.start(), match.end(), period)


def _find_years(folded: str, today: date) -> Iterator[_Found]:
    for match in _YEAR_RE.finditer(folded):
        yield _Found(match.start(), match.end(), _year(int(match.group("year"))))


def _relative_period(kind: str, today: date) -> Period:
    this_month = today.replace(day=1)
    match kind:
        case "today":
            return _day(today)
        case "yesterday":
            return _day(today - timedelta(days=1))
        case "day_before_yesterday":
            return _day(today - timedelta(days=2))
        case "this_week":
            return _week_of(today)
        case "last_week":
            return _week_of(today - timedelta(days=7))
        case "this_month":
            return _months(this_month, 1)
        case "last_month":
            return _months(_add_months(this_month, -1), 1)
        case "this_year":
            return _year(today.year)
        case "last_year":
            return _year(today.year - 1)
        case "start_of_year":
            return _months(date(today.year, 1, 1), 3)
    raise ValueError(f"unknown relative period {kind!r}")


def _find_relative(folded: str, today: date) -> Iterator[_Found]:
    for match in _RELATIVE_RE.finditer(folded):
        assert match.lastgroup is not None  # one named group per alternative
        yield _Found(match.start(), match.end(), _relative_period(match.lastgroup, today))


def _ago_period(count: int, unit: str, today: date) -> Period:
    match unit:
        case "day":
            return _day(today - timedelta(days=count))
        case "week":
            return _week_of(today - timedelta(weeks=count))
        case "month":
            return _months(_add_months(today.replace(day=1), -count), 1)
    return _year(today.year - count)


def _find_ago(folded: str, today: date) -> Iterator[_Found]:
    for pattern in _AGO_RES:
        for match in pattern.finditer(folded):
            number = match.group("number")
            count = int(number) if number.isdigit() else _NUMBER_OF[number]
            period = _ago_period(count, _UNIT_OF[match.group("unit")], today)
            yield _Found(match.start(), match.end(), period)


_FINDERS = (
    _find_relative,
    _find_ago,
    _find_day_dates,
    _find_iso_dates,
    _find_months,
    _find_seasons,
    _find_weekdays,
    _find_years,
)


def _find_period(folded: str, today: date) -> _Found | None:
    """The first date phrase of `folded`: the earliest start, the longest one there."""
    found = [each for finder in _FINDERS for each in finder(folded, today)]
    return min(found, key=lambda each: (each.start, -each.end), default=None)


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


# --- Names -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Word:
    text: str  # folded
    clause: int  # numbered within the text; . ? ! ; : start a new one


@dataclass(frozen=True)
class _Roster:
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


def _words(text: str) -> list[_Word]:
    folded = _fold(text)
    words: list[_Word] = []
    clause, previous_end = 0, 0
    for match in _WORD.finditer(folded):
        clause += len(_CLAUSE_END.findall(folded, previous_end, match.start()))
        words.append(_Word(match.group(), clause))
        previous_end = match.end()
    return words


def _roster(participants: Sequence[str]) -> _Roster:
    full: dict[str, set[str]] = {}
    parts: dict[str, set[str]] = {}
    roles: dict[str, set[str]] = {}
    for name in dict.fromkeys(participants):
        words = _WORD.findall(_fold(name))
        if not words:
            continue
        key = " ".join(words)
        full.setdefault(key, set()).add(name)
        if key in _ROLE_OF:
            roles.setdefault(_ROLE_OF[key], set()).add(name)
        if len(words) > 1:
            for word in words:
                if len(word) >= 3 and word not in _STOP_WORDS:
                    parts.setdefault(word, set()).add(name)
    return _Roster(
        full={key: frozenset(names) for key, names in full.items()},
        parts={key: frozenset(names) for key, names in parts.items()},
        roles={key: frozenset(names) for key, names in roles.items()},
        longest=max((len(key.split()) for key in full), default=0),
    )


def _name_at(roster: _Roster, words: list[str], index: int) -> _Hit | None:
    """The name starting at `words[index]`: the longest full name, else one word of a name,
    else a family word."""
    for size in range(min(roster.longest, len(words) - index), 0, -1):
        names = roster.full.get(" ".join(words[index : index + size]))
        if names:
            return _Hit(index, index + size, names)
    word = words[index]
    names = roster.parts.get(word) or roster.roles.get(_ROLE_OF.get(word, ""))
    return _Hit(index, index + 1, names) if names else None


def _find_names(roster: _Roster, words: list[str]) -> list[_Hit]:
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


def _groups(hits: list[_Hit], words: list[str]) -> list[list[_Hit]]:
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


def _said_with_auxiliary(words: list[_Word], first: int, last: int) -> bool:
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


def _is_speaker(words: list[_Word], first: int, last: int) -> bool:
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


# --- Follow-ups --------------------------------------------------------------------------


def _refers_back(words: list[_Word], index: int) -> bool:
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
        and following.text not in _STOP_WORDS
    ):
        return False
    if word == "es":
        return index > 0 and words[index - 1].text not in _QUESTION_WORDS_ES
    return True


def _reads_as_follow_up(words: list[_Word], asked: bool) -> bool:
    """`asked`: the text is a question (it has a question mark); a bare keyword or two
    ("ZX-4417", "sofa price") is a search of its own, not a follow-up."""
    texts = [word.text for word in words]
    if texts[:1] and (texts[0] in _CONNECTIVES or " ".join(texts[:2]) in _CONNECTIVES):
        return True
    content = _content_words(texts)
    if len(content) <= 2 and asked:
        return True
    return len(content) <= 3 and any(_refers_back(words, index) for index in range(len(words)))


def _content_words(words: Iterable[str]) -> list[str]:
    return [word for word in words if word not in _STOP_WORDS and (len(word) > 1 or word.isdigit())]


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


def _read(question: str, roster: _Roster, now: datetime) -> _Reading:
    found = _find_period(_fold(question), now.date())
    text = question if found is None else _cut(question, found.start, found.end)
    period = None
    if found:
        first, end = found.period
        period = (_midnight(first, now), _midnight(end, now))
    words = _words(text)
    texts = [word.text for word in words]
    hits = _find_names(roster, texts)
    senders = [
        name
        for group in _groups(hits, texts)
        if _is_speaker(words, group[0].first, group[-1].last)
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
    question, used when this one reads as a follow-up of it. See the module docstring for
    the phrases understood. Raises ValueError when `now` is naive.
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
