# augcli tasks. `make help` lists them.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: help install demo test fuzz lint golden regression-golden bench bench-fast bench-scaling clean

help:  ## list the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/augcli: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/augcli  ## create .venv and install augcli with its test tools

demo: install  ## augment the bundled natural-photo sample into out/natural
	$(BIN)/augcli run recipes/natural.yaml

test: install  ## run the test suite
	$(BIN)/python -m pytest

fuzz: install  ## the recipe fuzz suite's long profile: random, thousands of examples (CI runs a short fixed one)
	AUGCLI_FUZZ=long $(BIN)/python -m pytest tests/hardening/test_fuzz.py -p no:cacheprovider

lint: install  ## ruff (lint + format check), mypy and the import contracts (lint-imports)
	$(BIN)/ruff check augcli tests benchmarks
	$(BIN)/ruff format --check augcli tests benchmarks
	$(BIN)/mypy augcli
	$(BIN)/lint-imports

golden: install  ## regenerate the golden error messages of tests/recipes/broken (review the diff!)
	$(BIN)/python tests/regen_golden.py

regression-golden: install  ## re-record tests/regression/hashes.json (only when outputs are meant to change)
	$(BIN)/python tests/regression/regen.py

bench: install  ## run the benchmark and write benchmarks/RESULTS.md
	$(BIN)/python -m compileall -q augcli  # bytecode cached, as after any first run
	$(BIN)/python benchmarks/bench.py

bench-fast: install  ## issue 12's S and L workloads vs floor and hand loops (prints a RESULTS.md section)
	$(BIN)/python -m compileall -q augcli
	$(BIN)/python benchmarks/fastpath.py --images 1000 --large 200 --rounds 3

bench-scaling: install  ## local pool vs Dask on 1 and 2 workers, Dask's overhead per task (prints a RESULTS.md section)
	$(BIN)/python -m compileall -q augcli
	$(BIN)/python benchmarks/scaling.py --images 400 --rounds 3

clean:  ## remove outputs and caches (not the venv)
	rm -rf out preview.png .pytest_cache .ruff_cache .mypy_cache benchmarks/work
