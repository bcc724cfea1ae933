# The two commands of the README: `make run` and `make test`. Everything else serves them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := libs/common services/identity services/canteen services/childcare services/billing services/payment gateway deploy

.PHONY: run test venv system unit bench clean

# python3-venv and RabbitMQ must be there before the venv: installed with apt-get as root on
# Debian, or named in one sentence otherwise (deploy/system-packages.sh).
system:
	@PYTHON=$(PYTHON) bash deploy/system-packages.sh

$(BIN)/.installed: requirements-dev.txt $(foreach p,$(PACKAGES),$(p)/pyproject.toml) | system
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	@# compat: the repo folder `gateway/` would otherwise shadow the gateway package as a namespace package.
	$(BIN)/pip install --quiet -r requirements-dev.txt --config-settings editable_mode=compat $(foreach p,$(PACKAGES),-e ./$(p))
	@touch $@

venv: system $(BIN)/.installed

run: venv
	$(BIN)/python -m espace_deploy.run

# Last, the suite from its images (images-test below; one line and skipped where no container engine can be had).
# pytest-xdist: TEST_WORKERS processes (more than the cores: the tests mostly wait on processes starting),
# each taking a whole module at a time (its module fixtures start once). TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= 4

test: venv
	$(BIN)/python -m espace_deploy.testenv
	@# Tests that assert a wall-clock bound run alone once the parallel part is done, on a quiet machine.
	$(BIN)/python -m pytest -m "not timing" $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder) \
		; first=$$?; $(BIN)/python -m pytest -m timing; second=$$?; \
		$(BIN)/python -m espace_deploy.images test; third=$$?; \
		test $$first -eq 0 -a $$second -eq 0 -a $$third -eq 0

unit: venv
	$(BIN)/python -m pytest -m "not broker and not browser"

bench: venv
	$(BIN)/python -m espace_deploy.testenv
	$(BIN)/python tests/bench/run.py
	$(BIN)/python tests/bench/creche.py
	$(BIN)/python tests/bench/billing.py
	$(BIN)/python tests/bench/card_payment.py

clean:
	rm -rf var .pytest_cache

# --- Images (issue #13): the six images built with podman from Debian's packages, and the suite run from them.
# podman, runc and debootstrap are installed with apt-get as root (else one sentence says what to install); the base
# is made once from Debian (deploy/README.md, Images). images-test builds first (unchanged layers are cached), then
# runs every component in its container against the local RabbitMQ and PostgreSQL; it is skipped, with one line
# saying why, where no engine can be had.
.PHONY: images images-test

images: venv
	$(BIN)/python -m espace_deploy.images build

images-test: venv
	$(BIN)/python -m espace_deploy.images test
