"""Streaming parse (issue #11, item 2): batches of documents linked exactly as a whole-corpus parse."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom

from conftest import write_ct_dicom
from indexer.pipeline import parse_sources
from indexer.sources import discover_sources
from indexer.streaming import iter_batches, scan

EDGE = Path(__file__).parent / "fixtures" / "edge"


def _folder(tmp_path: Path, source_folder: Path) -> Path:
    root = tmp_path / "corpus"
    shutil.copytree(source_folder, root)
    shutil.copytree(EDGE, root / "edge")
    series = root / "series"
    series.mkdir()
    for number, name in ((3, "S-C"), (1, "S-A"), (2, "S-B")):
        path = series / f"{name}.dcm"
        write_ct_dicom(path, "P900001", "ACC9000001", study_date="20240314")  # the same series as IMG-T001
        ds = pydicom.dcmread(path)
        ds.InstanceNumber = number
        ds.save_as(path)
    shutil.copy(root / "reports" / "RPT-T002.txt", root / "edge" / "duplicate-accession.txt")
    return root


def test_batches_equal_the_whole_corpus_parse(tmp_path: Path, source_folder: Path) -> None:
    root = _folder(tmp_path, source_folder)
    whole, skipped, seen = parse_sources([root], None)
    files, _ = discover_sources([root])
    table = scan(files, None)
    batches = list(iter_batches(files, table, None, batch_files=3))
    assert len(batches) > 3 and max(len(b) for b in batches) <= 6
    streamed = {d.id: d for batch in batches for d in batch}
    assert sum(len(b) for b in batches) == len(streamed)  # no id twice
    assert set(streamed) == {d.id for d in whole}
    for document in whole:
        assert streamed[document.id].model_dump() == document.model_dump(), document.id
    assert sorted(table.skipped) == sorted(skipped) and table.files_seen == seen
