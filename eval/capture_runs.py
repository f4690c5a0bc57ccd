"""Run :mod:`eval.run_clinical` with the same options and also pickle its rankings, to compare two revisions.

``eval.run_clinical`` compares systems within one revision; comparing a change to the trigger lists (or any
index-time analysis) before vs after needs each revision's rankings side by side::

    CAPTURE_RUNS_OUT=before.pkl PYTHONHASHSEED=0 python -m eval.capture_runs --corpus demo ...   # at the old revision
    CAPTURE_RUNS_OUT=after.pkl  PYTHONHASHSEED=0 python -m eval.capture_runs --corpus demo ...   # at the new one
    python -m eval.paired_runs before.pkl after.pkl                                      # paired test

The pickle holds ``{"runs": {system: {query id: ranking}}, "qrels": ..., "cats": {query id: category}}``.
``PYTHONHASHSEED=0`` keeps tie orders stable between the two runs.
"""

from __future__ import annotations

import os
import pickle
import sys

import typer

import eval.run_clinical as rc

_calls: list = []
_state: dict = {}
_score, _markdown_table = rc.score, rc.markdown_table


def _recording_score(rankings, queries, aliases):  # noqa: ANN001, ANN202
    _calls.append(rankings)
    _state["aliases"] = aliases
    return _score(rankings, queries, aliases)


def _recording_table(results, queries):  # noqa: ANN001, ANN202
    qrels = {q.id: rc.canonical_relevance(q.relevant, _state["aliases"]) for q in queries}
    with open(os.environ.get("CAPTURE_RUNS_OUT", "runs.pkl"), "wb") as handle:
        pickle.dump({"runs": dict(zip(list(results), _calls, strict=True)), "qrels": qrels,
                     "cats": {q.id: q.category for q in queries}}, handle)
    return _markdown_table(results, queries)


if __name__ == "__main__":
    rc.score, rc.markdown_table = _recording_score, _recording_table
    sys.argv = ["eval.capture_runs", *sys.argv[1:]]
    typer.run(rc.main)
