"""The Telegram Desktop parser on synthetic exports: texts exactly as Telegram renders them,
service notices, replies, forwards, edits, reactions and media, and full exports."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from src.chats.parsers import ChatFormat, MessageKind, ParsedChat, parse_export
from src.chats.parsers.base import Attachment, AttachmentKind, Reaction
from src.rag.chunking import ChunkMessage, chunk_messages

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "telegram"
CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus" / "chat-miner" / "telegram"

ALL_ENTITIES_TEXT = (
    "Hi @bobPlan:https://example.org/trip and the mapsoon!maybex=1print(1)secret🔥quoted"
    "#trip$EUR/starta@example.org+346000000004111111111111111Carol?\nsecond line"
)
SYSTEM = MessageKind.SYSTEM
TEXT = MessageKind.TEXT
MEDIA = MessageKind.MEDIA


def fixture(name: str, *, tz: str = "UTC") -> ParsedChat:
    return parse_export((FIXTURES / name).read_bytes(), filename=name, tz=tz)


def one_chat(*messages: dict[str, Any]) -> ParsedChat:
    body = {"name": "Inline", "type": "private_group", "id": 1, "messages": list(messages)}
    return parse_export(json.dumps(body).encode())


def message(id: int, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": id,
        "type": "message",
        "date_unixtime": str(1_700_000_000 + id),
        "from": "Alice",
        "text": "",
    }
    return base | fields


def service(id: int, action: str | None, **fields: Any) -> dict[str, Any]:
    base = message(id, type="service", actor="Alice") | fields
    del base["from"]
    if action is not None:
        base["action"] = action
    return base


# --- the single-chat fixture ----------------------------------------------------------------


def test_single_chat_every_message_in_file_order() -> None:
    chat = fixture("single_chat.json")

    assert chat.format is ChatFormat.TELEGRAM
    assert chat.title == "Trip"
    assert [(m.sender, m.kind, m.text) for m in chat.messages] == [
        (None, SYSTEM, "Alice created group «Trip»"),
        (None, SYSTEM, "Alice invited Dave, Erin"),
        ("Alice", TEXT, ALL_ENTITIES_TEXT),
        ("Bob", TEXT, "Sounds good"),
        ("Carol", TEXT, "Flights are cheap"),
        ("Bob", MEDIA, "<photo omitted>"),
        ("Alice", TEXT, "Our hotel"),
        ("Bob", MEDIA, "<sticker omitted>"),
        ("Carol", MEDIA, "<animation omitted>"),
        ("Dave", MEDIA, "<video file omitted>"),
        ("Erin", MEDIA, "<video message omitted>"),
        ("Alice", MEDIA, "<voice message omitted>"),
        ("Bob", MEDIA, "<audio file omitted>"),
        ("Carol", TEXT, "Itinerary attached"),
        ("Dave", MEDIA, "<contact omitted>"),
        ("Erin", MEDIA, "<location omitted>"),
        ("Alice", MEDIA, "<location omitted>"),
        ("Bob", MEDIA, "<poll omitted>"),
        ("Deleted Account", TEXT, "bye all"),
        (None, SYSTEM, "Dave left the group"),
        (None, SYSTEM, "Alice removed Erin"),
        (None, SYSTEM, "Grace joined the group by link"),
        (None, SYSTEM, "Henry joined the group"),
        (None, SYSTEM, "Alice changed the group title to «Trip 2024»"),
        (None, SYSTEM, "Bob changed the group photo"),
        (None, SYSTEM, "Bob removed the group photo"),
        (None, SYSTEM, "Phone call (42 s)"),
        (None, SYSTEM, "Missed phone call"),
        (None, SYSTEM, "Group call (12 min 34 s)"),
        (None, SYSTEM, "Carol started a group call"),
        (None, SYSTEM, "Alice converted the group to a supergroup"),
        (None, SYSTEM, "Alice converted group «Trip 2024» to a supergroup"),
        (None, SYSTEM, "Alice cleared the history"),
        (None, SYSTEM, "Bob scored 120 in a game"),
        (None, SYSTEM, "Alice pinned «Flights are cheap»"),
        (None, SYSTEM, "Bob pinned a message"),
        (None, SYSTEM, "Carol: set chat wallpaper"),
        (None, SYSTEM, "Welcome to the trip!"),
        (None, SYSTEM, "Deleted Account took a screenshot"),
        ("Carol", TEXT, "elsewhere"),
        ("Dave", TEXT, "to a lost message"),
        # The "unsupported" entry and Erin's empty message are left out.
        ("Grace", TEXT, "See you!"),
        ("Henry", TEXT, "thanks"),
    ]
    assert chat.participants == [
        "Alice",
        "Bob",
        "Carol",
        "Dave",
        "Erin",
        "Deleted Account",
        "Grace",
        "Henry",
    ]


def test_unix_time_wins_over_the_exporting_computers_local_date() -> None:
    # The fixture's `date` is the exporter's local time (UTC+1); `date_unixtime` the instant.
    in_utc = fixture("single_chat.json")
    in_madrid = fixture("single_chat.json", tz="Europe/Madrid")

    assert in_utc.messages[0].sent_at == datetime(2023, 11, 14, 22, 14, 20, tzinfo=UTC)
    assert [m.sent_at for m in in_madrid.messages] == [m.sent_at for m in in_utc.messages]
    assert str(in_madrid.messages[0].sent_at.tzinfo) == "Europe/Madrid"


def test_reply_edit_and_reactions_of_one_message() -> None:
    reply = fixture("single_chat.json").messages[3]

    assert reply.reply_to == 2  # the export's message 3, the first non-service message
    assert reply.edited is True
    assert reply.forwarded_from is None
    assert reply.reactions == (
        Reaction("👍", 2, ("Alice", "Carol")),
        Reaction("custom", 1, ("Deleted Account",)),
        Reaction("⭐", 5, ()),
    )


def test_replies_forwards_and_edits_across_the_chat() -> None:
    messages = fixture("single_chat.json").messages

    assert {i: m.reply_to for i, m in enumerate(messages) if m.reply_to is not None} == {
        3: 2,
        42: 4,  # "thanks" answers "Flights are cheap", read after many other messages
    }
    # Message 39 answers an id of another chat (reply_to_peer_id), 40 an id not exported.
    assert (messages[39].reply_to, messages[40].reply_to) == (None, None)
    assert [(i, m.forwarded_from) for i, m in enumerate(messages) if m.forwarded_from] == [
        (4, "Travel Deals")
    ]
    assert [i for i, m in enumerate(messages) if m.edited] == [3]


def test_every_media_kind_becomes_an_attachment() -> None:
    messages = fixture("single_chat.json").messages

    assert {i: m.attachment for i, m in enumerate(messages) if m.attachment} == {
        5: Attachment(AttachmentKind.PHOTO, "photo_1@14-11-2023_23-20-00.jpg"),
        6: Attachment(AttachmentKind.PHOTO, None),  # "(File not included. ...)"
        7: Attachment(AttachmentKind.STICKER, "sticker.webp"),
        8: Attachment(AttachmentKind.GIF, "giphy.mp4"),
        9: Attachment(AttachmentKind.VIDEO, "beach.mp4"),  # too big: the original name
        10: Attachment(AttachmentKind.VIDEO, "file_1@14-11-2023_23-30-00.mp4"),
        11: Attachment(AttachmentKind.VOICE, "audio_1@14-11-2023_23-31-00.ogg"),
        12: Attachment(AttachmentKind.AUDIO, "song.mp3"),
        13: Attachment(AttachmentKind.DOCUMENT, "itinerary.pdf"),
        14: Attachment(AttachmentKind.CONTACT, "contact_1.vcard"),
        15: Attachment(AttachmentKind.LOCATION, None),
        16: Attachment(AttachmentKind.LOCATION, None),  # a venue
        17: Attachment(AttachmentKind.POLL, None),
    }
    # A caption stays the text: the message is text that carries an attachment.
    assert (messages[6].kind, messages[13].kind) == (TEXT, TEXT)


@pytest.mark.parametrize(
    ("fields", "text", "attachment"),
    [
        (
            {"sticker_emoji": "😂", "file": "stickers/s.webp"},
            "<sticker omitted>",
            Attachment(AttachmentKind.STICKER, "s.webp"),
        ),
        (
            {"place_name": "Hotel Sol", "address": "Carrer Major 1"},
            "<location omitted>",
            Attachment(AttachmentKind.LOCATION),
        ),
        ({"location_information": None}, "<location omitted>", Attachment(AttachmentKind.LOCATION)),
        ({"game_title": "Chess"}, "<game omitted>", Attachment(AttachmentKind.OTHER)),
        (
            {"media_type": "round_thing", "file": "files/y.bin"},
            "<round thing omitted>",
            Attachment(AttachmentKind.OTHER, "y.bin"),
        ),
        (
            {"file": "(File unavailable, please try again later)"},
            "<file omitted>",
            Attachment(AttachmentKind.DOCUMENT),
        ),
    ],
)
def test_less_common_media(fields: dict[str, Any], text: str, attachment: Attachment) -> None:
    chat = one_chat(message(1, **fields))

    assert (chat.messages[0].kind, chat.messages[0].text) == (MEDIA, text)
    assert chat.messages[0].attachment == attachment


def test_media_placeholders_are_recognised_by_rag_chunking() -> None:
    chat = fixture("single_chat.json")
    media = [m for m in chat.messages if m.kind is MEDIA]
    rows = [
        ChunkMessage(id=n, seq=n, sender=m.sender, sent_at=m.sent_at, text=m.text, kind=m.kind)
        for n, m in enumerate(media, start=1)
    ]

    assert len(media) == 11
    assert chunk_messages(rows) == []


# --- texts ----------------------------------------------------------------------------------


def test_touching_entities_are_not_separated() -> None:
    chat = parse_export((CORPUS / "test_single_export.json").read_bytes())

    assert chat.messages[1].text == "Link:https://telegram.org/"


def test_text_entities_are_preferred_and_text_is_the_fallback() -> None:
    chat = one_chat(
        message(
            1,
            text=["old ", {"type": "bold", "text": "form"}],
            text_entities=[{"type": "plain", "text": "new "}, {"type": "bold", "text": "form"}],
        ),
        message(2, text=["only ", {"type": "italic", "text": "text"}], text_entities=[]),
        message(3, text="a plain string"),
    )

    assert [m.text for m in chat.messages] == ["new form", "only text", "a plain string"]


def test_sender_of_a_deleted_account_and_of_a_forward_from_one() -> None:
    chat = one_chat(message(1, text="hi", forwarded_from=None, **{"from": None}))

    assert chat.messages[0].sender == "Deleted Account"
    assert chat.messages[0].forwarded_from == "Deleted Account"


# --- service messages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "fields", "expected"),
    [
        ("create_group", {}, "Alice created the group"),
        ("create_channel", {"title": "News"}, "Alice created channel «News»"),
        ("join_group_by_request", {}, "Alice joined the group by request"),
        ("invite_members", {"members": ["Bob", None]}, "Alice invited Bob, Deleted Account"),
        ("invite_to_group_call", {"members": ["Bob"]}, "Alice invited Bob to the group call"),
        ("group_call_scheduled", {"schedule_date": 1}, "Alice scheduled a group call"),
        ("phone_call", {"duration_seconds": 3725}, "Phone call (1 h 2 min)"),
        ("phone_call", {"discard_reason": "busy"}, "Declined phone call"),
        ("phone_call", {"discard_reason": "hangup"}, "Phone call"),
        ("set_messages_ttl", {"period": 86400}, "Alice set messages to auto-delete after 1 d"),
        ("set_messages_ttl", {"period": 0}, "Alice turned off auto-delete"),
        ("edit_chat_theme", {"emoticon": "🎄"}, "Alice changed the chat theme to 🎄"),
        ("edit_chat_theme", {}, "Alice turned off the chat theme"),
        ("joined_telegram", {}, "Alice joined Telegram"),
        ("topic_created", {"title": "Food"}, "Alice created topic «Food»"),
        ("topic_edit", {"new_title": "Drinks"}, "Alice renamed the topic to «Drinks»"),
        ("topic_edit", {"new_icon_emoji_id": 5}, "Alice changed the topic icon"),
        ("boost_apply", {"boosts": 1}, "Alice boosted the group"),
        ("send_payment", {"amount": 500, "currency": "EUR"}, "A payment was sent"),
        ("pin_message", {"message_id": 404}, "Alice pinned a message"),
        ("requested_phone_number", {}, "Alice: requested phone number"),
        (None, {}, "Service message"),
    ],
)
def test_service_actions_read_as_notices(
    action: str | None, fields: dict[str, Any], expected: str
) -> None:
    chat = one_chat(service(1, action, **fields), message(2, text="hi"))

    assert chat.messages[0].text == expected
    assert (chat.messages[0].sender, chat.messages[0].kind) == (None, SYSTEM)


def test_a_pinned_long_message_is_quoted_shortened() -> None:
    long = "word " * 30
    chat = one_chat(message(1, text=long), service(2, "pin_message", message_id=1))

    assert chat.messages[1].text == (
        "Alice pinned «word word word word word word word word word word…»"
    )


# --- reactions and replies, edge cases ------------------------------------------------------


def test_reactions_without_counts_and_repeated_emoji_are_summed() -> None:
    reactions = [
        {"type": "emoji", "emoji": "❤", "recent": [{"from": "Bob"}, {"from": "Carol"}]},
        {"type": "custom_emoji", "count": 3, "document_id": "1", "emoji": "🦄"},
        {"type": "custom_emoji", "count": 1, "document_id": "2"},
        {"type": "custom_emoji", "count": 2, "document_id": "3", "recent": [{"from": "Dan"}]},
        {"type": "something_new", "count": 9},
    ]

    chat = one_chat(message(1, text="hi", reactions=reactions))

    assert chat.messages[0].reactions == (
        Reaction("❤", 2, ("Bob", "Carol")),
        Reaction("🦄", 3, ()),
        Reaction("custom", 3, ("Dan",)),
    )


def test_a_reply_to_a_dropped_message_has_no_target() -> None:
    chat = one_chat(
        message(1, text=""),  # nothing in it: not kept
        message(2, text="first"),
        message(3, text="answer", reply_to_message_id=1),
        message(4, text="answer two", reply_to_message_id="2"),
    )

    assert [m.reply_to for m in chat.messages] == [None, None, 0]


# --- full exports ---------------------------------------------------------------------------


def test_full_export_merges_chats_and_keeps_replies_within_their_chat() -> None:
    chat = fixture("full_export.json")

    assert chat.title is None  # two chats have messages
    assert [(m.sender, m.text, m.reply_to) for m in chat.messages] == [
        ("Bob", "Bob one", None),
        ("Carol", "Club one", None),
        ("Alice", "Club two", 1),  # the club's id 1, not Bob's chat's id 1
        ("Alice", "Bob two", 0),
        ("Dave", "Club three", 2),
    ]
    assert [m.sent_at for m in chat.messages] == sorted(m.sent_at for m in chat.messages)


def test_full_export_with_one_chat_keeps_its_title_and_replies() -> None:
    data = json.loads((FIXTURES / "full_export.json").read_text(encoding="utf-8"))
    del data["chats"]["list"][1]

    chat = parse_export(json.dumps(data).encode())

    assert chat.title == "Hiking club"
    assert [m.reply_to for m in chat.messages] == [None, 0, 1]
