"""« FEVG < 40 % » typed in the search box compares the value, as a cohort criterion does.

Before, /search and /search/patients read the query as words: « FEVG » and « 40 ». A letter holding
« FEVG altérée » and « Furosémide 40 mg », or « FEVG à 40 % » (not below 40), was a result and was
counted in « N documents · M patients »; a cohort of the same query did not count it. On the demo
index the search read 102 documents · 69 patients, the cohort 11 patients. Now the label's exact
matches are kept to those whose text gives a satisfying value (value_comparison.satisfying, the
cohorts' check), so totals, pages, the patients view and the cohort agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from auth_support import auth
from search_api.app import create_app
from search_api.models import SearchRequest
from search_api.query_plan import plan_query
from search_api.value_comparison import ValueComparison

DR = auth("clinician", "dr.martin")

_HEADER = "Établissement : Hôpital Universitaire de Démonstration\nService : Cardiologie\nIPP : {patient}\n" \
          "Date : 1{n}/03/2024\nType : Compte rendu\nTitre : Échographie cardiaque {n}\n\n"
#: (file, patient, text): two below 40, one at 40 (not below), one with a dose of 40 mg, one with no FEVG
_REPORTS = [
    ("V1", "P700001", "Conclusion : ventricule gauche dilaté, FEVG estimée à 30 % (Simpson biplan)."),
    ("V2", "P700002", "Conclusion : hypokinésie globale, FEVG à 35 %. Insuffisance cardiaque."),
    ("V3", "P700003", "Conclusion : insuffisance cardiaque chronique, FEVG à 40 %. Pas d'épanchement."),
    ("V4", "P700004", "Conclusion : insuffisance cardiaque à FEVG altérée - Furosémide 40 mg : 1 cp le matin."),
    ("V5", "P700005", "Conclusion : fraction d'éjection du ventricule gauche effondrée, cardiopathie dilatée, 40 mg de furosémide."),
]
BELOW_40 = {"report:reports/V1.txt", "report:reports/V2.txt"}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, encoder):  # noqa: ANN001, ANN201 - Settings
    from indexer.pipeline import index_paths
    from indexer.settings import Settings

    root = tmp_path_factory.mktemp("values")
    folder = root / "sources" / "reports"
    folder.mkdir(parents=True)
    for n, (name, patient, text) in enumerate(_REPORTS):
        (folder / f"{name}.txt").write_text(_HEADER.format(patient=patient, n=n) + text + "\n", encoding="utf-8")
    settings = Settings(index={"dir": root / "index"}, api={"audit_log": root / "audit.log", "user_data": root / "user.sqlite"})
    index_paths([Path(root / "sources")], settings, encoder)
    return settings


@pytest.fixture(scope="module")
def client(settings, encoder) -> TestClient:  # noqa: ANN001
    return TestClient(create_app(settings, encoder=encoder))


def _search(client: TestClient, q: str, **params: object) -> dict:
    response = client.get("/search", params={"q": q, "limit": 50, **params}, headers=DR)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_plan_recognises_a_comparison_and_says_so() -> None:
    plan = plan_query(SearchRequest(q="FEVG < 40 %"))
    assert plan.comparison == ValueComparison("FEVG", "<", 40.0, "%")
    assert plan.interpretation is not None and plan.interpretation.compared_value == "FEVG < 40 %"
    assert "40" not in plan.lexical_text  # the number is compared, not searched as a word
    assert plan_query(SearchRequest(q="FEVG altérée")).comparison is None


@pytest.mark.parametrize("mode", ["lexical", "hybrid", "dense"])
def test_search_counts_only_documents_with_a_satisfying_value(client: TestClient, mode: str) -> None:
    body = _search(client, "FEVG < 40 %", mode=mode)
    assert {r["id"] for r in body["results"]} == BELOW_40  # no 40 %, no 40 mg, no dense-only document
    assert (body["total"], body["total_patients"]) == (2, 2)
    assert (body["total_affirmed"], body["total_patients_affirmed"]) == (2, 2)
    assert body["ranked"] == 2
    assert body["interpretation"]["compared_value"] == "FEVG < 40 %"
    assert all("<mark>FEVG" in r["snippet"] for r in body["results"])  # the value's sentence, value highlighted


def test_the_threshold_decides(client: TestClient) -> None:
    assert {r["id"] for r in _search(client, "FEVG <= 40 %")["results"]} == BELOW_40 | {"report:reports/V3.txt"}
    assert _search(client, "FEVG > 50 %")["total"] == 0
    # an ordinary query is unchanged: every document naming FEVG
    assert _search(client, "FEVG", mode="lexical")["total"] == 4


def test_pages_cut_the_checked_set(client: TestClient) -> None:
    first, second = (_search(client, "FEVG < 40 %", limit=1, offset=o) for o in (0, 1))
    assert [first["total"], second["total"]] == [2, 2]
    assert {first["results"][0]["id"], second["results"][0]["id"]} == BELOW_40


def test_patients_view_and_cohort_agree_with_search(client: TestClient) -> None:
    grouped = client.get("/search/patients", params={"q": "FEVG < 40 %"}, headers=DR).json()
    assert (grouped["total"], grouped["total_patients"]) == (2, 2)
    assert {p["patient_id"] for p in grouped["patients"]} == {"P700001", "P700002"}
    assert all(not hit["semantic_only"] for p in grouped["patients"] for hit in p["best"])
    cohort = client.post("/cohorts/evaluate", json={"criteria": [{"q": "FEVG < 40 %"}]}, headers=DR).json()
    assert {p["patient_id"] for p in cohort["patients"]} == {"P700001", "P700002"}


def test_the_portal_says_the_value_is_compared() -> None:
    from ui.client import Interpretation
    from ui.render import interpretation_html

    plan = plan_query(SearchRequest(q="FEVG < 40 %"))
    understood = Interpretation.from_json(plan.interpretation.model_dump(mode="json"))  # type: ignore[union-attr]
    assert "valeur comparée : FEVG &lt; 40 %" in interpretation_html(understood)
    assert "valeur comparée" not in interpretation_html(Interpretation.from_json({"polarity": "affirmed", "affirmed_terms": ["FEVG"]}))


@pytest.mark.parametrize(("query", "label"), [
    ("FEVG < 40 %", "FEVG"),
    ("créatinine > 150", "créatinine"),
    ("insuffisance cardiaque FEVG < 40 %", "FEVG"),  # after the last recognised concept
    ("diabète HbA1c > 7 %", "HbA1c"),  # the concept it ends with
    ("fraction d'éjection < 40 %", "fraction d'éjection"),  # no concept: all of it
])
def test_a_mixed_query_compares_the_value_of_its_last_words(query: str, label: str) -> None:
    plan = plan_query(SearchRequest(q=query))
    assert plan.comparison is not None and plan.comparison.label == label


def test_a_mixed_query_searches_its_other_words_and_checks_the_value(client: TestClient) -> None:
    # V2: « FEVG à 35 %. Insuffisance cardiaque. »; V3 (40 %) and V4 (40 mg) name the heart failure too
    body = _search(client, "insuffisance cardiaque FEVG < 40 %")
    assert [r["id"] for r in body["results"]] == ["report:reports/V2.txt"]
    assert (body["total"], body["total_patients"]) == (1, 1)
    assert body["interpretation"]["compared_value"] == "FEVG < 40 %"


def test_the_checked_set_is_remembered_per_filter(settings, encoder) -> None:  # noqa: ANN001
    """/search/patients checks the set, then asks /search, which checks it again: the second is remembered
    (one read of every label match per request), and a caller of another scope gets its own set."""
    from indexer.backend.filters import DocumentFilter
    from search_api.engine_factory import build_engine
    from search_api.matching import compared_matches

    engine = build_engine(settings, encoder, clip=False)
    plan = engine.plan(SearchRequest(q="FEVG < 40 %"))
    first = compared_matches(engine, plan, DocumentFilter())
    assert compared_matches(engine, plan, DocumentFilter()) is first
    assert set(first.matches.doc_ids) == BELOW_40 and first.checked == 4
    scoped = compared_matches(engine, plan, DocumentFilter(allowed_patients=("P700002",)))
    assert scoped.matches.doc_ids == ["report:reports/V2.txt"]


def test_a_patients_timeline_marks_only_the_documents_giving_a_satisfying_value(client: TestClient) -> None:
    # P700003's « FEVG à 40 % » names FEVG but is not below 40: not marked, as /search does not count it
    def marked(patient: str) -> list[dict]:
        body = client.get(f"/patients/{patient}/timeline", params={"q": "FEVG < 40 %"}, headers=DR).json()
        return [e for group in body["groups"] for e in group["entries"] if e["matched"]]

    assert marked("P700003") == []
    [entry] = marked("P700001")
    assert "<mark>FEVG estimée à 30 %</mark>" in entry["snippet"]
