# Two commands on a fresh machine: `make demo` and `make test`. Both install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip
CONSTRAINTS := -c constraints.txt --build-constraint constraints.txt
DEMO := out/demo

.PHONY: install chromium labelstudio-venv labelstudio demo cluster-demo test clean

install: $(STAMP)

# torch goes in first and alone so that pip takes the local CPU build; everything after is constrained to it.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet "pip==26.3"
	$(PIP) install --quiet torch==2.13.0 -c constraints.txt
	$(PIP) install --quiet -e '.[test]' $(CONSTRAINTS)
	@! $(PIP) show torchvision >/dev/null 2>&1 || (echo "torchvision must never be installed here: it breaks transformers on CPU torch" && exit 1)
	touch $(STAMP)

# The whole flow on generated sample videos, one run per source form, with the tiny offline models.
demo: install
	$(BIN)/videogcg samples --output $(DEMO)/inputs
	for form in masks_expressions boxes_captions raw; do \
	  case $$form in masks_expressions) format=mevis; input=$$form;; raw) format=folder; input=raw/videos;; *) format=$$form; input=$$form;; esac; \
	  $(BIN)/videogcg run --config configs/tiny.yaml --format $$format --input $(DEMO)/inputs/$$input --output $(DEMO)/$$form || exit 1; \
	  $(BIN)/videogcg inspect $(DEMO)/$$form || exit 1; \
	  $(BIN)/videogcg preview $(DEMO)/$$form --output $(DEMO)/preview-$$form.png || exit 1; \
	  $(BIN)/videogcg report $(DEMO)/$$form --output $(DEMO)/report-$$form.html || exit 1; \
	done
	# how close the fully automatic flow on raw videos comes to the ground truth of the same videos
	$(BIN)/videogcg eval --predictions $(DEMO)/raw --references $(DEMO)/masks_expressions --by clip --text-encoder tiny:text_encoder
	# a short training run of the tiny grounding model on the MeViS-form shards (from scratch each time)
	rm -rf $(DEMO)/train
	$(BIN)/videogcg train --config configs/train/tiny.yaml --shards $(DEMO)/masks_expressions --output $(DEMO)/train optim.steps=20

# The MeViS-form demo through Beam's portable runner path: a job service and a pool of SDK worker processes
# on 127.0.0.1 (how Flink, Spark and Dataflow run it), started for the run and stopped after it.
cluster-demo: install
	$(BIN)/videogcg samples --output $(DEMO)/inputs
	$(BIN)/python -m videogcg.pipeline.local_services -- $(BIN)/videogcg run --config configs/tiny.yaml --format mevis \
	  --input $(DEMO)/inputs/masks_expressions --output $(DEMO)/cluster
	$(BIN)/videogcg inspect $(DEMO)/cluster

# Label Studio in its own venv: in the main one it would downgrade pyarrow. The tests start it themselves.
LS_VENV := .ls-venv
LS_STAMP := $(LS_VENV)/.installed
labelstudio-venv: $(LS_STAMP)
$(LS_STAMP):
	test -x $(LS_VENV)/bin/python || $(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip install --quiet "pip==26.3"
	$(LS_VENV)/bin/python -m pip install --quiet "label-studio==1.23.2"
	touch $(LS_STAMP)

# A local server for reviewers on 127.0.0.1 (credentials from $$VIDEOGCG_LS_* or generated, see the README).
labelstudio: install labelstudio-venv
	$(BIN)/videogcg review serve

# The browser test of `videogcg report` drives Debian's Chromium (playwright's own browser download needs the internet).
chromium:
	@test -x /usr/bin/chromium || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }

test: install chromium labelstudio-venv
	$(BIN)/ruff check videogcg tests benchmarks
	$(BIN)/ruff format --check videogcg tests benchmarks
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(LS_VENV) out .pytest_cache .hypothesis
