"""The one way an answer says it is a replay (an idempotency key or a file seen before): the
same status as the first answer, and the header `Idempotent-Replayed: true`."""

from fastapi import Response

REPLAYED_HEADER = "Idempotent-Replayed"


def mark_replayed(response: Response) -> None:
    response.headers[REPLAYED_HEADER] = "true"
