# Two commands set everything up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV := $(shell uv --version >/dev/null 2>&1 && echo uv || echo .tools/bin/uv)
PY := .venv/bin/python

.PHONY: run test install worker beat lint bench chaos clean

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv

.venv/.installed: pyproject.toml uv.lock | $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv)
	$(UV) sync --frozen
	touch $@

install: .venv/.installed

## Serve the app on http://127.0.0.1:8000 (SQLite and in-process tasks unless DATABASE_URL/REDIS_URL are set).
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py import_questions questions/bank --sync
	$(PY) manage.py demo_user
	$(PY) manage.py runserver 127.0.0.1:8000

## Run the whole test suite. Tests needing PostgreSQL, Redis or chromium are skipped
## (and listed) without them; with CI=true a missing service fails the run.
test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy accounts questions quiz

worker: install
	.venv/bin/celery -A quiz worker --loglevel=INFO

beat: install
	.venv/bin/celery -A quiz beat --loglevel=INFO

## On-demand benchmarks and fault tests (not part of `make test`).
bench: install
	$(PY) bench/run.py --scenario all $(if $(QUICK),--quick)

chaos: install
	QUICK=$(QUICK) chaos/run.sh $(PYTEST_ARGS)

clean:
	rm -rf .venv .tools staticfiles .pytest_cache .mypy_cache .ruff_cache
