"""A cohort the API refuses is explained with the portal's words (research associate's walkthrough).

Swapping the ages of a criterion showed « Requête invalide (422) : criteria.0: age_min doit être
inférieur ou égal à age_max »: JSON field names, and criteria counted from 0 where the form says
« Critère 1 »."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from auth_support import auth
from search_api.app import create_app
from ui import client as api
from ui.render import api_error_text

RESEARCHER = auth("researcher", "chercheur")


@pytest.fixture(scope="module")
def client(indexed, encoder) -> TestClient:  # noqa: ANN001
    settings, _ = indexed
    return TestClient(create_app(settings, encoder=encoder))


def _shown(client: TestClient, definition: dict) -> str:
    """What the portal shows for the API's answer to *definition*."""
    answer = client.post("/cohorts/evaluate", json=definition, headers=RESEARCHER)
    assert answer.status_code == 422, answer.text
    response = httpx.Response(422, content=answer.content, headers={"content-type": "application/json"})
    return api_error_text(api.ApiError(422, api.error_message(response)))


@pytest.mark.parametrize(("definition", "shown"), [
    ({"criteria": [{"q": "insuffisance cardiaque", "age_min": 80, "age_max": 18}]},
     "Requête invalide (422) : Critère 1 : l'âge min. doit être inférieur ou égal à l'âge max."),
    ({"criteria": [{"q": "insuffisance cardiaque"}, {"q": "FEVG", "date_from": "2024-02-01", "date_to": "2024-01-01"}]},
     "Requête invalide (422) : Critère 2 : la date « Du » doit précéder la date « Au »"),
    ({"criteria": [{"q": "insuffisance rénale", "include": "must_not"}]},
     "Requête invalide (422) : au moins un critère doit être « doit avoir » "
     "(des critères « ne doit pas avoir » seuls ne retiennent personne)"),
    ({"criteria": [{"q": "a"}, {"q": "b", "include": "must_not"}], "relation": {"first": 0, "then": 1, "within_days": 30}},
     "Requête invalide (422) : la relation temporelle désigne le critère 2, qui n'est pas un critère obligatoire"),
    ({"criteria": [{"q": "insuffisance cardiaque", "age_max": 200}]},
     "Requête invalide (422) : Critère 1 · Âge max. : doit être inférieur ou égal à 130"),
])
def test_a_refused_cohort_is_explained_with_the_forms_words(client: TestClient, definition: dict, shown: str) -> None:
    assert _shown(client, definition) == shown
