from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from src import broker
from src.auth.dependencies import CurrentUser
from src.broker import current_request_id
from src.config import get_settings
from src.database import get_engine
from src.error_handlers import error_response
from src.error_responses import responses
from src.health import service
from src.metrics import exposition
from src.ratelimit import enforce

router = APIRouter(tags=["health"])

Engine = Annotated[AsyncEngine, Depends(get_engine)]
RedisClient = Annotated[Redis, Depends(broker.get_redis)]


@router.get("/health")
async def liveness() -> dict[str, str]:
    """Liveness: the process answers. Touches nothing else."""
    return {"status": "ok"}


@router.get("/health/ready", responses=responses(503))
async def readiness(engine: Engine, redis: RedisClient) -> Any:
    """Readiness: the database and the broker both answer within 2 s. 503 otherwise, with
    which one failed in `details`."""
    checks = await service.readiness(engine, redis)
    if all(value == "ok" for value in checks.values()):
        return {"status": "ready", "checks": checks}
    return error_response(
        current_request_id(),
        status.HTTP_503_SERVICE_UNAVAILABLE,
        "not_ready",
        "A dependency is unreachable",
        checks,
        {"Retry-After": "5"},
    )


@router.get("/health/db-pool")
async def db_pool(engine: Engine) -> dict[str, Any]:
    """The API engine's connection pool (size, checked in, checked out, overflow) and the
    isolation level PostgreSQL reports for a pooled connection's transaction."""
    return await service.pool_status(engine)


@router.get("/metrics", response_class=Response, include_in_schema=True)
async def metrics(engine: Engine) -> Response:
    """Prometheus text format: requests and latencies, pool, retries by SQLSTATE, the
    process (CPU, memory, file descriptors) and the background work not finished yet."""
    await service.refresh_job_gauges(engine)
    body, content_type = exposition()
    return Response(body, media_type=content_type)


diagnostics_router = APIRouter(prefix="/diagnostics", tags=["diagnostics"])


@diagnostics_router.post(
    "/ping", status_code=status.HTTP_202_ACCEPTED, responses=responses(401, 429, 503)
)
async def ping_worker(user: CurrentUser) -> JSONResponse:
    """Send a no-op task to the workers. Its log line carries this request's `request_id`,
    which is how to follow one request into the background. 429 past
    `DIAGNOSTICS_PER_MINUTE` a minute."""
    await enforce(f"diagnostics:{user.id}", limit=get_settings().diagnostics_per_minute)
    task_id = await broker.enqueue("chatsight.diagnostics.ping", str(user.id))
    return JSONResponse(
        {"task_id": task_id, "request_id": current_request_id()},
        status_code=status.HTTP_202_ACCEPTED,
    )
