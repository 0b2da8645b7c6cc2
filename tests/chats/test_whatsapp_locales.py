"""WhatsApp exports in each language: text, media placeholders, attachment lines, deleted and
edited markers and system notices (also notices quoting a subject with ": ") are read alike.

`fixtures/whatsapp/{android,ios}_<language>.txt` are synthetic exports with the same eight
messages in every language, in that language's date layout and strings."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from src.chats.parsers import (
    Attachment,
    AttachmentKind,
    ChatFormat,
    MessageKind,
    ParsedChat,
    parse_export,
)
from src.chats.parsers.whatsapp_locales import LOCALES

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "whatsapp"
LANGUAGES = ["en", "es", "pt", "de", "fr", "it", "nl", "ru", "tr", "id"]
SYSTEM, TEXT, MEDIA = MessageKind.SYSTEM, MessageKind.TEXT, MessageKind.MEDIA
IMAGE = "IMG-20210312-WA0001.jpg"
IOS_IMAGE = "00000012-PHOTO-2021-03-12-14-05-09.jpg"


def parse_text(text: str) -> ParsedChat:
    return parse_export(text.encode("utf-8"), tz="UTC")


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


@pytest.mark.parametrize("language", LANGUAGES)
def test_android_export_in_each_language(language: str) -> None:
    chat = parse_export((FIXTURES / f"android_{language}.txt").read_bytes(), tz="UTC")

    assert chat.format is ChatFormat.WHATSAPP
    assert [(m.sender, m.kind, m.edited, m.attachment) for m in chat.messages] == [
        (None, SYSTEM, False, None),  # messages are end-to-end encrypted
        (None, SYSTEM, False, None),  # the subject changed, quoting "Trip: Rome"
        ("Alice", TEXT, False, None),
        ("Bob", MEDIA, False, Attachment(AttachmentKind.OTHER)),  # <Media omitted>
        ("Bob", MEDIA, False, Attachment(AttachmentKind.PHOTO, IMAGE)),  # (file attached)
        ("Alice", SYSTEM, False, None),  # deleted: said by Alice, never typed by her
        ("Bob", TEXT, True, None),  # edited: the marker is gone
        (None, SYSTEM, False, None),  # Carol left
    ]
    first, caption = chat.messages[4].text.split("\n")
    assert first.startswith(f"{IMAGE} (")
    assert caption
    edited = chat.messages[6].text
    assert edited == edited.strip()
    assert edited
    assert not {"<", ">"} & set(edited)
    assert chat.messages[0].sent_at == utc(2021, 3, 12, 14, 5)
    assert chat.messages[-1].sent_at == utc(2021, 3, 25, 9, 41)
    assert chat.participants == ["Alice", "Bob"]
    assert chat.time_precision == 60


@pytest.mark.parametrize("language", LANGUAGES)
def test_ios_export_in_each_language(language: str) -> None:
    chat = parse_export((FIXTURES / f"ios_{language}.txt").read_bytes(), tz="UTC")

    assert chat.format is ChatFormat.WHATSAPP
    assert [(m.sender, m.kind, m.edited, m.attachment) for m in chat.messages] == [
        (None, SYSTEM, False, None),  # encrypted, under the group's name
        (None, SYSTEM, False, None),  # Alice added Carol
        ("Alice", TEXT, False, None),
        ("Bob", MEDIA, False, Attachment(AttachmentKind.PHOTO)),  # image omitted
        ("Bob", MEDIA, False, Attachment(AttachmentKind.PHOTO, IOS_IMAGE)),  # <attached: ...>
        ("Alice", SYSTEM, False, None),  # you deleted this message
        ("Bob", TEXT, True, None),  # edited, the marker on a line of its own
        (None, SYSTEM, False, None),  # the subject changed, quoting "Trip: Rome"
    ]
    assert chat.messages[6].text.count("\n") == 1
    assert not {"<", "\u200e"} & set(chat.messages[6].text)
    assert chat.messages[0].sent_at == utc(2021, 3, 12, 14, 5, 9)
    assert chat.messages[-1].sent_at == utc(2021, 3, 25, 9, 41, 30)
    assert chat.participants == ["Alice", "Bob"]
    assert chat.time_precision == 1


def test_every_required_language_has_every_table() -> None:
    tables = {locale.name: locale for locale in LOCALES}

    for language in LANGUAGES:
        locale = tables[language]
        for table in ("media_omitted", "attached", "attached_label", "deleted", "edited", "calls"):
            assert getattr(locale, table), (language, table)
        assert set(locale.omitted.values()) == {
            AttachmentKind.PHOTO,
            AttachmentKind.VIDEO,
            AttachmentKind.AUDIO,
            AttachmentKind.STICKER,
            AttachmentKind.GIF,
            AttachmentKind.CONTACT,
            AttachmentKind.DOCUMENT,
        }


@pytest.mark.parametrize(
    ("file_name", "kind"),
    [
        ("IMG-20210312-WA0001.jpg", AttachmentKind.PHOTO),
        ("VID-20210312-WA0002.mp4", AttachmentKind.VIDEO),
        ("AUD-20210312-WA0003.opus", AttachmentKind.AUDIO),
        ("PTT-20210312-WA0004.opus", AttachmentKind.VOICE),
        ("STK-20210312-WA0005.webp", AttachmentKind.STICKER),
        ("DOC-20210312-WA0006.pdf", AttachmentKind.DOCUMENT),
        ("00000012-PHOTO-2021-03-12-14-05-09.jpg", AttachmentKind.PHOTO),
        ("00000013-VIDEO-2021-03-12-14-05-09.mp4", AttachmentKind.VIDEO),
        ("00000014-AUDIO-2021-03-12-14-05-09.opus", AttachmentKind.VOICE),
        ("00000015-STICKER-2021-03-12-14-05-09.webp", AttachmentKind.STICKER),
        ("00000016-GIF-2021-03-12-14-05-09.mp4", AttachmentKind.GIF),
        ("holiday.png", AttachmentKind.PHOTO),
        ("clip.mov", AttachmentKind.VIDEO),
        ("song.mp3", AttachmentKind.AUDIO),
        ("note.opus", AttachmentKind.VOICE),
        ("Ana García.vcf", AttachmentKind.CONTACT),
        ("Quarterly report.pdf", AttachmentKind.DOCUMENT),
        ("minutes.docx", AttachmentKind.DOCUMENT),
        ("data.xyz", AttachmentKind.DOCUMENT),
    ],
)
def test_attachment_kind_from_the_file_name(file_name: str, kind: AttachmentKind) -> None:
    android = parse_text(f"12/03/21, 14:05 - Bob: {file_name} (file attached)\ncaption\n")
    ios = parse_text(f"[12/03/21, 14:05:09] Bob: \u200e<attached: {file_name}>\n")

    for chat in (android, ios):
        message = chat.messages[0]
        assert (message.sender, message.kind) == ("Bob", MEDIA)
        assert message.attachment == Attachment(kind, file_name)
    assert android.messages[0].text == f"{file_name} (file attached)\ncaption"


@pytest.mark.parametrize(
    ("placeholder", "kind"),
    [
        ("image omitted", AttachmentKind.PHOTO),
        ("video omitted", AttachmentKind.VIDEO),
        ("audio omitted", AttachmentKind.AUDIO),
        ("sticker omitted", AttachmentKind.STICKER),
        ("GIF omitted", AttachmentKind.GIF),
        ("Contact card omitted", AttachmentKind.CONTACT),
        ("vídeo omitido", AttachmentKind.VIDEO),
        ("Kontaktkarte ausgelassen", AttachmentKind.CONTACT),
        ("audio omesso", AttachmentKind.AUDIO),
        ("çıkartma dahil edilmedi", AttachmentKind.STICKER),
    ],
)
def test_ios_placeholders_name_their_kind(placeholder: str, kind: AttachmentKind) -> None:
    with_mark = parse_text(f"[12/03/21, 14:05:09] Bob: \u200e{placeholder}\n")
    without_mark = parse_text(f"[12/03/21, 14:05:09] Bob: {placeholder}\n")

    for chat in (with_mark, without_mark):
        message = chat.messages[0]
        assert (message.sender, message.kind, message.text) == ("Bob", MEDIA, placeholder)
        assert message.attachment == Attachment(kind)


def test_ios_document_placeholder_keeps_the_file_name() -> None:
    chat = parse_text(
        "[12/03/21, 14:05:09] Bob: Quarterly report.pdf • \u200e3 pages \u200edocument omitted\n"
    )

    message = chat.messages[0]
    assert (message.sender, message.kind) == ("Bob", MEDIA)
    assert message.attachment == Attachment(AttachmentKind.DOCUMENT, "Quarterly report.pdf")


def test_attachment_lines_in_a_language_without_a_table_are_read_by_their_file_names() -> None:
    chat = parse_text(
        "12/03/21, 14:05 - Bob: VID-20210312-WA0002.mp4 (fitxer adjunt)\n"
        "[12/03/21, 14:06:00] Bob: \u200e<adjunt: 00000012-PHOTO-2021-03-12-14-05-09.jpg>\n"
        "12/03/21, 14:07 - Bob: My holiday (part 2)\n"
    )

    assert [(m.kind, m.attachment) for m in chat.messages] == [
        (MEDIA, Attachment(AttachmentKind.VIDEO, "VID-20210312-WA0002.mp4")),
        (MEDIA, Attachment(AttachmentKind.PHOTO, "00000012-PHOTO-2021-03-12-14-05-09.jpg")),
        (TEXT, None),
    ]


@pytest.mark.parametrize(
    ("lines", "text"),
    [
        (["hello <This message was edited>"], "hello"),
        (["hello\u00a0<This message was edited> "], "hello"),
        (["first", "second <This message was edited>"], "first\nsecond"),
        (["first", "second", "<This message was edited>"], "first\nsecond"),
        (["hello", "\u200e<This message was edited>", ""], "hello"),
        (["hello \u200e<this message was edited.>"], "hello"),
        (["Hola <Se editó este mensaje>"], "Hola"),
        (["Hola <Se editó este mensaje.>"], "Hola"),
        (["Hallo <Diese Nachricht wurde bearbeitet.>"], "Hallo"),
        (["Привет <Сообщение изменено>"], "Привет"),
        (["<This message was edited>"], ""),
    ],
)
def test_edited_marker_is_removed_wherever_it_stands(lines: list[str], text: str) -> None:
    chat = parse_text("12/03/21, 14:05 - Bob: " + "\n".join(lines) + "\n12/03/21, 14:06 - A: x\n")

    assert (chat.messages[0].text, chat.messages[0].edited) == (text, True)
    assert chat.messages[1].edited is False


def test_text_that_only_mentions_a_marker_is_text() -> None:
    chat = parse_text(
        "12/03/21, 14:05 - Bob: I omitted nothing <3\n"
        "12/03/21, 14:06 - Bob: <This message was edited> is what it says\n"
        "12/03/21, 14:07 - Bob: This message was deleted, says the app\n"
        "12/03/21, 14:08 - Bob: <Media omitted> twice\n"
    )

    assert [(m.kind, m.edited) for m in chat.messages] == [(TEXT, False)] * 4
    assert chat.messages[1].text == "<This message was edited> is what it says"


def test_deleted_notices_keep_their_sender_as_system_lines() -> None:
    chat = parse_text(
        "12/03/21, 14:05 - Bob: This message was deleted\n"
        "12/03/21, 14:06 - Ana: You deleted this message.\n"
        "[12/03/21, 14:07:00] Bob: \u200eThis message was deleted.\n"
        "12/03/21, 14:08 - Ana: Eliminaste este mensaje\n"
        "12/03/21, 14:09 - Ana: still here\n"
    )

    assert [(m.sender, m.kind) for m in chat.messages] == [
        ("Bob", SYSTEM),
        ("Ana", SYSTEM),
        ("Bob", SYSTEM),
        ("Ana", SYSTEM),
        ("Ana", TEXT),
    ]
    assert chat.messages[2].text == "This message was deleted."


def test_missed_calls_are_notices() -> None:
    chat = parse_text(
        "[12/03/21, 14:05:09] Bob: \u200eMissed voice call, \u200eTap to call back\n"
        "[12/03/21, 14:06:09] Bob: Missed video call\n"
        "[12/03/21, 14:07:09] Bob: \u200eVerpasster Sprachanruf\n"
        "[12/03/21, 14:08:09] Bob: call me\n"
    )

    assert [(m.sender, m.kind) for m in chat.messages] == [(None, SYSTEM)] * 3 + [("Bob", TEXT)]


@pytest.mark.parametrize(
    "notice",
    [
        'You changed the subject to "Plans: Friday"',
        'Alice created group "Trip: Rome"',
        "Alice cambió el asunto a “Viaje: Roma”",
        "Alice hat die Gruppe „Reise: Rom“ erstellt",
        "Alice a créé le groupe « Voyage : Rome »",
        "Alice изменил(-а) тему на «Поездка: Рим»",
        "Alice 将群组名称更改为「旅行: 罗马」",
        "\u200eAlice changed the subject to “Trip: Rome”",
        *(notice for locale in LOCALES for notice in locale.notices),
    ],
)
def test_notices_quoting_a_subject_with_a_colon_have_no_sender(notice: str) -> None:
    chat = parse_text(f"12/03/21, 14:05 - {notice}\n12/03/21, 14:06 - Alice: hi\n")

    assert (chat.messages[0].sender, chat.messages[0].kind) == (None, SYSTEM)
    assert chat.messages[0].text == notice.strip("\u200e")
    assert chat.participants == ["Alice"]


def test_names_with_paired_quotes_and_right_to_left_text_are_senders() -> None:
    chat = parse_text(
        '12/03/21, 14:05 - Bob "Bobby" Smith: note: this\n'
        "[12/03/21, 14:06:00] Dana: \u200fשלום\n"
        "12/03/21, 14:07 - O'Brien: hi\n"
    )

    assert [(m.sender, m.kind) for m in chat.messages] == [
        ('Bob "Bobby" Smith', TEXT),
        ("Dana", TEXT),
        ("O'Brien", TEXT),
    ]
    assert chat.messages[0].text == "note: this"
