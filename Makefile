# Two commands matter: `make run` (the demo on the embedded default) and `make test`.
# Each installs what it needs into .venv first; nothing is installed globally.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install system-deps run test unit integration samples model eval bench bench-classify bench-alerts format stop status clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing Luisterpost and its tools into $(VENV) (log: $(VENV)/install.log)"
	@$(BIN)/python -m pip install --quiet --upgrade pip > $(VENV)/install.log 2>&1
	@$(BIN)/python -m pip install -e ".[dev]" >> $(VENV)/install.log 2>&1 || (tail -30 $(VENV)/install.log; exit 1)
	@touch $(STAMP)

install: $(STAMP) ## create .venv with the project and its tools

run: install ## start Kafka + Elasticsearch (noida-db), the workers, replay the sample data, print a summary
	$(BIN)/luisterpost run

system-deps: ## Debian packages for the observability tests (prometheus, alertmanager), only when missing
	@sh deploy/system-deps.sh

test: install system-deps ## lint, type-check, unit and integration tests (starts its own services on free ports)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

unit: install
	$(BIN)/pytest -m "not integration"

integration: install
	$(BIN)/pytest -m integration

model: install ## train the spaCy classifier (enrich/config.cfg, three fixed seeds, averaged), ship it to enrich/model/vennebroek
	$(BIN)/python -m enrich.train
	$(BIN)/python -m enrich.word_counts

bench: bench-classify bench-alerts ## every benchmark: classify speed, ingest-to-alert delivery (reports/)

bench-alerts: install ## ingest-to-alert-delivery time at a steady background load (reports/bench-alerts.json)
	$(BIN)/python -m route.oncall.bench

eval: install ## per-class scores, macro-F1, confusion matrices, targets: test split, check set, held-out batches
	$(BIN)/python -m enrich.evaluate

bench-classify: install ## messages/s of `luisterpost classify` on 20,000 corpus texts vs spaCy's tokenizer
	$(BIN)/python -m enrich.bench

samples: install ## rebuild the sample data from the hand-written sources (deterministic)
	$(BIN)/python -m ingest.samples.build

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

stop: install ## stop the local services started by `make run` (their data is kept)
	$(BIN)/luisterpost services down

status: install
	$(BIN)/luisterpost services status

clean: stop ## stop services and remove local state (indexed data, topics, venv)
	rm -rf .luisterpost $(VENV)
