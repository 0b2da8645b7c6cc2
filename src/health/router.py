from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from src import broker
from src.auth.dependencies import CurrentUser
from src.broker import current_request_id
from src.config import get_settings
from src.database import get_engine
from src.error_responses import responses
from src.exceptions import NotReady
from src.health import service
from src.health.schemas import Checks, Liveness, PingSent, PoolStatus, Readiness
from src.metrics import exposition
from src.ratelimit import enforce

router = APIRouter(tags=["health"])

Engine = Annotated[AsyncEngine, Depends(get_engine)]
RedisClient = Annotated[Redis, Depends(broker.get_redis)]


@router.get("/health", response_model=Liveness)
async def liveness() -> Liveness:
    """Liveness: the process answers. Touches nothing else."""
    return Liveness()


@router.get("/health/ready", response_model=Readiness, responses=responses(503))
async def readiness(engine: Engine, redis: RedisClient) -> Readiness:
    """Readiness: the database and the broker both answer within 2 s. 503 `not_ready`
    otherwise, with which one failed in `details`."""
    checks = await service.readiness(engine, redis)
    if any(value != "ok" for value in checks.values()):
        raise NotReady(details=checks)
    return Readiness(checks=Checks(**checks))


@router.get("/health/db-pool", response_model=PoolStatus)
async def db_pool(engine: Engine) -> PoolStatus:
    """The API engine's connection pool (size, checked in, checked out, overflow) and the
    isolation level PostgreSQL reports for a pooled connection's transaction."""
    return PoolStatus.model_validate(await service.pool_status(engine))


@router.get("/metrics", response_class=Response, include_in_schema=True)
async def metrics(engine: Engine) -> Response:
    """Prometheus text format: requests and latencies, pool, retries by SQLSTATE, the
    process (CPU, memory, file descriptors) and the background work not finished yet."""
    await service.refresh_job_gauges(engine)
    body, content_type = exposition()
    return Response(body, media_type=content_type)


diagnostics_router = APIRouter(prefix="/diagnostics", tags=["diagnostics"])


@diagnostics_router.post(
    "/ping",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PingSent,
    responses=responses(401, 429, 503),
)
async def ping_worker(user: CurrentUser) -> PingSent:
    """Send a no-op task to the workers. Its log line carries this request's `request_id`,
    which is how to follow one request into the background. 429 past
    `DIAGNOSTICS_PER_MINUTE` a minute."""
    await enforce(f"diagnostics:{user.id}", limit=get_settings().diagnostics_per_minute)
    task_id = await broker.enqueue("chatsight.diagnostics.ping", str(user.id))
    return PingSent(task_id=task_id, request_id=current_request_id())
