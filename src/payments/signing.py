"""Webhook signatures in the scheme Stripe documents: the header
`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the endpoint secret>`.
The fake provider signs with it, and tests sign Stripe payloads with it."""

import hashlib
import hmac
import time


class InvalidSignature(Exception):
    pass


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256)
    return f"t={stamp},v1={digest.hexdigest()}"


def verify(
    payload: bytes, header: str | None, secret: str, *, tolerance: int, now: float | None = None
) -> int:
    """Check the header against the payload; returns the signed timestamp. Raises
    `InvalidSignature` for a missing, malformed, wrong or stale (beyond `tolerance` s) one."""
    if not header:
        raise InvalidSignature("missing signature header")
    stamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            stamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if stamp is None or not candidates:
        raise InvalidSignature("malformed signature header")
    if abs((time.time() if now is None else now) - stamp) > tolerance:
        raise InvalidSignature("signature timestamp outside the tolerance")
    expected = sign(payload, secret, stamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise InvalidSignature("signature does not match")
    return stamp
