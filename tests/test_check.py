"""``medsearch check`` (issue #11, item 1): a consistent index passes; each kind of damage is named."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from indexer.backend.embedded.dense import DenseIndex
from indexer.backend.embedded.generations import live_layout
from indexer.backend.embedded.layout import IndexLayout
from indexer.backend.embedded.lexical import LexicalIndex
from indexer.backend.embedded.metadata import MetadataStore
from indexer.check import check_index, check_store


@pytest.fixture()
def copy_of_index(indexed, tmp_path: Path) -> Path:
    settings, _ = indexed
    target = tmp_path / "generation"
    shutil.copytree(live_layout(settings.index.dir).root, target)  # one generation folder, on its own
    return target


def test_consistent_index_passes(indexed) -> None:
    settings, report = indexed
    result = check_index(settings.index.dir)
    assert result.ok, result.problems
    assert result.passages == result.lexical_passages == result.dense_vectors == report.passages_added
    assert result.image_vectors == {"descriptor": 2}


def test_duplicated_dense_vectors_are_reported(copy_of_index: Path) -> None:
    layout = IndexLayout(copy_of_index)
    dense = DenseIndex.load(layout.dense, 512)
    pid = int(dense.ids()[0])
    dense.add([pid], np.ones((1, 512), dtype=np.float32) / np.sqrt(512))  # what a re-run after a crash did
    dense.save(layout.dense)
    problems = check_store(copy_of_index).problems
    assert any("dense: 1 passage ids stored more than once" in p for p in problems)


def test_lexical_entries_pointing_at_another_document_are_reported(copy_of_index: Path) -> None:
    layout = IndexLayout(copy_of_index)
    store = MetadataStore(layout.metadata)
    [victim, *_] = store.document_ids()
    pids = store.delete_documents([victim])  # SQLite forgot the document, Tantivy and FAISS did not
    store.commit()
    store.close()
    problems = check_store(copy_of_index).problems
    assert any(f"lexical: {len(pids)} orphan passages" in p for p in problems)
    assert any(f"dense: {len(pids)} orphan passage vectors" in p for p in problems)


def test_missing_lexical_entries_are_reported(copy_of_index: Path) -> None:
    layout = IndexLayout(copy_of_index)
    lexical = LexicalIndex(layout.lexical)
    store = MetadataStore(layout.metadata, readonly=True)
    victim = store.document_ids()[0]
    lexical.delete_documents([victim])
    lexical.commit()
    problems = check_store(copy_of_index).problems
    assert any("lexical:" in p and "missing" in p for p in problems)


def test_cli_exit_code(indexed, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from indexer.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["check", str(indexed[0].index.dir)]).exit_code == 0
    damaged = tmp_path / "damaged"
    shutil.copytree(indexed[0].index.dir, damaged)
    live = live_layout(damaged)
    live.dense.unlink()
    DenseIndex(512).save(live.dense)  # an empty dense store
    result = runner.invoke(app, ["check", str(damaged)])
    assert result.exit_code == 1 and "problem" in result.output
