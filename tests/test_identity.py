"""Document identity (issue #11, item 3): ids unique across kinds and folders, stable across runs and
machines, and source paths stored resolved so ``--prune`` is right from any working directory."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from indexer.pipeline import index_paths, parse_sources
from indexer.settings import Settings
from indexer.backend.embedded.generations import live_layout
from indexer.backend.embedded.metadata import MetadataStore
from search_api.app import create_app
from auth_support import auth

IDENTITY = Path(__file__).parent / "fixtures" / "edge" / "identity"


def test_same_file_name_in_two_folders_gives_two_documents() -> None:
    documents, skipped, _ = parse_sources([IDENTITY], None)
    ids = {d.id for d in documents}
    assert {"report:a/CR.txt", "report:b/CR.txt"} <= ids and not skipped


def test_report_named_like_a_patient_does_not_collide_with_the_patient_record() -> None:
    documents, skipped, _ = parse_sources([IDENTITY], None)
    by_id = {d.id: d for d in documents}
    assert by_id["report:reports/P000023.txt"].kind.value == "report"
    assert by_id["record:P000023"].kind.value == "record"
    assert not skipped


def test_ids_do_not_depend_on_where_the_folder_lives(tmp_path: Path) -> None:
    """Another machine, another mount point: same ids (relative to the indexed root)."""
    elsewhere = tmp_path / "mnt" / "exports"
    shutil.copytree(IDENTITY, elsewhere)
    here = sorted(d.id for d in parse_sources([IDENTITY], None)[0])
    there = sorted(d.id for d in parse_sources([elsewhere], None)[0])
    assert here == there


def test_source_paths_are_absolute_and_prune_works_from_another_directory(
    tmp_path: Path, encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    shutil.copytree(IDENTITY, work / "exports")
    settings = Settings(index={"dir": tmp_path / "index"})
    monkeypatch.chdir(work)
    first = index_paths([Path("exports")], settings, encoder)  # a relative path, as a user types it
    assert first.documents_added == 4
    store = MetadataStore(live_layout(settings.index.dir).metadata, readonly=True)
    assert all(os.path.isabs(p) for p in store.source_paths().values())
    store.close()

    monkeypatch.chdir(tmp_path)  # prune from another working directory: nothing may go
    again = index_paths([work / "exports"], settings, encoder, prune=True)
    assert (again.documents_removed, again.documents_unchanged) == (0, 4)

    (work / "exports" / "b" / "CR.txt").unlink()
    pruned = index_paths([work / "exports"], settings, encoder, prune=True)
    assert pruned.documents_removed == 1
    store = MetadataStore(live_layout(settings.index.dir).metadata, readonly=True)
    assert "report:b/CR.txt" not in store.document_ids() and "report:a/CR.txt" in store.document_ids()


@pytest.mark.parametrize(
    "params",
    [{"date_from": "3024-03-01"}, {"date_to": "1628-01-01"}, {"date_from": "0001-01-01"}],
)
def test_api_date_filters_outside_the_supported_range_get_422(indexed, encoder, params: dict[str, str]) -> None:
    settings, _ = indexed
    client = TestClient(create_app(settings, encoder=encoder))
    response = client.get("/search", params={"q": "pneumothorax", **params}, headers=auth())
    assert response.status_code == 422, response.text
    assert "supported range" in response.text
    assert client.post("/search", json={"q": "pneumothorax", **params}, headers=auth()).status_code == 422
    assert client.get("/search", params={"q": "pneumothorax", "date_from": "2000-01-01"}, headers=auth()).status_code == 200
