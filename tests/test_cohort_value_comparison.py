"""« FEVG < 40 % » in a cohort criterion compares the value (research associate's trial screening).

Before, the query was read as the words « FEVG » and « 40 »: on the demo corpus the criterion kept 19
patients, 11 of them on a drug dose (« Furosémide 40 mg ») or on « FEVG à 40 % », which is not below 40.
Now 8, each with the sentence giving a value below 40 as evidence."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from auth_support import auth
from conftest import RPT_T003
from search_api.app import create_app
from search_api.value_comparison import ValueComparison, parse

DR = auth("clinician", "dr.martin")


@pytest.fixture(scope="module")
def client(indexed, encoder) -> TestClient:  # noqa: ANN001
    settings, _ = indexed
    return TestClient(create_app(settings, encoder=encoder))


def _evaluate(client: TestClient, q: str) -> list[dict]:
    response = client.post("/cohorts/evaluate", json={"criteria": [{"q": q}]}, headers=DR)
    assert response.status_code == 200, response.text
    return response.json()["patients"]


@pytest.mark.parametrize(("query", "expected"), [
    ("FEVG < 40 %", ValueComparison("FEVG", "<", 40.0, "%")),
    ("FEVG ≤ 35%", ValueComparison("FEVG", "≤", 35.0, "%")),
    ("créatinine > 150 µmol/L", ValueComparison("créatinine", ">", 150.0, "µmol/L")),
    ("insuffisance cardiaque", None),
    ("IDM ST-", None),
    ("sans embolie pulmonaire", None),
])
def test_which_queries_compare_a_value(query: str, expected: ValueComparison | None) -> None:
    assert parse(query) == expected


@pytest.mark.parametrize(("text", "snippet"), [
    ("Insuffisance cardiaque à FEVG altérée (25 %). Un infarctus", "Insuffisance cardiaque à <mark>FEVG altérée (25 %</mark>)."),
    ("Ventricule gauche dilaté, FEVG estimée à 29 % (Simpson biplan).", "Ventricule gauche dilaté, <mark>FEVG estimée à 29 %</mark> (Simpson biplan)."),
    ("fevg 39,5%", "<mark>fevg 39,5%</mark>"),
    ("Insuffisance cardiaque chronique, FEVG à 40 % Non fumeur.", None),  # 40 is not below 40
    ("Insuffisance cardiaque à FEVG altérée - Furosémide 40 mg : 1 cp", None),  # a dose, not the FEVG
    ("FEVG altérée. Atorvastatine 40 mg", None),  # another sentence
    ("FEVG altérée", None),  # no value: unknown
])
def test_the_value_must_follow_the_label_in_its_sentence(text: str, snippet: str | None) -> None:
    assert parse("FEVG < 40 %").evidence(text) == snippet  # type: ignore[union-attr]


def test_a_cohort_criterion_compares_the_value(client: TestClient) -> None:
    # RPT-T003 (P900003): « FEVG estimée à 45 % »; the words FEVG and 45 are both there, 45 < 45 is not
    assert _evaluate(client, "FEVG < 45 %") == []
    assert _evaluate(client, "FEVG > 50 %") == []
    [patient] = _evaluate(client, "FEVG < 50 %")
    assert patient["patient_id"] == "P900003"
    [evidence] = patient["evidence"]
    assert evidence["doc_id"] == RPT_T003
    assert evidence["snippet"] == "<mark>FEVG estimée à 45 %</mark> en échographie cardiaque."  # its sentence
    assert [p["patient_id"] for p in _evaluate(client, "FEVG >= 45 %")] == ["P900003"]
