"""The merge plan on its own: what a newer or overlapping export adds to a chat, and where."""

from datetime import UTC, datetime, timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from src.chats.merging import StoredMessage, epoch, message_digest, plan_merge, sender_mapping
from src.chats.parsers import MessageKind, ParsedMessage

START = datetime(2024, 3, 13, 9, 0, tzinfo=UTC)


def msg(minute: int, sender: str | None, text: str, second: int = 0) -> ParsedMessage:
    kind = MessageKind.TEXT if sender else MessageKind.SYSTEM
    return ParsedMessage(sender, START + timedelta(minutes=minute, seconds=second), text, kind)


def stored(messages: list[ParsedMessage]) -> list[StoredMessage]:
    return [
        StoredMessage(
            id=100 + seq, seq=seq, sender=m.sender, epoch=epoch(m.sent_at), digest=message_digest(m)
        )
        for seq, m in enumerate(messages, start=1)
    ]


def test_the_same_export_again_adds_nothing() -> None:
    export = [msg(0, "Ana", "hi"), msg(1, "Ben", "hello"), msg(2, None, "Ana added Cleo")]

    plan = plan_merge(stored(export), export, precision=60)

    assert plan.added == []
    assert plan.moved == []
    assert plan.already_present == 3
    assert plan.matched == {0: 101, 1: 102, 2: 103}


def test_identical_messages_in_one_minute_are_a_multiset() -> None:
    chat = [msg(0, "Ana", "ok"), msg(0, "Ana", "ok")]
    export = [msg(0, "Ana", "ok"), msg(0, "Ana", "ok"), msg(0, "Ana", "ok"), msg(1, "Ben", "?")]

    plan = plan_merge(stored(chat), export, precision=60)

    assert [index for _, index in plan.added] == [2, 3]
    assert plan.already_present == 2


def test_a_newer_export_appends_after_the_chat() -> None:
    chat = [msg(0, "Ana", "one"), msg(1, "Ben", "two")]
    export = [msg(1, "Ben", "two"), msg(2, "Ana", "three"), msg(3, "Ben", "four")]

    plan = plan_merge(stored(chat), export, precision=60)

    assert plan.added == [(3, 1), (4, 2)]
    assert plan.moved == []


def test_older_messages_go_in_time_order_and_move_the_later_ones() -> None:
    chat = [msg(0, "Ana", "a"), msg(10, "Ana", "c"), msg(20, "Ana", "e")]
    export = [msg(5, "Ben", "b"), msg(15, "Ben", "d")]

    plan = plan_merge(stored(chat), export, precision=60)

    assert plan.added == [(2, 0), (4, 1)]
    assert plan.moved == [(102, 3), (103, 5)]


def test_seconds_are_compared_only_when_both_sides_have_them() -> None:
    chat = [msg(0, "Ana", "hi", second=0)]
    export = [msg(0, "Ana", "hi", second=42)]

    assert plan_merge(stored(chat), export, precision=60).added == []
    assert plan_merge(stored(chat), export, precision=1).added == [(2, 0)]


def test_names_written_differently_by_the_other_phone_are_matched() -> None:
    # Ana's export names Ben "Ben"; Ben's own export names himself "Ben Smith" and Ana
    # "Ana (work)".
    chat = [
        msg(0, "Ana", "are you coming?"),
        msg(1, "Ben", "yes"),
        msg(2, "Ana", "great"),
        msg(3, "Ben", "leaving now"),
        msg(4, None, 'Ana created group "Trip"'),
    ]
    export = [
        msg(0, "Ana (work)", "are you coming?"),
        msg(1, "Ben Smith", "yes"),
        msg(2, "Ana (work)", "great"),
        msg(3, "Ben Smith", "leaving now"),
        msg(4, None, "You joined using this group's invite link"),
        msg(5, "Ben Smith", "here"),
    ]

    plan = plan_merge(stored(chat), export, precision=60)

    assert plan.renamed == {"Ana (work)": "Ana", "Ben Smith": "Ben"}
    # the differently worded notice inside the covered period is not a second event
    assert plan.already_present == 5
    assert plan.added == [(6, 5)]


def test_one_coincidence_does_not_rename_anybody() -> None:
    chat = [msg(0, "Ana", "ok"), msg(1, "Ana", "lunch?")]
    export = [msg(0, "Cleo", "ok"), msg(5, "Cleo", "see you")]

    assert sender_mapping(stored(chat), export, 60) == {}


def test_a_name_that_matches_as_itself_as_often_is_not_mapped() -> None:
    chat = [msg(0, "Ana", "x"), msg(1, "Ana", "y"), msg(2, "Ben", "z"), msg(3, "Ben", "w")]
    export = [msg(0, "Ben", "x"), msg(1, "Ben", "y"), msg(2, "Ben", "z"), msg(3, "Ben", "w")]

    assert sender_mapping(stored(chat), export, 60) == {}


def test_system_notices_outside_the_chat_period_are_added() -> None:
    chat = [msg(10, "Ana", "hi")]
    export = [
        msg(0, None, 'Ben created group "Trip"'),
        msg(10, "Ana", "hi"),
        msg(20, None, "Cleo left"),
    ]

    plan = plan_merge(stored(chat), export, precision=60)

    assert [index for _, index in plan.added] == [0, 2]


# --- properties ---------------------------------------------------------------------------

TEXTS = st.sampled_from(["ok", "hi", "lol", "see you", "👍"])
SENDERS = st.sampled_from(["Ana", "Ben", "Cleo"])


@st.composite
def conversations(draw: st.DrawFn) -> list[ParsedMessage]:
    """A chat in time order, with repeats: identical texts by one sender in one minute."""
    steps = draw(st.lists(st.integers(0, 3), min_size=1, max_size=40))
    minute = 0
    chat = []
    for step in steps:
        minute += step
        chat.append(msg(minute, draw(SENDERS), draw(TEXTS)))
    return chat


def key(m: ParsedMessage) -> tuple[str | None, datetime, str]:
    return m.sender, m.sent_at, m.text


@given(conversations(), st.data())
@settings(max_examples=200, deadline=None)
def test_two_overlapping_exports_merge_into_the_whole_chat(
    chat: list[ParsedMessage], data: st.DataObject
) -> None:
    """Any two exports that together cover the chat (each a contiguous stretch of it, as
    exports are) merge into exactly the chat: nothing lost, nothing doubled, in time order.
    Only when both cut one minute apart can identical messages of that minute not be told
    apart (one export ends and the other begins inside it): no content says which is which."""
    n = len(chat)
    first_end = data.draw(st.integers(0, n))
    second_start = data.draw(st.integers(0, first_end))
    first, second = chat[:first_end], chat[second_start:]
    first_whole = first_end in (0, n) or chat[first_end].sent_at > chat[first_end - 1].sent_at
    second_whole = (
        second_start in (0, n) or chat[second_start - 1].sent_at < chat[second_start].sent_at
    )
    assume(first_whole or second_whole)

    plan = plan_merge(stored(first), second, precision=60)

    merged: dict[int, ParsedMessage] = {}
    moved = dict(plan.moved)
    for seq, message in enumerate(first, start=1):
        merged[moved.get(100 + seq, seq)] = message
    for position, index in plan.added:
        assert position not in merged
        merged[position] = second[index]
    assert sorted(merged) == list(range(1, n + 1))
    result = [merged[p] for p in sorted(merged)]
    assert sorted(map(key, result)) == sorted(map(key, chat))
    assert [m.sent_at for m in result] == sorted(m.sent_at for m in result)
    assert len(plan.added) + plan.already_present == len(second)


@given(conversations(), st.data())
@settings(max_examples=100, deadline=None)
def test_reading_only_the_tail_plans_the_same_merge(
    chat: list[ParsedMessage], data: st.DataObject
) -> None:
    """The chat's messages before the export's first moment neither match nor move: reading
    the chat from there on (as the service does) plans exactly what reading it all does."""
    n = len(chat)
    first = chat[: data.draw(st.integers(1, n))]
    second = chat[data.draw(st.integers(0, n - 1)) :]
    rows = stored(first)
    since = epoch(min(m.sent_at for m in second))
    start = next((r.seq for r in rows if r.epoch >= since), len(rows) + 1)
    span = (first[0].sent_at, first[-1].sent_at)

    whole = plan_merge(rows, second, precision=60, covered=span)
    tail = plan_merge(rows[start - 1 :], second, precision=60, start=start, covered=span)

    assert (tail.added, tail.moved, tail.matched) == (whole.added, whole.moved, whole.matched)
    assert tail.already_present == whole.already_present
