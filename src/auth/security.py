"""Password hashing (argon2id) and access tokens (JWT, HS256 by default)."""

import time
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from src.config import get_settings

# argon2id at one of OWASP's equivalent minimums (19 MiB, 2 passes, 1 lane): about 25 ms of
# CPU per hash here, against 190 ms for argon2-cffi's default (64 MiB, 3 passes, 4 lanes), which
# held sign-ins to about ten a second on two cores. Hashes made with other parameters are
# re-made at the next sign-in (`needs_rehash`).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the email is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """CPU-bound (tens of ms): call it from a worker thread, not the event loop."""
    try:
        matches = _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return matches and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def create_access_token(user_id: uuid.UUID, generation: int = 0) -> str:
    """A token for `user_id`, valid while the user's `token_generation` is `generation`."""
    settings = get_settings()
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "gen": generation,
        "iat": now,
        "exp": now + timedelta(minutes=settings.access_token_minutes),
        "type": "access",
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), settings.jwt_algorithm)


def decode_access_token(token: str) -> tuple[uuid.UUID, int] | None:
    """The user id and token generation in a valid, unexpired access token; None for
    anything else."""
    verified = _verify(token)
    if verified is None or verified.expires_at <= time.time():
        return None
    return verified.user_id, verified.generation


class _Verified(NamedTuple):
    user_id: uuid.UUID
    generation: int
    expires_at: float


@lru_cache(maxsize=4096)
def _verify(token: str) -> _Verified | None:
    """What a token says once its signature and claims check out (None if they do not).

    Remembered per token string: a token is immutable, so its signature needs checking once;
    only its expiry changes with time, and `decode_access_token` checks that on every use.
    Whether the token still counts (password change, sign-out everywhere) is the database's
    answer and is never cached. A client presents the same token for many requests, and
    checking a signature and parsing claims is about a tenth of a simple read's CPU here."""
    settings = get_settings()
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[settings.jwt_algorithm],
            options={"require": ["sub", "exp", "iat"]},
        )
        generation = claims.get("gen", 0)
        if claims.get("type") != "access" or not isinstance(generation, int):
            return None
        return _Verified(uuid.UUID(claims["sub"]), generation, float(claims["exp"]))
    except (jwt.PyJWTError, ValueError):
        return None
