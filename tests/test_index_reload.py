"""A running API picks up what a later (scheduled) indexing run wrote, without a restart: new documents
are found, and the in-memory passage table behind dense filters follows the new index."""

from __future__ import annotations

import shutil
from pathlib import Path

from indexer.pipeline import index_paths
from indexer.settings import Settings
from search_api.models import SearchRequest
from search_api.engine_factory import build_engine

NEW_REPORT = """Établissement : Hôpital Universitaire de Démonstration
Service : Radiologie
IPP : P900077
Date : 03/09/2024
Type : Compte rendu de radiologie
Titre : IRM du genou droit

Résultats :
Rupture complète du ligament croisé antérieur du genou droit.

Conclusion :
Rupture du LCA droit.
"""


def test_engine_reloads_a_reindexed_corpus(tmp_path: Path, encoder) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(Path(__file__).parent / "fixtures" / "sources" / "reports", sources)
    settings = Settings(index={"dir": tmp_path / "index"})
    index_paths([sources], settings, encoder)
    engine = build_engine(settings, encoder)
    query = SearchRequest(q="rupture du ligament croisé antérieur", mode="dense", patient_id="P900077")
    assert engine.search(query).results == []  # the patient does not exist yet

    (sources / "RPT-T077.txt").write_text(NEW_REPORT, encoding="utf-8")
    index_paths([sources], settings, encoder)

    dense_filtered = engine.search(query)  # the passage table must know the new passages and patient
    assert [r.id for r in dense_filtered.results] == ["report:RPT-T077.txt"]
    lexical = engine.search(SearchRequest(q="ligament croisé", mode="lexical"))
    assert [r.id for r in lexical.results] == ["report:RPT-T077.txt"]
    table = engine.backend.snapshot().table  # embedded: the in-memory passage table follows the new generation
    assert table.doc_of(range(len(table.present))) == {
        pid: p.doc_id for pid, p in engine.backend.get_passages(list(range(len(table.present)))).items()
    }
