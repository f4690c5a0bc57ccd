"""A query's function words are not searched in the other language's fields."""

from __future__ import annotations

from pathlib import Path

from search_api.models import SearchRequest
from search_api.query_plan import without_stop_words
from tests.engine_support import engine_over_reports


def test_stop_words_of_the_query_language_are_left_out() -> None:
    assert without_stop_words("accentuation de la trame pulmonaire", "fr") == "accentuation trame pulmonaire"
    assert without_stop_words("pain in the back", "en") == "pain back"
    assert without_stop_words("le la les", "fr") == "le la les"  # nothing else to search: as typed
    assert without_stop_words("de la trame", None) == "de la trame"  # language unknown: as typed


def test_french_function_words_do_not_count_english_documents(tmp_path: Path) -> None:
    """« épanchement de la plèvre » matched « de » and « la » in the English fields (the English analyzer keeps
    them): it counted every document holding « la » or « de » once read as English (763 of the demo corpus
    against 93 for « épanchement plèvre »)."""
    engine = engine_over_reports(tmp_path, {
        "F1": "Épanchement de la plèvre gauche.", "F2": "Pas de foyer. Silhouette cardiaque normale.",
        "E1": "La Paz hospital transfer. Lungs are clear.", "E2": "Le Fort fracture, old. Heart size normal."})
    typed = engine.search(SearchRequest(q="épanchement de la plèvre", mode="lexical"))
    terse = engine.search(SearchRequest(q="épanchement plèvre", mode="lexical"))
    assert typed.total == terse.total == 1
    assert [r.id for r in typed.results] == ["report:F1.txt"]
