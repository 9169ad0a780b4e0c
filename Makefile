# Copywatch: set-up lives here, so the README's two commands work on a fresh machine.
#   make demo   — install, then run the whole mission on embedded defaults (DEMO_ARGS="--keep-serving" etc.)
#   make test   — install, start PostgreSQL/Redis if needed, install chromium if missing, lint (ruff,
#                 mypy, the import contracts), run the tests
#   make install / make lint
#
# The install step is idempotent: a stamp file named after pyproject.toml's hash records a finished
# install, so a second `make demo` goes straight to the demo; editing pyproject.toml reinstalls.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-16)
TORCH_VERSION ?= 2.13.0
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
DEMO_ARGS ?=
PYTEST_ARGS ?=
# Test processes (pytest-xdist); a test file stays in one process, so module fixtures run once.
PYTEST_WORKERS ?= 2

.PHONY: install demo test lint services chromium clean logo-fonts

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, a CPU build, so pip never pulls the multi-GB CUDA wheels: the wheel on disk (pip's
	# find-links) when there is one — its dependencies still come from the package index — else
	# PyTorch's CPU index. Skipped when the right version is already there.
	$(BIN)/python -c "import torch, sys; sys.exit(not torch.__version__.startswith('$(TORCH_VERSION)'))" 2>/dev/null || \
	  if $(BIN)/python -m pip download -q --no-deps --no-index -d $(VENV)/.torch-probe "torch==$(TORCH_VERSION)" 2>/dev/null; then \
	    $(BIN)/python -m pip install -q "torch==$(TORCH_VERSION)"; \
	  else \
	    $(BIN)/python -m pip install -q --index-url $(TORCH_CPU_INDEX) --extra-index-url https://pypi.org/simple "torch==$(TORCH_VERSION)"; \
	  fi
	rm -rf $(VENV)/.torch-probe
	$(BIN)/python -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

demo: install
	$(BIN)/copywatch demo $(DEMO_ARGS)

services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
	  echo "starting PostgreSQL"; pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
	  for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { \
	  echo "starting Redis"; redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; \
	  for i in $$(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done; }

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Typefaces for `copywatch bench make-logo` (the logo benchmark draws from every installed family).
logo-fonts:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu fonts-dejavu-extra \
	  fonts-liberation fonts-freefont-ttf fonts-urw-base35 fonts-crosextra-carlito fonts-crosextra-caladea \
	  fonts-linuxlibertine fonts-cantarell fonts-roboto fonts-open-sans fonts-lato fonts-texgyre >/dev/null

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: install services chromium lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) data artifacts .pytest_cache
