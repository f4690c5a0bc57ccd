"""A search's « N documents · M patients » against a one-criterion cohort of the same query.

A default search also ranks hypothetical mentions (« Suspicion d'AVC ischémique »); a cohort keeps
affirmed findings only (:func:`search_api.cohort_engine.affirmed_only`). The search therefore says both:
``total`` / ``total_patients`` (every term match) and ``total_affirmed`` / ``total_patients_affirmed``
(what the cohort counts), and a result found only through a hypothetical mention is labelled so even
when its first highlighted word (« IRM ») stands outside the cue's scope.
"""

from __future__ import annotations


import pytest
from fastapi.testclient import TestClient

from auth_support import auth
from engine_support import site_over

DR = auth("clinician", "dr.martin")

REPORTS = {
    # affirmed finding
    "P910001": "IRM cérébrale du 02/03/2024 : AVC ischémique aigu du territoire sylvien gauche.",
    # the exam's words affirmed, the finding only suspected (cue scope starts after « IRM cérébrale »)
    "P910002": "IRM cérébrale Aspect pouvant faire évoquer un AVC ischémique, à confronter aux données cliniques.",
    # hypothetical, in a post-cue phrasing
    "P910003": "IRM cérébrale du 05/03/2024 : Un AVC ischémique n'est pas formellement exclu.",
    # negated: neither counts (a default search does not ask for negated mentions)
    "P910004": "IRM cérébrale du 06/03/2024 : Un AVC ischémique n'est pas retenu.",
    # unrelated: found, if at all, by meaning only
    "P910005": "Lobectomie pulmonaire par vidéothoracoscopie. Ablation du drain à J3.",
}


def _report(patient: str, text: str) -> str:
    return (f"Établissement : Hôpital Universitaire de Démonstration\nService : Radiologie\nIPP : {patient}\n"
            f"Date : 10/03/2024\nType : Compte rendu d'imagerie\nTitre : IRM cérébrale\n\nConclusion :\n{text}\n")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, encoder) -> TestClient:  # noqa: ANN001
    root = tmp_path_factory.mktemp("counts")
    source = root / "sources" / "reports"
    source.mkdir(parents=True)
    for i, (patient, text) in enumerate(REPORTS.items()):
        (source / f"RPT-C{i}.txt").write_text(_report(patient, text), encoding="utf-8")
    return site_over(root, root / "sources", encoder, security={})


@pytest.mark.parametrize("mode", ["hybrid", "lexical"])
def test_search_says_what_the_cohort_counts(client: TestClient, mode: str) -> None:
    q = "IRM cérébrale AVC ischémique"
    body = client.get("/search", params={"q": q, "mode": mode, "limit": 20}, headers=DR).json()
    cohort = client.post("/cohorts/evaluate", json={"criteria": [{"q": q}]}, headers=DR).json()
    assert sorted(p["patient_id"] for p in cohort["patients"]) == ["P910001"]
    # every term match (affirmed and hypothetical; the negated report is not asked for)
    assert (body["total"], body["total_patients"]) == (3, 3)
    # what the cohort counts
    assert (body["total_affirmed"], body["total_patients_affirmed"]) == (1, cohort["total"]) == (1, 1)
    contexts = {r["patient_id"]: r["context"] for r in body["results"] if r["lexical_match"]}
    assert contexts == {"P910001": "affirmed", "P910002": "hypothetical", "P910003": "hypothetical"}
    # a result found by meaning only is labelled so and not counted
    assert all(r["semantic_only"] for r in body["results"] if r["patient_id"] in ("P910004", "P910005"))



@pytest.mark.parametrize("mode", ["hybrid", "lexical"])
def test_patients_view_says_what_the_cohort_counts(client: TestClient, mode: str) -> None:
    """/search/patients carries the same affirmed counts as /search, overall and per patient (the
    patients view said « 3 patients » where the cohort of the query held one, with nothing saying why)."""
    q = "IRM cérébrale AVC ischémique"
    search = client.get("/search", params={"q": q, "mode": mode, "limit": 20}, headers=DR).json()
    body = client.get("/search/patients", params={"q": q, "mode": mode, "limit": 20}, headers=DR).json()
    assert (body["total"], body["total_patients"]) == (3, 3)
    assert (body["total_affirmed"], body["total_patients_affirmed"]) == (
        search["total_affirmed"], search["total_patients_affirmed"]) == (1, 1)
    affirmed = {p["patient_id"]: p["affirmed_documents"] for p in body["patients"] if p["matching_documents"]}
    assert affirmed == {"P910001": 1, "P910002": 0, "P910003": 0}


def test_patients_view_without_hypothetical_mentions_counts_every_match(client: TestClient) -> None:
    """Every match affirmed: the affirmed counts are the totals, as /search's (the path that does not count
    the affirmed matches a second time)."""
    q = "lobectomie"
    search = client.get("/search", params={"q": q, "limit": 20}, headers=DR).json()
    body = client.get("/search/patients", params={"q": q, "limit": 20}, headers=DR).json()
    assert (body["total_affirmed"], body["total_patients_affirmed"]) == (
        search["total_affirmed"], search["total_patients_affirmed"]) == (1, 1)
    assert [p["affirmed_documents"] for p in body["patients"] if p["matching_documents"]] == [1]
