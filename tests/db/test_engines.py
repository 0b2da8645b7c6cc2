from sqlalchemy import text
from sqlalchemy.pool import AsyncAdaptedQueuePool, NullPool

from src.config import Settings
from src.database import create_engine


async def test_api_engine_is_pooled_as_specified() -> None:
    engine = create_engine(Settings(environment="test"))
    try:
        pool = engine.pool
        assert isinstance(pool, AsyncAdaptedQueuePool)
        assert pool.size() == 10
        assert pool._max_overflow == 5
        assert pool._pre_ping is False  # DB_POOL_PRE_PING: a dead connection costs one 503
        async with engine.connect() as connection:
            level = await connection.scalar(text("SHOW transaction_isolation"))
        assert level == "repeatable read"
    finally:
        await engine.dispose()


async def test_worker_engine_uses_nullpool() -> None:
    engine = create_engine(Settings(environment="test", celery_worker=True))
    try:
        assert isinstance(engine.pool, NullPool)
        async with engine.connect() as connection:
            level = await connection.scalar(text("SHOW transaction_isolation"))
        assert level == "repeatable read"
    finally:
        await engine.dispose()


async def test_prepared_statement_cache_is_20(engine: object) -> None:
    from src.database import engine as app_engine

    async with app_engine.connect() as connection:
        raw = await connection.get_raw_connection()
        adapted = raw.driver_connection
        assert adapted is not None
        cache = raw.dbapi_connection._prepared_statement_cache  # type: ignore[union-attr]
        assert cache.capacity == 20
