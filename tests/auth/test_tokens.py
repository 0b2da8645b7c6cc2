"""A stolen token is worth less: a password change, or signing out everywhere, ends every
token issued before it."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select, update

from src.auth import service as auth_service
from src.auth.models import RefreshToken
from src.database import SessionLocal
from tests.factories import assert_envelope, login, register

NEW_PASSWORD = "a-new-password-42"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_password_change_ends_every_earlier_token(client: httpx.AsyncClient) -> None:
    account = await register(client)
    other_device = await login(client, account.email, account.password)
    changed = await client.patch(
        "/api/v1/users/me",
        json={"password": NEW_PASSWORD, "current_password": account.password},
        headers=account.headers,
    )
    assert changed.status_code == 200, changed.text
    for token in (account.token, other_device):
        assert_envelope(
            await client.get("/api/v1/users/me", headers=bearer(token)), 401, "not_authenticated"
        )
    fresh = await login(client, account.email, NEW_PASSWORD)
    assert (await client.get("/api/v1/users/me", headers=bearer(fresh))).status_code == 200


async def test_a_name_change_keeps_tokens(client: httpx.AsyncClient) -> None:
    account = await register(client)
    renamed = await client.patch(
        "/api/v1/users/me", json={"display_name": "Ada"}, headers=account.headers
    )
    assert renamed.status_code == 200
    assert (await client.get("/api/v1/users/me", headers=account.headers)).status_code == 200


async def test_logout_all_ends_every_token_until_the_next_sign_in(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    other_device = await login(client, account.email, account.password)
    out = await client.post("/api/v1/auth/logout-all", headers=account.headers)
    assert out.status_code == 204
    for token in (account.token, other_device):
        assert_envelope(
            await client.get("/api/v1/users/me", headers=bearer(token)), 401, "not_authenticated"
        )
    assert_envelope(
        await client.post("/api/v1/auth/logout-all", headers=account.headers),
        401,
        "not_authenticated",
    )
    again = await login(client, account.email, account.password)
    assert (await client.get("/api/v1/users/me", headers=bearer(again))).status_code == 200


async def test_owned_resources_check_the_token_in_the_same_query(
    client: httpx.AsyncClient,
) -> None:
    """`GET /chats/{id}` checks the owner's liveness in the query that loads the chat: an
    ended token is 401 there too (not 404), and a live one still gets 404 for a chat that is
    not its own."""
    from src.users.models import User
    from tests.chats.test_api import unique_export, upload

    owner = await register(client)
    stranger = await register(client)
    chat_id = (await upload(client, owner, unique_export())).json()["id"]
    path = f"/api/v1/chats/{chat_id}"
    assert (await client.get(path, headers=owner.headers)).status_code == 200
    assert_envelope(await client.get(path, headers=stranger.headers), 404, "not_found")

    # Every read that checks the token in its own query (src/reads.py) answers 401 alike,
    # and the chat list does so whether or not the user has chats.
    empty = await register(client)
    reads = [path, f"{path}/messages", "/api/v1/chats", "/api/v1/credits/balance"]
    reads += ["/api/v1/users/me", f"/api/v1/payments/{uuid.uuid4()}"]
    for account, paths in ((owner, reads), (empty, ["/api/v1/chats"])):
        assert (await client.get(paths[0], headers=account.headers)).status_code == 200
        old_token = account.token
        ended = await client.post("/api/v1/auth/logout-all", headers=account.headers)
        assert ended.status_code == 204
        for read in paths:
            response = await client.get(read, headers=bearer(old_token))
            assert_envelope(response, 401, "not_authenticated")

    async with SessionLocal() as session:
        await session.execute(update(User).where(User.id == stranger.id).values(is_active=False))
        await session.commit()
    assert_envelope(await client.get(path, headers=stranger.headers), 401, "not_authenticated")

    fresh = await login(client, owner.email, owner.password)
    assert (await client.get(path, headers=bearer(fresh))).status_code == 200


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    pair: dict[str, str] = response.json()
    return pair


async def trade(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})


async def test_a_refresh_token_buys_a_new_pair_once(client: httpx.AsyncClient) -> None:
    account = await register(client)
    first = await sign_in(client, account.email, account.password)
    assert first["expires_in"] == 15 * 60
    traded = await trade(client, first["refresh_token"])
    assert traded.status_code == 200, traded.text
    second = traded.json()
    assert second["refresh_token"] != first["refresh_token"]
    me = await client.get("/api/v1/users/me", headers=bearer(second["access_token"]))
    assert me.status_code == 200
    # The next one works in turn.
    assert (await trade(client, second["refresh_token"])).status_code == 200


async def test_a_used_refresh_token_revokes_its_whole_sign_in(client: httpx.AsyncClient) -> None:
    account = await register(client)
    stolen = (await sign_in(client, account.email, account.password))["refresh_token"]
    owner_next = (await trade(client, stolen)).json()["refresh_token"]
    # The thief presents the copy: refused, and the owner's newer token dies with it.
    assert_envelope(await trade(client, stolen), 401, "not_authenticated")
    assert_envelope(await trade(client, owner_next), 401, "not_authenticated")
    # Another sign-in (another family) is not affected.
    other = (await sign_in(client, account.email, account.password))["refresh_token"]
    assert (await trade(client, other)).status_code == 200


async def test_logout_all_and_password_changes_end_refresh_tokens(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    pair = await sign_in(client, account.email, account.password)
    out = await client.post("/api/v1/auth/logout-all", headers=bearer(pair["access_token"]))
    assert out.status_code == 204
    assert_envelope(await trade(client, pair["refresh_token"]), 401, "not_authenticated")

    pair = await sign_in(client, account.email, account.password)
    changed = await client.patch(
        "/api/v1/users/me",
        json={"password": NEW_PASSWORD, "current_password": account.password},
        headers=bearer(pair["access_token"]),
    )
    assert changed.status_code == 200
    assert_envelope(await trade(client, pair["refresh_token"]), 401, "not_authenticated")


async def test_unknown_refresh_tokens_are_refused(client: httpx.AsyncClient) -> None:
    assert_envelope(await trade(client, "not-a-token"), 401, "not_authenticated")
    assert_envelope(await trade(client, ""), 422, "validation_error")


async def test_expired_refresh_tokens_are_purged(client: httpx.AsyncClient) -> None:
    account = await register(client)
    pair = await sign_in(client, account.email, account.password)
    async with SessionLocal() as session:
        count = (
            select(func.count()).select_from(RefreshToken).where(RefreshToken.user_id == account.id)
        )
        assert await session.scalar(count) == 2  # registering signed in once too
        later = datetime.now(UTC) + timedelta(days=31)
        assert await auth_service.purge_expired(session, now=later) >= 2
        await session.commit()
        assert await session.scalar(count) == 0
    assert_envelope(await trade(client, pair["refresh_token"]), 401, "not_authenticated")


async def sign_out(client: httpx.AsyncClient, refresh_token: str) -> None:
    response = await client.post("/api/v1/auth/logout", json={"refresh_token": refresh_token})
    assert response.status_code == 204, response.text
    assert response.content == b""


async def test_logout_ends_one_sign_in_and_no_other(client: httpx.AsyncClient) -> None:
    account = await register(client)
    first = await sign_in(client, account.email, account.password)
    latest = (await trade(client, first["refresh_token"])).json()
    other = await sign_in(client, account.email, account.password)

    await sign_out(client, latest["refresh_token"])
    assert_envelope(await trade(client, latest["refresh_token"]), 401, "not_authenticated")
    await sign_out(client, latest["refresh_token"])  # twice: the same answer
    # Access tokens are not looked up: the one already issued works until it expires.
    me = await client.get("/api/v1/users/me", headers=bearer(latest["access_token"]))
    assert me.status_code == 200
    # The other sign-in of the same account goes on, its tokens untouched.
    async with SessionLocal() as session:
        revoked = select(RefreshToken.revoked_at.is_not(None)).where(
            RefreshToken.user_id == account.id
        )
        assert sorted(await session.scalars(revoked)) == [False, False, True, True]
    assert (await trade(client, other["refresh_token"])).status_code == 200


async def test_logout_with_a_token_it_cannot_use_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    """Unknown and expired tokens answer 204 like a live one, so logout tells nothing."""
    account = await register(client)
    first = await sign_in(client, account.email, account.password)
    latest = (await trade(client, first["refresh_token"])).json()
    async with SessionLocal() as session:
        used = RefreshToken.user_id == account.id, RefreshToken.used_at.is_not(None)
        await session.execute(
            update(RefreshToken).where(*used).values(expires_at=datetime.now(UTC))
        )
        await session.commit()

    await sign_out(client, "not-a-token")
    await sign_out(client, first["refresh_token"])  # expired now
    async with SessionLocal() as session:
        revoked = select(func.count()).where(
            RefreshToken.user_id == account.id, RefreshToken.revoked_at.is_not(None)
        )
        assert await session.scalar(revoked) == 0
    assert (await trade(client, latest["refresh_token"])).status_code == 200


async def test_logout_needs_a_refresh_token(client: httpx.AsyncClient) -> None:
    for body in ({}, {"refresh_token": ""}):
        response = await client.post("/api/v1/auth/logout", json=body)
        error = assert_envelope(response, 422, "validation_error")
        assert [detail["loc"] for detail in error["details"]] == [["body", "refresh_token"]]
