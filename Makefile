# Two commands for a new machine: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint schema examples messages worker beat fake-fcm fake-sms clean backup restore bench

$(VENV)/.installed: pyproject.toml uv.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(VENV)/bin/uv sync --frozen --inexact --python $(PY)
	@touch $@

install: $(VENV)/.installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_administrative_units
	$(PY) manage.py seed_demo
	$(PY) manage.py seed_feedback_demo
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install
	DJANGO_ENV=test $(PY) -m pytest $(PYTEST_ARGS)

# Not part of CI: seeds BENCH_DOSSIERS dossiers (default 1,000,000, with feedback, citizens and inbox rows) into BENCH_DATABASE_URL,
# runs gunicorn as deployed and compares our endpoints with a bare and a textbook peer
# (bench/README.md). Needs PostgreSQL, Redis and wrk.
bench: install
	$(PY) bench/http_bench.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/bandit -q -c pyproject.toml -r .

schema: install
	DJANGO_ENV=test $(PY) manage.py spectacular --file openapi/schema.yaml --validate --fail-on-warn

# Extract translatable messages into locale/vi and locale/en and compile them; commit the .po
# and the .mo. Vietnamese translates the English msgids of the code; English translates the
# Vietnamese msgids of model names, fields and choices (for the admin switched to English).
messages: install
	DJANGO_ENV=test $(PY) manage.py makemessages -l vi -l en --no-wrap --add-location=file \
		--ignore=.venv --ignore=tests --ignore=bench --ignore=staticfiles --ignore=media
	DJANGO_ENV=test $(PY) manage.py compilemessages -l vi -l en --ignore=.venv

worker: install
	CELERY_TASK_ALWAYS_EAGER=false $(VENV)/bin/celery -A config worker -l info --prefetch-multiplier 1

beat: install
	CELERY_TASK_ALWAYS_EAGER=false $(VENV)/bin/celery -A config beat -l info

fake-fcm: install
	$(PY) -m notifications.fake_fcm --port 9099

fake-sms: install
	$(PY) -m notifications.fake_sms --port 9198 --inbound-url http://$(HOST):$(PORT)/api/v1/sms/inbound/

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles

# Backups (docs/operations.md): a pg_dump of DATABASE_URL and a copy of every stored file into
# BACKUP_DIR (default backups/). `make restore` restores the latest dump there into
# RESTORE_DATABASE_URL (default DATABASE_URL), which must be empty, and the files into the
# configured storage, then checks row counts and sample checksums.
backup: install
	$(PY) manage.py backup $(if $(BACKUP_DIR),--to "$(BACKUP_DIR)")

restore: install
	$(PY) manage.py restore $(if $(BACKUP_DIR),--from "$(BACKUP_DIR)") \
		$(if $(RESTORE_DATABASE_URL),--database-url "$(RESTORE_DATABASE_URL)")

# Record the spec's examples from the test suite's real requests and answers, then regenerate
# the spec with them.
examples: install
	CAPTURE_EXAMPLES=1 DJANGO_ENV=test $(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)
	$(MAKE) schema
