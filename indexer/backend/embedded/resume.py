"""Resuming a killed run from its last committed batch (issue #11 item 2: a crash loses at most one batch).

A run writes its generation in a staging folder and commits it after every batch (the stores are
durable there, but unpublished). When the process dies, the next run with the same starting point
(same live generation, same ``rebuild`` flag, same encoder) adopts that folder instead of starting
over: the documents already written there have their content hash, so the pipeline skips them.

The three stores are committed one after the other, so a kill in the middle of a commit leaves one
store a batch ahead of another. :func:`repair` makes them agree before the run goes on: every
document whose passages are not exactly the same in the metadata, lexical and dense stores is removed
from all of them (the resumed run adds it again), and vectors of no document are dropped. The
metadata store is the reference (it commits last).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from indexer.backend.embedded.generations import STAGING_PREFIX, Generations, process_alive
from indexer.backend.embedded.layout import IndexLayout, atomic_write_bytes

MARKER = "resume.json"


def write_marker(staging: Path, base: int | None, rebuild: bool, encoder: str, dim: int) -> None:
    """Record what a staging folder started from (written once its copy-on-write copy is complete)."""
    payload = {"base": base, "rebuild": rebuild, "encoder": encoder, "dim": dim}
    atomic_write_bytes(staging / MARKER, json.dumps(payload).encode("utf-8"))


def find_resumable(generations: Generations, base: int | None, rebuild: bool, encoder: str, dim: int) -> Path | None:
    """The newest staging folder of a dead run that started where this run starts, if any."""
    if not generations.folder.is_dir():
        return None
    wanted = {"base": base, "rebuild": rebuild, "encoder": encoder, "dim": dim}
    found: list[tuple[float, Path]] = []
    for path in generations.folder.iterdir():
        if not path.name.startswith(STAGING_PREFIX):
            continue
        pid = path.name[len(STAGING_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or process_alive(int(pid)):
            continue
        try:
            marker: dict[str, Any] = json.loads((path / MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if marker == wanted and (path / "metadata.sqlite").is_file():
            found.append((path.stat().st_mtime, path))
    return max(found)[1] if found else None


def adopt(path: Path) -> Path:
    """Rename a dead run's staging folder as this process's own (so no other run discards it)."""
    mine = path.with_name(f"{STAGING_PREFIX}{os.getpid()}-{path.name.rsplit('-', 1)[-1]}")
    os.rename(path, mine)
    return mine


def repair(layout: IndexLayout, dim: int) -> list[str]:
    """Make the stores of *layout* agree (see module docstring); returns the document ids removed."""
    import sqlite3

    import numpy as np

    from indexer.backend.embedded.dense import DenseIndex
    from indexer.backend.embedded.lexical import LexicalIndex
    from indexer.backend.embedded.metadata import MetadataStore
    from indexer.check import _lexical_entries

    db = sqlite3.connect(layout.metadata)
    try:
        passages = dict(db.execute("SELECT pid, doc_id FROM passages").fetchall())
        documents = {row[0] for row in db.execute("SELECT id FROM documents")}
    finally:
        db.close()
    lexical_entries = _lexical_entries(layout.lexical)
    dense = DenseIndex.load(layout.dense, dim)
    dense_ids = {int(i) for i in dense.ids()}

    def by_doc(pairs: list[tuple[int, str]]) -> dict[str, set[int]]:
        out: dict[str, set[int]] = {}
        for pid, doc_id in pairs:
            out.setdefault(doc_id, set()).add(pid)
        return out

    meta_of = by_doc(list(passages.items()))
    lex_of = by_doc(lexical_entries)
    dense_of = by_doc([(pid, passages[pid]) for pid in dense_ids if pid in passages])
    dirty = {d for d in set(meta_of) | set(lex_of) if meta_of.get(d, set()) != lex_of.get(d, set())}
    dirty |= {d for d in meta_of if meta_of[d] != dense_of.get(d, set())}
    dirty |= set(lex_of) - documents
    stray_vectors = dense_ids - set(passages)
    if not dirty and not stray_vectors:
        return []
    metadata = MetadataStore(layout.metadata)
    removed_pids = metadata.delete_documents(sorted(dirty & documents))
    metadata.commit()
    metadata.close()
    lexical = LexicalIndex(layout.lexical)
    lexical.delete_documents(sorted(dirty))
    lexical.commit()
    dense.remove(sorted(set(removed_pids) | stray_vectors | {p for d in dirty for p in lex_of.get(d, set())} & dense_ids))
    dense.save(layout.dense)
    del np
    return sorted(dirty)
