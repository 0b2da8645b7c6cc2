"""structlog, configured once per process: readable console in development, JSON elsewhere.

Our own loggers are structlog's native filtering loggers writing straight to stderr: a request
line costs a few microseconds of rendering and no trip through the standard library's logging
machinery. Standard-library loggers (uvicorn, celery, sqlalchemy) are routed through the same
processors and renderer, so every line of a process has one shape and carries the bound
context (`request_id`, ...).
"""

import logging
import sys
from typing import Any

import structlog
from structlog.typing import FilteringBoundLogger, Processor


class _NamedWriteLogger(structlog.WriteLogger):
    """structlog's plain stderr writer with the `name` that `add_logger_name` reads."""

    def __init__(self, name: str | None = None) -> None:
        super().__init__(sys.stderr)
        self.name = name


def configure_logging(*, json: bool, level: str = "INFO") -> None:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if json:
        # The console renderer prints tracebacks itself; JSON needs them as a string field.
        shared.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer()

    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level.upper()),
        logger_factory=_NamedWriteLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "celery"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # Request lines are logged by our own middleware, with the request id.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def get_logger(name: str | None = None, **initial: Any) -> FilteringBoundLogger:
    logger: FilteringBoundLogger = structlog.get_logger(name, **initial)
    return logger
