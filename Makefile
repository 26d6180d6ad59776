# archzoo: `make demo` and `make test` do everything on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH_PIN := torch==2.13.0
INTEROP_VENV := .venv-interop
INTEROP_PINS := torch==2.14.1 torchvision==0.29.1
DEMO_OUT ?= runs/demo-lenet5-fashion-mnist

.PHONY: install data demo test test-fast test-interop lint zoo-table clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_PIN)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

data: install
	$(PY) -m archzoo.data.fetch fashion-mnist tinyshakespeare mr multi30k-de-en

demo: install data
	rm -rf $(DEMO_OUT)
	$(VENV)/bin/archzoo train lenet5 --data fashion-mnist --out $(DEMO_OUT)

test: install data
	$(PY) -m pytest -q --ignore=tests/interop --durations=15

test-fast: install data
	$(PY) -m pytest -q --ignore=tests/interop -m "not slow"

$(INTEROP_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(INTEROP_VENV)
	$(INTEROP_VENV)/bin/python -m pip install --quiet $(INTEROP_PINS)
	$(INTEROP_VENV)/bin/python -m pip install --quiet --no-deps -e .
	$(INTEROP_VENV)/bin/python -m pip install --quiet numpy safetensors tqdm pytest pytest-timeout
	touch $@

test-interop: $(INTEROP_VENV)/.installed
	$(INTEROP_VENV)/bin/python -m pytest -q tests/interop -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

zoo-table: install
	$(PY) benchmarks/zoo_table.py

clean:
	rm -rf $(VENV) $(INTEROP_VENV) build *.egg-info
