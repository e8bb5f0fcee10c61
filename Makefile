# itslab — two commands do all set-up: `make demo` runs the main job, `make test` passes the tests.
# Every target creates/uses .venv and installs what it needs; re-running installs nothing new.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# On CPU machines the torch 2.13.0 CPU wheel is installed before anything that depends on torch,
# so pip never pulls a multi-GB CUDA build. On a GPU machine: make TORCH_SPEC="torch" ...
TORCH_SPEC ?= torch==2.13.0
# `make demo` installs only what the demo needs (the transformers engine: extra `hf`); every other
# target installs everything, the llama.cpp source build, Ray, the notebook and test tools included
EXTRAS ?= hf,notebooks,test,http,llamacpp,ray
DEMO_EXTRAS ?= hf
comma  := ,
SUM    := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
STAMP  := $(VENV)/.installed-$(SUM)-$(subst $(comma),_,$(EXTRAS))
DEMO_STAMP := $(VENV)/.installed-$(SUM)-$(subst $(comma),_,$(DEMO_EXTRAS))

# Benchmarks live beside the checkout in ../shared/data unless the caller says otherwise.
export ITSLAB_DATA_DIR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)
export PIP_DISABLE_PIP_VERSION_CHECK = 1
AS_ROOT := $(filter 0,$(shell id -u))

.PHONY: help install models demo test test-fast lint lab notebooks browser chromium gallery bench banks clean

help:
	@echo "make demo       the main job: scaling on the embedded model live, the recorded banks, the simulator"
	@echo "                (installs only the transformers engine; prints tables, writes runs/demo/)"
	@echo "make test       install everything; run the tests, the backend tests on real servers, the notebooks (smoke),"
	@echo "                00_tour in JupyterLab in a headless Chromium"
	@echo "make lab        start JupyterLab on notebooks/ (prints the URL to open; LAB_ARGS=--no-browser on a server)"
	@echo "make notebooks  run every notebook in smoke mode with nbmake"
	@echo "make browser    every notebook in JupyterLab in a headless Chromium: run all, move a slider (runs/browser/)"
	@echo "make gallery    execute the notebooks in full mode and render HTML pages and an index (runs/gallery/)"
	@echo "make bench      run the speed benchmarks in benchmarks/"
	@echo "make banks      record (or resume) the real-model sample banks in data/banks/ (hours on a CPU)"

# notebooks run this many at a time under nbmake (pytest-xdist); each sets its model to one thread
NB_WORKERS ?= 2

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	rm -f $(VENV)/.installed-*
	touch $@

# the demo's subset; nothing to do when everything is installed already
ifneq ($(DEMO_STAMP),$(STAMP))
$(DEMO_STAMP): pyproject.toml | $(PY)
	@if [ -f "$(STAMP)" ]; then echo "everything is installed in $(VENV) already"; else \
	  $(PY) -m pip install -q --upgrade pip && \
	  $(PY) -m pip install -q "$(TORCH_SPEC)" && \
	  $(PY) -m pip install -q -e ".[$(DEMO_EXTRAS)]"; fi
	touch $@
endif

install: $(STAMP)

models: $(STAMP)
	$(PY) -m itslab models install smollm2-135m

# progress bars are shown even when the output is piped or logged (ITSLAB_PROGRESS=0 hides them)
demo: $(DEMO_STAMP)
	$(PY) -m itslab models install smollm2-135m
	ITSLAB_PROGRESS=$${ITSLAB_PROGRESS:-1} $(PY) -m itslab demo

lint: $(STAMP)
	$(PY) -m ruff check itslab tests benchmarks tools notebooks/conftest.py
	$(PY) -m ruff format --check itslab tests benchmarks tools notebooks/conftest.py
	$(PY) -m mypy itslab

test: $(STAMP) models lint chromium
	$(PY) -m pytest -n $(NB_WORKERS)
	$(PY) -m pytest -m slow tests/backends --durations=15
	ITSLAB_MODE=smoke $(PY) -m pytest -n $(NB_WORKERS) --nbmake --nbmake-timeout=300 notebooks/
	$(PY) -m pytest -m browser tests/browser -k "$(BROWSER_QUICK)"

test-fast: $(STAMP)
	$(PY) -m pytest -x -q

# JupyterLab on loopback; it prints the URL (with its token) to open. --allow-root only when run as root.
LAB_PORT ?= 8888
LAB_ARGS ?=
lab: $(STAMP)
	$(PY) -m jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) \
	  $(if $(AS_ROOT),--allow-root) $(LAB_ARGS) notebooks/

notebooks: $(STAMP) models
	ITSLAB_MODE=smoke $(PY) -m pytest -n $(NB_WORKERS) --nbmake --nbmake-timeout=300 notebooks/

# The browser tests (tests/browser) drive Debian's Chromium with Playwright: Playwright's own browser
# download needs the internet. `make test` runs the quick ones: 00_tour, the fixtures (and the gallery
# on one), the `make lab` check.
CHROMIUM ?= /usr/lib/chromium/chromium
SUDO := $(if $(AS_ROOT),,sudo)
APT_CHROMIUM := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
BROWSER_QUICK ?= 00_tour or fixture or make_lab
chromium:
	@test -x "$${ITSLAB_CHROMIUM:-$(CHROMIUM)}" || { $(APT_CHROMIUM) || { $(SUDO) apt-get update -q && $(APT_CHROMIUM); }; }

browser: $(STAMP) models chromium
	$(PY) -m pytest -m browser tests/browser

# The gallery: notebooks executed (full mode; ITSLAB_MODE=smoke for a quick look) and rendered to
# runs/gallery/ with an index of their claims. NOTEBOOKS="04 06" picks some (default: all).
NOTEBOOKS ?=
GALLERY_MODE ?= $(or $(ITSLAB_MODE),full)
gallery: $(STAMP) models
	$(PY) tools/gallery.py --mode $(GALLERY_MODE) --out runs/gallery $(NOTEBOOKS)

bench: $(STAMP) models
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# Recording order: the banks notebooks 01/03/05 (GSM8K) read first; then SmolLM2 (the second model size 09 and 10
# wait for; it decodes faster per token but its samples run about twice as long, so its bank took 3.8 h against
# Qwen-0.5B's 2 h), the temperatures 02 reads, then the 1.5B model (09's size claims, 10's model mix and 18 wait
# for it; ~6 h), then Countdown (2 numbers; 18's Countdown claims wait for it; Qwen-0.5B ~2 h by its pilot); each run
# resumes at its first unfinished part.
BANK_SPECS ?= arith-qwen05-t0.7 gsm8k-qwen05-t0.8 arith-smollm2-t0.7 arith-qwen05-t0.3 arith-qwen05-t1.0 \
              arith-qwen15-t0.7 countdown-qwen05-t0.7 countdown-qwen15-t0.7
banks: $(STAMP)
	$(PY) -m itslab models install smollm2-135m qwen2.5-coder-0.5b qwen2.5-coder-1.5b --no-convert
	@for b in $(BANK_SPECS); do $(PY) -m itslab bank record data/banks/specs/$$b.yaml --store runs/banks/$$b.db || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache runs
