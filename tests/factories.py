"""Small async factories for tests."""

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

PASSWORD = "correct horse battery"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


@dataclass
class Account:
    id: uuid.UUID
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def register(client: httpx.AsyncClient, **fields: Any) -> Account:
    email = fields.pop("email", None) or unique_email()
    password = fields.pop("password", PASSWORD)
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": password, **fields}
    )
    assert response.status_code == 201, response.text
    token = await login(client, email, password)
    return Account(uuid.UUID(response.json()["id"]), email, password, token)


async def login(client: httpx.AsyncClient, email: str, password: str) -> str:
    response = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token
