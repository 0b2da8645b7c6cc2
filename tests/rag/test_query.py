"""Unit tests of planning a search from a question (`src.rag.query.plan_query`).

`now` is Friday 2024-12-20, 15:00 in Europe/Madrid: the week runs from Monday 16 December,
last week from Monday 9 December; the current season is the winter begun on 1 December.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from src.rag.query import QueryPlan, plan_query, question_form

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2024, 12, 20, 15, 0, tzinfo=MADRID)
PEOPLE = ["Ana Souza", "Ben", "Mum", "Jürgen Müller", "Javi", "Lena", "Jonas"]


def plan(
    question: str,
    previous: str | None = None,
    participants: list[str] = PEOPLE,  # noqa: B006 - never mutated
    now: datetime = NOW,
) -> QueryPlan:
    return plan_query(question, participants=participants, now=now, previous=previous)


def day(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=MADRID)


def days(year: int, month: int, first: int, count: int = 1) -> tuple[datetime, datetime]:
    start = day(year, month, first)
    return start, start + timedelta(days=count)


def month(year: int, number: int, count: int = 1) -> tuple[datetime, datetime]:
    index = year * 12 + number - 1 + count
    return day(year, number, 1), day(index // 12, index % 12 + 1, 1)


def year(number: int) -> tuple[datetime, datetime]:
    return day(number, 1, 1), day(number + 1, 1, 1)


def period(question: str, now: datetime = NOW) -> tuple[datetime | None, datetime | None]:
    result = plan(question, now=now)
    return result.since, result.until


# --- Dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # month names, with and without a year, in each language
        ("What happened in March?", month(2024, 3)),
        ("What happened last March?", month(2024, 3)),
        ("What happened in March 2023?", month(2023, 3)),
        ("What happened in Mar 2023?", month(2023, 3)),
        ("What happened in March of 2023?", month(2023, 3)),
        ("What happened in December?", month(2024, 12)),
        ("¿Qué pasó en marzo?", month(2024, 3)),
        ("¿Qué pasó el marzo pasado?", month(2024, 3)),
        ("¿Qué pasó en marzo de 2023?", month(2023, 3)),
        ("¿Qué pasó en dic 2022?", month(2022, 12)),
        ("Was war im März?", month(2024, 3)),
        ("Was war letzten März?", month(2024, 3)),
        ("Was war im März 2023?", month(2023, 3)),
        ("Was war im Okt 2023?", month(2023, 10)),
        ("Qu'est-ce qui s'est passé en mars?", month(2024, 3)),
        ("Cosa è successo a marzo scorso?", month(2024, 3)),
        # years
        ("What happened in 2023?", year(2023)),
        ("¿Qué pasó en 2023?", year(2023)),
        ("Was war im Jahr 2023?", year(2023)),
        ("What did we do last year?", year(2023)),
        ("¿Qué hicimos el año pasado?", year(2023)),
        ("Was haben wir letztes Jahr gemacht?", year(2023)),
        ("What did we do this year?", year(2024)),
        ("¿Qué hicimos este año?", year(2024)),
        ("Was haben wir dieses Jahr gemacht?", year(2024)),
        # yesterday, today
        ("What did we eat yesterday?", days(2024, 12, 19)),
        ("¿Qué comimos ayer?", days(2024, 12, 19)),
        ("Was haben wir gestern gegessen?", days(2024, 12, 19)),
        ("What did we eat today?", days(2024, 12, 20)),
        ("¿Qué comimos hoy?", days(2024, 12, 20)),
        ("Was haben wir heute gegessen?", days(2024, 12, 20)),
        ("What did we eat the day before yesterday?", days(2024, 12, 18)),
        ("Was haben wir vorgestern gegessen?", days(2024, 12, 18)),
        # weeks and months
        ("What did we plan last week?", days(2024, 12, 9, 7)),
        ("¿Qué planeamos la semana pasada?", days(2024, 12, 9, 7)),
        ("Was haben wir letzte Woche geplant?", days(2024, 12, 9, 7)),
        ("What did we plan this week?", days(2024, 12, 16, 7)),
        ("¿Qué planeamos esta semana?", days(2024, 12, 16, 7)),
        ("Was haben wir diese Woche geplant?", days(2024, 12, 16, 7)),
        ("What did we plan last month?", month(2024, 11)),
        ("¿Qué planeamos el mes pasado?", month(2024, 11)),
        ("Was haben wir letzten Monat geplant?", month(2024, 11)),
        ("What did we plan this month?", month(2024, 12)),
        ("¿Qué planeamos este mes?", month(2024, 12)),
        ("Was haben wir diesen Monat geplant?", month(2024, 12)),
        # N days / weeks / months / years ago: that day, week, month, year
        ("What did Ben say 3 days ago?", days(2024, 12, 17)),
        ("What did Ben say two weeks ago?", days(2024, 12, 2, 7)),
        ("What did Ben say a month ago?", month(2024, 11)),
        ("What did Ben say a year ago?", year(2023)),
        ("¿Qué dijo Ben hace 3 días?", days(2024, 12, 17)),
        ("¿Qué dijo Ben hace una semana?", days(2024, 12, 9, 7)),
        ("¿Qué dijo Ben hace dos meses?", month(2024, 10)),
        ("Was hat Ben vor 3 Tagen gesagt?", days(2024, 12, 17)),
        ("Was hat Ben vor zwei Wochen gesagt?", days(2024, 12, 2, 7)),
        ("Was hat Ben vor einem Monat gesagt?", month(2024, 11)),
        ("Qu'a dit Ben il y a 3 jours?", days(2024, 12, 17)),
        # seasons: the latest one not starting after now; "last" is the latest one ended
        ("Where did we go last summer?", month(2024, 6, 3)),
        ("Where did we go in spring?", month(2024, 3, 3)),
        ("Where did we go in the fall?", month(2024, 9, 3)),
        ("Where did we go in winter?", month(2024, 12, 3)),
        ("Where did we go last winter?", month(2023, 12, 3)),
        ("Where did we go in the summer of 2023?", month(2023, 6, 3)),
        ("¿Adónde fuimos en verano?", month(2024, 6, 3)),
        ("¿Adónde fuimos el verano pasado?", month(2024, 6, 3)),
        ("¿Adónde fuimos en otoño?", month(2024, 9, 3)),
        ("Wohin sind wir im Sommer gefahren?", month(2024, 6, 3)),
        ("Wohin sind wir letzten Sommer gefahren?", month(2024, 6, 3)),
        ("Wohin sind wir im Frühling gefahren?", month(2024, 3, 3)),
        # the start of the year
        ("What did we decide at the start of the year?", month(2024, 1, 3)),
        ("What did we decide at the beginning of the year?", month(2024, 1, 3)),
        ("¿Qué decidimos a principios de año?", month(2024, 1, 3)),
        ("Was haben wir Anfang des Jahres beschlossen?", month(2024, 1, 3)),
        # weekdays: the latest such day on or before today
        ("What did Ben say on Tuesday?", days(2024, 12, 17)),
        ("What did Ben say on Friday?", days(2024, 12, 20)),
        ("What did Ben say last Friday?", days(2024, 12, 13)),
        ("¿Qué dijo Ben el martes?", days(2024, 12, 17)),
        ("¿Qué dijo Ben el sábado pasado?", days(2024, 12, 14)),
        ("Was hat Ben am Dienstag gesagt?", days(2024, 12, 17)),
        ("Was hat Ben letzten Sonntag gesagt?", days(2024, 12, 15)),
        # explicit dates; without a year, the latest on or before today
        ("What happened on 14 March?", days(2024, 3, 14)),
        ("What happened on the 14th of March?", days(2024, 3, 14)),
        ("What happened March 14?", days(2024, 3, 14)),
        ("What happened on March 14th, 2023?", days(2023, 3, 14)),
        ("What happened on December 25?", days(2023, 12, 25)),
        ("What happened May 3rd?", days(2024, 5, 3)),
        ("¿Qué pasó el 14 de marzo?", days(2024, 3, 14)),
        ("¿Qué pasó el 14 de marzo de 2023?", days(2023, 3, 14)),
        ("Was war am 14. März?", days(2024, 3, 14)),
        ("Was war am 14. März 2023?", days(2023, 3, 14)),
        ("What happened on 2024-03-14?", days(2024, 3, 14)),
        ("What happened on 29 Feb?", days(2024, 2, 29)),
    ],
)
def test_date_phrases(question: str, expected: tuple[datetime, datetime]) -> None:
    assert period(question) == expected


def test_periods_are_aware_midnights_in_the_zone_of_now() -> None:
    result = plan("What happened last week?")
    assert result.since is not None
    assert result.until is not None
    assert result.since.tzinfo is MADRID
    assert (result.since.hour, result.since.minute) == (0, 0)
    # Midnight in Madrid, not in UTC.
    assert result.since.utcoffset() == timedelta(hours=1)


def test_month_without_year_is_the_latest_not_starting_after_now() -> None:
    february = datetime(2024, 2, 10, 12, 0, tzinfo=MADRID)
    assert period("in March", now=february) == month(2023, 3)
    assert period("in February", now=february) == month(2024, 2)
    assert period("this March", now=february) == month(2024, 3)


def test_last_means_the_previous_one_when_now_falls_inside_it() -> None:
    assert period("What did we do last December?") == month(2023, 12)
    july = datetime(2024, 7, 15, 9, 0, tzinfo=MADRID)
    assert period("last summer", now=july) == month(2023, 6, 3)
    assert period("this summer", now=july) == month(2024, 6, 3)
    assert period("in summer", now=july) == month(2024, 6, 3)


def test_this_winter_in_january_is_the_one_running() -> None:
    january = datetime(2025, 1, 10, 9, 0, tzinfo=MADRID)
    assert period("this winter", now=january) == month(2024, 12, 3)


def test_date_phrase_is_cut_out_of_the_text() -> None:
    assert plan("What did Ana say about the trip last summer?").text == (
        "What did Ana say about the trip?"
    )
    assert plan("¿Qué dijo Ana el martes sobre la cena?").text == "¿Qué dijo Ana sobre la cena?"
    assert plan("Was hat Ana im März 2023 gesagt?").text == "Was hat Ana gesagt?"
    assert plan("Yesterday, what did Ben say?").text == "what did Ben say?"
    assert plan("¿Ayer qué dijo Ben?").text == "¿qué dijo Ben?"
    assert plan("What did today's messages say?").text == "What did messages say?"


def test_only_the_first_date_phrase_counts() -> None:
    result = plan("What did we say yesterday about last March?")
    assert (result.since, result.until) == days(2024, 12, 19)
    assert result.text == "What did we say about last March?"
    assert period("¿Qué pasó en marzo o en abril?") == month(2024, 3)


@pytest.mark.parametrize(
    "question",
    [
        "We meet at 7:15 at the station",
        "Who paid the 1,200 euros?",
        "We paid 1.200 for the flat",
        "How old are the 3 kids?",
        "Did 1,200 days ago really happen?",
        "May I ask what the plan is?",
        "This may be silly, but who is coming?",
        "What are we doing next May?",
        "¿Nos bañamos en el mar?",
        "Is the summer house free?",
        "What did Domingo bring?",
        "Is Jan's car in the garage?",
        "What happened on 31 February?",
        "2023-02-30",
    ],
)
def test_non_dates(question: str) -> None:
    result = plan(question)
    assert (result.since, result.until) == (None, None)
    assert result.text == question


def test_may_is_a_month_after_a_preposition_or_beside_a_number() -> None:
    assert period("What did Ana say in May?") == month(2024, 5)
    assert period("What did Ana say last May?") == month(2024, 5)
    assert period("What did Ana say on May 3rd?") == days(2024, 5, 3)
    assert period("What did Ana say in May 2023?") == month(2023, 5)
    assert plan("May I ask what Ana said in May?").text == "May I ask what Ana said?"


def test_numbers_next_to_a_date_stay_out_of_it() -> None:
    result = plan("We paid 1,200 euros in 2023 for 3 nights")
    assert (result.since, result.until) == year(2023)
    assert result.text == "We paid 1,200 euros for 3 nights"


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        plan("What happened yesterday?", now=datetime(2024, 12, 20, 15, 0))


# --- Senders and mentions ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "senders"),
    [
        ("What did Ana say about the trip?", ["Ana Souza"]),
        ("Did Ben mention the car?", ["Ben"]),
        ("Has Ben ever mentioned the car?", ["Ben"]),
        ("What Ana wrote about the car", ["Ana Souza"]),
        ("What does Jonas think about the flat?", ["Jonas"]),
        ("What is Ana saying about the hotel?", ["Ana Souza"]),
        ("Show me the messages from Ana", ["Ana Souza"]),
        ("According to Ana, when is dinner?", ["Ana Souza"]),
        ("What did Ben promise?", ["Ben"]),
        ("What did Ben tell Ana about the party?", ["Ben"]),
        ("What did Ana and Ben say about the hotel?", ["Ana Souza", "Ben"]),
        ("¿Qué dijo Ana sobre el viaje?", ["Ana Souza"]),
        ("¿Qué escribió Javi del coche?", ["Javi"]),
        ("¿Qué le dijo Ana a Ben?", ["Ana Souza"]),
        ("¿Ana dijo algo del coche?", ["Ana Souza"]),
        ("¿Qué ha dicho Lena?", ["Lena"]),
        ("Busca los mensajes de Ana", ["Ana Souza"]),
        ("Según Ana, ¿cuándo es la cena?", ["Ana Souza"]),
        ("Was hat Ana über den Urlaub gesagt?", ["Ana Souza"]),
        ("Was hat Ana über die Wohnung geschrieben?", ["Ana Souza"]),
        ("Was meinte Jonas dazu?", ["Jonas"]),
        ("Hat Lena erwähnt, wann sie kommt?", ["Lena"]),
        ("Ana hat mir gesagt, dass sie kommt. Wann?", ["Ana Souza"]),
        ("Zeig mir die Nachrichten von Lena", ["Lena"]),
        ("Qu'a dit Ben du restaurant?", ["Ben"]),
    ],
)
def test_senders_when_the_question_asks_what_someone_said(
    question: str, senders: list[str]
) -> None:
    assert plan(question).senders == senders


@pytest.mark.parametrize(
    ("question", "mentions"),
    [
        ("When is Ana's birthday?", ["Ana Souza"]),
        ("Who is picking up Ben?", ["Ben"]),
        ("Who told Ana about the party?", ["Ana Souza"]),
        ("Did Ana go to the cinema with Jonas?", ["Ana Souza", "Jonas"]),
        ("¿Cuándo es el cumpleaños de Ana?", ["Ana Souza"]),
        ("¿Quién invitó a Ana a la fiesta?", ["Ana Souza"]),
        ("Wann hat Ana Geburtstag?", ["Ana Souza"]),
        ("Wer holt Ben ab?", ["Ben"]),
    ],
)
def test_names_merely_mentioned_are_not_senders(question: str, mentions: list[str]) -> None:
    result = plan(question)
    assert result.senders is None
    assert result.mentions == mentions


def test_a_name_with_a_date_phrase_around_it() -> None:
    result = plan("¿Qué dijo ayer Ana?")
    assert result.senders == ["Ana Souza"]
    assert (result.since, result.until) == days(2024, 12, 19)


def test_senders_are_also_mentions_in_order_of_appearance() -> None:
    result = plan("What did Ben tell Ana and Mum about the party?")
    assert result.senders == ["Ben"]
    assert result.mentions == ["Ben", "Ana Souza", "Mum"]


def test_names_ignore_case_and_accents() -> None:
    assert plan("What did jurgen say?").senders == ["Jürgen Müller"]
    assert plan("What did JÜRGEN MÜLLER say?").senders == ["Jürgen Müller"]
    assert plan("Was hat Muller gesagt?").senders == ["Jürgen Müller"]
    people = ["Jurgen", "Ana"]
    assert plan("Was hat Jürgen gesagt?", participants=people).senders == ["Jurgen"]


def test_one_word_of_a_name_must_be_unique_and_three_letters_long() -> None:
    people = ["Ana Souza", "Ana Lima", "Jo Li"]
    result = plan("What did Ana say about Souza's car?", participants=people)
    assert result.senders is None  # "Ana" fits two participants
    assert result.mentions == ["Ana Souza"]
    assert plan("What did Jo say?", participants=people).mentions == []
    assert plan("What did Ana Lima say?", participants=people).senders == ["Ana Lima"]


def test_a_full_name_wins_over_a_word_of_a_longer_one() -> None:
    people = ["Ana", "Ana Souza"]
    assert plan("What did Ana say?", participants=people).senders == ["Ana"]
    assert plan("What did Ana Souza say?", participants=people).senders == ["Ana Souza"]


def test_possessives() -> None:
    assert plan("What are Ana's plans?").mentions == ["Ana Souza"]
    assert plan("What are Ana’s plans?").senders is None
    assert plan("What do Ana's messages say about the car?").senders == ["Ana Souza"]


@pytest.mark.parametrize(
    "question",
    [
        "What did my mother say about dinner?",
        "What did Mom say about dinner?",
        "¿Qué dijo mamá de la cena?",
        "¿Qué dijo mi madre de la cena?",
        "Was hat Mutti zum Essen gesagt?",
        "Was hat Mama zum Essen gesagt?",
    ],
)
def test_family_words_name_the_participant_named_so(question: str) -> None:
    result = plan(question)
    assert result.senders == ["Mum"]
    assert result.mentions == ["Mum"]


def test_family_words_name_no_one_without_such_a_participant() -> None:
    result = plan("What did my mother say about dinner?", participants=["Ana Souza", "Ben"])
    assert (result.senders, result.mentions) == (None, [])
    both = ["Mum", "Mamá"]
    result = plan("What did my mother say about dinner?", participants=both)
    assert (result.senders, result.mentions) == (None, [])  # two mothers: ambiguous
    assert plan("¿Qué dijo mamá?", participants=both).senders == ["Mamá"]  # full name wins


# --- Follow-ups --------------------------------------------------------------------------

PREVIOUS = "What did Ana say about the trip to Lisbon in March?"


def test_follow_up_with_a_connective_inherits_sender_and_dates() -> None:
    result = plan("And what did she think of the hotel and the beaches there?", previous=PREVIOUS)
    assert result.text == (
        "What did Ana say about the trip to Lisbon? "
        "And what did she think of the hotel and the beaches there?"
    )
    assert result.senders == ["Ana Souza"]
    assert (result.since, result.until) == month(2024, 3)
    assert result.mentions == ["Ana Souza"]


@pytest.mark.parametrize(
    ("previous", "question", "text"),
    [
        # two content words at most
        (
            PREVIOUS,
            "Who paid for it?",
            "What did Ana say about the trip to Lisbon? Who paid for it?",
        ),
        # a connective
        (
            PREVIOUS,
            "Also, how expensive were the flights and the rental car?",
            "What did Ana say about the trip to Lisbon? "
            "Also, how expensive were the flights and the rental car?",
        ),
        (
            PREVIOUS,
            "What about the hotel near the old castle?",
            "What did Ana say about the trip to Lisbon? What about the hotel near the old castle?",
        ),
        # a pronoun and three content words
        (
            PREVIOUS,
            "Why was it cancelled at the last minute?",
            "What did Ana say about the trip to Lisbon? Why was it cancelled at the last minute?",
        ),
        (
            "¿Qué dijo Ana del viaje a Lisboa en marzo?",
            "¿Cuánto costó eso?",
            "¿Qué dijo Ana del viaje a Lisboa? ¿Cuánto costó eso?",
        ),
        (
            "¿Qué dijo Ana del viaje a Lisboa en marzo?",
            "¿Y qué hotel reservamos al final del todo?",
            "¿Qué dijo Ana del viaje a Lisboa? ¿Y qué hotel reservamos al final del todo?",
        ),
        (
            "Was hat Ana im März über die Reise nach Lissabon gesagt?",
            "Wer hat das bezahlt?",
            "Was hat Ana über die Reise nach Lissabon gesagt? Wer hat das bezahlt?",
        ),
        (
            "Was hat Ana im März über die Reise nach Lissabon gesagt?",
            "Und welches Hotel hatten wir am Ende gebucht?",
            "Was hat Ana über die Reise nach Lissabon gesagt? "
            "Und welches Hotel hatten wir am Ende gebucht?",
        ),
        (
            "Was hat Ana im März über die Reise nach Lissabon gesagt?",
            "Warum wurde es kurzfristig abgesagt?",
            "Was hat Ana über die Reise nach Lissabon gesagt? Warum wurde es kurzfristig abgesagt?",
        ),
    ],
)
def test_follow_ups_inherit_sender_and_dates(previous: str, question: str, text: str) -> None:
    result = plan(question, previous=previous)
    assert result.text == text
    assert result.senders == ["Ana Souza"]
    assert (result.since, result.until) == month(2024, 3)


def test_follow_up_keeps_its_own_filters() -> None:
    result = plan("And did Ben mention the hotel in May?", previous=PREVIOUS)
    assert result.text == (
        "What did Ana say about the trip to Lisbon? And did Ben mention the hotel?"
    )
    assert result.senders == ["Ben"]
    assert (result.since, result.until) == month(2024, 5)
    assert result.mentions == ["Ana Souza", "Ben"]


def test_follow_up_of_only_a_date_phrase() -> None:
    result = plan("What about last summer?", previous=PREVIOUS)
    assert result.text == "What did Ana say about the trip to Lisbon? What about?"
    assert result.senders == ["Ana Souza"]
    assert (result.since, result.until) == month(2024, 6, 3)


@pytest.mark.parametrize(
    ("previous", "question", "senders"),
    [
        (PREVIOUS, "And Ben?", ["Ben"]),
        ("¿Qué dijo Ana del viaje?", "¿Y Javi?", ["Javi"]),
        ("Was hat Lena über den Urlaub gesagt?", "Und Jonas?", ["Jonas"]),
        ("When is the party?", "And Ben?", None),  # nobody's words were asked about
    ],
)
def test_a_follow_up_of_only_names_asks_about_them(
    previous: str, question: str, senders: list[str] | None
) -> None:
    assert plan(question, previous=previous).senders == senders


def test_a_new_question_ignores_the_previous_one() -> None:
    question = "Which restaurant did Ben recommend near the hotel in Porto?"
    result = plan(question, previous=PREVIOUS)
    assert result.text == question
    assert result.senders == ["Ben"]
    assert (result.since, result.until) == (None, None)
    assert result.mentions == ["Ben"]


def test_a_pronoun_with_four_content_words_is_a_new_question() -> None:
    question = "Why was it cancelled at the last minute by the airline?"
    assert plan(question, previous=PREVIOUS).text == question


def test_a_determiner_is_not_a_pronoun_referring_back() -> None:
    question = "Did that restaurant near the station close?"
    assert plan(question, previous=PREVIOUS).text == question
    question = "Wann kommt das Paket von Amazon?"
    assert plan(question, previous=PREVIOUS).text == question
    question = "¿Cuál es el restaurante favorito de Ana?"
    assert plan(question, previous=PREVIOUS).text == question


def test_no_previous_means_no_follow_up() -> None:
    assert plan("And Ben?").text == "And Ben?"
    assert plan("And Ben?", previous="  ").senders is None


# --- Nothing to extract ------------------------------------------------------------------


def test_a_question_with_nothing_to_extract() -> None:
    question = "Where is the cheapest pizza place near the station?"
    assert plan(question) == QueryPlan(
        text=question, senders=None, since=None, until=None, mentions=[], full_text=question
    )
    assert plan("  ", participants=[]) == QueryPlan(
        text="  ", senders=None, since=None, until=None, mentions=[], full_text="  "
    )


def test_the_full_text_keeps_the_date_phrase() -> None:
    question = "Where do we eat on 25 December?"
    planned = plan(question)
    assert planned.since is not None
    assert planned.text == "Where do we eat?"
    assert planned.full_text == question
    follow = plan("and last Sunday?", previous="Where did we eat in March?")
    assert follow.full_text == "Where did we eat in March? and last Sunday?"


def test_a_bare_keyword_is_no_follow_up() -> None:
    previous = "When did we postpone the trip to Lisbon?"
    assert plan("ZX-4417", previous=previous).text == "ZX-4417"
    assert plan("sofa price", previous=previous).text == "sofa price"
    assert plan("the price?", previous=previous).text == f"{previous} the price?"


def test_a_question_with_two_words_of_its_own_is_no_follow_up() -> None:
    question = "When are we travelling to Portugal?"
    assert plan(question, previous="ZX-4417").text == question
    assert plan("what time does it leave?", previous="Is Tom flying in?").text == (
        "Is Tom flying in? what time does it leave?"
    )


# --- The form of a question ------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "participants", "form"),
    [
        ("What time does Jess's train get in?", ["Jess", "Mum"], "What does Jess ' s get in ?"),
        ("How much was the new sofa?", [], "How was the ?"),
        (
            "¿Qué le dijo el dentista a papá de la muela?",
            ["Papá"],
            "¿ Qué le dijo el a papá de la ?",
        ),
        ("Was hat Oma über die Miete geschrieben?", ["Oma"], "Was hat Oma über die geschrieben ?"),
        # Only participants' names are form: another name is a topic.
        ("Did Ana meet Lisbon Tom?", ["Ana"], "Did Ana ?"),
        ("ZX-4417", [], "-"),
        ("sofa price", [], ""),
    ],
)
def test_the_form_is_the_question_without_its_topic(
    question: str, participants: list[str], form: str
) -> None:
    assert question_form(question, participants) == form
