"""No upload can make the line parsers slow: every regex runs in time linear in the line, so
adversarial lines (long runs of marks, spaces, digits, separators, header prefixes) parse in
milliseconds. A backtracking regex takes seconds to hours on the same lines."""

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from src.chats.parsers import ChatFormat, ExportError, parse_export

# Generous: a 200 kB line parses in about 10 ms; a quadratic regex needs seconds.
BOUND = 0.5
VALID = "01/02/21, 10:00 - Alice: hi\n"

# Pieces that partly match a header or a body rule, so that a backtracking pattern would try
# every split of a long run of them.
PIECES = [
    "\u200e",
    "\u200f",
    "\u202a",
    "\ufeff",
    " ",
    "\u00a0",
    "\u202f",
    "1",
    "12",
    "2021",
    "/",
    ".",
    "-",
    "[",
    "]",
    ",",
    ":",
    ": ",
    " - ",
    "1/1/1",
    "12/03/2021, ",
    "[12/03/21, 14:05:09",
    "12/03/2021 14:05:",
    "14:05",
    " p. m.",
    "下午",
    "2021. 3. 12. ",
    "klo ",
    "<",
    ">",
    " (",
    ")",
    '"',
    "«",
    "\u200e<attached: ",
    "<This message was edited>",
    "document omitted",
]
PREFIXES = ["", "01/02/21, 10:00 - ", "[01/02/21, 10:00:00] Bob: ", "01/02/21, 10:00 - Bob: "]


def elapsed(data: bytes, format: ChatFormat | None = None) -> float:
    began = time.perf_counter()
    try:
        parse_export(data, format=format)
    except ExportError:
        pass  # refusing the file is fine; taking long is not
    return time.perf_counter() - began


@st.composite
def adversarial_lines(draw: st.DrawFn) -> str:
    """A line of up to ~200 kB: a prefix, then one to three long runs of a repeated piece."""
    runs = draw(
        st.lists(
            st.tuples(st.sampled_from(PIECES), st.integers(min_value=1, max_value=200_000)),
            min_size=1,
            max_size=3,
        )
    )
    budget = 200_000 // len(runs)
    body = "".join(piece * max(1, min(count, budget // len(piece))) for piece, count in runs)
    return draw(st.sampled_from(PREFIXES)) + body


@settings(
    max_examples=40,
    deadline=None,  # timed below, with a bound suited to the size of the input
    database=None,  # nothing written into the working tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(line=adversarial_lines())
def test_adversarial_lines_parse_in_linear_time(line: str) -> None:
    data = line.encode("utf-8")
    after_a_header = (VALID + line + "\n").encode("utf-8")

    assert elapsed(data, format=ChatFormat.WHATSAPP) < BOUND
    assert elapsed(data, format=ChatFormat.SIGNAL) < BOUND
    assert elapsed(after_a_header) < BOUND  # recognised as WhatsApp by its first line
    assert elapsed(after_a_header + data + b"\n" + after_a_header) < BOUND


@pytest.mark.parametrize(
    "piece", ["\u200e", " ", "\u202f", "1", "[", "1/1/1", "\u200e<", "12/03/2021, 14:05"]
)
def test_half_a_million_characters_of_one_kind_parse_in_milliseconds(piece: str) -> None:
    line = piece * (500_000 // len(piece))

    assert elapsed((VALID + line + "\n").encode("utf-8")) < BOUND
    assert elapsed((VALID + "01/02/21, 10:01 - Bob: " + line + "\n").encode("utf-8")) < BOUND
    assert elapsed(line.encode("utf-8"), format=ChatFormat.WHATSAPP) < BOUND


def test_half_a_million_marks_and_spaces_as_lines_of_their_own() -> None:
    marks = "\u200e" * 500_000
    spaces = " " * 500_000

    chat = parse_export((VALID + marks + "\n" + spaces + "\n" + VALID).encode("utf-8"))

    assert len(chat.messages) == 2
    assert chat.messages[0].text.startswith("hi\n\u200e")


def test_a_huge_first_line_with_a_delimiter_is_no_csv() -> None:
    started = time.perf_counter()
    with pytest.raises(ExportError):
        parse_export(b"a," + b"x" * 200_000)
    assert time.perf_counter() - started < 0.5
