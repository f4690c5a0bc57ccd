"""The portal's « Essayez avec l'orthographe : … » (the API's ``suggestion``), driven by Streamlit's AppTest
over a fake API: shown above the results of the query as typed, and a click searches the correction."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from ui import render  # noqa: E402
from ui.client import SearchPage  # noqa: E402
from ui_support import patch_client  # noqa: E402
from ui_support import run_app as _app  # noqa: E402

CORRECTIONS = {"fracure du col": "fracture du col", "Fracure (col)": "Fracture (col)"}


def _hit(doc_id: str, lexical: int | None) -> dict[str, object]:
    return {
        "id": doc_id, "kind": "report", "title": f"CR {doc_id}", "date": "2024-03-14", "patient_id": "P001",
        "language": "fr", "modality": None, "score": 0.03, "snippet": "texte", "section": "", "url": "",
        "explanation": {"lexical_rank": lexical, "dense_rank": 1, "dense_similarity": 0.5},
    }


class Fake:
    def __init__(self) -> None:
        self.queries: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, params = request.url.path, request.url.params
        if path == "/health":
            return httpx.Response(200, json={"status": "ok"})
        if path == "/search":
            q = params["q"]
            self.queries.append((path, q))
            misspelled = q in CORRECTIONS
            return httpx.Response(200, json={
                "query": q, "mode": "hybrid", "took_ms": 5.0, "total": 0 if misspelled else 4, "total_patients": 1,
                "term_match": not misspelled, "ranked": 10, "suggestion": CORRECTIONS.get(q),
                "results": [_hit("r9", None if misspelled else 1)],
            })
        if path == "/search/patients":
            q = params["q"]
            self.queries.append((path, q))
            return httpx.Response(200, json={
                "query": q, "total": 1, "total_patients": 1, "term_match": True, "offset": 0, "limit": 10,
                "suggestion": CORRECTIONS.get(q),
                "patients": [{"patient_id": "P001", "rank": 1, "matching_documents": 1, "best": [
                    {"id": "r1", "kind": "report", "title": "CR", "date": "2024-03-14", "snippet": "x", "url": "/documents/r1"}]}],
            })
        return httpx.Response(404, json={"detail": "introuvable"})


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> Fake:
    recorder = Fake()
    patch_client(monkeypatch, recorder)
    return recorder


def _suggestion_buttons(at):  # noqa: ANN001, ANN202
    return [b for b in at.button if str(b.label).startswith(render.SUGGESTION_PREFIX)]


def test_a_suggestion_is_offered_and_a_click_searches_it(fake: Fake) -> None:
    at = _app(q="fracure du col")
    buttons = _suggestion_buttons(at)
    assert [b.label for b in buttons] == ["Essayez avec l'orthographe : **fracture du col**"]
    assert fake.queries == [("/search", "fracure du col")]  # the results shown are those of the query as typed
    buttons[0].click().run()
    assert not at.exception, at.exception
    assert fake.queries[-1] == ("/search", "fracture du col")
    assert at.text_input(key="q").value == "fracture du col"
    assert at.query_params.get("q") in ("fracture du col", ["fracture du col"])  # the link follows
    assert _suggestion_buttons(at) == []  # spelled right: nothing more to offer


def test_no_suggestion_no_button(fake: Fake) -> None:
    at = _app(q="fracture du col")
    assert _suggestion_buttons(at) == []


def test_the_grouped_view_offers_it_too(fake: Fake) -> None:
    at = _app(q="fracure du col", group="patients")
    buttons = _suggestion_buttons(at)
    assert len(buttons) == 1
    buttons[0].click().run()
    assert fake.queries[-1] == ("/search/patients", "fracture du col")


def test_the_label_escapes_the_query() -> None:
    assert render.suggestion_label("Fracture (col)") == r"Essayez avec l'orthographe : **Fracture \(col\)**"
    page = SearchPage.from_json({"query": "q", "total": 0, "took_ms": 1, "mode": "hybrid", "results": [], "suggestion": "x y"})
    assert page.suggestion == "x y"
    assert SearchPage.from_json({"query": "q", "total": 0, "took_ms": 1, "mode": "hybrid", "results": []}).suggestion is None
