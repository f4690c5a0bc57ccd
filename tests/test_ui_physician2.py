"""What a physician met in the French portal (browser walk, physician2): each case here failed before its fix."""

from __future__ import annotations

from ui.client import ApiError
from ui.render import api_error_text


def test_an_index_of_an_older_format_is_said_in_french_with_who_to_call() -> None:
    detail = "index at var/index has format 2, this version reads 3: run medsearch index PATH --rebuild"
    text = api_error_text(ApiError(503, detail))
    assert "has format" not in text and "this version" not in text
    assert text.startswith("Recherche momentanément indisponible (503)")
    assert "reconstruit" in text and "administrateur" in text
