# Two entry points (see README): `make run` and `make test`. Both set up .venv first, from the
# pins in envs/*.yaml, and redo that only when those files change.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: setup system run report lint test
setup: $(VENV)/.installed

$(VENV)/.installed: envs/*.yaml amalia_wf/envs.py pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, alone: this exact version resolves to the local CPU build instead of CUDA wheels.
	$(BIN)/pip install --quiet torch==$$(sed -n 's/^ *- torch==//p' envs/data.yaml)
	$(BIN)/pip install --quiet pyyaml
	$(BIN)/python -m amalia_wf.envs > $(VENV)/requirements.txt
	$(BIN)/pip install --quiet -r $(VENV)/requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

run: setup
	$(BIN)/snakemake --profile profiles/local --cores $(CORES)

report: run
	$(BIN)/snakemake --profile profiles/local --report results/report.html

# Debian packages the tests need (envs/apt.txt); installed once, as root or through sudo.
system: $(VENV)/.system

$(VENV)/.system: envs/apt.txt | setup
	pkgs=$$(sed 's/#.*//' envs/apt.txt | xargs); \
	if [ -n "$$pkgs" ] && ! dpkg -s $$pkgs >/dev/null 2>&1; then \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$pkgs; \
	fi
	touch $@

# Static checks, before the tests: Python (ruff), rule-file layout (snakefmt), Snakemake's own lint.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile rules/
	$(BIN)/snakemake --lint

test: setup system lint
	$(BIN)/pytest
