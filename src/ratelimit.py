"""Fixed-window rate limits shared by every API process: the counters live in Redis."""

import time

from redis.exceptions import RedisError
from starlette.requests import Request

from src.broker import get_redis
from src.exceptions import RateLimited, ServiceUnavailableError


async def enforce(key: str, *, limit: int, window_seconds: int = 60) -> None:
    """Count one hit on `key` in the current window; `RateLimited` (429 + Retry-After) past
    `limit`."""
    now = time.time()
    window = int(now // window_seconds)
    counter = f"ratelimit:{key}:{window}"
    redis = get_redis()
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(counter)
            pipe.expire(counter, window_seconds * 2)
            count, _ = await pipe.execute()
    except RedisError as exc:
        # No shared counter, no limit to enforce: refuse rather than let everything through.
        raise ServiceUnavailableError("The rate limiter is unavailable") from exc
    if int(count) > limit:
        retry_after = max(1, int((window + 1) * window_seconds - now) + 1)
        raise RateLimited(retry_after=retry_after, limit=limit, window_seconds=window_seconds)


def client_address(request: Request) -> str:
    """The client's address (behind a proxy, what `uvicorn --proxy-headers` trusted)."""
    return request.client.host if request.client else "unknown"
