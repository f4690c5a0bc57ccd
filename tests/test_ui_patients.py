"""Portal behaviour added for patient-centred search (issue #13), driven by Streamlit's AppTest over a
fake API: URL state, exact counts, semantic-only labels, active filters, long queries, the patient
view, grouped results, cohorts and window presets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from ui import render  # noqa: E402
from ui.client import ExpandedTerm, SearchHit  # noqa: E402
from ui_support import patch_client  # noqa: E402
from ui_support import run_app as _app  # noqa: E402
from ui_support import markdown as _markdown  # noqa: E402


def _hit(doc_id: str, lexical: int | None, **extra: object) -> dict[str, object]:
    return {
        "id": doc_id, "kind": "report", "title": f"CR {doc_id}", "date": "2024-03-14", "patient_id": "P001",
        "language": "fr", "modality": None, "score": 0.03, "snippet": "texte", "section": "", "url": "",
        "explanation": {"lexical_rank": lexical, "dense_rank": 1, "dense_similarity": 0.5}, **extra,
    }


class Fake:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.cohort_bodies: list[dict] = []
        self.saved: list[dict] = []
        self.cohorts: list[dict] = []
        self.deleted: list[str] = []

    def paths(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]

    def __call__(self, request: httpx.Request) -> httpx.Response:  # noqa: PLR0911
        self.requests.append(request)
        path, params = request.url.path, request.url.params
        if path == "/health":
            return httpx.Response(200, json={"status": "ok"})
        if path == "/search":
            semantic = params["q"] == "IR"
            results = [_hit("r9", None)] if semantic else [_hit("r1", 1), _hit("r2", None)]
            return httpx.Response(200, json={
                "query": params["q"], "mode": "hybrid", "took_ms": 5.0, "results": results,
                "total": 0 if semantic else 57, "total_patients": 0 if semantic else 12,
                "term_match": not semantic, "ranked": 60,
            })
        if path == "/search/patients":
            return httpx.Response(200, json={
                "query": params["q"], "total": 3, "total_patients": 1, "term_match": True, "offset": 0, "limit": 10,
                "patients": [{"patient_id": "P001", "rank": 1, "matching_documents": 3, "best": [
                    {"id": "r1", "kind": "report", "title": "CR scanner", "date": "2024-03-14",
                     "snippet": "<mark>épanchement</mark>", "url": "/documents/r1"}]}],
            })
        if path == "/patients/P001":
            return httpx.Response(200, json={
                "patient_id": "P001", "documents": 2, "by_kind": {"report": 1, "record": 1},
                "first_date": "2024-06-18", "last_date": "2024-06-20", "departments": [], "stays": [],
                "identity": {"name": "Jean EXEMPLE", "birth_date": "1962-02-11", "sex": "male", "age": 64},
            })
        if path == "/patients/P001/timeline":
            return httpx.Response(200, json={
                "patient_id": "P001", "query": params.get("q"), "total": 2, "matched": 1, "groups": [{
                    "stay": {"id": "E1", "label": "hospitalisation", "start": "2024-06-18", "end": "2024-06-20",
                             "reason": "SCA", "unit": None},
                    "entries": [
                        {"id": "r1", "kind": "report", "title": "Lettre de sortie", "date": "2024-06-20", "url": "",
                         "matched": True, "snippet": "<mark>infarctus</mark>", "age": 62},
                        {"id": "rec", "kind": "record", "title": "Dossier", "date": "2024-06-18", "url": ""},
                    ]}],
            })
        if path == "/cohorts/evaluate":
            self.cohort_bodies.append(json.loads(request.content))
            return httpx.Response(200, json={"name": "", "total": 1, "excluded": [], "new": 0, "left": [], "patients": [
                {"patient_id": "P001", "sex": "male", "age": 62, "evidence": [
                    {"criterion": 0, "label": "fracture", "doc_id": "r1", "title": "Radio", "kind": "report",
                     "date": "2024-05-02", "snippet": "<mark>Fracture</mark> du col", "url": "/documents/r1"}]}]})
        if path.startswith("/saved-searches/") and request.method == "DELETE":
            self.deleted.append(path)
            return httpx.Response(204)
        if path == "/saved-searches" and request.method == "POST":
            self.saved.append(json.loads(request.content))
            return httpx.Response(201, json={"id": 7, "created_at": "2024-01-01", **self.saved[-1]})
        if path == "/saved-searches":
            return httpx.Response(200, json=[{"id": 3, "name": "Fractures du col", "created_at": "2024-01-01",
                                              "params": {"q": "fracture du col", "kinds": ["report"]}}])
        if path == "/cohorts" and request.method == "POST":
            body = json.loads(request.content)
            self.cohorts.append({"id": len(self.cohorts) + 1, "name": body["name"], "definition": body["definition"], "members": ["P001"],
                                 "updated_at": "2024-01-01T00:00:00", "last_run_at": "2024-01-01T00:00:00"})
            return httpx.Response(201, json=self.cohorts[-1])
        if path == "/cohorts":
            return httpx.Response(200, json=self.cohorts)
        if path == "/cohorts/1/run":
            return httpx.Response(200, json={"name": "EP", "total": 1, "excluded": [], "new": 0, "left": [], "patients": [
                {"patient_id": "P001", "sex": "male", "age": 62, "evidence": []}]})
        if path.startswith("/cohorts/") and path.endswith("/export"):
            return httpx.Response(200, content=b"patient_id\r\nP001\r\n")
        if path == "/documents/img":
            return httpx.Response(200, json={
                "id": "img", "kind": "image", "title": "Radio genou", "patient_id": "P001", "date": "2024-01-01",
                "modality": "CR", "sections": [], "metadata": {"format": "dicom", "body_part": "KNEE"},
            })
        return httpx.Response(404, json={"detail": "introuvable"})


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> Fake:
    recorder = Fake()
    patch_client(monkeypatch, recorder)
    return recorder


def test_a_link_reopens_the_same_search(fake: Fake) -> None:
    at = _app(q="épanchement", kinds="report", include_negated="1")
    assert at.text_input(key="q").value == "épanchement" and at.multiselect(key="kinds").value == ["report"]
    params = fake.paths("/search")[-1].url.params
    assert params["q"] == "épanchement" and params.get_list("kinds") == ["report"] and params["include_negated"] == "true"
    text = _markdown(at)
    assert "Filtres actifs" in text and "Comptes rendus" in text and "Mentions niées" in text
    assert "57 documents · 12 patients" in "\n".join(c.value for c in at.caption)


def test_typing_a_search_puts_it_in_the_url(fake: Fake) -> None:
    at = _app()
    at.text_input(key="q").input("fracture du col").run()
    assert at.query_params.get("q") in ("fracture du col", ["fracture du col"])


def test_semantic_only_results_are_said_and_labelled(fake: Fake) -> None:
    at = _app(q="IR")
    assert any("Aucun document ne contient tous les termes de la requête" in w.value for w in at.warning)
    assert render.SEMANTIC_ONLY_LABEL in _markdown(at)
    # found trying the demo portal: « 0 documents · 0 patients » above a list ending « Résultats 1–10 sur 51 »
    captions = [str(c.value) for c in at.main.caption]
    assert any(c.startswith("60 documents proposés par proximité de sens · 5 ms") for c in captions), captions
    assert not any(c.startswith("0 documents") for c in captions)
    at = _app(q="épanchement")
    assert not at.main.warning, [w.value for w in at.main.warning]
    assert _markdown(at).count(render.SEMANTIC_ONLY_LABEL) == 1  # r2 only


def test_a_too_long_query_is_trimmed_with_a_message(fake: Fake) -> None:
    at = _app()
    at.text_input(key="q").input("épanchement " * 120).run()
    assert any("tronquée à 1000 caractères" in w.value for w in at.warning)
    assert 0 < len(at.text_input(key="q").value) <= 1000
    assert len(fake.paths("/search")[-1].url.params["q"]) <= 1000


def test_results_by_patient(fake: Fake) -> None:
    at = _app(q="épanchement", group="patients")
    text = _markdown(at)
    assert "Patient P001" in text and "3 documents correspondants" in text and "<mark>épanchement</mark>" in text
    at.button(key="see-patient-P001").click().run()
    assert at.query_params.get("patient") in ("P001", ["P001"])


def test_results_by_patient_say_which_patients_affirm(monkeypatch: pytest.MonkeyPatch) -> None:
    """The patients view gives /search/patients' affirmed counts, overall (as the documents view's
    « dont … avec mention affirmée ») and per patient, so a patient listed for a suspicion only is seen so."""
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/search/patients":
            return Fake()(request)
        patient = {"rank": 1, "best": [], "matching_documents": 2}
        return httpx.Response(200, json={
            "query": "AVC", "total": 5, "total_patients": 3, "total_affirmed": 2, "total_patients_affirmed": 2,
            "term_match": True, "offset": 0, "limit": 10, "patients": [
                {**patient, "patient_id": "P001", "affirmed_documents": 2},
                {**patient, "patient_id": "P002", "affirmed_documents": 1, "rank": 2},
                {**patient, "patient_id": "P003", "affirmed_documents": 0, "rank": 3, "matching_documents": 1}],
        })

    patch_client(monkeypatch, handler)
    at = _app(q="AVC", group="patients")
    captions = [str(c.value) for c in at.main.caption]
    assert any(c.startswith("5 documents · 3 patients (dont 2 documents · 2 patients avec mention affirmée)")
               for c in captions), captions
    cards = [m for m in _markdown(at).splitlines() if "👤 Patient" in m]
    assert "2 documents correspondants</div>" in cards[0]
    assert "2 documents correspondants, dont 1 avec mention affirmée" in cards[1]
    assert "1 document correspondant — aucune mention affirmée (suspicion seulement)" in cards[2]


def test_patient_view_shows_identity_and_marked_timeline(fake: Fake) -> None:
    at = _app(patient="P001", q="infarctus")
    text = _markdown(at)
    assert "Jean EXEMPLE" in text and "né(e) le 11/02/1962" in text and "64 ans" in text
    assert "Séjour hospitalisation · 18/06/2024 → 20/06/2024 · SCA" in text
    assert text.count("ms-timeline ms-matched") == 1 and "<mark>infarctus</mark>" in text
    assert fake.paths("/patients/P001/timeline")[-1].url.params["q"] == "infarctus"
    at.multiselect(key="timeline_kinds").set_value(["report"]).run()
    assert fake.paths("/patients/P001/timeline")[-1].url.params.get_list("kinds") == ["report"]


def test_cohort_builder_sends_the_criteria(fake: Fake) -> None:
    at = _app(page="cohorts")
    at.text_input(key="c0_q").input("fracture")
    at.text_input(key="c0_departments").input("Urgences, Radiologie")
    at.radio(key="cohort_sex").set_value("male")
    at.button(key="cohort_eval").click().run()
    assert fake.cohort_bodies[-1] == {
        "criteria": [{"include": "must", "label": "fracture", "q": "fracture", "departments": ["Urgences", "Radiologie"]}],
        "sex": "male",
    }
    assert "<mark>Fracture</mark> du col" in _markdown(at)


def test_cohort_builder_sends_stay_dates_and_shows_the_stay(fake: Fake) -> None:
    import datetime as dt

    at = _app(page="cohorts")
    at.date_input(key="c0_sfrom").set_value(dt.date(2024, 6, 1))
    at.date_input(key="c0_sto").set_value(dt.date(2024, 6, 30))
    at.button(key="cohort_eval").click().run()
    assert fake.cohort_bodies[-1]["criteria"] == [
        {"include": "must", "label": "critère 1", "stay_from": "2024-06-01", "stay_to": "2024-06-30"}]
    html = render.evidence_html({"label": "séjour", "kind": "record", "title": "Séjour", "date": "2024-06-18", "snippet": "",
                                 "stay": {"id": "SEJ-1", "label": "hospitalisation", "start": "2024-06-18", "end": "2024-06-20"}})
    assert "Séjour hospitalisation · 18/06/2024 → 20/06/2024" in html


def test_no_brain_window_on_a_knee_radiograph(fake: Fake) -> None:
    at = _app(doc="img")
    assert "render_window" not in [r.key for r in at.radio]  # a radiograph: the header's window only
    assert "Radio genou" in _markdown(at)
    assert render.window_choices("CR", "KNEE") == ("default",)
    assert "brain" not in render.window_choices("CT", "KNEE") and "lung" in render.window_choices("CT", "CHEST")
    assert render.window_choices("CT", "HEAD")[:2] == ("default", "brain")


def test_expansion_chips_are_not_duplicated() -> None:
    idm = ExpandedTerm(source_text="IDM", concept_id="mi", terms=("infarctus du myocarde",))
    html = render.expanded_terms_html([idm, idm])
    assert html.count('class="ms-chip"') == 1 and "ambigu" not in html


def test_semantic_only_label_only_without_a_lexical_match() -> None:
    assert render.is_semantic_only(SearchHit.from_json(_hit("a", None)))
    assert not render.is_semantic_only(SearchHit.from_json(_hit("b", 2)))
    assert render.counts_line(1, 1, 3.2, "hybrid") == "1 document · 1 patient · 3 ms · mode hybride"
    # a search also counts suspected findings, a cohort of the same query does not: the line says how many
    # of its documents and patients match through an affirmed mention when that is fewer
    assert render.counts_line(33, 12, 31, "hybrid", affirmed=(23, 7)) == (
        "33 documents · 12 patients (dont 23 documents · 7 patients avec mention affirmée) · 31 ms · mode hybride")
    assert render.counts_line(5, 2, 31, "hybrid", affirmed=(5, 2)) == "5 documents · 2 patients · 31 ms · mode hybride"


@pytest.mark.parametrize(
    ("english", "french"),
    [
        ("q: the query is too long (1200 characters, at most 1000)", "q: la requête est trop longue (1200 caractères, au plus 1000)"),
        ("no document with id 'x'", "aucun document d'identifiant 'x'"),
        ("q: String should have at most 1000 characters; limit: Input should be less than or equal to 100",
         "q: au plus 1000 caractères; limit: doit être inférieur ou égal à 100"),
        ("too many requests: at most 600 a minute",
         "trop de demandes (au plus 600 par minute) : patientez une minute avant de réessayer"),
        ("invalid or expired token", "session expirée ou absente : reconnectez-vous"),
        ("this needs the admin role", "votre rôle ne donne pas accès à cette fonction"),
        ("something new", "something new"),
    ],
)
def test_api_messages_are_shown_in_french(english: str, french: str) -> None:
    from ui.messages import french as translate

    assert translate(english) == french


def test_saved_searches_open_and_save(fake: Fake) -> None:
    at = _app()
    at.button(key="saved-open-3").click().run()
    assert at.text_input(key="q").value == "fracture du col" and at.multiselect(key="kinds").value == ["report"]
    params = fake.paths("/search")[-1].url.params
    assert params["q"] == "fracture du col" and params.get_list("kinds") == ["report"]
    at.text_input(key="saved_name").input("Mes fractures").run()
    at.button(key="saved_add").click().run()
    assert fake.saved[-1] == {"name": "Mes fractures", "params": {"q": "fracture du col", "kinds": ["report"]}}


def test_switching_to_patients_starts_at_their_first_page(fake: Fake) -> None:
    """Found trying the demo portal: on page 2 of the documents, « 👤 Patients » opened the patients at
    offset 10 (« 11. 👤 Patient … », « Patients 11–20 sur 24 »): the best-ranked patients were hidden."""
    at = _app(q="épanchement")
    at.button(key="page-next").click().run()
    assert fake.paths("/search")[-1].url.params["offset"] == "10"
    at.radio(key="group").set_value("patients").run()
    assert not at.exception, at.exception
    assert fake.paths("/search/patients")[-1].url.params["offset"] == "0"
    assert "Patients 1–1 sur 1" in _markdown(at)


@pytest.mark.parametrize(("fhir", "french"), [
    ("inpatient encounter", "Séjour hospitalisation"), ("emergency", "Séjour urgences"), ("AMB", "Séjour consultation externe"),
    ("Hospitalisation complète", "Séjour Hospitalisation complète"),
])
def test_stay_kinds_are_named_in_french(fhir: str, french: str) -> None:
    """Found trying the demo portal: the timeline's stays read « Séjour inpatient encounter » (the
    FHIR class display, English by the HL7 standard, that the API passes on)."""
    header = render.stay_header({"id": "E1", "label": fhir, "start": "2020-12-11", "end": "2020-12-12"})
    assert header == f"{french} · 11/12/2020 → 12/12/2020"


def test_re_running_a_saved_cohort_next_to_the_one_being_built(fake: Fake) -> None:
    """Found trying the demo portal: evaluate, save, « Relancer »: the page crashed (« This app has
    encountered an error »), the built cohort and the re-run listing the same patients under the same
    widget keys (StreamlitDuplicateElementKey)."""
    at = _app(page="cohorts")
    at.text_input(key="c0_q").input("fracture")
    at.button(key="cohort_eval").click().run()
    at.text_input(key="cohort_name").input("EP").run()
    at.button(key="cohort_save").click().run()
    assert fake.cohorts and not at.exception
    at.button(key="cohort_rerun").click().run()
    assert not at.exception, at.exception
    assert fake.paths("/cohorts/1/run")
    assert _markdown(at).count("<mark>Fracture</mark> du col") == 1  # the built cohort's evidence, once
    assert len([b for b in at.button if b.key and b.key.endswith("-open-P001")]) == 2  # built and re-run


def test_saving_a_search_under_an_existing_name_replaces_it(fake: Fake) -> None:
    """Found trying the demo portal: each click on « Enregistrer la recherche actuelle » added one more
    identically named search (three « EP test » buttons) and the name stayed in the box."""
    at = _app(q="fracture du col")
    at.text_input(key="saved_name").input("fractures DU COL").run()
    at.button(key="saved_add").click().run()
    assert not at.exception, at.exception
    # one request: the API replaces the search of the same name (tests/test_cohorts_api.py), the portal deletes nothing
    assert fake.saved[-1]["name"] == "fractures DU COL" and fake.deleted == []
    assert at.text_input(key="saved_name").value == ""
    at.text_input(key="saved_name").input("Autre nom").run()
    at.button(key="saved_add").click().run()
    assert fake.saved[-1]["name"] == "Autre nom" and fake.deleted == []


def test_a_cohort_just_saved_is_the_one_picked(fake: Fake) -> None:
    """Found trying the demo portal: after « Enregistrer », the saved-cohorts picker stayed on the
    cohort shown before (« EP clinicien · 16 patients »), so « Relancer » and the CSV / Excel buttons
    right under the success message were another cohort's."""
    fake.cohorts.append({"id": 1, "name": "Ancienne", "definition": {"criteria": []}, "members": ["P009"],
                         "updated_at": "2023-01-01T00:00:00", "last_run_at": "2023-01-01T00:00:00"})
    at = _app(page="cohorts")
    assert at.selectbox(key="cohort_pick").value == 1
    at.text_input(key="c0_q").input("fracture")
    at.button(key="cohort_eval").click().run()
    at.text_input(key="cohort_name").input("Fractures").run()
    at.button(key="cohort_save").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="cohort_pick").value == 2
    assert fake.paths("/cohorts/2/export")
    at.button(key="cohort_rerun").click().run()
    assert fake.paths("/cohorts/2/run") and not fake.paths("/cohorts/1/run")


def test_a_researcher_adds_cohort_patients_by_pseudonym(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found trying the demo portal as a researcher: the cohort asked for « IPP » to add patients by
    hand, which the de-identified view refuses; it asks for pseudonyms there."""
    from ui import auth as ui_auth
    from ui import client as api

    monkeypatch.setattr(ui_auth, "sidebar_login", lambda url, timeout: api.Login("t", "r", "researcher", 1800, ("researcher",)))
    at = _app(page="cohorts")
    at.text_input(key="c0_q").input("fracture")
    at.button(key="cohort_eval").click().run()
    assert at.text_input(key="cohort_add").label == "Ajouter des patients à la main (pseudonymes PSN-…, séparés par des virgules)"
