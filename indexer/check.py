"""``medsearch check``: do the stores of the served index agree with each other?

An index is three stores written separately (SQLite metadata, the Tantivy lexical index, the FAISS
dense index) plus image vectors. A bug or a crash between their writes leaves lexical entries that
point at a replaced document, vectors counted twice, or passages nobody can find, and searches go on
returning answers: this check compares them and lists every disagreement. Exit code 1 when it finds
one, so a deployment can run it after each job.

It reads one generation folder (``manifest.json``, ``metadata.sqlite``, ``lexical/``, ``dense.faiss``,
``images*.faiss``) read-only: by default the published one (:func:`check_index`). On the Elasticsearch
backend the same report comes from the published generation's indices and aliases
(:mod:`indexer.backend.elasticsearch.check`); :func:`check_configured` picks by ``backend.kind``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class CheckReport:
    """Counts per store and every problem found (``problems`` empty = consistent)."""

    folder: str
    documents: int = 0
    passages: int = 0
    lexical_passages: int = 0
    dense_vectors: int = 0
    image_documents: int = 0
    image_vectors: dict[str, int] = field(default_factory=dict)
    missing_sources: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _sample(values: set, n: int = 5) -> str:
    shown = sorted(values, key=str)[:n]
    return ", ".join(map(str, shown)) + (f" … (+{len(values) - n})" if len(values) > n else "")


def _compare(report: CheckReport, name: str, expected: set, actual: set, what: str) -> None:
    missing, orphans = expected - actual, actual - expected
    if missing:
        report.problems.append(f"{name}: {len(missing)} {what} of the metadata store missing: {_sample(missing)}")
    if orphans:
        report.problems.append(f"{name}: {len(orphans)} orphan {what} (not in the metadata store): {_sample(orphans)}")


def _lexical_entries(folder: Path) -> list[tuple[int, str]]:
    """(pid, doc_id) of every live Tantivy document (deleted ones excluded)."""
    import tantivy

    from indexer.backend.embedded.lexical import LexicalIndex

    lexical = LexicalIndex(folder)
    index = lexical._index  # noqa: SLF001 - the check reads the store's own index, read-only
    index.reload()
    searcher = index.searcher()
    total = searcher.num_docs
    if total == 0:
        return []
    hits = searcher.search(tantivy.Query.all_query(), limit=total).hits
    entries = []
    for _, address in hits:
        doc = searcher.doc(address)
        entries.append((int(doc["pid"][0]), str(doc["doc_id"][0])))
    return entries


def _check_image_space(report: CheckReport, space: str, path: Path, images: set[str]) -> None:
    import json

    import faiss

    from indexer.backend.embedded.image_vectors import sidecar_path

    sidecar = sidecar_path(path)
    entries = json.loads(sidecar.read_text(encoding="utf-8")).get("entries", {}) if sidecar.exists() else {}
    stored = faiss.read_index(str(path))
    vids = set(faiss.vector_to_array(stored.id_map).tolist()) if stored.ntotal else set()
    report.image_vectors[space] = len(vids)
    orphans = set(entries) - images
    if orphans:
        report.problems.append(f"images ({space}): {len(orphans)} vectors of no image document: {_sample(orphans)}")
    unnamed = vids - {int(vid) for vid, _ in entries.values()}
    if unnamed:
        report.problems.append(f"images ({space}): {len(unnamed)} vectors that no document owns")
    if images - set(entries):
        report.notes.append(f"images ({space}): {len(images - set(entries))} image documents without a vector (unreadable pixels?)")


def check_store(folder: Path) -> CheckReport:
    """Compare the stores in *folder* (see module docstring)."""
    from indexer.backend.embedded.dense import DenseIndex
    from indexer.backend.embedded.layout import IndexLayout

    layout = IndexLayout(folder)
    report = CheckReport(folder=str(folder))
    if not layout.exists():
        report.problems.append(f"no manifest at {layout.manifest}: not an index (or nothing published yet)")
        return report
    manifest = layout.read_manifest()
    db = sqlite3.connect(f"file:{layout.metadata}?mode=ro", uri=True)
    try:
        documents = {row[0]: (row[1], row[2]) for row in db.execute("SELECT id, kind, source_path FROM documents")}
        passages = dict(db.execute("SELECT pid, doc_id FROM passages").fetchall())
    finally:
        db.close()
    report.documents, report.passages = len(documents), len(passages)
    stray = {pid for pid, doc_id in passages.items() if doc_id not in documents}
    if stray:
        report.problems.append(f"metadata: {len(stray)} passages of no document: {_sample(stray)}")
    without = {d for d, (kind, _) in documents.items() if kind != "image"} - set(passages.values())
    if without:
        report.notes.append(f"metadata: {len(without)} non-image documents without passages: {_sample(without)}")

    entries = _lexical_entries(layout.lexical)
    report.lexical_passages = len(entries)
    pids = [pid for pid, _ in entries]
    if len(pids) != len(set(pids)):
        report.problems.append(f"lexical: {len(pids) - len(set(pids))} passage ids indexed more than once")
    _compare(report, "lexical", set(passages), set(pids), "passages")
    wrong = {pid for pid, doc_id in entries if pid in passages and passages[pid] != doc_id}
    if wrong:
        report.problems.append(f"lexical: {len(wrong)} passages point at another document than the metadata says: {_sample(wrong)}")

    dense = DenseIndex.load(layout.dense, manifest.dim)
    ids = dense.ids()
    report.dense_vectors = len(ids)
    if len(ids) != len(np.unique(ids)):
        report.problems.append(f"dense: {len(ids) - len(np.unique(ids))} passage ids stored more than once")
    _compare(report, "dense", set(passages), {int(i) for i in ids}, "passage vectors")

    images = {d for d, (kind, _) in documents.items() if kind == "image"}
    report.image_documents = len(images)
    for space, path in (("descriptor", layout.images), ("clip", layout.clip_images)):
        if path.exists():
            _check_image_space(report, space, path, images)

    gone = {d for d, (_, source) in documents.items() if source and not Path(source).exists()}
    report.missing_sources = len(gone)
    if gone:
        report.notes.append(f"{len(gone)} documents whose source file no longer exists (index with --prune to drop them)")
    return report


def check_index(index_dir: Path) -> CheckReport:
    """Check the generation that *index_dir* serves (see :mod:`indexer.backend.embedded.generations`)."""
    from indexer.backend.embedded.generations import live_layout

    layout = live_layout(Path(index_dir))
    if layout is None:
        report = CheckReport(folder=str(index_dir))
        report.problems.append(f"nothing published at {index_dir}")
        return report
    return check_store(layout.root)


def check_configured(settings, index_dir: Path | None = None) -> CheckReport:  # noqa: ANN001 - Settings
    """Check the configured backend's published generation: the embedded index under *index_dir*
    (default ``index.dir``), or the Elasticsearch generation behind ``backend.index_prefix``'s aliases."""
    if settings.backend.kind == "elasticsearch":
        from indexer.backend.elasticsearch.check import check_elasticsearch

        return check_elasticsearch(settings)
    return check_index(index_dir or settings.index.dir)
