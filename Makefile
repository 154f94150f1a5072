# Two commands matter: `make run` (the product on embedded defaults) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed

.PHONY: run test install browser axe lint format screenshots lighthouse clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(RUNTIME_STAMP)

install: $(DEV_STAMP)

## run: web + worker + beat on embedded defaults (SQLite, file broker, mail to var/outbox/); Ctrl-C stops all
# Links in emails and printed URLs use PORT unless SITE_URL is set (environment or .env): see settings.
run: export PAPERBOY_RUN_PORT = $(PORT)
run: $(RUNTIME_STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "Paperboy on http://127.0.0.1:$(PORT)/ — Ctrl-C stops web, worker and beat"
# The demo has four readers: with the archive's default threshold (5 digests) it would stay empty.
# Ctrl-C is how a run ends. honcho stops the three and answers 130, which is no failure here; the
# shell traps the terminal's SIGINT so that it outlives honcho (dash would die of it afterwards, and
# make report "Interrupt").
	trap : INT; PATH="$(CURDIR)/$(BIN):$$PATH" NEWSLETTER_ARCHIVE_MIN_DIGESTS=$${NEWSLETTER_ARCHIVE_MIN_DIGESTS:-1} \
	  $(BIN)/honcho start --port $(PORT) --procfile Procfile || [ $$? -eq 130 ]

## browser: Debian's Chromium for the browser tests (never a downloaded browser)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-dejavu-core >/dev/null; \
	  else echo "Chromium is missing: run 'sudo apt-get install chromium chromium-driver' (or run make test as root)"; exit 1; fi; }

## axe: axe-core from the npm registry, pinned in tools/a11y/package-lock.json (tests/test_accessibility.py)
AXE := tools/a11y/node_modules/axe-core/axe.min.js
axe: $(AXE)
$(AXE): tools/a11y/package.json tools/a11y/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else echo "npm is missing: run 'sudo apt-get install nodejs npm' (or run make test as root)"; exit 1; fi; }
	npm ci --prefix tools/a11y --silent --no-audit --no-fund
	touch $@

## test: the whole suite (SQLite by default; Postgres and Redis when DATABASE_URL / REDIS_URL are set)
test: $(DEV_STAMP) browser $(AXE)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## lint: ruff, then the dependency rule (import-linter contracts in pyproject.toml)
## screenshots: the pictures README shows (docs/img/), made from the demo in headless Chromium
screenshots: $(DEV_STAMP) browser
	$(BIN)/python -m pytest -q -p no:randomly tests/test_readme_images.py
	mkdir -p docs/img
	cp test-artifacts/readme-signup.png docs/img/signup.png
	cp test-artifacts/readme-digest.png docs/img/digest.png

## lighthouse: the signup page's Lighthouse scores on a phone (fails under 95); LIGHTHOUSE_PRESET=desktop for desktop
# npm's lighthouse from tools/package.json (node_modules stays out of git) drives Debian's Chromium.
TOOLS_STAMP := tools/node_modules/.package-lock.json
$(TOOLS_STAMP): tools/package.json tools/package-lock.json
	PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix tools --no-audit --no-fund --loglevel=error

lighthouse: $(RUNTIME_STAMP) browser $(TOOLS_STAMP)
	CHROME_PATH=$${CHROME_PATH:-/usr/bin/chromium} $(BIN)/python tools/lighthouse.py

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var/ staticfiles/ .pytest_cache test-artifacts tools/a11y/node_modules tools/node_modules lighthouse-report.json
