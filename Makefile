# The two commands of the README, plus the steps they are made of.
.PHONY: install demo test lint benchmark

PYTHON_DIRS = dags plugins emulators scripts tests

install:
	bash scripts/install.sh

demo: install
	bash scripts/ensure_postgres.sh
	.venv/bin/python scripts/demo.py

test: install
	bash scripts/ensure_postgres.sh
	.venv/bin/python -m pytest

lint: install
	.venv/bin/ruff format --check $(PYTHON_DIRS)
	.venv/bin/ruff check $(PYTHON_DIRS)

benchmark: install
	bash scripts/ensure_postgres.sh
	.venv/bin/python scripts/benchmark_sync.py
