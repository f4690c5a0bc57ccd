"""Portal defects of the 3 December walkthroughs (portal4), over a fake API:

- a document found in several export files says « Aussi présent dans : … » (short names, full path as tooltip);
- a FHIR letter shows its author, unit and institution under its title;
- the timeline's record entries (« Traitement », « Acte », « Allergie »…) carry an icon;
- a saved cohort reopened shows its last list and decisions at once, with « Dernière exécution le … »;
- « ← Retour à la cohorte » comes back to the patient's own entry, not to the saved cohorts' heading.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from test_ui_cohort_screening import WHEN, _decision
from ui import cohort_page, nav, render
from ui_support import markdown, patch_client, run_app

DUP = "/data/exports/rattrapage/BONNET/CR_123 (1).txt"
LETTER_META = {"author": ["Dr Anne Moreau"], "custodian": "CHU de Bordeaux", "department": "Cardiologie",
               "report_type": "Lettre de sortie", "type_codes": ["http://loinc.org|18842-5"]}


def _document(doc_id: str, metadata: dict[str, Any], title: str = "Lettre de sortie") -> dict[str, Any]:
    return {"id": doc_id, "kind": "report", "title": title, "patient_id": "P001", "date": "2024-03-02",
            "language": "fr", "text": "Fibrillation atriale.", "sections": [], "metadata": metadata}


class Fake:
    """Documents, a patient, and one saved cohort (members P001–P003, P002 « à revoir », P004 excluded)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.cohort = {"id": 2, "name": "Essai", "definition": {"criteria": [{"q": "embolie"}]},
                       "members": ["P001", "P002", "P003", "P004"], "updated_at": WHEN, "last_run_at": WHEN,
                       "watch": False, "new_patients": 0, "new_patient_ids": [],
                       "decisions": [_decision("to_review", "ECG à relire", "P002"), _decision("excluded", "refus", "P004")]}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.paths.append(f"{request.method} {path}")
        if path == "/documents/dup":
            return httpx.Response(200, json=_document("dup", {"report_type": "CR", "duplicate_sources": [DUP]}, "CR scanner"))
        if path == "/documents/letter":
            return httpx.Response(200, json=_document("letter", LETTER_META))
        if path == "/cohorts" and request.method == "GET":
            return httpx.Response(200, json=[json.loads(json.dumps(self.cohort))])
        if path.endswith("/export"):
            return httpx.Response(200, content=b"patient_id\r\n")
        if path.startswith("/patients/P00") and path.endswith("/timeline"):
            return httpx.Response(200, json={"patient_id": "P002", "total": 0, "matched": 0, "groups": []})
        if path.startswith("/patients/P00"):
            return httpx.Response(200, json={"patient_id": path.rsplit("/", 1)[-1], "documents": 0, "by_kind": {},
                                             "identity": {}, "stays": [], "departments": []})
        return httpx.Response(404, json={"detail": "introuvable"})


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> Fake:
    recorder = Fake()
    patch_client(monkeypatch, recorder)
    return recorder


def test_document_found_in_several_files_names_the_others(fake: Fake) -> None:
    at = run_app(doc="dup")
    text = markdown(at)
    assert "Aussi présent dans :" in text
    assert f'title="{DUP}"' in text and "<code>BONNET/CR_123 (1).txt</code>" in text  # short name, full path as tooltip


def test_document_without_copies_says_nothing(fake: Fake) -> None:
    assert "Aussi présent dans" not in markdown(run_app(doc="letter"))


def test_fhir_letter_shows_author_unit_and_institution(fake: Fake) -> None:
    text = markdown(run_app(doc="letter"))
    assert "Auteur : <b>Dr Anne Moreau</b> · Service : <b>Cardiologie</b> · Établissement : <b>CHU de Bordeaux</b>" in text
    assert "Type : " not in text  # the type is the title already


def test_provenance_items_of_an_sr_and_of_several_authors() -> None:
    assert render.provenance_items({"report_type": "Imaging Report", "author": ["Dr A", "Dr B"]}, "Scanner") == [
        ("Type", "Imaging Report"), ("Auteurs", "Dr A, Dr B")]
    assert render.provenance_items({}) == [] and render.provenance_html({}) == ""
    assert render.short_file_name("D:\\exports\\CR_1.txt") == "exports/CR_1.txt" and render.short_file_name("CR_1.txt") == "CR_1.txt"


@pytest.mark.parametrize(("kind", "icon"), [("Traitement", "💊"), ("Acte", "🏥"), ("Allergie", "⚠️"),
                                            ("Problème", "🩺"), ("Autre", render.DEFAULT_ENTRY_ICON)])
def test_record_entries_carry_an_icon_and_their_french_kind(kind: str, icon: str) -> None:
    html = render.timeline_entry_html({"id": "record:P1", "kind": "record", "title": "Apixaban 5 mg",
                                       "date": "2024-03-02", "entry": kind})
    assert f"<b>{icon} {kind}</b> · 02/03/2024" in html


def _cohorts(at) -> list[str]:  # noqa: ANN001
    return [e.label for e in at.expander if e.label.startswith("👤")]


def test_saved_cohort_shows_its_last_list_and_decisions_without_rerun(fake: Fake) -> None:
    at = run_app(page="cohorts")
    assert not any(p.endswith("/run") for p in fake.paths)
    labels = _cohorts(at)
    assert [label.split(" ")[1] for label in labels] == ["P001", "P002", "P003"]  # P004 decided excluded
    assert "❓ à revoir" in labels[1]
    assert at.selectbox(key="cohort-rerun-status-P002").value == "to_review"
    assert "Inclus : 0 · Exclus : 1 · À revoir : 1 · Sans décision : 2" in markdown(at)
    captions = "\n".join(c.value for c in at.caption)
    assert f"Dernière exécution le {render.format_timestamp(WHEN)}" in captions
    assert "« Relancer » l'actualise" in captions
    assert any(e.label == "⛔ Exclus (1)" for e in at.expander)


def test_back_from_a_patient_returns_to_its_cohort_entry(fake: Fake) -> None:
    at = run_app(page="cohorts")
    at.button(key="cohort-rerun-open-P002").click().run()
    assert at.query_params.get("patient") in ("P002", ["P002"])
    at.button(key="patient-back").click().run()
    assert not at.exception, at.exception
    scripts = [h.proto.body for h in at.get("html") if "msScroll" in h.proto.body]
    anchor = cohort_page.patient_anchor("cohort-rerun", "P002")
    assert re.search(r'var a="([^"]*)"', scripts[-1]).group(1) == anchor  # type: ignore[union-attr]
    assert f'id="{anchor}"' in markdown(at)
    assert nav.back_label({"page": "cohorts", "patient": "P002"}) == "← Retour à la cohorte"


def test_patient_anchor_is_a_safe_element_id() -> None:
    assert cohort_page.patient_anchor("cohort-rerun", "PSN-AB12") == "ms-cohort-cohort-rerun-PSN-AB12"
    assert cohort_page.patient_anchor("cohort", 'P"1 <x>') == "ms-cohort-cohort-P_1__x_"
