# medsearch — the two commands a newcomer needs:
#   make demo   create the environment, build the demo index, serve the API (:8000) and portal (:8501)
#   make test   create the environment and run the test suite (what CI runs)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install index serve-api serve-ui eval bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	bash scripts/demo.sh

test: $(STAMP)
	$(BIN)/python -m pytest -q

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

clean:
	rm -rf var data/demo
