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


def test_a_cohort_region_in_french_is_the_dicom_body_part() -> None:
    """« Régions : Thorax » found no one: only the DICOM code CHEST matched the images' body part."""
    from search_api.cohort_engine import body_part_keys

    assert {"chest"} <= body_part_keys(["Thorax"])
    assert {"knee"} <= body_part_keys(["genou"])
    assert {"head", "brain"} <= body_part_keys(["cerveau"])
    assert {"shoulder"} <= body_part_keys(["epaule"])  # typed without its accent
    assert body_part_keys(["CHEST"]) == {"chest"}


def test_a_cohort_region_in_french_finds_the_patients(indexed, encoder) -> None:  # noqa: ANN001
    from fastapi.testclient import TestClient

    from auth_support import auth
    from search_api.app import create_app

    settings, _ = indexed
    client = TestClient(create_app(settings, encoder=encoder))
    for region in ("chest", "Thorax"):
        body = client.post("/cohorts/evaluate", json={"criteria": [{"modalities": ["TDM"], "body_parts": [region]}]},
                           headers=auth("clinician", "dr.martin")).json()
        assert [p["patient_id"] for p in body["patients"]] == ["P900001"], region


def test_modality_and_region_examples_are_the_words_a_french_physician_types(monkeypatch) -> None:  # noqa: ANN001
    """The examples said « ex. CT, MR » and « ex. CHEST »: DICOM codes, where « IRM », « scanner » and
    « thorax » are accepted (and are what a physician writes)."""
    import httpx
    from streamlit.testing.v1 import AppTest

    from ui_support import APP_PATH, patch_client

    patch_client(monkeypatch, lambda request: httpx.Response(200, json=[]))
    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.query_params["page"] = "cohorts"
    at.run()
    assert not at.exception, at.exception
    assert "IRM" in at.text_input(key="modalities_text").placeholder
    assert "IRM" in at.text_input(key="c0_modalities").placeholder
    assert "thorax" in at.text_input(key="c0_body_parts").placeholder


def test_the_login_hint_says_where_the_sidebar_is_on_a_small_screen(monkeypatch) -> None:  # noqa: ANN001
    """On a phone-width window the sidebar is folded: « Connectez-vous (barre latérale) » pointed at nothing visible."""
    from streamlit.testing.v1 import AppTest

    from ui import auth as ui_auth
    from ui_support import APP_PATH

    monkeypatch.setenv("MEDSEARCH_UI__API_URL", "http://api.test")
    monkeypatch.setattr(ui_auth, "_local_login", lambda *_a, **_k: None)
    monkeypatch.setattr(ui_auth, "_oidc_configured", lambda: False)
    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    assert "en haut à gauche" in at.info[0].value


def test_the_timeline_names_the_body_part_in_french() -> None:
    """A patient's timeline read « RX THORAX FACE · 21/06/2023 · CR · CHEST · Radiologie »."""
    from ui.render import body_part_label, timeline_entry_html

    html = timeline_entry_html({"id": "image:1", "kind": "image", "title": "RX THORAX FACE", "date": "2023-06-21",
                                "modality": "CR", "body_part": "CHEST", "department": "Radiologie"})
    assert "CHEST" not in html and "thorax" in html
    assert body_part_label("LSPINE") == "rachis lombaire"
    assert body_part_label("FOOBAR") == "FOOBAR"
