# One command runs the app (make run), one runs the tests (make test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEV_ENV := TRACKER_ENV=development FLASK_APP=wsgi
# make run PORT=5082 serves there; patients' links follow the port unless PUBLIC_BASE_URL is set.
PORT ?= 5000
PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)

.PHONY: install run test test-sqlite test-postgresql lint format clean bench

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The whole app on this machine: SQLite in instance/, demo data when empty, the scheduled jobs in a
# thread of the server (started once), SMS printed here.
run: $(STAMP)
	$(DEV_ENV) $(BIN)/flask db upgrade
	$(DEV_ENV) $(BIN)/flask tracker demo
	$(DEV_ENV) PUBLIC_BASE_URL='$(PUBLIC_BASE_URL)' TRACKER_INPROCESS_SCHEDULER=1 \
		$(BIN)/flask run --debug --host 127.0.0.1 --port $(PORT)

# The whole suite on SQLite and the database tests again on PostgreSQL (skipped, with the reason, if none
# answers), side by side: each pass is one process and the machine has two cores. Each pass's output is
# printed whole when it ends.
test: $(STAMP)
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgresql

test-sqlite: $(STAMP)
	$(BIN)/pytest --db=sqlite $(PYTEST_ARGS)

test-postgresql: $(STAMP)
	$(BIN)/pytest --db=postgresql $(PYTEST_ARGS)

# The benchmarks (bench/README.md): a quick run on SQLite and PostgreSQL (skipped, with the reason, if none
# answers at BENCH_POSTGRES_URL). Larger: make bench BENCH_ARGS="--db postgresql --patients 10000" (or 100000).
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
