"""A small English report index and its SearchEngine, for tests of query-time levers (cognates, induced
translations) that need a real index but not a real encoder: the hash encoder of the benchmarks."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


#: five short English chest-radiograph reports (two about kyphosis): an English-only index (English share 1.0)
REPORTS = {
    "A": "Kyphosis of the thoracic spine.",
    "B": "Mild kyphosis, otherwise normal.",
    "C": "Heart size within limits.",
    "D": "Lungs are clear bilaterally.",
    "E": "Small pleural effusion on the left.",
}

#: a mixed index of 3 French and 2 English reports (English share 0.4: French-majority, every ``auto`` gate closed)
FRENCH_REPORTS = {
    "F1": "Cyphose dorsale marquée, sans tassement vertébral visible sur ce cliché.",
    "F2": "Épanchement pleural gauche de faible abondance, sans pneumothorax associé.",
    "F3": "Pas de foyer pulmonaire. La silhouette cardiaque est de taille normale.",
}
ENGLISH_REPORTS = {
    "E1": "Kyphosis of the thoracic spine, with no vertebral compression fracture seen.",
    "E2": "The lungs are clear bilaterally and the heart size is within normal limits.",
}


def engine_over_reports(root: Path, reports: Mapping[str, str], patients: Mapping[str, str] | None = None,
                        **settings: Any):  # noqa: ANN201
    """Index *reports* (id → report text, written as chest-radiograph ``.txt`` reports, with an ``IPP``
    header line when *patients* maps the id to one) under *root* and return the engine over it;
    *settings* are extra :class:`indexer.settings.Settings` sections."""
    from bench.lexical_overhead import HashEncoder
    from indexer.pipeline import index_paths
    from indexer.settings import Settings
    from search_api.engine_factory import build_engine

    corpus = root / "reports"
    corpus.mkdir()
    for report_id, text in reports.items():
        ipp = f"IPP : {patients[report_id]}\n" if patients and report_id in patients else ""
        (corpus / f"{report_id}.txt").write_text(f"Exam: Chest radiograph\n{ipp}\n{text}\n", encoding="utf-8")
    config = Settings(index={"dir": root / "index"}, api={"audit_log": root / "audit.log"}, **settings)
    encoder = HashEncoder()
    index_paths([corpus], config, encoder)
    return build_engine(config, encoder, clip=False)


def record_dense_queries(engine: Any, monkeypatch: Any) -> list:
    """The query vectors *engine*'s backend is asked to search with (``dense_search``), in call order:
    a spy installed with *monkeypatch* (undone after the test); each vector as a numpy array."""
    import numpy as np

    vectors: list = []
    search = engine.backend.dense_search

    def spy(vector, limit, where=None):  # noqa: ANN001, ANN202
        vectors.append(np.asarray(vector))
        return search(vector, limit, where)

    monkeypatch.setattr(engine.backend, "dense_search", spy)
    return vectors


def site_over(root: Path, sources: Path, encoder: Any, **settings: Any):  # noqa: ANN201
    """Index *sources* with *encoder* into ``root/index`` and return an API client over it (audit log and
    user data under *root*, rate limit off: tests send many requests); *settings* are extra
    :class:`indexer.settings.Settings` sections. What the API tests that need their own small corpus share."""
    from fastapi.testclient import TestClient

    from indexer.pipeline import index_paths
    from indexer.settings import Settings
    from search_api.app import create_app

    config = Settings(index={"dir": root / "index"},
                      api={"audit_log": root / "audit.log", "user_data": root / "user_data.sqlite"},
                      **{"security": {"rate_limit_per_minute": 0}, **settings})
    index_paths([sources], config, encoder)
    return TestClient(create_app(config, encoder=encoder))
