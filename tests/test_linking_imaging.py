"""The weak patient + date link takes only imaging reports (indexer.linking.imaging_evidence).

A chest CT and, the same day, the patient's discharge letter (a .txt, or a FHIR DocumentReference typed
« Discharge summary »): the letter became the CT's report, its conclusion copied into the image's
searchable text and the portal showing the letter as the CT's report. A radiology report of that day
(its title names the modality, or its FHIR type is « Diagnostic imaging study ») still links; of two
reports of the day, the imaging one does, whichever was read last. Whole-corpus and streamed links agree.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from indexer.linking import imaging_evidence
from indexer.pipeline import parse_sources
from indexer.schema import Document, DocumentKind
from indexer.sources.reports import report_from_text
from conftest import write_ct_dicom

PATIENT = "P770001"
LOINC = "http://loinc.org"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"

LETTER = (
    "IPP : P770001\nDate : 14/03/2024\nTitre : Lettre de sortie - Pneumologie\n\n"
    "Cher confrère,\nVotre patient a été hospitalisé pour une exacerbation de BPCO.\n\n"
    "Conclusion :\nExacerbation de BPCO d'origine virale ; kinésithérapie respiratoire prescrite.\n"
)
RADIOLOGY = (
    "IPP : P770001\nDate : 14/03/2024\nTitre : Radiographie thoracique\n\n"
    "Résultats :\nPas d'épanchement.\n\nConclusion :\nOpacité alvéolaire lobaire inférieure droite.\n"
)


def _ct(folder: Path) -> None:
    """The patient's CT of 14/03/2024, without accession number: only patient + date can link it."""
    write_ct_dicom(folder / "ct.dcm", PATIENT, "", study_date="20240314")


def _links(folder: Path) -> tuple[Document, dict[str, Document]]:
    """(the CT's document, every document by id) of a whole-corpus parse of *folder*; the streamed
    parse (two passes, one file per batch) must give the same documents."""
    from indexer.sources import discover_sources
    from indexer.streaming import iter_batches, scan

    documents, skipped, _ = parse_sources([folder], None)
    assert skipped == []
    files, _ = discover_sources([folder])
    streamed = {d.id: d for batch in iter_batches(files, scan(files, None), None, batch_files=1) for d in batch}
    by_id = {d.id: d for d in documents}
    assert {i: d.model_dump() for i, d in streamed.items()} == {i: d.model_dump() for i, d in by_id.items()}
    [image] = [d for d in documents if d.kind is DocumentKind.IMAGE]
    return image, by_id


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    entries = [{"resource": {"resourceType": "Patient", "id": PATIENT, "gender": "male", "birthDate": "1950-01-01"}}]
    return {"resourceType": "Bundle", "type": "collection", "entry": [*entries, *({"resource": r} for r in resources)]}


def _docref(rid: str, text: str, coding: dict[str, str], title: str | None = None) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference", "id": rid, "status": "current", "subject": {"reference": f"Patient/{PATIENT}"},
        "type": {"coding": [{"system": LOINC, **coding}], **({"text": title} if title else {})},
        "date": "2024-03-14T17:00:00+01:00",
        "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": base64.b64encode(text.encode()).decode()}}],
    }


def _write(folder: Path, name: str, content: str | dict[str, Any]) -> None:
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False), encoding="utf-8")


def test_a_same_day_discharge_letter_txt_is_not_the_images_report(tmp_path: Path) -> None:
    _ct(tmp_path)
    _write(tmp_path, "lettre.txt", LETTER)
    image, by_id = _links(tmp_path)
    assert "linked_reports" not in image.metadata
    assert "kinésithérapie" not in image.text and not any(s.title.startswith("Compte rendu") for s in image.sections)
    letter = by_id["report:lettre.txt"]
    assert "linked_images" not in letter.metadata and letter.modality is None  # no longer filtered as a CT report


def test_a_same_day_radiology_report_txt_is_still_the_images_report(tmp_path: Path) -> None:
    _ct(tmp_path)
    _write(tmp_path, "rx.txt", RADIOLOGY)
    image, by_id = _links(tmp_path)
    assert image.metadata["linked_reports"] == ["report:rx.txt"]
    assert "Opacité alvéolaire lobaire inférieure droite." in image.text
    assert by_id["report:rx.txt"].metadata["linked_images"] == [image.id]


@pytest.mark.parametrize("letter_name", ["a.txt", "z.txt"])  # the letter read first, then last
def test_of_two_same_day_reports_the_imaging_one_is_linked(tmp_path: Path, letter_name: str) -> None:
    """Within a rule the last report read wins: the letter read after the radiology report took the image."""
    _ct(tmp_path)
    _write(tmp_path, letter_name, LETTER)
    _write(tmp_path, "m.txt", RADIOLOGY)
    image, by_id = _links(tmp_path)
    assert image.metadata["linked_reports"] == ["report:m.txt"]
    assert "linked_images" not in by_id[f"report:{letter_name}"].metadata


def test_fhir_letter_typed_discharge_summary_is_not_linked_one_typed_imaging_is(tmp_path: Path) -> None:
    """Two DocumentReferences of the patient's day: the discharge summary (LOINC 18842-5) is not the CT's
    report; the one typed 18748-4 « Diagnostic imaging study » is, though its title names no modality."""
    _ct(tmp_path)
    letter = _docref("dr-sortie", LETTER, {"code": "18842-5", "display": "Discharge summary"}, "Lettre de sortie")
    imaging = _docref("dr-imagerie", RADIOLOGY.replace("Titre : Radiographie thoracique\n", ""),
                      {"code": "18748-4"}, "Compte rendu")
    _write(tmp_path, "export.json", _bundle(imaging, letter))  # the letter last: it used to win
    image, _ = _links(tmp_path)
    assert image.metadata["linked_reports"] == [f"report:{PATIENT}/DocumentReference/dr-imagerie"]
    assert "Opacité alvéolaire" in image.text and "kinésithérapie" not in image.text


def test_fhir_letter_alone_is_not_linked(tmp_path: Path) -> None:
    _ct(tmp_path)
    _write(tmp_path, "export.json", _bundle(_docref("dr-sortie", LETTER, {"code": "18842-5", "display": "Discharge summary"})))
    image, by_id = _links(tmp_path)
    assert f"report:{PATIENT}/DocumentReference/dr-sortie" in by_id
    assert "linked_reports" not in image.metadata


@pytest.mark.parametrize(("category", "linked"), [("LAB", False), ("RAD", True)])
def test_long_presented_form_links_only_when_its_category_is_imaging(tmp_path: Path, category: str, linked: bool) -> None:
    """A DiagnosticReport whose presentedForm is long is a report of its own (fhir_documents): a blood
    count's (category LAB) is not the CT's report, a radiology one's (RAD) is, titled « Compte rendu »."""
    _ct(tmp_path)
    body = "Résultats :\n" + "Hémoglobine 9,8 g/dL, leucocytes 14 G/L, plaquettes 310 G/L. " * 10
    report = {"resourceType": "DiagnosticReport", "id": "dr-1", "status": "final", "subject": {"reference": f"Patient/{PATIENT}"},
              "category": [{"coding": [{"system": V2_0074, "code": category}]}], "code": {"text": "Compte rendu"},
              "effectiveDateTime": "2024-03-14",
              "presentedForm": [{"contentType": "text/plain", "data": base64.b64encode(body.encode()).decode()}]}
    _write(tmp_path, "export.json", _bundle(report))
    image, by_id = _links(tmp_path)
    assert by_id[f"report:{PATIENT}/DiagnosticReport/dr-1"].metadata["category_codes"] == [f"{V2_0074}|{category}"]
    assert ("linked_reports" in image.metadata) is linked


def _report(text: str, name: str = "RPT-00042.txt") -> Document:
    return report_from_text(text, Path(name), name)


@pytest.mark.parametrize(("text", "name", "evidence"), [
    ("IPP : P1\nDate : 14/03/2024\n\nConclusion :\nPas d'anomalie.\n", "RPT-00042.txt", None),  # nothing says so
    ("IPP : P1\nDate : 14/03/2024\n\nConclusion :\nPas d'anomalie.\n", "IRM_cerebrale_0042.txt", "title"),  # its file name
    ("IPP : P1\nDate : 14/03/2024\nN° d'examen : ACC-1\n\nConclusion :\nPas d'anomalie.\n", "RPT-00042.txt", "accession"),
    ("IPP : P1\nDate : 14/03/2024\nType : Compte rendu de radiologie\nTitre : CT pulmonary angiography\n\nConclusion :\nRAS.\n",
     "RPT-00042.txt", "title"),  # two modalities named (no one modality) but imaging all the same
    ("IPP : P1\nDate : 14/03/2024\nType : Compte rendu opératoire\nTitre : Prothèse totale de genou\n\nConclusion :\nRAS.\n",
     "RPT-00042.txt", None),
    ("IPP : P1\nDate : 14/03/2024\nType : Compte rendu\nTitre : Lettre de sortie\nService : Radiologie\n\nConclusion :\nRAS.\n",
     "RPT-00042.txt", None),  # the department says who wrote it, not what it is
    ("IPP : P1\nDate : 14/03/2024\nTitre : Lettre de sortie - Neuroradiologie\n\nConclusion :\nRAS.\n",
     "RPT-00042.txt", None),  # the ward in the title: a letter, not an exam
    ("IPP : P1\nDate : 14/03/2024\nTitre : Coronary angiography and angioplasty\nType : Operative report\n\n"
     "Conclusion :\nRAS.\n", "RPT-00042.txt", "title"),  # the title names the exam (XA), whatever the type says
    ("IPP : P1\nDate : 14/03/2024\nTitre : Coronarographie et angioplastie coronaire\nType : Compte rendu opératoire\n\n"
     "Conclusion :\nRAS.\n", "RPT-00042.txt", "title"),  # the same exam in French
    ("IPP : P1\nDate : 14/03/2024\nTitre : XR Chest 2 Views\n\nConclusion :\nRAS.\n", "RPT-00042.txt", "title"),  # LOINC's name
    ("IPP : P1\nDate : 14/03/2024\nTitre : Réponse au MG\n\nConclusion :\nRAS.\n", "RPT-00042.txt", None),  # not mammography
    ("IPP : P1\nDate : 14/03/2024\nTitre : Demande d'IRM cérébrale\n\nConclusion :\nRAS.\n", "RPT-00042.txt", None),  # an order
])
def test_imaging_evidence_of_txt_reports(text: str, name: str, evidence: str | None) -> None:
    assert imaging_evidence(_report(text, name)) == evidence
