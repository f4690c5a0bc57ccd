"""The search ↔ URL round trip of the portal (shareable links, saved searches)."""

from __future__ import annotations

from datetime import date

from ui import url_state


def test_defaults_give_an_empty_url() -> None:
    assert url_state.to_params(url_state.defaults()) == {}


def test_round_trip_keeps_every_field() -> None:
    state = {
        **url_state.defaults(), "q": "épanchement pleural", "kinds": ["report", "image"], "patient_id": "P1",
        "date_from": date(2024, 1, 2), "mode": "lexical", "limit": 20, "include_negated": True, "expand": False,
        "group": "patients", "departments_text": "Radiologie",
    }
    params = url_state.to_params(state)
    assert params["kinds"] == ["report", "image"] and params["date_from"] == "2024-01-02"
    assert params["expand"] == "0" and params["include_negated"] == "1" and "include_family" not in params
    parsed = url_state.from_params({k: v if isinstance(v, list) else [v] for k, v in params.items()})
    assert {**url_state.defaults(), **parsed} == state


def test_bad_values_fall_back_and_unknown_parameters_are_ignored() -> None:
    parsed = url_state.from_params({"limit": ["beaucoup"], "date_to": ["31/12/2024"], "doc": ["r1"], "evil": ["x"]})
    assert parsed == {"limit": 10, "date_to": None}


def test_saved_search_restores_defaults_for_missing_fields() -> None:
    restored = url_state.from_saved({"q": "fracture", "kinds": "report"})
    assert restored["q"] == "fracture" and restored["kinds"] == ["report"] and restored["expand"] is True
