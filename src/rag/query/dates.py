"""Finding the period a question names: the date words of each language and their patterns.

The first date phrase of the question (the one starting earliest; the longest of those)
gives the plan's `since` (inclusive) and `until` (exclusive), midnights in the time zone of
`now`, and is cut out of the text. Phrases are read against `now`'s date:

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

Everything here works on folded text (see `text`), so a match's span is the span of the
phrase in the question as asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from src.rag.query.text import WORD, by_word, listed

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

_YEAR = r"(?:19|20)\d\d(?!\d)"
_DAY = r"(?P<day>3[01]|[12]\d|0?[1-9])"

Modifier = Literal["in", "last", "this"]
Period = tuple[date, date]


def _alternation(phrases: Iterable[str]) -> str:
    """A regex alternation of folded phrases, longest first ("im letzten" before "im");
    a space in a phrase matches any run of spaces."""
    ordered = sorted(set(phrases), key=len, reverse=True)
    return "|".join(r"\s+".join(map(re.escape, phrase.split())) for phrase in ordered)


_MONTH_OF = by_word(_MONTHS)
_SEASON_OF = by_word(_SEASONS)
_WEEKDAY_OF = by_word(_WEEKDAYS)
_UNIT_OF = by_word(_UNITS)
_NUMBER_OF = by_word(_NUMBERS)
_LAST_WORDS = frozenset(listed(_BEFORE_LAST))
_THIS_WORDS = frozenset(listed(_BEFORE_THIS))

_LEADS = _alternation(listed(_BEFORE_LAST) + listed(_BEFORE_THIS) + listed(_BEFORE_IN))
_DAY_LEADS = _alternation(listed(_BEFORE_LAST) + listed(_BEFORE_THIS) + listed(_BEFORE_DAY))
_ARTICLE = rf"(?:(?:{_alternation(listed(_ARTICLES))})\s+|l')"
_AFTER = _alternation(listed(_AFTER_LAST))
_MONTH = _alternation(_MONTH_OF)
_ON = _alternation(listed(_BEFORE_DAY))


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
    + "|".join(f"(?P<{kind}>{_alternation(listed(text))})" for kind, text in _RELATIVE.items())
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


# --- Finding a period --------------------------------------------------------------------


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
    match = WORD.search(folded, position)
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


def find_period(folded: str, today: date) -> _Found | None:
    """The first date phrase of `folded`: the earliest start, the longest one there."""
    found = [each for finder in _FINDERS for each in finder(folded, today)]
    return min(found, key=lambda each: (each.start, -each.end), default=None)
