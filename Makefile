# Navexa Portal: `make run` starts everything locally; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed

# Tests run in three processes, the longest first as they free up (the suite is mostly waiting on sockets).
PYTEST := $(BIN)/python -m pytest -n 3 --dist worksteal

.PHONY: run test test-fast screenshots lint bench clean

# `make run` installs only what running needs; `make test` adds the test toolchain on top.
$(RUN_STAMP): requirements.txt requirements-run.txt sandbox/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is needed (found %s)" % sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@echo "Setting up .venv for Navexa Portal (first run only): the portal, the sandbox and a redis-server..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --progress-bar off -r requirements-run.txt
	@echo "Installed."
	@touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP) requirements-dev.txt
	@echo "Adding the test toolchain to .venv (pytest, Playwright, Hypothesis, axe, ruff)..."
	@$(BIN)/python -m pip install --quiet --progress-bar off -r requirements-dev.txt
	@touch $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/python -m tools.run

test: $(STAMP)
	$(PYTEST) -m "not screenshots" $(PYTEST_ARGS)

# Everything but the browser, soak and process-starting tests: for the edit-test loop.
test-fast: $(STAMP)
	$(PYTEST) -m "not browser and not soak and not processes" $(PYTEST_ARGS)

# The README's and docs' screenshots, retaken in Debian's Chromium (each test also checks what it shows);
# `make test` leaves them out and writes nothing into the tree. SCREENSHOTS_DIR=… writes them elsewhere.
SCREENSHOTS_DIR ?= $(CURDIR)/docs/screenshots
screenshots: $(STAMP)
	SCREENSHOTS_DIR=$(SCREENSHOTS_DIR) $(BIN)/python -m pytest -q -m screenshots $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench.refresh_stampede
	$(BIN)/python -m bench.page_fanout
	$(BIN)/python -m bench.slow_provider
	$(BIN)/python -m bench.proxy_overhead
	$(BIN)/python -m bench.navexa_calls
	$(BIN)/python -m bench.session_bytes
	$(BIN)/python -m bench.refresh_storm
	$(BIN)/python -m bench.many_sessions
	$(BIN)/python -m bench.slow_clients

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
