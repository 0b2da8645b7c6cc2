"""Unit tests of the chat-export parsers: the chat-miner corpus against its targets, plus
synthetic exports for each layout, encoding, container and error the parsers must handle."""

import codecs
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from src.chats.parsers import (
    ChatFormat,
    ExportError,
    MalformedExport,
    MessageKind,
    ParsedChat,
    UnknownFormat,
    parse_export,
)
from src.chats.parsers.base import UnpackedTooLarge

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus" / "chat-miner"
MADRID = ZoneInfo("Europe/Madrid")

CORPUS_FILES = [
    ("whatsapp", "test_mmddyy_24hrs.txt", ChatFormat.WHATSAPP),
    ("whatsapp", "test_ddmmyy_24hrs.txt", ChatFormat.WHATSAPP),
    ("whatsapp", "test_mmddyyyy_12hrs.txt", ChatFormat.WHATSAPP),
    ("whatsapp", "test_yyyymmdd_24hrs.txt", ChatFormat.WHATSAPP),
    ("whatsapp", "test_[mmddyy]_24hrs.txt", ChatFormat.WHATSAPP),
    ("telegram", "test_single_export.json", ChatFormat.TELEGRAM),
    ("telegram", "test_batch_export.json", ChatFormat.TELEGRAM),
    ("signal", "test_export.txt", ChatFormat.SIGNAL),
    ("instagram", "test_export.json", ChatFormat.INSTAGRAM),
]


def parse_text(
    text: str, *, tz: str = "UTC", format: ChatFormat | None = None, filename: str | None = None
) -> ParsedChat:
    return parse_export(text.encode("utf-8"), tz=tz, format=format, filename=filename)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# --- the corpus -----------------------------------------------------------------------------


@pytest.mark.parametrize(("folder", "name", "fmt"), CORPUS_FILES)
def test_corpus_export_matches_its_target(folder: str, name: str, fmt: ChatFormat) -> None:
    path = CORPUS / folder / name
    target = json.loads((CORPUS / folder / "target.json").read_text(encoding="utf-8"))
    # chat-miner joins Telegram's text entities with a space ("Link: https://..."), where
    # Telegram shows them touching ("Link:https://..."), as our parser does: for Telegram,
    # compare the texts with all whitespace removed. Every other field is compared as is.
    separator = "" if folder == "telegram" else " "
    # The targets are newest first (Telegram's is oldest first): compare in time order.
    expected = [
        (t["author"], t["timestamp"], separator.join(t["message"].split()))
        for t in sorted(target, key=lambda t: t["timestamp"])
    ]

    chat = parse_export(path.read_bytes(), filename=name, tz="UTC")

    got = [
        (m.sender, m.sent_at.replace(tzinfo=None).isoformat(), separator.join(m.text.split()))
        for m in chat.messages
        if m.kind is not MessageKind.SYSTEM
    ]
    assert chat.format is fmt
    assert got == expected
    assert all(m.sent_at.tzinfo is not None for m in chat.messages)


def test_corpus_whatsapp_system_lines_and_multiline() -> None:
    data = (CORPUS / "whatsapp" / "test_ddmmyy_24hrs.txt").read_bytes()

    chat = parse_export(data, tz="UTC")

    system = [m for m in chat.messages if m.kind is MessageKind.SYSTEM]
    assert [m.sender for m in system] == [None, None, None]
    assert [m.text for m in system] == [
        "John Doe:.",
        '+12 345 578 created group "Groupname"',
        "You were added",
    ]
    assert chat.messages[2].text == (
        "Lorem ipsum dolor sit amet,\nconsectetur adipiscing elit. Duis libero."
    )
    assert chat.participants == ["John Doe", "Jahn Doe", "John-John Doe", "John Doe 🤓", "🤓"]


def test_corpus_telegram_full_export_title_and_single_export() -> None:
    batch = parse_export((CORPUS / "telegram" / "test_batch_export.json").read_bytes())
    single = parse_export((CORPUS / "telegram" / "test_single_export.json").read_bytes())

    assert batch.title == "Chatname"
    assert single.title is None
    assert batch.messages == single.messages
    assert batch.messages[0].sent_at == utc(2018, 12, 5, 10, 39, 10)


# --- WhatsApp layouts -----------------------------------------------------------------------


def test_whatsapp_dotted_dates_with_seconds() -> None:
    chat = parse_text("15.04.2016, 15:04:05 - Anna: Hallo\n16.04.16, 09:30:59 - Ben: Tschüss\n")

    assert [(m.sender, m.sent_at, m.text) for m in chat.messages] == [
        ("Anna", utc(2016, 4, 15, 15, 4, 5), "Hallo"),
        ("Ben", utc(2016, 4, 16, 9, 30, 59), "Tschüss"),
    ]


def test_whatsapp_ios_marks_and_narrow_no_break_space() -> None:
    text = (
        "[1/2/21, 1:45:12\u202fPM] Alice: hi\n"
        "\u200e[1/2/21, 1:46:00\u202fPM] \u202a+34 600 11 22 33\u202c: hola\n"
        "[1/2/21, 11:59:59\u00a0AM] Bob: late\n"
    )

    chat = parse_text(text)

    assert [(m.sender, m.sent_at, m.text) for m in chat.messages] == [
        ("Alice", utc(2021, 2, 1, 13, 45, 12), "hi"),
        ("+34 600 11 22 33", utc(2021, 2, 1, 13, 46), "hola"),
        ("Bob", utc(2021, 2, 1, 11, 59, 59), "late"),
    ]


@pytest.mark.parametrize(
    ("clock", "hour", "minute"),
    [
        ("12:05 AM", 0, 5),
        ("12:05 PM", 12, 5),
        ("1:05 pm", 13, 5),
        ("11:05 am", 11, 5),
        ("9:15 p. m.", 21, 15),
        ("9:15\u00a0a.\u00a0m.", 9, 15),
        ("3:00 P.M.", 15, 0),
    ],
)
def test_whatsapp_twelve_hour_clocks(clock: str, hour: int, minute: int) -> None:
    chat = parse_text(f"13/05/22, {clock} - Alice: hello\n")

    assert chat.messages[0].sent_at == utc(2022, 5, 13, hour, minute)
    assert chat.messages[0].text == "hello"


def test_whatsapp_iso_dates() -> None:
    chat = parse_text("2021-01-02, 13:45 - Alice: one\n2021-01-03 08:00 - Bob: two\n")

    assert [m.sent_at for m in chat.messages] == [utc(2021, 1, 2, 13, 45), utc(2021, 1, 3, 8)]


def test_whatsapp_day_first_is_decided_by_a_line_late_in_the_file() -> None:
    lines = [f"0{day}/02/20, 10:00 - Alice: message {day}" for day in range(1, 10)]
    lines.append("25/12/20, 10:00 - Bob: the only unambiguous date")

    chat = parse_text("\n".join(lines))

    assert chat.messages[0].sent_at == utc(2020, 2, 1, 10)
    assert chat.messages[8].sent_at == utc(2020, 2, 9, 10)
    assert chat.messages[-1].sent_at == utc(2020, 12, 25, 10)


def test_whatsapp_month_first_is_decided_by_a_line_late_in_the_file() -> None:
    lines = [f"02/0{day}/20, 10:00 - Alice: message {day}" for day in range(1, 10)]
    lines.append("12/25/20, 10:00 - Bob: the only unambiguous date")

    chat = parse_text("\n".join(lines))

    assert chat.messages[0].sent_at == utc(2020, 2, 1, 10)
    assert chat.messages[8].sent_at == utc(2020, 2, 9, 10)
    assert chat.messages[-1].sent_at == utc(2020, 12, 25, 10)


def test_whatsapp_all_ambiguous_dates_default_to_day_first() -> None:
    chat = parse_text("01/02/20, 10:00 - Alice: hi\n03/04/20, 10:00 - Bob: hey\n")

    assert [m.sent_at.date().isoformat() for m in chat.messages] == ["2020-02-01", "2020-04-03"]


def test_whatsapp_multiline_messages_keep_their_newlines() -> None:
    text = (
        "1/2/21, 13:45 - Alice: first line\n"
        "second line\n"
        "\n"
        "fourth line after a blank\n"
        "1/2/21, 13:46 - Bob: ok\n"
        "\n"
    )

    chat = parse_text(text)

    assert [m.text for m in chat.messages] == [
        "first line\nsecond line\n\nfourth line after a blank",
        "ok",
    ]


def test_whatsapp_impossible_date_is_text_of_the_previous_message() -> None:
    chat = parse_text("20/01/21, 10:00 - Alice: notes:\n31/02/21, 10:00 - not a real header\n")

    assert len(chat.messages) == 1
    assert chat.messages[0].text == "notes:\n31/02/21, 10:00 - not a real header"


def test_whatsapp_system_lines_have_no_sender() -> None:
    text = (
        "20/01/21, 10:00 - Messages and calls are end-to-end encrypted. No one outside of this "
        "chat, not even WhatsApp, can read or listen to them. Tap to learn more.\n"
        '20/01/21, 10:00 - Alice created group "Trip: Rome"\n'
        "20/01/21, 10:01 - You were added\n"
        '20/01/21, 10:02 - Bob changed the subject from "a" to "b: c"\n'
        "[20/01/21, 10:03:00] Trip: \u200eAlice added Carol\n"
        "20/01/21, 10:04 - Alice: hello\n"
    )

    chat = parse_text(text)

    kinds = [(m.sender, m.kind) for m in chat.messages]
    assert kinds == [(None, MessageKind.SYSTEM)] * 5 + [("Alice", MessageKind.TEXT)]
    assert chat.messages[4].text == "Alice added Carol"
    assert chat.participants == ["Alice"]


def test_whatsapp_media_placeholders() -> None:
    text = (
        "02/01/21, 13:45 - Alice: <Media omitted>\n"
        "02/01/21, 13:46 - Bob: IMG-20210102-WA0001.jpg (file attached)\n"
        "\u200e[02/01/21, 13:47:12] Alice: "
        "\u200e<attached: 00000012-PHOTO-2021-01-02-13-45-12.jpg>\n"
        "\u200e[02/01/21, 13:48:00] Bob: \u200eimage omitted\n"
        "\u200e[02/01/21, 13:49:00] Bob: \u200eGIF omitted\n"
        "02/01/21, 13:50 - Alice: I omitted nothing\n"
    )

    chat = parse_text(text)

    assert [(m.sender, m.kind) for m in chat.messages] == [
        ("Alice", MessageKind.MEDIA),
        ("Bob", MessageKind.MEDIA),
        ("Alice", MessageKind.MEDIA),
        ("Bob", MessageKind.MEDIA),
        ("Bob", MessageKind.MEDIA),
        ("Alice", MessageKind.TEXT),
    ]
    assert chat.messages[2].text == "<attached: 00000012-PHOTO-2021-01-02-13-45-12.jpg>"
    assert chat.messages[3].text == "image omitted"


def test_whatsapp_naive_times_are_read_in_the_given_zone() -> None:
    chat = parse_text(
        "01/07/21, 12:00 - Alice: summer\n01/01/21, 12:00 - Alice: winter\n", tz="Europe/Madrid"
    )

    assert chat.messages[0].sent_at.utcoffset() == timedelta(hours=2)
    assert chat.messages[1].sent_at.utcoffset() == timedelta(hours=1)
    assert chat.messages[0].sent_at == datetime(2021, 7, 1, 10, tzinfo=UTC)


def test_whatsapp_title_from_file_name() -> None:
    body = b"01/02/21, 10:00 - Alice: hi\n"

    assert parse_export(body, filename="WhatsApp Chat with Alice.txt").title == "Alice"
    assert parse_export(body, filename="chat.txt").title is None
    assert parse_export(body).title is None


def test_whatsapp_right_to_left_text_is_not_a_system_line() -> None:
    chat = parse_text("[02/01/21, 10:00:00] Dana: \u200fשלום\n")

    assert chat.messages[0].kind is MessageKind.TEXT
    assert chat.messages[0].sender == "Dana"


# --- Signal and Instagram -------------------------------------------------------------------


def test_signal_export_is_told_from_whatsapp() -> None:
    text = "[2019-12-24, 12:23] Jane Doe: Hello\n[2019-12-24, 12:24] John Doe: Hi\n"

    assert parse_text(text).format is ChatFormat.SIGNAL
    assert parse_text(text, filename="WhatsApp Chat with Jane.txt").format is ChatFormat.WHATSAPP
    whatsapp_ios = "[2019-12-24, 12:23:05] Jane Doe: Hello\n"
    assert parse_text(whatsapp_ios).format is ChatFormat.WHATSAPP


def test_instagram_repairs_mojibake_orders_oldest_first_and_marks_media() -> None:
    export = {
        "participants": [{"name": "Zo\u00c3\u00ab"}, {"name": "Bob"}],
        "title": "Zo\u00c3\u00ab",
        "messages": [
            {"sender_name": "Bob", "timestamp_ms": 1579294200000, "photos": [{"uri": "p.jpg"}]},
            {
                "sender_name": "Zo\u00c3\u00ab",
                "timestamp_ms": 1579294140000,
                "content": "caf\u00c3\u00a9",
            },
        ],
    }

    chat = parse_export(json.dumps(export).encode())

    assert chat.format is ChatFormat.INSTAGRAM
    assert chat.title == "Zoë"
    assert [(m.sender, m.kind, m.text) for m in chat.messages] == [
        ("Zoë", MessageKind.TEXT, "café"),
        ("Bob", MessageKind.MEDIA, "<photo omitted>"),
    ]
    assert chat.messages[0].sent_at == utc(2020, 1, 17, 20, 49)


# --- encodings ------------------------------------------------------------------------------

SAMPLE = "01/02/21, 10:00 - Zoë: ¿qué tal? 🤓\r\n01/02/21, 10:01 - Bob: bien\r\nmuy bien\r\n"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(codecs.BOM_UTF8 + SAMPLE.encode("utf-8"), id="utf-8-bom"),
        pytest.param(SAMPLE.encode("utf-8"), id="utf-8"),
        pytest.param(codecs.BOM_UTF16_LE + SAMPLE.encode("utf-16-le"), id="utf-16-le-bom"),
        pytest.param(codecs.BOM_UTF16_BE + SAMPLE.encode("utf-16-be"), id="utf-16-be-bom"),
        pytest.param(SAMPLE.encode("utf-16-le"), id="utf-16-le-no-bom"),
    ],
)
def test_encodings_decode_to_the_same_chat(data: bytes) -> None:
    chat = parse_export(data)

    assert [(m.sender, m.text) for m in chat.messages] == [
        ("Zoë", "¿qué tal? 🤓"),
        ("Bob", "bien\nmuy bien"),
    ]


def test_legacy_cp1252_and_stray_bytes_do_not_crash() -> None:
    legacy = parse_export("01/02/21, 10:00 - José: café\n".encode("cp1252"))
    damaged = parse_export("01/02/21, 10:00 - Zoë: ok ".encode() + b"\xff\xfe!\n")

    assert legacy.messages[0].sender == "José"
    assert legacy.messages[0].text == "café"
    assert damaged.messages[0].sender == "Zoë"
    assert damaged.messages[0].text.startswith("ok ")


# --- zips -----------------------------------------------------------------------------------


def test_zip_with_whatsapp_export_and_media() -> None:
    data = zip_bytes(
        {
            "IMG-20210102-WA0001.jpg": b"\xff\xd8\xff" + b"\x00" * 100,
            "WhatsApp Chat with Bob.txt": b"01/02/21, 10:00 - Bob: <Media omitted>\n"
            b"01/02/21, 10:01 - Bob: nice\n",
        }
    )

    chat = parse_export(data, filename="upload.zip")

    assert chat.format is ChatFormat.WHATSAPP
    assert chat.title == "Bob"
    assert [m.kind for m in chat.messages] == [MessageKind.MEDIA, MessageKind.TEXT]


def test_zip_with_ios_chat_txt_takes_title_from_zip_name() -> None:
    data = zip_bytes({"_chat.txt": b"[02/01/21, 10:00:00] Bob: hi\n"})

    chat = parse_export(data, filename="WhatsApp Chat - Bob Smith.zip")

    assert chat.title == "Bob Smith"
    assert chat.messages[0].text == "hi"


def test_zip_with_telegram_result_json() -> None:
    telegram = (CORPUS / "telegram" / "test_single_export.json").read_bytes()

    chat = parse_export(zip_bytes({"ChatExport/result.json": telegram}))

    assert chat.format is ChatFormat.TELEGRAM
    assert len(chat.messages) == 2


def test_zip_over_the_size_cap_is_refused() -> None:
    data = zip_bytes({"_chat.txt": b"01/02/21, 10:00 - Bob: " + b"a" * 10_000 + b"\n"})

    with pytest.raises(UnpackedTooLarge, match="too large"):
        parse_export(data, max_unzipped_bytes=5_000)
    assert len(parse_export(data, max_unzipped_bytes=20_000).messages) == 1


def test_damaged_or_empty_zips_are_malformed() -> None:
    good = zip_bytes({"_chat.txt": b"01/02/21, 10:00 - Bob: hi\n"})

    with pytest.raises(MalformedExport):
        parse_export(good[: len(good) // 2])
    with pytest.raises(MalformedExport, match="no chat export"):
        parse_export(zip_bytes({"photo.jpg": b"\xff\xd8\xff"}))


# --- Telegram -------------------------------------------------------------------------------


def telegram(messages: list[dict[str, object]], **top: object) -> bytes:
    return json.dumps(
        {"name": "Team", "type": "private_group", **top, "messages": messages}
    ).encode()


def test_telegram_entity_list_text() -> None:
    data = telegram(
        [
            {
                "id": 1,
                "type": "message",
                "date": "2021-03-04T10:00:00",
                "date_unixtime": "1614852000",
                "from": "Alice",
                "text": [
                    "Read ",
                    {"type": "bold", "text": "this"},
                    ", then ",
                    {"type": "link", "text": "https://example.org"},
                    "!",
                ],
            }
        ]
    )

    chat = parse_export(data)

    assert chat.title == "Team"
    assert chat.messages[0].text == "Read this, then https://example.org!"
    assert chat.messages[0].sent_at == utc(2021, 3, 4, 10)


def test_telegram_service_media_and_local_dates() -> None:
    data = telegram(
        [
            {
                "id": 1,
                "type": "service",
                "date": "2021-07-01T09:00:00",
                "actor": "Alice",
                "action": "create_group",
                "title": "Team",
                "text": "",
            },
            {
                "id": 2,
                "type": "message",
                "date": "2021-07-01T09:01:00",
                "from": "Alice",
                "photo": "photos/photo_1.jpg",
                "text": "",
            },
            {
                "id": 3,
                "type": "message",
                "date": "2021-07-01T09:02:00",
                "from": "Bob",
                "media_type": "sticker",
                "sticker_emoji": "👍",
                "file": "stickers/s.webp",
                "text": "",
            },
            {
                "id": 4,
                "type": "message",
                "date": "2021-07-01T09:03:00",
                "from": "Bob",
                "photo": "photos/photo_2.jpg",
                "text": "with a caption",
            },
        ]
    )

    chat = parse_export(data, tz="Europe/Madrid")

    assert [(m.sender, m.kind, m.text) for m in chat.messages] == [
        (None, MessageKind.SYSTEM, "Alice created group «Team»"),
        ("Alice", MessageKind.MEDIA, "<photo omitted>"),
        ("Bob", MessageKind.MEDIA, "<sticker omitted>"),
        ("Bob", MessageKind.TEXT, "with a caption"),
    ]
    # Without date_unixtime the naive `date` is local time in tz.
    assert chat.messages[0].sent_at == datetime(2021, 7, 1, 9, tzinfo=MADRID)
    assert chat.participants == ["Alice", "Bob"]


def test_telegram_full_export_with_two_chats_merges_them_in_time_order() -> None:
    def chat(name: str, stamps: list[int]) -> dict[str, object]:
        messages = [
            {"type": "message", "date_unixtime": str(s), "from": name, "text": f"{name} {s}"}
            for s in stamps
        ]
        return {"name": name, "type": "personal_chat", "messages": messages}

    data = json.dumps({"chats": {"list": [chat("A", [10, 30]), chat("B", [20])]}}).encode()

    parsed = parse_export(data)

    assert parsed.title is None
    assert [m.text for m in parsed.messages] == ["A 10", "B 20", "A 30"]


# --- generic JSON and CSV -------------------------------------------------------------------

RECORDS = [
    {"sender": "Alice", "sent_at": "2021-07-01T12:00:00", "text": "naive"},
    {"sender": "Bob", "sent_at": "2021-07-01T12:00:00+00:00", "text": "offset"},
    {"sender": "Bob", "sent_at": "2021-07-01T12:00:00Z", "text": "zulu", "kind": "media"},
    {"sender": None, "sent_at": "2021-07-01T12:01:00", "text": "Bob joined"},
]


@pytest.mark.parametrize("shape", ["list", "object"])
def test_json_messages_with_naive_and_offset_times(shape: str) -> None:
    payload: object = RECORDS if shape == "list" else {"messages": RECORDS}

    chat = parse_export(json.dumps(payload).encode(), tz="Europe/Madrid")

    assert chat.format is ChatFormat.JSON
    assert [m.sent_at for m in chat.messages] == [
        datetime(2021, 7, 1, 12, tzinfo=MADRID),
        utc(2021, 7, 1, 12),
        utc(2021, 7, 1, 12),
        datetime(2021, 7, 1, 12, 1, tzinfo=MADRID),
    ]
    assert chat.messages[0].sent_at == utc(2021, 7, 1, 10)
    assert [m.kind for m in chat.messages] == [
        MessageKind.TEXT,
        MessageKind.TEXT,
        MessageKind.MEDIA,
        MessageKind.SYSTEM,
    ]


def test_csv_with_reordered_columns_and_extras() -> None:
    text = (
        "Text,ID,SENT_AT,Sender\n"
        '"hello, world",1,2021-07-01T12:00:00,Alice\n'
        '"two\nlines",2,2021-07-01T12:05:00+02:00,Bob\n'
    )

    chat = parse_text(text, tz="Europe/Madrid", filename="export.csv")

    assert chat.format is ChatFormat.CSV
    assert [(m.sender, m.text) for m in chat.messages] == [
        ("Alice", "hello, world"),
        ("Bob", "two\nlines"),
    ]
    assert chat.messages[0].sent_at == utc(2021, 7, 1, 10)
    assert chat.messages[1].sent_at == utc(2021, 7, 1, 10, 5)


def test_csv_with_semicolons() -> None:
    chat = parse_text("sender;sent_at;text\nAlice;2021-07-01 12:00;hi\n")

    assert chat.messages[0].sent_at == utc(2021, 7, 1, 12)


@pytest.mark.parametrize(
    "text",
    [
        '[{"sender": "A", "sent_at": "yesterday", "text": "x"}]',
        "sender,sent_at,text\nAlice,not a date,hi\n",
        '[{"sender": "A", "sent_at": "2021-01-01T00:00:00", "text": "x", "kind": "video"}]',
    ],
)
def test_bad_records_are_malformed(text: str) -> None:
    with pytest.raises(MalformedExport):
        parse_text(text)


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Dear diary,\nnothing happened today.\n",
        '{"name": "not a chat", "items": [1, 2, 3]}',
        "a,b,c\n1,2,3\n",
    ],
)
def test_unknown_formats(text: str) -> None:
    with pytest.raises(UnknownFormat) as caught:
        parse_text(text)
    assert str(caught.value)


def test_png_bytes_are_an_export_error() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))

    with pytest.raises(ExportError, match="PNG"):
        parse_export(png, filename="chat.txt")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(bytes(range(256)) * 10, id="with-nul-bytes"),
        pytest.param(bytes(range(1, 256)) * 10, id="without-nul-bytes"),
    ],
)
def test_other_binary_junk_is_malformed(data: bytes) -> None:
    with pytest.raises(MalformedExport, match="binary"):
        parse_export(data)


@pytest.mark.parametrize(
    ("content", "forced"),
    [
        ("01/02/21, 10:00 - Alice: hi\n", ChatFormat.TELEGRAM),
        ("01/02/21, 10:00 - Alice: hi\n", ChatFormat.CSV),
        ("01/02/21, 10:00 - Alice: hi\n", ChatFormat.SIGNAL),
        ('[{"sender": "A", "sent_at": "2021-01-01T00:00:00", "text": "x"}]', ChatFormat.WHATSAPP),
        (
            '{"messages": [{"type": "message", "date_unixtime": "1", "from": "A", "text": "x"}]}',
            ChatFormat.JSON,
        ),
        (
            '{"messages": [{"type": "message", "date_unixtime": "1", "from": "A", "text": "x"}]}',
            ChatFormat.INSTAGRAM,
        ),
        ('[{"sender": "A", "sent_at": "2021-01-01T00:00:00", "text": "x"}]', ChatFormat.TELEGRAM),
    ],
)
def test_forced_wrong_format_is_malformed(content: str, forced: ChatFormat) -> None:
    with pytest.raises(MalformedExport) as caught:
        parse_text(content, format=forced)
    assert str(caught.value).endswith(".")


def test_forced_right_format_parses() -> None:
    chat = parse_text("01/02/21, 10:00 - Alice: hi\n", format=ChatFormat.WHATSAPP)
    csv_chat = parse_text("sender,sent_at,text\nA,2021-01-01T00:00:00,x\n", format=ChatFormat.CSV)

    assert chat.format is ChatFormat.WHATSAPP
    assert csv_chat.format is ChatFormat.CSV


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"  \n\n",
        codecs.BOM_UTF8,
        b"01/02/21, 10:00 - Messages and calls are end-to-end encrypted.\n",
        b"[]",
        b'{"messages": []}',
    ],
)
def test_empty_exports_are_malformed(data: bytes) -> None:
    with pytest.raises(MalformedExport):
        parse_export(data)


def test_broken_json_is_malformed() -> None:
    with pytest.raises(MalformedExport, match="JSON"):
        parse_export(b'{"messages": [{"sender": "A",', filename="x.json")


def test_unknown_time_zone_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="time zone"):
        parse_export(b"01/02/21, 10:00 - Alice: hi\n", tz="Mars/Olympus")


# --- size and progress ----------------------------------------------------------------------


def generated_whatsapp(count: int) -> bytes:
    start = datetime(2020, 1, 1)
    lines = []
    for n in range(count):
        t = start + timedelta(minutes=7 * n)
        lines.append(f"{t:%d/%m/%y, %H:%M} - {('Alice', 'Bob', 'Carol')[n % 3]}: message {n}")
        if n % 10 == 0:
            lines.append("a second line")
    return ("\n".join(lines) + "\n").encode()


def test_generated_export_with_20k_messages_and_progress() -> None:
    reports: list[float] = []

    chat = parse_export(generated_whatsapp(20_000), progress=reports.append)

    assert len(chat.messages) == 20_000
    assert chat.messages[-1].text == "message 19999"
    assert chat.messages[10].text == "message 10\na second line"
    assert chat.participants == ["Alice", "Bob", "Carol"]
    assert reports[0] == 0.0
    assert reports[-1] == 1.0
    assert len(reports) > 3
    assert reports == sorted(reports)


@pytest.mark.parametrize(("folder", "name", "fmt"), CORPUS_FILES)
def test_progress_ends_at_one_for_every_format(folder: str, name: str, fmt: ChatFormat) -> None:
    reports: list[float] = []

    parse_export((CORPUS / folder / name).read_bytes(), progress=reports.append)

    assert reports[0] == 0.0
    assert reports[-1] == 1.0
    assert all(0.0 <= r <= 1.0 for r in reports)
