# Two commands for a newcomer: `make run` and `make test`. Everything else is optional.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 8000
# A developer's machine: debug on and the built-in development secrets. With no DEBUG in the
# environment the settings are production's, and refuse to start without SECRET_KEY and
# PRESCRIPTION_SIGNING_SECRET.
export DEBUG ?= 1

.PHONY: install run serve migrate seed test demo worker beat messages clean

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

## Serve HTTP and WebSocket (Daphne) on the embedded default, with demo data.
run: seed serve

serve: install
	$(BIN)/daphne -b $(HOST) -p $(PORT) cloudhospital.asgi:application

## The whole test suite (embedded default unless DATABASE_URL / REDIS_URL are set).
test: install
	$(BIN)/python -m pytest --durations=25

## Zhang Lin's day through the public API against a fresh server (PostgreSQL/Redis/worker
## when DATABASE_URL and REDIS_URL are set).
demo: install
	$(BIN)/python demo/zhang_lin.py

## Refresh the Chinese catalogue from the code and templates, then compile it (needs GNU gettext).
MESSAGES_IGNORE := --ignore=.venv --ignore=tests --ignore=bench --ignore=demo --ignore=scripts --ignore=staticfiles
messages: install
	$(BIN)/python manage.py makemessages -l zh_Hans --add-location=file $(MESSAGES_IGNORE)
	$(BIN)/python manage.py compilemessages -l zh_Hans --ignore=.venv

worker: install
	$(BIN)/celery -A cloudhospital worker --loglevel=info

beat: install
	$(BIN)/celery -A cloudhospital beat --loglevel=info

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles .pytest_cache
