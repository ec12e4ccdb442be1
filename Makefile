# Two commands do all the set-up: `make run` (the demo) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
TEST_BROKER_URL ?= redis://127.0.0.1:6379/1
# The benchmarks create and drop test_bench, apart from the suite's test_test.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bench
PYTEST_ARGS ?=

.PHONY: install run test services chromium wrk messages translations migrate demo bench bench-profile clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

install: $(VENV)/.installed

# Debian's Chromium for the browser tests; Playwright never downloads a browser here.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	fi

services:
	@scripts/services.sh

# The candidate pages' translations (locale/*.po, committed) compiled to .mo (build output, not
# committed) with GNU gettext's msgfmt, installed from Debian like chromium when missing.
messages: install
	@if ! command -v msgfmt >/dev/null; then \
		echo "installing GNU gettext"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q gettext; \
	fi
	$(BIN)/python manage.py compilemessages -v 0

# After changing a translated string: refresh locale/*/LC_MESSAGES/django.po, translate, commit.
translations: install
	$(BIN)/python manage.py makemessages -l de -l sv -l fr --no-obsolete -i ".venv/*" -i "staticfiles/*" -i "var/*" -i "tests/*" -i "bench/*"

migrate: install messages
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v 0

demo: migrate
	$(BIN)/python manage.py apply_config demo/stagehook.yaml
	$(BIN)/python manage.py seed_demo_assessments --tenant demo

run: demo
	@echo ""
	@echo "  Stagehook on http://127.0.0.1:8000/accounts/login/"
	@echo "  recruiter: recruiter@demo.stagehook.test / demo-recruiter-pass   admin: /admin/ admin@demo.stagehook.test / demo-admin-pass"
	@echo "  Acme (connects SmartRecruiters with its own app): admin@acme.stagehook.test / acme-admin-pass"
	@echo ""
	# The sandbox signs partner calls with its partner webhook secret: the same one here. The
	# SmartRecruiters sandbox is SmartRecruiters' API and authorization host for every process, with
	# its master credentials and its demo own app (the vendor's default app of the own-app form).
	ATS_EXTRA_ALLOWED_HOSTS=127.0.0.1 TEAMTAILOR_PARTNER_WEBHOOK_SECRET=sandbox-partner-webhook-secret \
	SMARTRECRUITERS_API_BASE=http://127.0.0.1:8102 SMARTRECRUITERS_CLIENT_ID=sandbox-sr-master-client \
	SMARTRECRUITERS_CLIENT_SECRET=sandbox-sr-master-secret-for-local-demo-only \
	SMARTRECRUITERS_AUTHORIZE_BASE=http://127.0.0.1:8102 SMARTRECRUITERS_OWN_APP_CLIENT_ID=sandbox-sr-own-app-client \
	SMARTRECRUITERS_OWN_APP_CLIENT_SECRET=sandbox-sr-own-app-secret-for-local-demo-only $(BIN)/honcho start

test: install services chromium messages
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
		STATIC_MANIFEST=off $(BIN)/python -m pytest $(PYTEST_ARGS)

# Debian's wrk, the load generator of the intake benchmark (bench/intake_load.py).
wrk:
	@if ! command -v wrk >/dev/null; then \
		echo "installing Debian's wrk"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; \
	fi

bench: install services messages wrk
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) $(BIN)/python -m bench

# The intake benchmark with py-spy sampling the gunicorn workers under load (py-spy is a profiling
# tool, not a requirement: installed here only).
bench-profile: install services messages wrk
	$(BIN)/python -m pip install -q py-spy==0.4.3
	BENCH_ONLY=intake_load BENCH_PROFILE=partner,company,smartrecruiters DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) $(BIN)/python -m bench

clean:
	rm -rf $(VENV) var staticfiles
