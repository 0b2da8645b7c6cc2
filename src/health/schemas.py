"""What the probes and diagnostics answer."""

from typing import Literal

from pydantic import BaseModel, Field


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Checks(BaseModel):
    database: str = Field(description="`ok`, or why the database did not answer.")
    broker: str = Field(description="`ok`, or why the broker did not answer.")


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    checks: Checks


class IsolationLevel(BaseModel):
    configured: str = Field(description="What the engine was told.")
    server_reported: str = Field(description="What PostgreSQL reports for a transaction.")


class PoolStatus(BaseModel):
    pool_class: str
    size: int | None = None
    checked_in: int | None = None
    checked_out: int | None = None
    overflow: int | None = None
    max_overflow: int | None = None
    isolation_level: IsolationLevel


class PingSent(BaseModel):
    task_id: str = Field(description="The task sent; the worker's log line names it.")
    request_id: str | None = Field(description="This request's id, in the task's log line too.")
