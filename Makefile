# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install catalogues run test lint format schema schema-check bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

# The message catalogues (<app>/locale/*/LC_MESSAGES/django.po) are compiled here with
# Babel (a requirement), not Django's compilemessages: that needs GNU gettext's msgfmt,
# which a fresh machine may lack. The .mo files are build output, never committed.
install: $(VENV)/.installed
	$(PY) -m hub.catalogues compile

catalogues: $(VENV)/.installed
	$(PY) -m hub.catalogues compile

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py run_hub --host $(HOST) --port $(PORT)

# pytest exits 5 when it collected no tests: that is a failure here, not a pass.
test: install
	$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; \
	exit $$status

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports  # the layers and each app's public surface (pyproject.toml)

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Integer bounds in the schema follow the database backend's field ranges, so the
# schema is always generated against the same (SQLite) settings; no database is read.
SCHEMA := DATABASE_URL=sqlite:///$(CURDIR)/var/schema-only.sqlite3 $(PY) manage.py spectacular \
	--validate --fail-on-warn

schema: install
	$(SCHEMA) --file openapi.yaml

schema-check: install
	$(SCHEMA) --file var/openapi.generated.yaml
	diff -u openapi.yaml var/openapi.generated.yaml || \
	  (echo "openapi.yaml is out of date: run 'make schema' and commit it"; exit 1)

clean:
	rm -rf var/broker var/db.sqlite3*
