# The two commands a new user needs: `make run` and `make test`.
# Both go through `make install`, which creates .venv at the repo root.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WEB_VENDOR_STAMP := web/vendor/.installed
RUNS ?= 3

.PHONY: install run test lint unit e2e reliability load bench backlog soak clean browser

install: $(STAMP) $(WEB_VENDOR_STAMP)

# Re-install only when the project metadata changed.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The charting library and Swagger UI (for /docs), from the npm registry, served
# locally (no CDN).
$(WEB_VENDOR_STAMP): web/package.json
	cd web && npm install --no-audit --no-fund --loglevel=error
	mkdir -p web/vendor/swagger-ui && cp web/node_modules/chart.js/dist/chart.umd.min.js web/vendor/chart.umd.min.js
	cp web/node_modules/swagger-ui-dist/swagger-ui-bundle.js web/node_modules/swagger-ui-dist/swagger-ui.css web/vendor/swagger-ui/
	touch $(WEB_VENDOR_STAMP)

# Debian's chromium for the browser tests (installed when missing).
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

run: install
	$(BIN)/surveil dev

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The browser tests run in their own pytest process: Playwright's sync API keeps an
# event loop running on the main thread, which the asyncio tests cannot share.
test: install browser lint
	$(BIN)/python -m pytest -q -m "not reliability" --ignore=tests/e2e tests
	$(BIN)/python -m pytest -q tests/e2e
	$(BIN)/python -m pytest -q tests/reliability -k smoke

reliability: install
	RUNS=$(RUNS) $(BIN)/python -m pytest -q -s tests/reliability

load: install
	$(BIN)/python -m benchmarks.load

bench: install
	$(BIN)/python -m benchmarks.run

# A backlog at once through the per-tenant cap and the shared LLM limit (BACKLOG_ALERTS=500).
backlog: install
	$(BIN)/python -m benchmarks.backlog

# One investigation of SOAK_MINUTES (default 10) at 50 LLM tokens/s, read every way.
soak: install
	$(BIN)/python -m benchmarks.soak

clean:
	rm -rf $(VENV) web/node_modules web/vendor .surveil
