# Production image: API, worker and beat share it (docker-compose.yml picks the command).
FROM python:3.11-slim

# Production unless told otherwise: it refuses public secrets and fake payments (src/config.py).
ENV ENVIRONMENT=production \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 10001 chatsight

# Dependencies first, from the lock (every package pinned and hashed): this layer is rebuilt
# only when the lock changes, not on each change to the code.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

COPY pyproject.toml README.md ./
COPY src ./src
COPY workers ./workers
COPY web ./web
RUN pip install --no-deps .

COPY alembic.ini ./
COPY alembic ./alembic

USER chatsight
EXPOSE 8000
CMD ["uvicorn", "src.main:app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log", "--proxy-headers"]
