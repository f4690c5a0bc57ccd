"""Defects a physician found by using the product: a pasted clinical summary found nothing by its words (every
concept required in one passage: total 0, every result « sémantique seulement »), and a lone letter (« x »,
« a ») matched every passage holding it as a token."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from auth_support import auth
from conftest import RPT_T003
from search_api.app import create_app

#: a summary pasted into the search box: 7 concepts, 6 free words. The fixture's discharge letter RPT_T003 says
#: three of the concepts in one passage (« tabagique », « infarctus du myocarde », « sus-décalage du segment ST »),
#: the pain in another; no passage says all seven, so requiring all of them found nothing
PASTED = ("Patient de 62 ans, tabagique, HTA, diabète de type 2, douleur thoracique depuis deux heures, infarctus du "
          "myocarde antérieur, sus-décalage du segment ST, troponine élevée")


@pytest.fixture(scope="module")
def client(indexed, encoder) -> TestClient:
    settings, _ = indexed
    return TestClient(create_app(settings, encoder=encoder), headers=auth("clinician"))


def _search(client: TestClient, q: str, **params) -> dict:  # noqa: ANN003
    response = client.get("/search", params={"q": q, **params}, headers=auth())
    assert response.status_code == 200, response.text
    return response.json()


def test_a_pasted_summary_finds_the_letter_that_says_most_of_it(client: TestClient) -> None:
    body = _search(client, PASTED)
    assert body["total"] == 1 and body["term_match"] and not body["semantic_only"]
    assert body["results"][0]["id"] == RPT_T003 and body["results"][0]["lexical_match"]
    lexical = _search(client, PASTED, mode="lexical")
    assert lexical["total"] == body["total"] and lexical["results"][0]["id"] == RPT_T003
    # « sémantique seulement » only on results without a lexical match
    assert all(r["semantic_only"] == (not r["lexical_match"]) for r in body["results"])


def test_short_queries_still_need_every_concept(client: TestClient) -> None:
    """A short query is a precise question: both concepts in one passage. RPT_T003 says « douleur thoracique » and
    « infarctus » in two sections: no term match, as before."""
    both = _search(client, "douleur thoracique infarctus", mode="lexical")
    assert both["total"] == 0 and both["results"] == []
    assert _search(client, "tabagique infarctus", mode="lexical")["results"][0]["id"] == RPT_T003


@pytest.mark.parametrize("letter", ["x", "a", "T"])
def test_a_lone_letter_is_not_searched(client: TestClient, letter: str) -> None:
    body = _search(client, letter)
    assert body["total"] == 0 and body["results"] == []
    assert body["interpretation"]["ignored_terms"] == [letter]


def test_letters_in_a_longer_query_are_dropped_unless_quoted(client: TestClient) -> None:
    dropped = _search(client, "épanchement x", mode="lexical")
    plain = _search(client, "épanchement", mode="lexical")
    assert dropped["interpretation"]["ignored_terms"] == ["x"]
    assert dropped["total"] == plain["total"] and [r["id"] for r in dropped["results"]] == [r["id"] for r in plain["results"]]
    quoted = _search(client, 'épanchement "x"', mode="lexical")
    assert quoted["interpretation"]["ignored_terms"] == [] and quoted["total"] >= plain["total"]


def test_the_portal_says_which_letters_were_not_searched() -> None:
    from ui.client import Interpretation
    from ui.render import interpretation_html

    understood = Interpretation.from_json({"polarity": "affirmed", "affirmed_terms": ["nodule de 2 x 3 cm"], "ignored_terms": ["x"]})
    assert "lettre seule non cherchée : x" in interpretation_html(understood)
    assert "non cherchée" not in interpretation_html(Interpretation.from_json({"polarity": "affirmed", "affirmed_terms": ["nodule"]}))
