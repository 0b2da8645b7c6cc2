"""The ASGI application: `uvicorn src.main:app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from src import broker, openapi
from src.auth.router import router as auth_router
from src.categories.router import admin_router as categories_admin_router
from src.categories.router import router as categories_router
from src.chats.router import router as chats_router
from src.config import Settings, get_settings
from src.credits.router import admin_router as credits_admin_router
from src.credits.router import router as credits_router
from src.database import engine, log_engine_configuration
from src.error_handlers import register_exception_handlers
from src.health.router import diagnostics_router
from src.health.router import router as health_router
from src.idempotency import REPLAYED_HEADER
from src.insights.router import router as insights_router
from src.logging import configure_logging, get_logger
from src.metrics import register_pool
from src.middleware import BodyLimitMiddleware, RequestContextMiddleware, UnhandledErrorMiddleware
from src.payments.router import router as payments_router
from src.rag import service as rag_service
from src.rag.router import router as rag_router
from src.users.router import router as users_router

log = get_logger("chatsight")

API_PREFIX = "/api/v1"
WEB_APP = Path(__file__).resolve().parent.parent / "web" / "app"
MEGABYTE = 1024 * 1024
#: What a browser on another origin may read of a response, beside the always-safe ones.
EXPOSED_HEADERS = [
    "X-Request-ID",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
    REPLAYED_HEADER,
]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    log_engine_configuration()
    yield
    await rag_service.wait_answers()
    await broker.close_redis()
    await engine.dispose()
    log.info("app.stopped")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(json=settings.json_logs, level=settings.log_level)
    app = FastAPI(
        title="Chatsight",
        version="0.1.0",
        description=(
            "Import conversations, generate insights with credits, and ask questions answered "
            "from your own messages with citations.\n\n"
            "Every error has one shape: "
            '`{"error": {"code", "message", "request_id", "details"}}`. '
            "Send `X-Request-ID` to choose the id that ties a request to its log lines; "
            "every response echoes it."
        ),
        lifespan=lifespan,
        generate_unique_id_function=openapi.operation_id,
    )
    register_exception_handlers(app)
    openapi.install(app)

    # Probes first, then each domain straight on the app: a request's route is found by trying
    # routes in order, and every level of nesting adds to each try.
    app.include_router(health_router)
    # The web app (static files, no build step): the API's own frontend, at /app, where the
    # site's root sends a browser.
    app.mount("/app", StaticFiles(directory=WEB_APP, html=True), name="app")
    app.add_api_route("/", lambda: RedirectResponse("/app/"), include_in_schema=False, name="home")
    for router in (
        auth_router,
        users_router,
        credits_router,
        credits_admin_router,
        payments_router,
        chats_router,
        categories_router,
        categories_admin_router,
        insights_router,
        rag_router,
        diagnostics_router,
    ):
        app.include_router(router, prefix=API_PREFIX)

    # From the inside out: unhandled errors become the 500 envelope, and bodies past their
    # limit the 413 envelope, inside CORS, so that a browser on another origin reads every
    # answer; outermost, the request id, metrics and request line cover every response, CORS
    # preflights included.
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        default=settings.max_body_mb * MEGABYTE,
        # Export uploads: POST /chats/import and POST /chats/{id}/import (merges).
        limits={"/import": settings.max_upload_mb * MEGABYTE},
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=EXPOSED_HEADERS,
        )
    app.add_middleware(RequestContextMiddleware)
    return app


register_pool(engine)
app = create_app()
