# Developer entry points for dwh. `make test` is what CI runs (.ci/run).

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# Extra pip arguments for torch, e.g. TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
# on a machine without a local CPU wheel (PyPI's default torch build is CUDA, several GB).
TORCH_PIP_ARGS ?=

.PHONY: venv test demo dashboard devdb-start devdb-stop bench clean

venv: $(STAMP)

# Re-installs whenever pyproject.toml changes (new or bumped dependencies).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --upgrade pip
	$(VPY) -m pip install 'torch==2.13.0' $(TORCH_PIP_ARGS)
	$(VPY) -m pip install -e '.[dev,ml,dashboard]'
	touch $(STAMP)

test: venv
	$(VPY) -m pytest $(PYTEST_ARGS)

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
