"""Validate the RAG evaluation dataset (en.json, es.json, de.json next to this file).

    python3 evals/rag/dataset/check.py

Checks the structure described in README.md, the counts, distinct keys, dates (in 2024),
senders, references (followups, conflicts_with), and a few crude content checks: no filler
line shares 4 or more consecutive words with a fact, no question copies 4 consecutive words of
its fact, no filler line names a participant of another chat, no line touches an "absent"
topic, who_when questions name the sender and the month of the fact. Prints counts per
language; exits 1 on any problem. Standard library only.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LANGUAGES = ("en", "es", "de")
STYLES = ("family", "friends", "couple", "work")
KINDS = ("synonym", "relation", "number", "place", "who", "when", "how_much", "who_when")
FACTS_PER_CHAT = 6
QUESTIONS_PER_FACT = 2
MIN_FILLER = 150
MIN_OUTSIDE_FILLER = 60
ABSENT = 8
FOLLOWUPS = 4
OUTSIDE_FACTS = 3
MIN_WHO_WHEN = 8
MIN_PER_KIND = 2
LEAK_WORDS = 4

MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "es": [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
    "de": [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
}

# Words that would touch the topics of each language's "absent" questions. A line of any
# chat (filler or fact, outside chat included) containing one is a problem. Patterns are
# regular expressions matched case-insensitively.
ABSENT_TOPICS = {
    "en": [
        r"\bboats?\b",
        r"\btax(es)?\b",
        r"\bwedding",
        r"\bdress",
        r"\bdentist",
        r"\btooth\b",
        r"\bteeth\b",
        r"\bgym\b",
        r"\bparking\b",
        r"\bpermit\b",
        r"\binsurance\b",
        r"\bpiano\b",
    ],
    "es": [
        r"\bbarcos?\b",
        r"\blancha",
        r"\bvelero",
        r"\brenta\b",
        r"\bhacienda\b",
        r"\bdeclaraci[oó]n\b",
        r"\bvestido",
        r"\bboda",
        r"\bcasar",
        r"\bnovia\b",
        r"\bdentista",
        r"\bmuelas?\b",
        r"\bdientes?\b",
        r"\bgimnasio",
        r"\bgym\b",
        r"\bparking\b",
        r"\baparca",
        r"\btatua",
        r"\bpiano\b",
    ],
    "de": [
        r"boot",
        r"steuer",
        r"braut",
        r"hochzeit",
        r"kleid",
        r"zahn",
        r"fitness",
        r"\bgym\b",
        r"garage",
        r"parkplatz",
        r"\bparken\b",
        r"versicherung",
        r"klavier",
    ],
}

WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    return [w.casefold() for w in WORD.findall(text)]


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    ws = words(text)
    return {tuple(ws[i : i + n]) for i in range(len(ws) - n + 1)}


def parse_date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M")
    except ValueError:
        return None


class Checker:
    def __init__(self, language: str) -> None:
        self.language = language
        self.problems: list[str] = []

    def fail(self, message: str) -> None:
        self.problems.append(f"{self.language}: {message}")

    def expect(self, condition: bool, message: str) -> bool:
        if not condition:
            self.fail(message)
        return condition

    # -- structure -----------------------------------------------------------------------

    def filler(self, where: str, chat: dict[str, Any], minimum: int) -> list[str]:
        lines = chat.get("filler")
        if not self.expect(isinstance(lines, list), f"{where}: filler is not a list"):
            return []
        good = [line for line in lines if isinstance(line, str) and line.strip()]
        self.expect(len(good) == len(lines), f"{where}: filler has empty or non-text lines")
        for line in good:
            self.expect(line == line.strip(), f"{where}: filler line not stripped: {line!r}")
            self.expect(len(line.split()) <= 30, f"{where}: filler line over 30 words: {line!r}")
        counts = Counter(line.strip().casefold() for line in good)
        for line, n in counts.items():
            if n > 1:
                self.fail(f"{where}: filler line repeated {n} times: {line!r}")
        self.expect(
            len(counts) >= minimum, f"{where}: {len(counts)} distinct filler lines, need {minimum}"
        )
        return good

    def fact_common(self, where: str, fact: dict[str, Any], participants: list[str]) -> None:
        self.expect(isinstance(fact.get("key"), str) and fact["key"], f"{where}: no key")
        self.expect(
            fact.get("sender") in participants,
            f"{where}: sender {fact.get('sender')!r} is not a participant",
        )
        date = parse_date(fact.get("date"))
        if self.expect(
            date is not None, f"{where}: date {fact.get('date')!r} is not YYYY-MM-DDTHH:MM"
        ):
            assert date is not None
            self.expect(date.year == 2024, f"{where}: date {fact['date']} is not in 2024")
        text = fact.get("text")
        if self.expect(isinstance(text, str) and text.strip(), f"{where}: no text"):
            n = len(text.split())
            self.expect(6 <= n <= 25, f"{where}: fact has {n} words (6-25): {text!r}")
            self.expect(text == text.strip(), f"{where}: fact text not stripped")
            if self.language in ("es", "de"):
                self.expect(
                    not re.search(r"\d,\d{3}\b", text),
                    f"{where}: English thousands separator in {text!r}",
                )
            else:
                self.expect(
                    not re.search(r"\d\.\d{3}\b", text),
                    f"{where}: continental thousands separator in {text!r}",
                )

    def chat(self, chat: dict[str, Any]) -> dict[str, Any]:
        key = chat.get("key")
        where = f"chat {key!r}"
        for field in (
            "key",
            "style",
            "title",
            "participants",
            "me",
            "relations",
            "filler",
            "facts",
        ):
            self.expect(field in chat, f"{where}: missing {field!r}")
        participants = chat.get("participants") or []
        self.expect(len(set(participants)) == len(participants), f"{where}: repeated participant")
        style = chat.get("style")
        self.expect(style in STYLES, f"{where}: unknown style {style!r}")
        if style == "couple":
            self.expect(len(participants) == 2, f"{where}: a couple has 2 participants")
        else:
            self.expect(
                3 <= len(participants) <= 6, f"{where}: 3-6 participants, not {len(participants)}"
            )
        self.expect(chat.get("me") in participants, f"{where}: me is not a participant")
        relations = chat.get("relations")
        if self.expect(isinstance(relations, dict), f"{where}: relations is not an object"):
            for name, relation in relations.items():
                self.expect(
                    name in participants and name != chat.get("me"),
                    f"{where}: relation for {name!r}, not another participant",
                )
                self.expect(isinstance(relation, str) and relation, f"{where}: empty relation")
        self.filler(where, chat, MIN_FILLER)
        facts = chat.get("facts") or []
        self.expect(
            len(facts) == FACTS_PER_CHAT, f"{where}: {len(facts)} facts, need {FACTS_PER_CHAT}"
        )
        keys = [f.get("key") for f in facts]
        self.expect(len(set(keys)) == len(keys), f"{where}: repeated fact key")
        for fact in facts:
            fwhere = f"{where} fact {fact.get('key')!r}"
            self.fact_common(fwhere, fact, participants)
            questions = fact.get("questions") or []
            self.expect(
                len(questions) == QUESTIONS_PER_FACT,
                f"{fwhere}: {len(questions)} questions, need {QUESTIONS_PER_FACT}",
            )
            for question in questions:
                self.question(fwhere, fact, question)
        return chat

    def question(self, where: str, fact: dict[str, Any], question: dict[str, Any]) -> None:
        text, kind = question.get("text"), question.get("kind")
        if not self.expect(isinstance(text, str) and text.strip(), f"{where}: empty question"):
            return
        self.expect(kind in KINDS, f"{where}: unknown kind {kind!r}")
        fact_text = fact.get("text") or ""
        shared = ngrams(text, LEAK_WORDS) & ngrams(fact_text, LEAK_WORDS)
        self.expect(
            not shared,
            f"{where}: question copies the fact ({' '.join(next(iter(shared), ()))!r}): {text!r}",
        )
        if kind == "who_when":
            sender = str(fact.get("sender", ""))
            self.expect(
                sender.casefold() in words(text) or sender.casefold() in text.casefold(),
                f"{where}: who_when question does not name {sender!r}: {text!r}",
            )
            date = parse_date(fact.get("date"))
            if date is not None:
                named = self.months_in(text)
                self.expect(bool(named), f"{where}: who_when question names no month: {text!r}")
                for month in named:
                    self.expect(
                        month == date.month,
                        f"{where}: question says month {month}, fact is in {date.month}: {text!r}",
                    )

    def months_in(self, text: str) -> list[int]:
        names = MONTHS[self.language]
        found = []
        for i, name in enumerate(names, start=1):
            if self.language == "en":
                # case-sensitive: "may" is also a verb
                if re.search(rf"\b{name}\b", text):
                    found.append(i)
            elif re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE):
                found.append(i)
        return found

    # -- the file ------------------------------------------------------------------------

    def run(self, data: dict[str, Any]) -> dict[str, int]:
        self.expect(data.get("language") == self.language, f"language is {data.get('language')!r}")
        chats = data.get("chats") or []
        self.expect(len(chats) == len(STYLES), f"{len(chats)} chats, need {len(STYLES)}")
        self.expect(
            sorted(c.get("style") for c in chats) == sorted(STYLES),
            "the chats' styles are not family, friends, couple, work",
        )
        for chat in chats:
            self.chat(chat)
        keys = [c.get("key") for c in chats]
        facts_by_chat = {
            c.get("key"): {f.get("key"): f for f in c.get("facts") or []} for c in chats
        }

        outside = data.get("outside") or {}
        if self.expect(bool(outside), "no outside chat"):
            keys.append(outside.get("key"))
            for field in ("key", "title", "participants", "filler", "facts"):
                self.expect(field in outside, f"outside: missing {field!r}")
            self.filler("outside", outside, MIN_OUTSIDE_FILLER)
            ofacts = outside.get("facts") or []
            self.expect(
                len(ofacts) == OUTSIDE_FACTS, f"outside: {len(ofacts)} facts, need {OUTSIDE_FACTS}"
            )
            okeys = [f.get("key") for f in ofacts]
            self.expect(len(set(okeys)) == len(okeys), "outside: repeated fact key")
            for fact in ofacts:
                where = f"outside fact {fact.get('key')!r}"
                self.fact_common(where, fact, outside.get("participants") or [])
                target = str(fact.get("conflicts_with", ""))
                chat_key, _, fact_key = target.partition(".")
                conflict = facts_by_chat.get(chat_key, {}).get(fact_key)
                if self.expect(
                    conflict is not None, f"{where}: conflicts_with {target!r} is no fact"
                ):
                    assert conflict is not None
                    self.expect(
                        fact.get("text") != conflict.get("text"), f"{where}: same text as {target}"
                    )
        self.expect(len(set(keys)) == len(keys), f"repeated chat key in {keys}")

        absent = data.get("absent") or []
        self.expect(len(absent) == ABSENT, f"{len(absent)} absent questions, need {ABSENT}")
        for item in absent:
            self.expect(
                isinstance(item.get("text"), str) and item["text"].strip(), "empty absent question"
            )
            self.expect(
                item.get("chat") in facts_by_chat,
                f"absent question for unknown chat {item.get('chat')!r}",
            )

        followups = data.get("followups") or []
        self.expect(len(followups) == FOLLOWUPS, f"{len(followups)} followups, need {FOLLOWUPS}")
        for pair in followups:
            self.expect(
                pair.get("fact") in facts_by_chat.get(pair.get("chat"), {}),
                f"followup refers to unknown fact {pair.get('chat')}.{pair.get('fact')}",
            )
            for field in ("first", "then"):
                self.expect(
                    isinstance(pair.get(field), str) and pair[field].strip(),
                    f"followup {pair.get('fact')!r}: empty {field!r}",
                )

        self.content(chats, outside, absent)
        return self.counts(chats, outside, absent, followups)

    # -- content -------------------------------------------------------------------------

    def content(
        self, chats: list[dict[str, Any]], outside: dict[str, Any], absent: list[Any]
    ) -> None:
        every = [*chats, outside] if outside else list(chats)
        all_facts = [(c.get("key"), f) for c in every for f in c.get("facts") or []]
        fact_grams = [
            (f"{ck}.{f.get('key')}", ngrams(f.get("text", ""), LEAK_WORDS)) for ck, f in all_facts
        ]

        # fact texts are found by exact text in the imported chat: they must be unique
        texts = Counter(f.get("text") for _, f in all_facts)
        for text, n in texts.items():
            self.expect(n == 1, f"fact text used {n} times: {text!r}")
        questions = Counter(
            q.get("text")
            for c in chats
            for f in c.get("facts") or []
            for q in f.get("questions") or []
        )
        questions.update(a.get("text") for a in absent)
        for text, n in questions.items():
            self.expect(n == 1, f"question asked {n} times: {text!r}")

        names = {c.get("key"): set(c.get("participants") or []) for c in every}
        topics = [re.compile(p, re.IGNORECASE) for p in ABSENT_TOPICS[self.language]]
        for chat in every:
            key = chat.get("key")
            others = set().union(*(n for k, n in names.items() if k != key)) - names[key]
            name_patterns = [
                (n, re.compile(rf"(?<!\w){re.escape(n)}(?!\w)")) for n in sorted(others)
            ]
            for line in chat.get("filler") or []:
                if not isinstance(line, str):
                    continue
                grams = ngrams(line, LEAK_WORDS)
                for fact_id, fgrams in fact_grams:
                    shared = grams & fgrams
                    self.expect(
                        not shared,
                        f"{key}: filler shares {' '.join(next(iter(shared), ()))!r} "
                        f"with fact {fact_id}: {line!r}",
                    )
                for name, pattern in name_patterns:
                    self.expect(
                        not pattern.search(line),
                        f"{key}: filler names {name!r} of another chat: {line!r}",
                    )
            for line in [
                *(chat.get("filler") or []),
                *(f.get("text", "") for f in chat.get("facts") or []),
            ]:
                for topic in topics:
                    self.expect(
                        not topic.search(str(line)),
                        f"{key}: line touches an absent topic ({topic.pattern}): {line!r}",
                    )

    def counts(
        self,
        chats: list[dict[str, Any]],
        outside: dict[str, Any],
        absent: list[Any],
        followups: list[Any],
    ) -> dict[str, int]:
        kinds = Counter(
            q.get("kind")
            for c in chats
            for f in c.get("facts") or []
            for q in f.get("questions") or []
        )
        self.expect(
            kinds["who_when"] >= MIN_WHO_WHEN,
            f"{kinds['who_when']} who_when questions, need {MIN_WHO_WHEN}",
        )
        for kind in KINDS:
            self.expect(
                kinds[kind] >= MIN_PER_KIND,
                f"{kinds[kind]} {kind!r} questions, need {MIN_PER_KIND}",
            )
        return {
            "chats": len(chats),
            "facts": sum(len(c.get("facts") or []) for c in chats),
            "questions": sum(kinds.values()),
            "filler": sum(len(set(c.get("filler") or [])) for c in chats),
            "min_filler": min((len(set(c.get("filler") or [])) for c in chats), default=0),
            "outside_filler": len(set(outside.get("filler") or [])),
            "outside_facts": len(outside.get("facts") or []),
            "absent": len(absent),
            "followups": len(followups),
            **{f"kind:{k}": kinds[k] for k in KINDS},
        }


def main() -> int:
    problems: list[str] = []
    for language in LANGUAGES:
        path = HERE / f"{language}.json"
        checker = Checker(language)
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as error:
            problems.append(f"{language}: cannot read {path.name}: {error}")
            continue
        if not isinstance(data, dict):
            problems.append(f"{language}: {path.name} is not a JSON object")
            continue
        try:
            counts = checker.run(data)
        except (AttributeError, TypeError, KeyError) as error:  # malformed beyond the checks
            checker.fail(f"malformed: {error!r}")
            counts = {}
        summary = ", ".join(f"{k} {v}" for k, v in counts.items() if not k.startswith("kind:"))
        kinds = ", ".join(f"{k[5:]} {v}" for k, v in counts.items() if k.startswith("kind:"))
        print(f"{language}: {summary}")
        print(f"{language}: kinds: {kinds}")
        problems.extend(checker.problems)
    for problem in problems:
        print(f"PROBLEM {problem}")
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
