"""WhatsApp header layouts, and the date order decided from every header of a file."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from src.chats.parsers import (
    ChatFormat,
    DateOrder,
    DateOrderSource,
    MalformedExport,
    MessageKind,
    ParsedChat,
    parse_export,
)
from src.chats.parsers.whatsapp import title_from_filename

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus" / "chat-miner"
DMY, MDY, YMD, YDM = DateOrder.DMY, DateOrder.MDY, DateOrder.YMD, DateOrder.YDM
DATES, CHRONOLOGY = DateOrderSource.DATES, DateOrderSource.CHRONOLOGY
DEFAULT, REQUESTED = DateOrderSource.DEFAULT, DateOrderSource.REQUESTED


def parse_text(text: str, date_order: DateOrder | None = None) -> ParsedChat:
    return parse_export(text.encode("utf-8"), tz="UTC", date_order=date_order)


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


def stamps(chat: ParsedChat) -> list[datetime]:
    return [m.sent_at for m in chat.messages]


# --- one header of each layout --------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "sent_at", "order"),
    [
        ("25/03/21, 14:05 - ", utc(2021, 3, 25, 14, 5), DMY),
        ("25/03/2021 14:05 - ", utc(2021, 3, 25, 14, 5), DMY),
        ("3/25/21, 2:05\u202fPM - ", utc(2021, 3, 25, 14, 5), MDY),
        ("03/25/2021, 02:05 pm - ", utc(2021, 3, 25, 14, 5), MDY),
        ("2021-03-25 14:05 - ", utc(2021, 3, 25, 14, 5), YMD),
        ("2021/25/03 14:05 - ", utc(2021, 3, 25, 14, 5), YDM),
        ("2021--03--25, 14:05 - ", utc(2021, 3, 25, 14, 5), YMD),
        ("25.03.21., 14:05 - ", utc(2021, 3, 25, 14, 5), DMY),
        ("25-03-2021 14.05 - ", utc(2021, 3, 25, 14, 5), DMY),
        ("25/03/21 14.05.09 - ", utc(2021, 3, 25, 14, 5, 9), DMY),
        ("25/03/21, 14:05 \u2013 ", utc(2021, 3, 25, 14, 5), DMY),
        ("25.3.2021 klo 14.05 - ", utc(2021, 3, 25, 14, 5), DMY),
        ("25/03/2021 à 14:05 - ", utc(2021, 3, 25, 14, 5), DMY),
        ("25/03/2021 14:05: ", utc(2021, 3, 25, 14, 5), DMY),
        ("[25/03/21, 14:05:09] ", utc(2021, 3, 25, 14, 5, 9), DMY),
        ("\u200e[3/25/21, 2:05:09\u202fPM] ", utc(2021, 3, 25, 14, 5, 9), MDY),
        ("[25.03.21 14:05] ", utc(2021, 3, 25, 14, 5), DMY),
        ("2021. 3. 25. 오후 2:05 - ", utc(2021, 3, 25, 14, 5), YMD),
        ("2021/3/25 下午2:05 - ", utc(2021, 3, 25, 14, 5), YMD),
        ("[2021/03/25 午後2:05:09] ", utc(2021, 3, 25, 14, 5, 9), YMD),
        ("25\u200f/3\u200f/2021 2:05 م - ", utc(2021, 3, 25, 14, 5), DMY),
        ("٢٥/٠٣/٢٠٢١ ٢:٠٥ م - ", utc(2021, 3, 25, 14, 5), DMY),
    ],
)
def test_header_layouts(header: str, sent_at: datetime, order: DateOrder) -> None:
    chat = parse_text(f"{header}Alice: hello\n")

    assert (chat.messages[0].sender, chat.messages[0].text) == ("Alice", "hello")
    assert chat.messages[0].sent_at == sent_at
    assert chat.date_order is order


@pytest.mark.parametrize(
    ("clock", "hour"),
    [
        ("2:05 PM", 14),
        ("2:05 pm", 14),
        ("2:05 p.m.", 14),
        ("2:05 P.M.", 14),
        ("2:05 p. m.", 14),
        ("2:05\u00a0p.\u00a0m.", 14),
        ("2:05\u202fPM", 14),
        ("2:05\u202fa.\u202fm.", 2),
        ("12:05 AM", 0),
        ("12:05 PM", 12),
        ("2:05 nachm.", 14),
        ("2:05 vorm.", 2),
        ("2:05 ip.", 14),
        ("2:05 ap.", 2),
        ("2:05 μ.μ.", 14),
        ("2:05 π.μ.", 2),
        ("2:05 ÖS", 14),
        ("2:05 ÖÖ", 2),
        ("2:05 CH", 14),
        ("2:05 SA", 2),
        ("2:05 م", 14),
        ("2:05 ص", 2),
        ("下午2:05", 14),
        ("上午2:05", 2),
        ("오후 2:05", 14),
        ("오전 2:05", 2),
        ("午後2:05", 14),
        ("午前2:05", 2),
        ("2:05 หลังเที่ยง", 14),
        ("2:05 ب.ظ.", 14),
    ],
)
def test_twelve_hour_clocks_in_every_spelling(clock: str, hour: int) -> None:
    chat = parse_text(f"25/03/21, {clock} - Alice: hello\n")

    assert chat.messages[0].sent_at == utc(2021, 3, 25, hour, 5)
    assert chat.messages[0].text == "hello"


def test_impossible_times_and_unknown_words_are_text() -> None:
    chat = parse_text(
        "25/03/21, 14:05 - Alice: first\n"
        "25/03/21, 25:05 - Alice: no such hour\n"
        "25/03/21, 14:61 - Alice: no such minute\n"
        "25/03/21, 13:05 PM - Alice: no such afternoon\n"
        "25/03/21, 2:05 xyz - Alice: no such word\n"
    )

    assert len(chat.messages) == 1
    assert chat.messages[0].text.count("\n") == 4


def test_old_colon_lines_in_a_file_of_other_headers_are_text() -> None:
    chat = parse_text("25/03/21, 14:05 - Alice: notes\n25/03/2021 14:06: meeting moved\n")

    assert [m.text for m in chat.messages] == ["notes\n25/03/2021 14:06: meeting moved"]


def test_time_precision_follows_the_seconds() -> None:
    minutes = parse_text("25/03/21, 14:05 - Alice: a\n")
    seconds = parse_text("[25/03/21, 14:05:09] Alice: a\n")

    assert (minutes.time_precision, seconds.time_precision) == (60, 1)


# --- the date order, decided from the whole file --------------------------------------------


def test_a_late_line_decides_year_first_orders() -> None:
    lines = [f"2021/03/0{day} 10:00 - Alice: {day}" for day in range(1, 10)]
    lines.append("2021/03/25 10:00 - Bob: the only unambiguous date")

    chat = parse_text("\n".join(lines))

    assert (chat.date_order, chat.date_order_source) == (YMD, DATES)
    assert chat.messages[0].sent_at == utc(2021, 3, 1, 10)


def test_two_digit_years_are_this_century_and_not_the_future() -> None:
    # Read year-first, "31/01/21" would be 2031-01-21: too late for a year, so not an order.
    chat = parse_text("31/01/21, 10:00 - Alice: a\n01/02/21, 10:00 - Bob: b\n")

    assert (chat.date_order, chat.date_order_source) == (DMY, DATES)
    assert stamps(chat) == [utc(2021, 1, 31, 10), utc(2021, 2, 1, 10)]


@pytest.mark.parametrize(
    ("dates", "order"),
    [
        (["05/01/21", "06/01/21", "01/02/21"], DMY),  # month-first would go May, Jun, Jan
        (["01/05/21", "01/06/21", "02/01/21"], MDY),  # day-first would go May, Jun, Jan
    ],
)
def test_ambiguous_dates_are_read_in_the_order_that_runs_forward(
    dates: list[str], order: DateOrder
) -> None:
    chat = parse_text("".join(f"{d}, 10:00 - Alice: {i}\n" for i, d in enumerate(dates)))

    assert (chat.date_order, chat.date_order_source) == (order, CHRONOLOGY)
    assert stamps(chat) == sorted(stamps(chat))


@pytest.mark.parametrize(
    ("dates", "order", "first", "last"),
    [
        ([f"0{day}/02/21" for day in range(1, 10)], DMY, (2021, 2, 1), (2021, 2, 9)),
        ([f"02/0{day}/21" for day in range(1, 10)], MDY, (2021, 2, 1), (2021, 2, 9)),
    ],
)
def test_ambiguous_dates_running_forward_either_way_are_read_as_the_shorter_span(
    dates: list[str], order: DateOrder, first: tuple[int, int, int], last: tuple[int, int, int]
) -> None:
    # Nine days of February, not the 2nd of nine months.
    chat = parse_text("".join(f"{d}, 10:00 - Alice: {i}\n" for i, d in enumerate(dates)))

    assert (chat.date_order, chat.date_order_source) == (order, CHRONOLOGY)
    assert (chat.messages[0].sent_at, chat.messages[-1].sent_at) == (
        utc(*first, 10),
        utc(*last, 10),
    )


def test_two_digit_years_first_are_read_by_the_order_that_runs_forward() -> None:
    chat = parse_text(
        "21. 3. 25. 오후 2:05 - 철수: 안녕\n"
        "21. 3. 26. 오전 9:00 - 영희: 네\n"
        "21. 4. 12. 오전 9:00 - 영희: 또\n"
    )

    assert (chat.date_order, chat.date_order_source) == (YMD, CHRONOLOGY)
    assert stamps(chat) == [utc(2021, 3, 25, 14, 5), utc(2021, 3, 26, 9), utc(2021, 4, 12, 9)]


def test_small_steps_back_do_not_count_against_an_order() -> None:
    # A message delivered late, 20 minutes back across midnight, in a month-first file.
    chat = parse_text(
        "01/05/21, 23:30 - Alice: a\n"
        "01/06/21, 00:10 - Bob: b\n"
        "01/05/21, 23:50 - Alice: late\n"
        "01/07/21, 10:00 - Bob: c\n"
    )

    assert (chat.date_order, chat.date_order_source) == (MDY, CHRONOLOGY)


def test_a_file_nothing_decides_is_read_day_first() -> None:
    chat = parse_text("01/02/21, 10:00 - Alice: a\n01/02/21, 11:00 - Bob: b\n")

    assert (chat.date_order, chat.date_order_source) == (DMY, DEFAULT)
    assert chat.messages[0].sent_at == utc(2021, 2, 1, 10)


def test_requested_order_wins_and_its_invalid_headers_are_text() -> None:
    text = "01/02/21, 10:00 - Alice: a\n25/02/21, 10:00 - Bob: b\n"

    decided = parse_text(text)
    requested = parse_text(text, date_order=MDY)

    assert decided.date_order is DMY
    assert (requested.date_order, requested.date_order_source) == (MDY, REQUESTED)
    assert [(m.sent_at, m.text) for m in requested.messages] == [
        (utc(2021, 1, 2, 10), "a\n25/02/21, 10:00 - Bob: b")
    ]


def test_requested_order_that_reads_no_header_is_malformed() -> None:
    with pytest.raises(MalformedExport, match="mdy"):
        parse_text("25/02/21, 10:00 - Alice: a\n26/02/21, 10:00 - Bob: b\n", date_order=MDY)


def test_a_file_without_any_valid_date_is_malformed() -> None:
    with pytest.raises(MalformedExport, match="valid date"):
        parse_text("31/31/31, 10:00 - Alice: a\n")


def test_corpus_exports_report_their_date_order() -> None:
    expected = {
        "test_ddmmyy_24hrs.txt": DMY,
        "test_mmddyy_24hrs.txt": MDY,
        "test_mmddyyyy_12hrs.txt": MDY,
        "test_yyyymmdd_24hrs.txt": YMD,
        "test_[mmddyy]_24hrs.txt": MDY,
    }
    for name, order in expected.items():
        chat = parse_export((CORPUS / "whatsapp" / name).read_bytes())

        assert (chat.date_order, chat.date_order_source) == (order, DATES), name
        assert chat.time_precision == 60


def test_signal_keeps_its_iso_dates() -> None:
    chat = parse_export((CORPUS / "signal" / "test_export.txt").read_bytes())

    assert chat.format is ChatFormat.SIGNAL
    assert (chat.date_order, chat.date_order_source) == (YMD, DateOrderSource.FORMAT)
    assert chat.time_precision == 60


def test_a_long_export_is_decided_by_its_last_line() -> None:
    lines = [f"0{1 + n % 9}/0{1 + n % 9}/21, 10:{n % 60:02d} - Alice: {n}" for n in range(20_000)]
    lines.append("12/31/21, 10:00 - Bob: last")

    chat = parse_text("\n".join(lines))

    assert (chat.date_order, chat.date_order_source) == (MDY, DATES)
    assert chat.messages[-1].sent_at == utc(2021, 12, 31, 10)
    assert chat.messages[-1].kind is MessageKind.TEXT


@pytest.mark.parametrize(
    ("filename", "title"),
    [
        ("WhatsApp Chat with Alice.txt", "Alice"),
        ("WhatsApp Chat - Bob Smith.zip", "Bob Smith"),
        ("WhatsApp-Chat mit Familie (1).txt", "Familie"),
        ("Chat de WhatsApp con Ana García.txt", "Ana García"),
        ("Чат WhatsApp с контактом Иван.txt", "Иван"),
        ("uploads/Conversa do WhatsApp com Grupo (2).zip", "Grupo"),
        ("chat.txt", None),
        ("WhatsApp Chat with .txt", None),
    ],
)
def test_title_from_the_file_name(filename: str, title: str | None) -> None:
    assert title_from_filename(filename) == title
