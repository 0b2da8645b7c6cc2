"""Settings: the one place that reads the environment."""

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class CreditPackage(BaseModel):
    credits: int = Field(gt=0)
    amount_cents: int = Field(gt=0)


DEFAULT_JWT_SECRET = "development-only-secret-never-use-in-production"
DEFAULT_FAKE_WEBHOOK_SECRET = "whsec_fake_development_only"


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
    # Request work only (the API's engine): a statement running longer is cancelled and the
    # request answers 503, so that slow statements cannot hold the pool. Workers have none.
    db_statement_timeout_ms: int = Field(default=10_000, ge=0)
    # How long a request waits for a pooled connection before answering 503.
    db_pool_timeout_seconds: float = Field(default=10, gt=0)
    # A round trip on every checkout to test the connection first. Off: a connection that
    # died (a database restart) fails the one request that used it with a 503, and the
    # engine then replaces every pooled connection older than the failure.
    db_pool_pre_ping: bool = False
    db_retry_attempts: int = 8
    db_lock_retry_attempts: int = 3

    jwt_secret: SecretStr = SecretStr(DEFAULT_JWT_SECRET)
    jwt_algorithm: str = "HS256"
    # Access tokens are short; a refresh token (rotated on each use) gets the next one.
    access_token_minutes: int = Field(default=15, ge=1)
    refresh_token_days: int = Field(default=30, ge=1)

    # Abuse limits, counted in Redis and so shared by every API process: sign-ins and
    # registrations per client address, sign-ins per account (each costs an argon2 hash),
    # checkouts and worker pings per user. 429 with Retry-After and RateLimit-* headers.
    auth_attempts_per_minute_per_address: int = Field(default=30, ge=1)
    auth_attempts_per_minute_per_account: int = Field(default=10, ge=1)
    payments_per_minute: int = Field(default=10, ge=1)
    diagnostics_per_minute: int = Field(default=10, ge=1)

    cors_origins: Annotated[list[str], NoDecode] = []
    soft_delete_retention_days: int = 30

    # Credits. Balance changes queue on the user's row lock at READ COMMITTED (see
    # src/credits/service.py and bench/credits_contention.py for why).
    signup_credits: int = Field(default=10, ge=0)
    credits_isolation_level: str = "READ COMMITTED"
    # How long a unit of work queues on a hot row's lock (balances, chats, payments) before
    # answering 503.
    lock_wait_ms: int = Field(default=5000, ge=1)

    # Chats.
    max_upload_mb: int = Field(default=50, ge=1)
    max_body_mb: int = Field(default=5, ge=1)
    # Uploads up to this size are parsed during the request (in a thread pool); larger ones
    # become an import job for a worker (202 + progress).
    import_inline_max_bytes: int = Field(default=2 * 1024 * 1024, ge=0)
    import_copy_batch: int = Field(default=20_000, ge=100)
    # Caps on one import (or merge): exceeding one is a 413/422 that names it.
    max_import_messages: int = Field(default=1_000_000, ge=1)
    max_message_chars: int = Field(default=65_536, ge=1)
    max_participants: int = Field(default=5_000, ge=1)
    # An import job that has not written progress for this long is taken as dead (its worker
    # was killed or its task lost; above the task time limit): the sweeper sends it again,
    # or fails it with that reason once it has run `import_max_attempts` times.
    import_stall_seconds: int = Field(default=1800, ge=1)
    import_max_attempts: int = Field(default=3, ge=1)
    # A chat left `pending` or `indexing` this long without progress (its task lost with its
    # broker, its worker killed past its retries) has its indexing sent again by a sweeper,
    # or failed with that reason once it has run `index_max_attempts` times.
    index_stall_seconds: int = Field(default=1800, ge=1)
    index_max_attempts: int = Field(default=5, ge=1)

    # Insights.
    insight_max_attempts: int = Field(default=3, ge=1)
    # A job `running` this long without finishing is taken as stalled (its worker died) and
    # re-staged; one `pending` this long after it was sent is "waiting for a worker".
    insight_stall_seconds: int = Field(default=600, ge=1)
    insight_waiting_seconds: int = Field(default=120, ge=1)
    sweeper_interval_seconds: float = Field(default=60, gt=0)
    outbox_relay_interval_seconds: float = Field(default=5, gt=0)
    insight_silence_minutes: int = Field(default=240, ge=1)
    # The `openai` insight provider: any OpenAI-compatible /v1/chat/completions.
    openai_base_url: str = "https://api.openai.com/v1"
    openai_api_key: SecretStr | None = None
    openai_model: str = "gpt-4o-mini"
    openai_connect_timeout_seconds: float = 5.0
    openai_read_timeout_seconds: float = 60.0
    openai_max_retries: int = Field(default=3, ge=0)
    # How much of a chat (its most recent messages) goes into a prompt.
    openai_max_prompt_chars: int = Field(default=60_000, ge=1000)

    # RAG: embeddings, retrieval, answers.
    embedding_provider: Literal["local", "multilingual", "openai"] = "multilingual"
    embedding_openai_base_url: str = "https://api.openai.com/v1"
    embedding_openai_api_key: SecretStr | None = None
    embedding_openai_model: str = "text-embedding-3-small"
    # Ask the endpoint for `embedding_dimension`-sized vectors (text-embedding-3-* support it;
    # turn off for servers that reject the field).
    embedding_openai_send_dimensions: bool = True
    embedding_dimension: int = 384
    embedding_batch_size: int = Field(default=64, ge=1)
    chunk_max_tokens: int = Field(default=200, ge=16)
    chunk_silence_minutes: int = Field(default=120, ge=1)
    rag_answerer: Literal["local", "openai"] = "local"
    rag_candidates: int = Field(default=100, ge=1, description="per retrieval side")
    rag_rrf_k: int = 10
    rag_weight_text: float = 0.3
    rag_weight_vector: float = 1.0
    # A retrieved message is evidence when its score against the question (the dot product
    # with the question's vector less its form's, `rag.service.find_evidence`) reaches
    # rag_min_similarity (unset: the embedder's own floor, measured on `make eval`), or it
    # holds rag_min_coverage of the question's weighted words.
    rag_min_similarity: float | None = Field(default=None, ge=-1, le=1)
    rag_min_coverage: float = Field(default=0.4, ge=0, le=1)
    # ... and when its score is within rag_similarity_margin of the best message's (unset: the
    # embedder's own).
    rag_similarity_margin: float | None = Field(default=None, ge=0)
    # Earlier messages an embedding reads before the message itself.
    rag_context_messages: int = Field(default=0, ge=0, le=5)
    rag_citations: int = Field(default=5, ge=1)
    # HNSW's candidate list for scopes too large to search exactly: measured at 1,000,000
    # units (bench/reports/retrieval.md), a fifth of them searched at recall@10 0.74 with 100,
    # 0.94 with 1,000 (vector side p95 17 and 51 ms).
    rag_hnsw_ef_search: int = Field(default=1000, ge=1)
    # Scopes of at most this many messages are searched exactly, larger ones through HNSW.
    rag_exact_search_max: int = Field(default=20_000, ge=0)
    rag_max_question_chars: int = Field(default=2000, ge=1)
    rag_max_chats_per_conversation: int = Field(default=20, ge=1)
    rag_questions_per_minute: int = Field(default=30, ge=1)
    rag_history_turns: int = Field(default=6, ge=0)

    # Payments.
    payments_provider: Literal["fake", "stripe"] = "fake"
    # The fake provider lets anyone pay their own checkout: production refuses it unless this
    # is set (a demo), and then wants FAKE_WEBHOOK_SECRET changed from its public default.
    allow_fake_payments: bool = False
    credit_packages: dict[str, CreditPackage] = Field(
        default_factory=lambda: {
            "small": CreditPackage(credits=50, amount_cents=500),
            "medium": CreditPackage(credits=120, amount_cents=1000),
            "large": CreditPackage(credits=300, amount_cents=2000),
        }
    )
    payments_currency: str = "eur"
    public_base_url: str = "http://127.0.0.1:8000"
    checkout_success_url: str = "http://127.0.0.1:8000/docs#payment-succeeded"
    checkout_cancel_url: str = "http://127.0.0.1:8000/docs#payment-canceled"
    fake_webhook_secret: SecretStr = SecretStr(DEFAULT_FAKE_WEBHOOK_SECRET)
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    # Only for tests and local stubs: where the Stripe SDK sends its API calls.
    stripe_api_base: str | None = None
    webhook_tolerance_seconds: int = 300

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
    def _refuse_unsafe_production(self) -> "Settings":
        """Production does not start with a public secret or with payments anyone can fake;
        each refusal names the setting to change."""
        if self.environment == "production":
            secret = self.jwt_secret.get_secret_value()
            if secret == DEFAULT_JWT_SECRET or len(secret) < 32:
                raise ValueError(
                    "JWT_SECRET must be set to a secret of 32+ characters in production"
                )
            if self.payments_provider == "fake" and not self.allow_fake_payments:
                raise ValueError(
                    "PAYMENTS_PROVIDER=fake lets anyone pay their own checkout: set "
                    "PAYMENTS_PROVIDER=stripe in production (or ALLOW_FAKE_PAYMENTS=true for "
                    "a demo)"
                )
            if (
                self.payments_provider == "fake"
                and self.fake_webhook_secret.get_secret_value() == DEFAULT_FAKE_WEBHOOK_SECRET
            ):
                raise ValueError(
                    "FAKE_WEBHOOK_SECRET must be changed from its public default in production"
                )
        if self.payments_provider == "stripe" and not (
            self.stripe_secret_key and self.stripe_webhook_secret
        ):
            raise ValueError(
                "PAYMENTS_PROVIDER=stripe needs STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET"
            )
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
