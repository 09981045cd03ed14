# Abacus: `make run` serves the app on http://127.0.0.1:7860; `make test` runs every check.
# Both create the virtualenv and install the pinned requirements on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 7860
PYTHON ?= python3
CHROMIUM ?= /usr/bin/chromium
# Tests run in two processes (the machine has two cores); override with PYTEST_WORKERS=0.
PYTEST_WORKERS ?= 2

.PHONY: run test lint jslint jsformat typecheck pytest chromium bench screenshots docker clean

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Locally the Experiments admin token defaults to "dev-admin-token"; the container has none
# unless ABACUS_ADMIN_TOKEN is set (then every management call answers 401).
run: $(VENV)/.runtime
	@echo "Abacus on http://127.0.0.1:$(PORT)  (Experiments admin token: $${ABACUS_ADMIN_TOKEN:-dev-admin-token})"
	ABACUS_ADMIN_TOKEN=$${ABACUS_ADMIN_TOKEN:-dev-admin-token} \
		$(VENV)/bin/gunicorn --config gunicorn.conf.py --bind 127.0.0.1:$(PORT) app:app

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "Installing Debian's chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	fi

lint: $(VENV)/.dev jslint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# JavaScript: Biome (one pinned npm package, package-lock.json) lints and checks the format of
# static/js; `make jsformat` rewrites it. Installed by `npm ci` on first use.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

jslint: node_modules/.installed
	node_modules/.bin/biome ci static/js

jsformat: node_modules/.installed
	node_modules/.bin/biome check --write static/js

typecheck: $(VENV)/.dev
	$(VENV)/bin/mypy

pytest: $(VENV)/.dev chromium
	$(PY) -m pytest -n $(PYTEST_WORKERS) --durations=15

test: lint typecheck pytest

bench: $(VENV)/.runtime
	$(PY) -m bench

screenshots: $(VENV)/.dev chromium
	$(PY) -m tests.browser.screenshots docs/screenshots

docker:
	docker build -t abacus .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache node_modules
