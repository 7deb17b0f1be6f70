# The two commands of the README:
#   make study   installs everything, then runs the whole study on the embedded default data
#   make test    installs everything, then runs the whole test suite (what CI runs)
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch must come first and pinned here (this machine's disk); pyproject pins nothing tighter.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
# Which torch build: with TORCH_PIP_ARGS empty and no NVIDIA GPU found (nvidia-smi), PyTorch's CPU wheels (about 1 GB
# in the venv instead of 5.5 GB: the CUDA libraries a CPU cannot use); where that index cannot be reached, or a GPU is
# found, pip's default. Choose yourself with e.g. TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cu128".
TORCH_PIP_ARGS ?=
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
HAS_GPU := $(shell nvidia-smi -L >/dev/null 2>&1 && echo yes)
STUDY_OUT ?= data/study
DOCS_JOBS ?= 2
NB ?=

.PHONY: install study test export check-sync docs-check check-outputs nbtest pytest bench readme docs lab preview
install: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	if [ -z "$(TORCH_PIP_ARGS)" ] && [ -z "$(HAS_GPU)" ] && \
	   $(BIN)/python -m pip install -q --retries 0 --timeout 20 --index-url $(TORCH_CPU_INDEX) $(TORCH_SPEC) 2>/dev/null; \
	then :; else $(BIN)/python -m pip install -q $(TORCH_PIP_ARGS) $(TORCH_SPEC); fi
	@$(BIN)/python -c "import torch; print('torch', torch.__version__, 'with CUDA', torch.version.cuda) if torch.version.cuda else print('torch', torch.__version__, '(CPU build)')"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

study: install
	$(BIN)/false-labels study --out $(STUDY_OUT)

test: install check-sync docs-check check-outputs nbtest pytest

export: install  ## notebooks -> package (modules, and the papermill templates it ships), clean notebooks, README
	$(BIN)/nbdev-export
	bash tools/sync_templates.sh
	$(BIN)/nbdev-clean
	$(BIN)/python tools/sidebar.py
	$(BIN)/python tools/readme.py

check-sync: install  ## notebooks clean and exported: nbdev-clean / nbdev-export must change nothing
	@bash tools/check_sync.sh $(BIN)

docs-check: install  ## run each notebook as the docs build does (Quarto cannot run here; CI's Pages job uses it)
	$(BIN)/python tools/check_docs_exec.py

check-outputs: install  ## saved notebook outputs present and fresh (nbs/.outputs.json, written by `make docs`)
	$(BIN)/python tools/check_outputs.py

docs: install  ## execute the notebooks in place on the CPU (NB="nbs/data/10_alter.ipynb ..." for some), clean, export, README
	test -f data/study/sweep/results.parquet || $(BIN)/false-labels study --out data/study  # the analysis notebooks show it
	$(BIN)/python tools/docs.py --jobs $(DOCS_JOBS) $(NB)

preview: install  ## the docs site, served locally as the Pages workflow builds it (needs Quarto: https://quarto.org)
	$(BIN)/nbdev-preview

lab: install  ## JupyterLab on the notebooks (their saved altair charts draw offline, trusted or not)
	$(BIN)/jupyter lab --notebook-dir=nbs

nbtest: install
	$(BIN)/nbdev-test --n-workers 2 --timing

pytest: install
	$(BIN)/python -m pytest -q -ra tests

bench: install  ## the benchmarks that have a --quick run (the others need a real collection or hours: see each docstring)
	for b in $$(grep -l -- '"--quick"' bench/bench_*.py); do echo "== $$b"; $(BIN)/python $$b --quick || exit 1; done

readme: install  ## README.md is rendered from nbs/index.ipynb
	$(BIN)/python tools/readme.py
