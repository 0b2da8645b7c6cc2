"""Unit tests of question terms and of ranking a chunk's messages against a question.

Expected scores are worked out with the BM25 formula of `src.rag.citations` (k1 = 1.2,
b = 0.75, idf = max(ln(1 + (N - df + 0.5) / (df + 0.5)), 0.1), 0.25 per matching bigram).
"""

import math

from src.rag.citations import query_terms, rank_messages

CHUNK = [
    (1, "Good morning everyone"),
    (2, "The picnic is on Saturday at the park"),
    (3, "I love picnics"),
    (4, "Saturday works for me"),
]


def test_query_terms() -> None:
    assert query_terms("What did Ana say about the picnic on Saturday?") == [
        "ana",
        "picnic",
        "saturday",
    ]
    assert query_terms("¿Qué dijo Ana sobre la excursión de MAÑANA?", "es") == [
        "ana",
        "excursion",
        "manana",
    ]
    assert query_terms("Is it a 5 star place? picnic, picnic!") == ["5", "star", "place", "picnic"]
    assert query_terms("what did they say?") == []
    # Only the named language's stop words go: "la" stays in English.
    assert query_terms("la playa", "en") == ["la", "playa"]
    assert query_terms("la playa", "es-AR") == ["playa"]


def test_the_message_with_both_words_ranks_first() -> None:
    ranked = rank_messages("When is the picnic on Saturday?", CHUNK)
    assert [message_id for message_id, _ in ranked] == [2, 4]  # "picnics" is another word
    assert ranked[0][1] > ranked[1][1] > 0


def test_exact_score_of_a_single_match() -> None:
    # N = 2, df = 1: idf = ln 2; dl = avgdl = 1: tf part = 1 * 2.2 / (1 + 1.2) = 1.
    assert rank_messages("picnic?", [(1, "picnic"), (2, "rain")]) == [(1, round(math.log(2), 4))]


def test_accents_and_case_are_ignored() -> None:
    chunk = [(7, "Nos vemos mañana en la playa"), (8, "Hoy no puedo")]
    assert [i for i, _ in rank_messages("manana playa", chunk)] == [7]
    assert [i for i, _ in rank_messages("¿MAÑANA?", [(3, "hasta manana")])] == [3]


def test_no_shared_word_gives_nothing() -> None:
    assert rank_messages("kayak rental", CHUNK) == []
    assert rank_messages("what did they say about it?", CHUNK) == []
    assert rank_messages("picnic", []) == []


def test_floor_and_ties_by_id() -> None:
    # Every message has the word: idf = ln(1 + 0.5 / 5.5) = 0.087, raised to the 0.1 floor.
    chunk = [(5, "rain"), (3, "rain"), (9, "Rain"), (1, "rain"), (7, "rain")]
    assert rank_messages("rain?", chunk) == [(1, 0.1), (3, 0.1), (5, 0.1)]
    assert rank_messages("rain?", chunk, limit=1) == [(1, 0.1)]


def test_bigram_bonus() -> None:
    # Same words and lengths; only message 2 has "picnic park" in the question's order.
    # N = 2, df = 2: idf = ln 1.2 for each word; tf part = 1.
    chunk = [(1, "park and the picnic"), (2, "picnic in the park")]
    base = round(2 * math.log(1.2), 4)
    assert rank_messages("picnic park", chunk) == [(2, round(base + 0.25, 4)), (1, base)]


def test_limit_and_length_normalisation() -> None:
    chunk = [
        (1, "rain " + "filler words here " * 10),
        (2, "rain today"),
        (3, "sunny"),
    ]
    assert [i for i, _ in rank_messages("rain", chunk, limit=5)] == [2, 1]
