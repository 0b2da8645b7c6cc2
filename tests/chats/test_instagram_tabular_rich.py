"""Reactions and attachments of Instagram exports, and the optional rich fields (edits,
forwards, replies, attachments) of generic JSON and CSV, with the errors they can raise."""

import json
from typing import Any

import pytest

from src.chats.parsers import ChatFormat, MalformedExport, MessageKind, ParsedChat, parse_export
from src.chats.parsers.base import Attachment, AttachmentKind, Reaction


def mojibake(text: str) -> str:
    """What Meta writes for `text`: its UTF-8 bytes, each read as one Latin-1 character."""
    return text.encode("utf-8").decode("latin-1")


# --- Instagram ------------------------------------------------------------------------------


def instagram(*messages: dict[str, Any]) -> ParsedChat:
    # Meta lists the newest message first.
    export = {"participants": [{"name": "Bob"}], "messages": list(reversed(messages))}
    return parse_export(json.dumps(export).encode())


def ig(second: int, **fields: Any) -> dict[str, Any]:
    return {"sender_name": "Bob", "timestamp_ms": 1_579_294_140_000 + second * 1000} | fields


def test_instagram_reactions_are_repaired_and_grouped_per_emoji() -> None:
    chat = instagram(
        ig(
            1,
            content="hello",
            reactions=[
                {"reaction": mojibake("❤"), "actor": mojibake("Zoë")},
                {"reaction": mojibake("😂"), "actor": "Bob"},
                {"reaction": mojibake("❤"), "actor": "Carl"},
                {"reaction": mojibake("❤")},
                {"actor": "Dana"},
            ],
        )
    )

    assert chat.format is ChatFormat.INSTAGRAM
    assert chat.messages[0].reactions == (
        Reaction("❤", 3, ("Zoë", "Carl")),
        Reaction("😂", 1, ("Bob",)),
    )


def test_instagram_attachments_of_every_kind() -> None:
    base = "messages/inbox/bob_123/"
    chat = instagram(
        ig(1, photos=[{"uri": base + "photos/1.jpg"}, {"uri": base + "photos/2.jpg"}]),
        ig(2, videos=[{"uri": base + "videos/v.mp4", "thumbnail": {"uri": "t.jpg"}}]),
        ig(3, audio_files=[{"uri": base + "audio/" + mojibake("canción.mp4")}]),
        ig(4, gifs=[{"uri": base + "gifs/g.gif"}]),
        ig(5, files=[{"uri": base + "files/plan.pdf"}]),
        ig(6, sticker={"uri": base + "stickers/s.png"}),
        ig(7, share={"link": "https://instagram.com/p/x"}),
        ig(8, content="look", photos=[{"uri": base + "photos/3.jpg"}]),
    )

    assert [(m.kind, m.text, m.attachment) for m in chat.messages] == [
        (MessageKind.MEDIA, "<photo omitted>", Attachment(AttachmentKind.PHOTO, "1.jpg")),
        (MessageKind.MEDIA, "<video omitted>", Attachment(AttachmentKind.VIDEO, "v.mp4")),
        (MessageKind.MEDIA, "<audio omitted>", Attachment(AttachmentKind.AUDIO, "canción.mp4")),
        (MessageKind.MEDIA, "<GIF omitted>", Attachment(AttachmentKind.GIF, "g.gif")),
        (MessageKind.MEDIA, "<file omitted>", Attachment(AttachmentKind.DOCUMENT, "plan.pdf")),
        (MessageKind.MEDIA, "<sticker omitted>", Attachment(AttachmentKind.STICKER, "s.png")),
        (MessageKind.MEDIA, "<shared post omitted>", Attachment(AttachmentKind.OTHER, None)),
        (MessageKind.TEXT, "look", Attachment(AttachmentKind.PHOTO, "3.jpg")),
    ]


# --- generic JSON ---------------------------------------------------------------------------


def records(*rows: dict[str, Any]) -> bytes:
    base = {"sender": "Ana", "sent_at": "2024-03-01T10:00:00Z", "text": "hi"}
    return json.dumps([base | row for row in rows]).encode()


def test_json_rich_fields() -> None:
    data = records(
        {"text": "first", "edited": True},
        {"text": "second", "edited": "1", "forwarded_from": " News "},
        {"text": "answer", "reply_to": 1, "edited": "false"},
        {"text": "", "attachment_kind": "Photo", "attachment_name": "cat.jpg", "reply_to": "2"},
        {"text": "listen", "attachment": "voice"},
        {"text": "", "attachment_name": "notes.bin", "kind": "text"},
        {"text": "plain", "edited": None, "forwarded_from": "", "reply_to": "", "attachment": ""},
    )

    chat = parse_export(data)

    assert chat.format is ChatFormat.JSON
    assert [
        (m.text, m.kind, m.edited, m.forwarded_from, m.reply_to, m.attachment)
        for m in chat.messages
    ] == [
        ("first", MessageKind.TEXT, True, None, None, None),
        ("second", MessageKind.TEXT, True, "News", None, None),
        ("answer", MessageKind.TEXT, False, None, 0, None),
        ("", MessageKind.MEDIA, False, None, 1, Attachment(AttachmentKind.PHOTO, "cat.jpg")),
        ("listen", MessageKind.TEXT, False, None, None, Attachment(AttachmentKind.VOICE)),
        ("", MessageKind.TEXT, False, None, None, Attachment(AttachmentKind.OTHER, "notes.bin")),
        ("plain", MessageKind.TEXT, False, None, None, None),
    ]


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ({"edited": "maybe"}, "Message 2: edited must be true or false."),
        ({"edited": 2}, "Message 2: edited must be true or false."),
        ({"forwarded_from": 7}, "Message 2: forwarded_from must be text."),
        ({"reply_to": 0}, "Message 2: reply_to must be the position"),
        ({"reply_to": 2}, "Message 2: reply_to must be the position"),  # itself
        ({"reply_to": 3}, "Message 2: reply_to must be the position"),  # a later one
        ({"reply_to": "one"}, "Message 2: reply_to must be the position"),
        ({"reply_to": "²"}, "Message 2: reply_to must be the position"),
        ({"reply_to": True}, "Message 2: reply_to must be the position"),
        ({"attachment_kind": "hologram"}, "Message 2: attachment_kind must be one of photo,"),
        ({"attachment": 3}, "Message 2: attachment_kind must be one of photo,"),
        ({"attachment_name": ["a"]}, "Message 2: attachment_name must be text."),
    ],
)
def test_json_invalid_rich_fields_name_the_record(row: dict[str, Any], error: str) -> None:
    with pytest.raises(MalformedExport) as caught:
        parse_export(records({}, row, {}))
    assert str(caught.value).startswith(error)


# --- CSV ------------------------------------------------------------------------------------

CSV_HEADER = "sender,sent_at,text,edited,forwarded_from,reply_to,attachment_kind,attachment_name\n"


def test_csv_rich_fields_count_positions_without_blank_rows() -> None:
    text = CSV_HEADER + (
        "Ana,2024-03-01T10:00:00Z,first,,,,,\n"
        "\n"
        "Ben,2024-03-01T10:01:00Z,,yes,,1,video,clip.mp4\n"
        "Ana,2024-03-01T10:02:00Z,fwd,no,Ben's channel,2,,\n"
        "Ben,2024-03-01T10:03:00Z,short row\n"
    )

    chat = parse_export(text.encode(), filename="chat.csv")

    assert chat.format is ChatFormat.CSV
    assert [
        (m.text, m.kind, m.edited, m.forwarded_from, m.reply_to, m.attachment)
        for m in chat.messages
    ] == [
        ("first", MessageKind.TEXT, False, None, None, None),
        ("", MessageKind.MEDIA, True, None, 0, Attachment(AttachmentKind.VIDEO, "clip.mp4")),
        ("fwd", MessageKind.TEXT, False, "Ben's channel", 1, None),
        ("short row", MessageKind.TEXT, False, None, None, None),
    ]


@pytest.mark.parametrize(
    ("cells", "error"),
    [
        ("sometimes,,,,", "CSV line 3: edited must be true or false."),
        (",,2,,", "CSV line 3: reply_to must be the position"),
        (",,-1,,", "CSV line 3: reply_to must be the position"),
        (",,,scroll,", "CSV line 3: attachment_kind must be one of photo,"),
    ],
)
def test_csv_invalid_rich_fields_name_the_line(cells: str, error: str) -> None:
    first = "Ana,2024-03-01T10:00:00Z,hi,,,,,\n"
    text = CSV_HEADER + first + f"Ben,2024-03-01T10:01:00Z,x,{cells}\n"

    with pytest.raises(MalformedExport) as caught:
        parse_export(text.encode(), filename="chat.csv")
    assert str(caught.value).startswith(error)
