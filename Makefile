# Palier — the two commands: `make run` (demo on http://127.0.0.1:5000) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian packages Palier needs to run: WeasyPrint's libraries (Pango, HarfBuzz's subsetter)
# and a fallback font for fontconfig.
RUN_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
# Debian packages the test suite drives: a real browser, a real PostgreSQL server.
TEST_DEBS := chromium postgresql

.PHONY: run test bench install install-test system-run-deps system-test-deps translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24" "setuptools>=70" wheel

$(VENV)/.installed: setup.py $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

EXAMPLE_FILES := $(shell find examples/palier-noticeboard -type f -not -path '*/__pycache__/*' \
                   -not -path '*.egg-info*' -not -path '*/build/*' 2>/dev/null)

$(VENV)/.installed-test: setup.py $(EXAMPLE_FILES) $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test]"
	# The example third-party plugin, installed as an integrator would: a real pip install.
	$(BIN)/pip install --quiet --force-reinstall --no-deps ./examples/palier-noticeboard
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test system-run-deps system-test-deps

# As root (CI, a fresh machine), install the given Debian packages when missing; otherwise say
# what is missing.
define install_debs
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Please install these Debian packages:$$missing (sudo apt-get install$$missing)"; exit 1; fi; \
	fi
endef

system-run-deps:
	$(call install_debs,$(RUN_DEBS))

system-test-deps:
	$(call install_debs,$(TEST_DEBS))

# The demo has no mail relay: its mail is read on the administrators' Mailbox page.
run: export PALIER_MAIL_KEEP_LOCALLY = true
run: system-run-deps $(VENV)/.installed
	$(BIN)/palier init --demo
	$(BIN)/palier db upgrade
	$(BIN)/palier demo
	@echo "Palier serves on http://127.0.0.1:5000 (Ctrl+C to stop)"
	# A worker delivers the notifications outbox beside the web server.
	$(BIN)/palier worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT; \
	  $(BIN)/palier serve --host 127.0.0.1 --port 5000

# The whole suite on SQLite, then again on a throw-away PostgreSQL server.
test: install-test
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)
	$(BIN)/python -m pytest -p no:cacheprovider --palier-db postgresql $(PYTEST_ARGS)

bench: $(VENV)/.installed-test system-run-deps
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python bench/portal_home.py
	$(BIN)/python bench/pdf_letter.py
	$(BIN)/python bench/notification_letters.py
	$(BIN)/python bench/notifications.py --postgresql
	$(BIN)/python bench/claims.py --postgresql --photo

translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output -o core/translations/messages.pot .
	$(BIN)/pybabel update -i core/translations/messages.pot -d core/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d core/translations
	# Each built-in plugin keeps its own catalogue, beside its code.
	for cfg in plugins/*/babel.cfg; do \
	  dir=$$(dirname $$cfg); \
	  $(BIN)/pybabel extract -F $$cfg -k _l --no-location --sort-output -o $$dir/translations/messages.pot $$dir || exit 1; \
	  if [ -f $$dir/translations/fr/LC_MESSAGES/messages.po ]; then \
	    $(BIN)/pybabel update -i $$dir/translations/messages.pot -d $$dir/translations --no-fuzzy-matching || exit 1; \
	  else \
	    $(BIN)/pybabel init -i $$dir/translations/messages.pot -d $$dir/translations -l fr || exit 1; \
	  fi; \
	  $(BIN)/pybabel compile -d $$dir/translations || exit 1; \
	done

clean:
	rm -rf $(VENV) build *.egg-info
