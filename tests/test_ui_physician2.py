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


def test_a_time_relation_cohort_shows_and_exports_the_pair_it_holds_on_first() -> None:
    """« coronarographie au plus 30 jours après l'infarctus »: the export's first document per criterion
    read « infarctus 03/10/2019 » and « coronarographie 10/02/2022 » (2 years apart) for a patient whose
    letter of 03/10/2019 holds both: a research nurse screening the sheet saw a patient out of the criteria."""
    import datetime as dt

    from search_api.cohort_engine import Evidence, relation_first

    def ev(doc: str, day: str) -> Evidence:
        return Evidence(doc_id=doc, title=doc, kind="report", date=dt.date.fromisoformat(day), snippet="")

    evidence = {0: [ev("RPT-14", "2019-10-03"), ev("RPT-594", "2022-12-26")],
                1: [ev("RPT-607", "2022-02-10"), ev("RPT-594", "2022-12-26"), ev("RPT-14", "2019-10-03")]}
    moved = relation_first(evidence, 0, 1, 30)
    first, then = moved[0][0], moved[1][0]
    assert 0 <= (then.date - first.date).days <= 30
    assert [e.doc_id for e in moved[1]] == ["RPT-14", "RPT-607", "RPT-594"]  # the rest in its order
    assert relation_first({0: [ev("A", "2020-01-01")], 1: [ev("B", "2021-01-01")]}, 0, 1, 30)[1][0].doc_id == "B"


def test_the_exported_pair_satisfies_the_relation(indexed, encoder) -> None:  # noqa: ANN001
    """Regression guard through the API (the fixture index is too small to show the old order: this one passed before)."""
    from fastapi.testclient import TestClient

    from auth_support import auth
    from search_api.app import create_app

    settings, _ = indexed
    client = TestClient(create_app(settings, encoder=encoder))
    definition = {"criteria": [{"kinds": ["report"]}, {"kinds": ["report", "image"]}],
                  "relation": {"first": 0, "then": 1, "within_days": 0}}
    body = client.post("/cohorts/evaluate", json=definition, headers=auth("clinician", "dr.martin")).json()
    assert body["patients"]
    for patient in body["patients"]:
        firsts = {}
        for e in patient["evidence"]:
            firsts.setdefault(e["criterion"], e["date"])
        assert firsts[0] == firsts[1], patient["patient_id"]


def test_a_link_with_the_apis_filter_names_is_opened_filtered() -> None:
    """« /?q=IRM cérébrale AVC&modalities=MR » (the API's parameter, as the README names it) opened the
    33 unfiltered results: the portal only read « modalities_text »."""
    from ui import url_state

    found = url_state.from_params({"q": ["IRM cérébrale"], "modalities": ["MR", "CT"], "departments": ["Neurologie"]})
    assert found["modalities_text"] == "MR, CT" and found["departments_text"] == "Neurologie"
    assert url_state.from_params({"modalities_text": ["IRM"], "modalities": ["CT"]})["modalities_text"] == "IRM"


def test_the_portal_applies_a_hand_written_modalities_link(monkeypatch) -> None:  # noqa: ANN001
    import httpx

    from ui_support import patch_client, run_app

    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.path == "/search":
            return httpx.Response(200, json={"total": 0, "total_patients": 0, "took_ms": 1, "mode": "hybrid", "results": []})
        return httpx.Response(200, json=[])

    patch_client(monkeypatch, handler)
    run_app(q="IRM cérébrale", modalities="MR")
    searches = [r for r in sent if r.url.path == "/search"]
    assert searches, [r.url.path for r in sent]
    asked = searches[-1].url.params.get_list("modalities") or (searches[-1].content and [searches[-1].content.decode()])
    assert "MR" in str(asked)
