# Developer entry points for dwh. `make check` is what CI runs (.ci/run): lint, typecheck, then the tests.

PYTHON ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# Extra pip arguments for torch, e.g. TORCH_PIP_ARGS="--extra-index-url https://download.pytorch.org/whl/cpu"
# on a machine whose pip does not find the locked CPU build (PyPI has only the CUDA build, several GB).
TORCH_PIP_ARGS ?=
# The lock is resolved for CPython 3.11 on Linux with torch's CPU build, which uv finds here (uv does not read
# pip's find-links). Elsewhere: LOCK_ARGS="--extra-index-url https://download.pytorch.org/whl/cpu
# --index-strategy unsafe-best-match".
LOCK_ARGS ?= --find-links /opt/wheels
LOCK := requirements.lock
CHECKED := dwh tests

.PHONY: venv lock lint format typecheck test test-fast check demo dashboard devdb-start devdb-stop bench clean

venv: $(STAMP)

# Re-installs whenever the lock or pyproject.toml changes. torch goes first, alone, so that TORCH_PIP_ARGS
# (another index) applies to it only; the lock pins it, so the second step installs nothing more of it.
$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --upgrade pip
	$(VPY) -m pip install $(TORCH_PIP_ARGS) "$$(grep -E '^torch==' $(LOCK) | cut -d' ' -f1)"
	$(VPY) -m pip install -r $(LOCK)
	$(VPY) -m pip install --no-deps -e .
	touch $(STAMP)

# Re-resolve the lock after editing dependencies in pyproject.toml (tests/test_lock.py checks they agree).
# Pass UPGRADE=1 to move every pin to the newest release that fits; otherwise the current pins are kept.
lock: venv
	$(VPY) -m uv pip compile pyproject.toml --extra dev --extra ml --extra dashboard --python-version 3.11 \
		$(LOCK_ARGS) $(if $(UPGRADE),--upgrade) --annotation-style line --custom-compile-command "make lock" \
		-o $(LOCK)

lint: venv
	$(VPY) -m ruff check $(CHECKED)
	$(VPY) -m ruff format --check $(CHECKED)

# Applies what `make lint` asks for.
format: venv
	$(VPY) -m ruff check --fix $(CHECKED)
	$(VPY) -m ruff format $(CHECKED)

# Modules, strictness and the not-yet-checked list are in pyproject.toml ([tool.mypy]).
typecheck: venv
	$(VPY) -m mypy

test: venv
	$(VPY) -m pytest $(PYTEST_ARGS)

# Everything but the tests marked slow (pyproject.toml registers the marker; each slow module sets it).
test-fast: venv
	$(VPY) -m pytest -m "not slow" $(PYTEST_ARGS)

check: lint typecheck test

demo: venv
	$(VPY) -m dwh.demo

dashboard: venv
	DWH_CONFIG=$${DWH_CONFIG:-dwh/data/demo_config.py} $(VPY) -m dwh.dashboard

devdb-start: venv
	$(VPY) -m dwh.devdb start

devdb-stop: venv
	$(VPY) -m dwh.devdb stop

bench: venv
	$(VPY) -m dwh.bench

clean:
	rm -rf .pytest_cache test-output build dist *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
