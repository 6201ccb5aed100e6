.PHONY: run test lint format bench

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
