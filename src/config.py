"""Settings: the one place that reads the environment."""

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_JWT_SECRET = "development-only-secret-never-use-in-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    log_json: bool | None = Field(
        default=None, description="JSON logs; defaults to True outside development."
    )

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/chatsight"
    redis_url: str = "redis://127.0.0.1:6379/0"
    celery_worker: bool = False

    db_pool_size: int = 10
    db_max_overflow: int = 5
    db_statement_cache_size: int = 20
    db_isolation_level: str = "REPEATABLE READ"
    db_retry_attempts: int = 8
    db_lock_retry_attempts: int = 3

    jwt_secret: SecretStr = SecretStr(DEFAULT_JWT_SECRET)
    jwt_algorithm: str = "HS256"
    access_token_minutes: int = 60

    cors_origins: Annotated[list[str], NoDecode] = []
    soft_delete_retention_days: int = 30

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _asyncpg_driver(cls, value: str) -> str:
        # Accept the plain URL every PostgreSQL tool prints; the app always talks asyncpg.
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value.removeprefix(prefix)
        return value

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> "Settings":
        secret = self.jwt_secret.get_secret_value()
        if self.environment == "production" and (secret == DEFAULT_JWT_SECRET or len(secret) < 32):
            raise ValueError("JWT_SECRET must be set to a secret of 32+ characters in production")
        return self

    @property
    def json_logs(self) -> bool:
        return self.log_json if self.log_json is not None else self.environment != "development"

    @property
    def is_development(self) -> bool:
        return self.environment == "development"


@lru_cache
def get_settings() -> Settings:
    return Settings()
