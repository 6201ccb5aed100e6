.PHONY: run test lint format bench load fuzz screenshots

run:  ## set up and run the product (web + worker + beat) on the embedded default
	scripts/run.sh

test:  ## set up and run linters and the whole test suite
	scripts/test.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

format:
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .

bench:  ## run the benchmarks (needs DATABASE_URL for PostgreSQL figures)
	scripts/setup.sh --dev
	.venv/bin/python -m bench

load:  ## 50 emitters x 60 s against gunicorn on PostgreSQL (DATABASE_URL); counts must match
	scripts/setup.sh --dev
	.venv/bin/python -m bench load_ingest

fuzz:  ## the long schemathesis run (200 examples per operation)
	scripts/setup.sh --dev
	HMS_FUZZ_EXAMPLES=200 .venv/bin/pytest -q tests/api/test_fuzz_schema.py

screenshots:  ## the README's screenshots, from the demo on a temporary var dir (Playwright + /usr/bin/chromium)
	scripts/setup.sh --dev
	.venv/bin/python scripts/screenshots.py
