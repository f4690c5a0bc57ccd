"""The BEIR loader and corpus writer on a tiny folder written by the test."""

from __future__ import annotations

import json
from pathlib import Path

from eval.beir import load_beir, safe_file_names, write_corpus


def make_folder(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True)
    docs = [{"_id": "MED-1", "title": "Statins", "text": "Statins lower LDL."},
            {"_id": "a/b", "title": "", "text": "Vitamin D and bone."}]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    queries = [{"_id": "q1", "text": "cholesterol drugs"}, {"_id": "q2", "text": "unjudged"}]
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tMED-1\t2\nq1\ta/b\t0\n")
    return root


def test_load_beir(tmp_path: Path) -> None:
    data = load_beir(make_folder(tmp_path / "tiny"))
    assert data.corpus["MED-1"] == ("Statins", "Statins lower LDL.")
    assert data.queries == {"q1": "cholesterol drugs"}  # unjudged query dropped
    assert data.qrels == {"q1": {"MED-1": 2, "a/b": 0}}


def test_write_corpus_maps_unsafe_ids(tmp_path: Path) -> None:
    data = load_beir(make_folder(tmp_path / "tiny"))
    back = write_corpus(data, tmp_path / "corpus")
    assert back == {"MED-1": "MED-1", "a_b": "a/b"}
    assert (tmp_path / "corpus" / "MED-1.txt").read_text() == "Title: Statins\n\nStatins lower LDL.\n"
    assert safe_file_names(["x y", "x_y"]) == {"x y": "x_y", "x_y": "x_y~1"}
