"""What people do with Chatsight, for `make load` (bench/load.py runs it headless).

Each simulated person registers and signs in, brings in a chat export, then, with a pause of
one to three seconds between actions: lists their chats, reads a chat and scrolls and searches
its messages, looks at their balance and ledger, requests insights and waits for them, asks
questions (the answer streamed, the first token timed on its own) and buys credits when they
run short. Any answer other than the one a person expects counts as a failure.

    locust -f bench/locustfile.py --host http://127.0.0.1:8000
"""

import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from locust import HttpUser, between, task

PASSWORD = "load-test-password"
API = "/api/v1"
SENDERS = ("Ana", "Ben", "Chloé")
WORDS = (
    "dinner tonight at eight",
    "the train is late again",
    "did you see the match",
    "holiday photos are up",
    "can you call the plumber",
    "birthday cake for Sunday",
    "meeting moved to Friday",
    "the cat knocked the plant over",
)
INSIGHT_TYPES = ("activity", "summary", "response_times", "initiators", "sentiment", "keywords")
QUESTIONS = (
    "When is dinner?",
    "what did Ben say about the train",
    "Who talked about the holiday photos?",
    "anything about a birthday?",
)


def export(messages: int) -> bytes:
    """A WhatsApp export (Android layout) of `messages` lines over the past weeks."""
    start = datetime.now(UTC) - timedelta(days=30)
    lines = []
    for n in range(messages):
        sent = start + timedelta(minutes=37 * n)
        lines.append(f"{sent:%d/%m/%Y, %H:%M} - {SENDERS[n % 3]}: {random.choice(WORDS)} ({n})")
    return ("\n".join(lines) + "\n").encode()


class ChatUser(HttpUser):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.email = f"load-{uuid.uuid4().hex}@example.com"
        self.client.post(
            f"{API}/auth/register",
            json={"email": self.email, "password": PASSWORD},
            name="POST /auth/register",
        )
        self.sign_in()
        self.chat_id = self.import_chat()
        self.insight_ids: list[str] = []
        self.conversation_id = self.client.post(
            f"{API}/rag/conversations",
            json={"chat_ids": [self.chat_id]},
            name="POST /rag/conversations",
        ).json()["id"]

    @task(1)
    def sign_in(self) -> None:
        """With the password, as on a new device (the access token is then replaced)."""
        token = self.client.post(
            f"{API}/auth/token",
            data={"username": self.email, "password": PASSWORD},
            name="POST /auth/token",
        ).json()["access_token"]
        self.client.headers["Authorization"] = f"Bearer {token}"

    @task(1)
    def import_chat(self) -> str:
        """A 300-message export: imported in the request (no worker job at this size)."""
        chat: dict[str, Any] = self.client.post(
            f"{API}/chats/import",
            files={"file": ("WhatsApp Chat with Ana.txt", export(300), "text/plain")},
            name="POST /chats/import",
        ).json()
        return str(chat["id"])

    @task(4)
    def list_chats(self) -> None:
        self.client.get(f"{API}/chats", name="GET /chats")

    @task(3)
    def read_chat(self) -> None:
        self.client.get(f"{API}/chats/{self.chat_id}", name="GET /chats/{id}")

    @task(6)
    def scroll_messages(self) -> None:
        cursor = None
        for _ in range(3):
            params: dict[str, Any] = {"limit": 50}
            if cursor:
                params["cursor"] = cursor
            page = self.client.get(
                f"{API}/chats/{self.chat_id}/messages",
                params=params,
                name="GET /chats/{id}/messages",
            ).json()
            cursor = page.get("next_cursor")
            if not cursor:
                break

    @task(2)
    def search_messages(self) -> None:
        self.client.get(
            f"{API}/chats/{self.chat_id}/messages",
            params={"q": random.choice(WORDS).split()[0], "sender": random.choice(SENDERS)},
            name="GET /chats/{id}/messages?q=&sender=",
        )

    @task(2)
    def balance_and_ledger(self) -> None:
        self.client.get(f"{API}/credits/balance", name="GET /credits/balance")
        self.client.get(f"{API}/credits/transactions", name="GET /credits/transactions")

    @task(2)
    def request_insight(self) -> None:
        balance = self.client.get(f"{API}/credits/balance", name="GET /credits/balance")
        if balance.json()["balance"] < 5:
            self.buy_credits()
        insight_type = random.choice(INSIGHT_TYPES)
        response = self.client.post(
            f"{API}/chats/{self.chat_id}/insights",
            json={"insight_type": insight_type},
            params={"regenerate": "true"} if random.random() < 0.5 else {},
            name="POST /chats/{id}/insights",
            catch_response=True,
        )
        with response:
            # 409: a regeneration of this type is already running, which is what a person
            # who clicks twice gets; anything else but 202 is a failure.
            if response.status_code == 409:
                response.success()
            elif response.status_code == 202:
                self.insight_ids.append(response.json()["id"])
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")

    @task(3)
    def watch_insights(self) -> None:
        if self.insight_ids:
            self.client.get(
                f"{API}/insights/{random.choice(self.insight_ids[-5:])}",
                name="GET /insights/{id}",
            )
        self.client.get(f"{API}/chats/{self.chat_id}/insights", name="GET /chats/{id}/insights")

    @task(1)
    def ask(self) -> None:
        begun = time.perf_counter()
        first_token: float | None = None
        with self.client.post(
            f"{API}/rag/conversations/{self.conversation_id}/messages",
            json={"content": random.choice(QUESTIONS)},
            headers={"Accept": "text/event-stream"},
            name="POST /rag/conversations/{id}/messages (stream)",
            stream=True,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return
            event = None
            for line in response.iter_lines(decode_unicode=True):
                if line.startswith("event:"):
                    event = line.removeprefix("event:").strip()
                elif line.startswith("data:") and event == "token" and first_token is None:
                    first_token = time.perf_counter()
                elif line.startswith("data:") and event == "error":
                    response.failure(json.loads(line.removeprefix("data:")))
                    return
            if event != "done":
                response.failure(f"the stream ended with {event!r}, not done")
                return
        if first_token is not None:
            self.environment.events.request.fire(
                request_type="SSE",
                name="ask: first token",
                response_time=(first_token - begun) * 1000,
                response_length=0,
                exception=None,
                context={},
            )

    @task(1)
    def buy_credits(self) -> None:
        payment = self.client.post(
            f"{API}/payments",
            json={"package": "small"},
            headers={"Idempotency-Key": uuid.uuid4().hex},
            name="POST /payments",
        ).json()
        self.client.post(
            f"{API}/payments/{payment['id']}/fake-complete",
            name="POST /payments/{id}/fake-complete",
        )
