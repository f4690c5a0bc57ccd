"""Typographic ligatures (« ﬁ », « ﬂ ») from PDFs: spelled out in documents and in queries."""

from __future__ import annotations

from pathlib import Path

from indexer.clinical.text import fold
from indexer.sources import parse_file
from indexer.text.ligatures import spell_ligatures
from search_api.models import SearchRequest
from tests.engine_support import engine_over_reports


def test_ligatures_are_spelled_out_and_nothing_else_changes() -> None:
    assert spell_ligatures("ﬁbrose, ﬂutter, eﬀusion, eﬃcace") == "fibrose, flutter, effusion, efficace"
    assert spell_ligatures("5 µg/m², ½ dose") == "5 µg/m², ½ dose"  # not a full NFKC
    assert fold("Aspect de ﬁbrose") == "aspect de fibrose"


def test_a_report_with_ligatures_is_read_with_its_letters(tmp_path: Path) -> None:
    path = tmp_path / "cr.txt"
    path.write_text("Compte rendu\n\nAspect de ﬁbrose pulmonaire, pas d'eﬀusion.\n", encoding="utf-8")
    [document] = parse_file(path, root=tmp_path)
    assert "fibrose pulmonaire" in document.text and "ﬁ" not in document.text and "ﬀ" not in document.text


def test_a_query_pasted_from_a_pdf_finds_what_its_letters_find(tmp_path: Path) -> None:
    """« ﬁbrose pulmonaire » (the ligature a PDF copy gives) was not recognised as the concept: no
    translation, no synonyms, another dense vector."""
    engine = engine_over_reports(tmp_path, {
        "F1": "Fibrose pulmonaire interstitielle diffuse.", "F2": "Épanchement pleural gauche.",
        "E1": "Idiopathic pulmonary fibrosis, unchanged.", "E2": "Lungs are clear."})
    typed, pasted = SearchRequest(q="fibrose pulmonaire"), SearchRequest(q="ﬁbrose pulmonaire")
    assert pasted.q == "fibrose pulmonaire"
    assert engine.plan(pasted).concepts == engine.plan(typed).concepts != []
    assert [r.id for r in engine.search(pasted).results] == [r.id for r in engine.search(typed).results]
    assert {r.id for r in engine.search(SearchRequest(q="ﬁbrose pulmonaire", mode="lexical")).results} >= {"report:F1.txt", "report:E1.txt"}
