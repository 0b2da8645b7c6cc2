"""structlog, configured once per process: readable console in development, JSON elsewhere.

Our own loggers are structlog's native filtering loggers writing straight to stderr: a request
line costs a few microseconds of rendering and no trip through the standard library's logging
machinery. Standard-library loggers (uvicorn, celery, sqlalchemy) are routed through the same
processors and renderer, so every line of a process has one shape and carries the bound
context (`request_id`, ...).
"""

import logging
import os
import sys
import threading
from typing import Any

import structlog
from structlog.typing import FilteringBoundLogger, Processor


class _StderrLogger:
    """structlog's logger for our own lines: each rendered line written straight to the
    process's real stderr (`sys.__stderr__`: not a stream a framework swapped in, such as
    Celery's redirect of a worker's output into its logger), with the `name` that
    `add_logger_name` reads.

    Lines are written under one lock, which a forked child (a Celery pool process) gets
    afresh: a lock that another thread held at the moment of the fork would otherwise stay
    held in the child for good, and its first log line would hang it."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name

    def msg(self, message: str) -> None:
        stream = sys.__stderr__ or sys.stderr
        with _write_lock:
            stream.write(message + "\n")
            stream.flush()

    debug = info = warning = warn = error = critical = exception = fatal = failure = log = msg


_write_lock = threading.Lock()


def _new_write_lock() -> None:
    global _write_lock
    _write_lock = threading.Lock()


os.register_at_fork(after_in_child=_new_write_lock)


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
        logger_factory=_StderrLogger,
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
    # Request lines are logged by our own middleware, with the request id; task lines by our
    # own signal handlers (workers/celery_app.py), with the outcome and the duration. Celery's
    # errors still come through.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)


def get_logger(name: str | None = None, **initial: Any) -> FilteringBoundLogger:
    logger: FilteringBoundLogger = structlog.get_logger(name, **initial)
    return logger
