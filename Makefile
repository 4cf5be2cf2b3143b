# Tandem: two commands do all set-up on a fresh machine.
#   make run   - web, worker and beat with a demo workspace at http://acme.localhost:8000/
#   make test  - the whole test suite
# Without DATABASE_URL / CELERY_BROKER_URL the project runs its own PostgreSQL (pgserver, in .data/)
# and a broker that needs no server (Kombu's filesystem transport). Set them to use real servers.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
PORT ?= 8000

.PHONY: install run test lint migrate demo clean-data bench

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate_schemas --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

run: demo
	@echo ""
	@echo "  Tandem is starting (Ctrl-C stops web, worker and beat):"
	@echo "    public site and sign-up   http://localhost:$(PORT)/"
	@echo "    platform console          http://localhost:$(PORT)/console/"
	@echo "    demo workspace            http://acme.localhost:$(PORT)/"
	@echo "    API docs (demo)           http://acme.localhost:$(PORT)/api/docs/"
	@echo "  Demo users: see README.md (password tandem-demo-2026)."
	@echo ""
	PORT=$(PORT) $(BIN)/honcho -f Procfile.dev start

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

clean-data:
	rm -rf .data

# The metric engine benchmark (bench/README.md): a scale-1 workspace in its own database, the engine against
# a hand-written SQL floor, then an incremental run; writes bench/results/latest.json and BENCHMARKS.md.
# Then the export benchmark (bench/export_bench.py): 1M touchpoints exported through a real web process
# against PostgreSQL's COPY of the same rows. Then the web (bench/web_bench.py): tenant resolution, the
# partner API's deals list and the portal's busiest pages. Then tenants at scale (bench/tenants_bench.py):
# provisioning against a dump replay, and migrate_schemas with nothing to apply, one additive migration and
# one failure over 1,000 workspaces; then the Celery fan-out over those workspaces (bench/celery_bench.py).
BENCH_ARGS ?= --rounds 2
# Last, bench/whole_run.py records how long the whole run took, from before the install (target: 20 min).
bench:
	@started=$$(date +%s); \
	$(MAKE) --no-print-directory install || exit $$?; \
	$(BIN)/python bench/metrics_bench.py $(BENCH_ARGS); metrics=$$?; \
	$(BIN)/python bench/export_bench.py; export=$$?; \
	$(BIN)/python bench/web_bench.py; web=$$?; \
	$(BIN)/python bench/tenants_bench.py; tenants=$$?; \
	$(BIN)/python bench/celery_bench.py; fanout=$$?; \
	$(BIN)/python bench/whole_run.py --started $$started --codes $$metrics $$export $$web $$tenants $$fanout; \
	whole=$$?; \
	exit $$(( metrics || export || web || tenants || fanout || whole ))
