"""What a question says beyond its words: who and when, follow-ups, the chat's language, and
repeats; against the real database (indexing run as the worker runs it)."""

import httpx

from src.outbox import service as outbox
from tests.factories import register
from tests.rag.test_rag_api import ask, cited_texts, conversation, import_chat

PLANS = (
    "10/02/2024, 09:00 - Ana: The trip budget is 300 each, flights included\n"
    "11/02/2024, 09:05 - Ben: For the trip I'd rather take the night train\n"
    "14/03/2024, 18:00 - Ana: Trip update: we leave from the north station at 8\n"
    "15/03/2024, 18:10 - Ben: Trip update: I booked the couchette for the way back\n"
    "02/04/2024, 12:00 - Ana: We eat at Casa Lola on the 25th of December, booked for 2 pm\n"
    "20/04/2024, 12:00 - Ben: Is Jess coming by train?\n"
    "20/04/2024, 12:05 - Jess: My train gets in at 7:15 at Central, can someone pick me up?\n"
    "21/04/2024, 08:00 - Ana: Good morning everyone, coffee is ready in the kitchen\n"
    "21/04/2024, 08:01 - Ben: Good morning everyone, coffee is ready in the kitchen\n"
    "21/04/2024, 08:02 - Jess: Good morning everyone, coffee is ready in the kitchen\n"
    "25/12/2024, 10:00 - Ben: Merry Christmas everyone, we eat together later!\n"
)


async def test_who_and_when_from_the_question(client: httpx.AsyncClient) -> None:
    account = await register(client)
    chat_id = await import_chat(client, account, PLANS)
    conversation_id = await conversation(client, account, chat_id)
    answer = (
        await ask(client, account, conversation_id, "What did Ana say about the trip in March?")
    ).json()
    assert cited_texts(answer)
    assert {c["sender"] for c in answer["citations"]} == {"Ana"}
    assert all(c["sent_at"].startswith("2024-03") for c in answer["citations"])
    assert "north station" in cited_texts(answer)[0]
    await outbox.wait_idle()


async def test_a_date_the_question_names_is_not_when_it_was_written(
    client: httpx.AsyncClient,
) -> None:
    """ "Where do we eat on Christmas Day?" asks about the 25th, written in April."""
    account = await register(client)
    chat_id = await import_chat(client, account, PLANS)
    conversation_id = await conversation(client, account, chat_id)
    answer = (await ask(client, account, conversation_id, "Where do we eat on 25 December?")).json()
    assert "Casa Lola" in cited_texts(answer)[0]
    await outbox.wait_idle()


ARRIVALS = (
    "12/06/2024, 09:00 - Mum: Dinner on Saturday at 8, everyone's invited\n"
    "12/06/2024, 09:10 - Jess: My train gets in at 7:15 at Central, can someone pick me up?\n"
    "12/06/2024, 09:20 - Tom: My flight from Dublin lands at 9:40 on Friday\n"
    "12/06/2024, 09:30 - Dad: The garage closes at 6 so I'll get the car back tomorrow\n"
)


async def test_a_follow_up_is_searched_with_the_question_before_it(
    client: httpx.AsyncClient,
) -> None:
    """ "At what time?" alone could be any of four times; after "Is Tom flying in?" it is
    the flight's."""
    account = await register(client)
    chat_id = await import_chat(client, account, ARRIVALS)
    conversation_id = await conversation(client, account, chat_id)
    first = await ask(client, account, conversation_id, "Is Tom flying in from Dublin?")
    assert first.status_code == 200, first.text
    answer = (await ask(client, account, conversation_id, "and at what time?")).json()
    assert "9:40" in cited_texts(answer)[0], cited_texts(answer)
    await outbox.wait_idle()


async def test_a_repeated_message_is_cited_once(client: httpx.AsyncClient) -> None:
    account = await register(client)
    chat_id = await import_chat(client, account, PLANS)
    conversation_id = await conversation(client, account, chat_id)
    answer = (await ask(client, account, conversation_id, "coffee in the kitchen")).json()
    texts = cited_texts(answer)
    assert texts.count("Good morning everyone, coffee is ready in the kitchen") == 1
    await outbox.wait_idle()


SPANISH = (
    "03/05/2024, 10:00 - Lucía: El viaje a Granada sale el viernes a las ocho de la mañana\n"
    "03/05/2024, 10:05 - Javi: Perfecto, yo llevo los bocadillos para todos\n"
    "03/05/2024, 10:07 - Lucía: Acordaos de que el hotel no tiene aparcamiento\n"
    "04/05/2024, 19:30 - Javi: ¿Quién se encarga de comprar las entradas de la Alhambra?\n"
    "04/05/2024, 19:45 - Lucía: Yo las compro esta noche, son doce euros cada una\n"
)


async def test_a_chat_gets_its_language_and_full_text_stems_in_it(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    chat_id = await import_chat(client, account, SPANISH)
    chat = (await client.get(f"/api/v1/chats/{chat_id}", headers=account.headers)).json()
    assert chat["language"] == "es"
    conversation_id = await conversation(client, account, chat_id)
    # "viajes" is stemmed to the "viaje" of the message; "los", "de" are Spanish stop words.
    answer = (await ask(client, account, conversation_id, "viajes de los")).json()
    assert "El viaje a Granada" in cited_texts(answer)[0]
    assert answer["citations"][0]["score"] > 0
    await outbox.wait_idle()
