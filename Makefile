# StoreEdge: `make run` (demo store on http://127.0.0.1:8080) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8080
DATA ?= data

.PHONY: setup run test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml provisioning/dev-setup.sh kiosk_ui/vendor.lock.json
	PYTHON=$(PYTHON) bash provisioning/dev-setup.sh $(VENV)
	touch $(STAMP)

run: setup
	$(BIN)/storeedge --data-dir $(DATA) --config provisioning/demo.toml serve --demo --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/storeedge bench checkout

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
