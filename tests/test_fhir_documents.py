"""Clinical letters, treatments, acts and allergies inside FHIR bundles (a data engineer's hospital export).

Real exports carry discharge letters, operative reports and consultation letters as DocumentReference
resources (base64 text/plain, HTML or PDF, inline or in a Binary of the bundle), a radiology report's
full text in DiagnosticReport.presentedForm, and treatments, acts and allergies as MedicationRequest /
MedicationStatement, Procedure and AllergyIntolerance. The reader skipped them all: « anticoagulants »,
« allergie à la pénicilline », « cholécystectomie » found no one. Every bundle here is written by the test.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from indexer.schema import DocumentKind
from indexer.sources import parse_file

PATIENT = "P880001"
LOINC = "http://loinc.org"

#: a discharge letter as a French cardiology ward writes it (header lines, then titled paragraphs)
LETTER = (
    "Lettre de sortie\nIPP : P880001\nDate : 02/03/2024\n\n"
    "Cher confrère,\n\nVotre patient a été hospitalisé du 25/02/2024 au 02/03/2024 pour une décompensation "
    "cardiaque globale sur fibrillation atriale rapide.\n\n"
    "Traitement de sortie :\nApixaban 5 mg matin et soir, bisoprolol 2,5 mg le matin.\n\n"
    "Conclusion :\nFibrillation atriale permanente ; anticoagulation par apixaban introduite. L’œdème des "
    "membres inférieurs a régressé.\n"
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _docref(rid: str, attachment: dict[str, Any], **extra: Any) -> dict[str, Any]:
    resource = {
        "resourceType": "DocumentReference", "id": rid, "status": "current",
        "subject": {"reference": f"Patient/{PATIENT}"},
        "type": {"coding": [{"system": LOINC, "code": "18842-5", "display": "Discharge summary"}], "text": "Lettre de sortie"},
        "date": "2024-03-02T16:20:00+01:00",
        "author": [{"display": "Dr Anne Moreau"}],
        "custodian": {"display": "CHU de Bordeaux"},
        "context": {"practiceSetting": {"text": "Cardiologie"}, "period": {"start": "2024-02-25"}},
        "content": [{"attachment": attachment}],
    }
    resource.update(extra)
    return resource


def _bundle(*resources: dict[str, Any], patient: str = PATIENT) -> dict[str, Any]:
    entries = [{"resource": {"resourceType": "Patient", "id": patient, "gender": "male", "birthDate": "1948-07-14"}}]
    for resource in resources:
        full = resource.pop("_fullUrl", None)
        entries.append({"resource": resource, **({"fullUrl": full} if full else {})})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _parse(tmp_path: Path, bundle: dict[str, Any], name: str = "export.json") -> tuple[list, list[str]]:
    path = tmp_path / name
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    warnings: list[tuple[str, str]] = []
    documents = parse_file(path, root=tmp_path, warnings=warnings)
    return documents, [message for _, message in warnings]


def _pdf(lines: list[str]) -> bytes:
    """A small one-page PDF with a text layer (fpdf2's core font: Latin-1 accents)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for line in lines:
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def test_base64_discharge_letter_is_a_report_of_the_bundles_patient(tmp_path: Path) -> None:
    """The letter was skipped (« 1 DocumentReference resource(s) not read »): now one report, with the
    patient, date, title, LOINC code, author, custodian, unit and language of the resource."""
    attachment = {"contentType": "text/plain; charset=utf-8", "data": _b64(LETTER.encode("utf-8"))}
    documents, warnings = _parse(tmp_path, _bundle(_docref("dr-sortie-1", attachment)))
    assert [d.id for d in documents] == [f"record:{PATIENT}", f"report:{PATIENT}/DocumentReference/dr-sortie-1"]
    letter = documents[1]
    assert (letter.kind, letter.patient_id, letter.date) == (DocumentKind.REPORT, PATIENT, dt.date(2024, 3, 2))
    assert (letter.title, letter.language) == ("Lettre de sortie", "fr")
    assert [s.title for s in letter.sections] == ["", "Traitement de sortie", "Conclusion"]
    conclusion = letter.sections[2].text
    assert conclusion.startswith("Fibrillation atriale permanente ; anticoagulation par apixaban introduite.")
    assert "L’œdème des membres inférieurs a régressé." in conclusion
    assert "IPP" not in letter.text and "P880001" not in letter.text  # header lines stay out of the text
    meta = letter.metadata
    assert meta["type_codes"] == [f"{LOINC}|18842-5"] and meta["author"] == ["Dr Anne Moreau"]
    assert (meta["custodian"], meta["department"], meta["content_type"]) == ("CHU de Bordeaux", "Cardiologie", "text/plain")
    assert sorted(meta) == ["author", "content_type", "custodian", "department", "department_original", "format",
                            "institution", "report_type", "type_codes"]  # no FHIR identifiers (de-identified view)
    assert not any("DocumentReference" in w for w in warnings)


def test_untyped_letter_takes_its_title_and_unit_from_its_own_header(tmp_path: Path) -> None:
    text = "Titre : Compte rendu de consultation\nService : Rhumatologie\nDate : 05/04/2024\n\nPolyarthrite rhumatoïde en rémission.\n"
    resource = _docref("dr-untyped", {"contentType": "text/plain", "data": _b64(text.encode())})
    del resource["type"], resource["context"], resource["date"]
    [_, letter], _ = _parse(tmp_path, _bundle(resource))
    assert (letter.title, letter.metadata["department"], letter.date, letter.text) == (
        "Compte rendu de consultation", "Rhumatologie", dt.date(2024, 4, 5), "Polyarthrite rhumatoïde en rémission.")


def test_latin1_charset_and_context_period_date(tmp_path: Path) -> None:
    """A letter declared ISO-8859-1 (French Windows tools: really Windows-1252, its « ’ œ » included) is
    read with its accents; without ``date`` the document is dated by ``context.period.start``."""
    attachment = {"contentType": "text/plain; charset=ISO-8859-1", "data": _b64(LETTER.encode("cp1252"))}
    resource = _docref("dr-latin", attachment)
    del resource["date"]
    [_, letter], _ = _parse(tmp_path, _bundle(resource))
    assert letter.date == dt.date(2024, 2, 25)
    assert "décompensation cardiaque globale" in letter.text and "L’œdème des membres inférieurs" in letter.text
    assert "\ufffd" not in letter.text and "\x92" not in letter.text


def test_html_letter_is_stripped_to_its_sections(tmp_path: Path) -> None:
    html = (
        "<html><head><meta charset='utf-8'><title>CR</title><style>p{color:red}</style></head><body>"
        "<h1>Compte rendu de consultation</h1><p>Patient vu en consultation de <b>pneumologie</b>.</p>"
        "<h2>Conclusion</h2><ul><li>Asthme allergique bien contrôlé</li><li>Poursuite du budésonide</li></ul>"
        "<script>track()</script></body></html>"
    )
    attachment = {"contentType": "text/html", "data": _b64(html.encode("utf-8"))}
    [_, letter], _ = _parse(tmp_path, _bundle(_docref("dr-html", attachment, type={"text": "Consultation"})))
    assert letter.title == "Consultation"
    assert [(s.title, s.text) for s in letter.sections] == [
        ("Compte rendu de consultation", "Patient vu en consultation de pneumologie."),
        ("Conclusion", "Asthme allergique bien contrôlé\nPoursuite du budésonide"),
    ]
    assert "track" not in letter.text and "color" not in letter.text and "<" not in letter.text


def test_pdf_letter_in_a_binary_of_the_bundle(tmp_path: Path) -> None:
    """An operative report as PDF, the attachment's ``url`` naming a Binary of the bundle (by relative
    reference, and by the Binary entry's ``urn:uuid`` fullUrl)."""
    pdf = _pdf(["Compte rendu opératoire", "", "Intervention :", "Cholécystectomie par coelioscopie sans incident."])
    binary = {"resourceType": "Binary", "id": "bin-1", "contentType": "application/pdf", "data": _b64(pdf)}
    by_uuid = {"resourceType": "Binary", "id": "bin-2", "contentType": "text/plain", "data": _b64("Suites simples.".encode()),
               "_fullUrl": "urn:uuid:6f1c2b1e-1111-4c1e-9d1a-0a0b0c0d0e0f"}
    documents, warnings = _parse(tmp_path, _bundle(
        binary, by_uuid,
        _docref("dr-op", {"url": "Binary/bin-1"}, type={"coding": [{"system": LOINC, "code": "11504-8", "display": "Surgical operation note"}]}),
        _docref("dr-suite", {"contentType": "text/plain", "url": "urn:uuid:6f1c2b1e-1111-4c1e-9d1a-0a0b0c0d0e0f"}),
    ))
    by_id = {d.id: d for d in documents}
    operative = by_id[f"report:{PATIENT}/DocumentReference/dr-op"]
    assert operative.title == "Surgical operation note" and operative.metadata["content_type"] == "application/pdf"
    assert [(s.title, s.text) for s in operative.sections][-1] == ("Intervention", "Cholécystectomie par coelioscopie sans incident.")
    assert by_id[f"report:{PATIENT}/DocumentReference/dr-suite"].text == "Suites simples."
    assert not any("Binary" in w for w in warnings)  # Binary resources are read, not « skipped »


def test_retracted_and_unreadable_letters_are_skipped_with_their_reason(tmp_path: Path) -> None:
    """entered-in-error is left out like other retracted resources; an image, a URL outside the bundle
    and invalid base64 cost that letter only: the record and the readable letter stay."""
    good = _docref("dr-ok", {"contentType": "text/plain", "data": _b64("Consultation : tout va bien.".encode())})
    retracted = _docref("dr-err", {"contentType": "text/plain", "data": _b64(b"Lettre erronee")}, status="entered-in-error")
    scan = _docref("dr-scan", {"contentType": "image/jpeg", "data": _b64(b"\xff\xd8\xff\xe0 not text")})
    remote = _docref("dr-remote", {"contentType": "application/pdf", "url": "https://dpi.chu.example/fhir/Binary/999"})
    broken = _docref("dr-b64", {"contentType": "text/plain", "data": "@@@ pas du base64 @@@"})
    documents, warnings = _parse(tmp_path, _bundle(good, retracted, scan, remote, broken))
    assert [d.id for d in documents] == [f"record:{PATIENT}", f"report:{PATIENT}/DocumentReference/dr-ok"]
    notes = "\n".join(warnings)
    assert "DocumentReference dr-err is entered-in-error: not indexed" in notes
    assert "DocumentReference dr-scan: no readable text (image/jpeg: content type 'image/jpeg' is not read" in notes
    assert "DocumentReference dr-remote: no readable text (application/pdf: its url 'https://dpi.chu.example/fhir/Binary/999' is not a Binary resource of this bundle" in notes
    assert "DocumentReference dr-b64 (entry 5) invalid at content.0.attachment.data" in notes


def test_a_corrected_letter_replaces_its_first_version(tmp_path: Path) -> None:
    """A DocumentReference that ``replaces`` another of the bundle: the first version (status superseded)
    is not indexed, or « apixaban » would find the letter twice, once with the wrong dose."""
    first = _docref("dr-v1", {"contentType": "text/plain", "data": _b64("Apixaban 2,5 mg matin et soir.".encode())}, status="superseded")
    second = _docref("dr-v2", {"contentType": "text/plain", "data": _b64("Apixaban 5 mg matin et soir.".encode())},
                     relatesTo=[{"code": "replaces", "target": {"reference": "DocumentReference/dr-v1"}}])
    documents, warnings = _parse(tmp_path, _bundle(first, second))
    assert [(d.id, d.text) for d in documents[1:]] == [(f"report:{PATIENT}/DocumentReference/dr-v2", "Apixaban 5 mg matin et soir.")]
    assert "DocumentReference dr-v1 is replaced by DocumentReference dr-v2: only the new version is indexed" in warnings


def test_presented_form_short_in_the_record_long_as_its_own_report(tmp_path: Path) -> None:
    """A short presentedForm is the exam's line in the record (after its conclusion); a long one (a
    full report) is a report document of its own, the record's line keeping the conclusion."""
    short = {"resourceType": "DiagnosticReport", "id": "dr-rx", "status": "final", "code": {"text": "Radiographie thoracique"},
             "subject": {"reference": f"Patient/{PATIENT}"}, "effectiveDateTime": "2024-02-26",
             "conclusion": "Cardiomégalie.", "presentedForm": [{"contentType": "text/plain", "data": _b64("Épanchement pleural bilatéral modéré.".encode())}]}
    body = "Technique :\nAcquisition sans injection.\n\nRésultats :\n" + "Thrombose veineuse profonde poplitée droite. " * 12
    long = {"resourceType": "DiagnosticReport", "id": "dr-echo", "status": "final", "code": {"text": "Écho-doppler veineux"},
            "subject": {"reference": f"Patient/{PATIENT}"}, "effectiveDateTime": "2024-02-27", "conclusion": "TVP poplitée droite.",
            "presentedForm": [{"contentType": "text/plain; charset=utf-8", "data": _b64(body.encode())}]}
    [record, echo], _ = _parse(tmp_path, _bundle(short, long))
    lines = next(s for s in record.sections if s.title == "Comptes rendus").text.splitlines()
    assert lines == [
        "Radiographie thoracique (26/02/2024) : Cardiomégalie. Épanchement pleural bilatéral modéré.",
        "Écho-doppler veineux (27/02/2024) : TVP poplitée droite.",
    ]
    assert (echo.id, echo.title, echo.date) == (f"report:{PATIENT}/DiagnosticReport/dr-echo", "Écho-doppler veineux", dt.date(2024, 2, 27))
    assert [s.title for s in echo.sections] == ["Technique", "Résultats"] and echo.metadata["conclusion"] == "TVP poplitée droite."


def _treatments_bundle() -> dict[str, Any]:
    subject = {"reference": f"Patient/{PATIENT}"}
    return _bundle(
        {"resourceType": "Medication", "id": "med-apixaban", "code": {"coding": [{"system": "http://www.whocc.no/atc", "code": "B01AF02", "display": "Apixaban 5 mg comprimé"}]}},
        {"resourceType": "MedicationRequest", "id": "mr-1", "status": "active", "intent": "order", "subject": subject,
         "medicationReference": {"reference": "Medication/med-apixaban"}, "authoredOn": "2024-03-02",
         "dosageInstruction": [{"text": "1 comprimé matin et soir"}]},
        {"resourceType": "MedicationStatement", "id": "ms-1", "status": "completed", "subject": subject,
         "medicationCodeableConcept": {"text": "Amoxicilline"}, "effectivePeriod": {"start": "2023-11-02", "end": "2023-11-09"},
         "dosage": [{"text": "1 g trois fois par jour"}]},
        {"resourceType": "MedicationStatement", "id": "ms-2", "status": "not-taken", "subject": subject,
         "medicationCodeableConcept": {"text": "Warfarine"}},
        {"resourceType": "Procedure", "id": "pr-1", "status": "completed", "subject": subject,
         "code": {"coding": [{"system": "http://www.ccam.fr", "code": "HMFC004", "display": "Cholécystectomie par cœlioscopie"}]},
         "performedDateTime": "2019-05-14T09:30:00+02:00"},
        {"resourceType": "AllergyIntolerance", "id": "al-1", "patient": subject, "criticality": "high",
         "clinicalStatus": {"coding": [{"code": "active"}]}, "code": {"text": "Pénicilline"}, "recordedDate": "2010-01-12",
         "reaction": [{"manifestation": [{"text": "urticaire"}, {"text": "œdème de Quincke"}]}]},
        {"resourceType": "AllergyIntolerance", "id": "al-2", "patient": subject, "code": {"text": "Iode"},
         "verificationStatus": {"coding": [{"code": "refuted"}]}},
        {"resourceType": "AllergyIntolerance", "id": "al-3", "patient": subject, "code": {"text": "Latex"},
         "verificationStatus": {"coding": [{"code": "entered-in-error"}]}},
    )


def test_treatments_acts_and_allergies_are_record_sections_and_timeline_entries(tmp_path: Path) -> None:
    [record], warnings = _parse(tmp_path, _treatments_bundle())
    sections = {s.title: s.text.splitlines() for s in record.sections}
    assert sections["Traitements"] == [
        "Apixaban 5 mg comprimé (02/03/2024) : 1 comprimé matin et soir [en cours]",
        "Amoxicilline (02/11/2023 → 09/11/2023) : 1 g trois fois par jour [terminé]",
        "Pas de traitement par Warfarine.",
    ]
    assert sections["Actes"] == ["Cholécystectomie par cœlioscopie (14/05/2019) [terminé]"]
    assert sections["Allergies"] == [
        "Allergie à Pénicilline (12/01/2010), criticité élevée : urticaire, œdème de Quincke",
        "Absence d'allergie à Iode (allergie infirmée).",
    ]
    assert "Latex" not in record.text and any("al-3 is entered-in-error" in w for w in warnings)
    entries = [(e["type"], e["date"]) for e in record.metadata["entries"]]
    assert entries == [("Allergie", "2010-01-12"), ("Acte", "2019-05-14"), ("Traitement", "2023-11-02"), ("Traitement", "2024-03-02")]
    assert record.metadata["codes"] == ["http://www.ccam.fr|HMFC004", "http://www.whocc.no/atc|B01AF02"]


def test_several_patients_each_get_their_letters_and_allergies(tmp_path: Path) -> None:
    """In a bundle of two patients, a letter and an allergy go to the patient their subject/patient names."""
    bundle = _bundle(
        {"resourceType": "Patient", "id": "P880002"},
        _docref("dr-a", {"contentType": "text/plain", "data": _b64("Lettre du premier patient.".encode())}),
        _docref("dr-b", {"contentType": "text/plain", "data": _b64("Lettre du second patient.".encode())},
                subject={"reference": "Patient/P880002"}),
        {"resourceType": "AllergyIntolerance", "id": "al-b", "patient": {"reference": "Patient/P880002"}, "code": {"text": "Arachide"}},
    )
    documents, _ = _parse(tmp_path, bundle)
    assert [(d.id, d.patient_id) for d in documents] == [
        (f"record:{PATIENT}", PATIENT), (f"report:{PATIENT}/DocumentReference/dr-a", PATIENT),
        ("record:P880002", "P880002"), ("report:P880002/DocumentReference/dr-b", "P880002"),
    ]
    assert "Arachide" in documents[2].text and "Arachide" not in documents[0].text


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, encoder):  # noqa: ANN001, ANN201
    from engine_support import site_over

    root = tmp_path_factory.mktemp("fhir_letters")
    corpus = root / "exports"
    corpus.mkdir()
    bundle = _treatments_bundle()
    bundle["entry"].append({"resource": _docref("dr-sortie-1", {"contentType": "text/plain; charset=ISO-8859-1",
                                                                 "data": _b64(LETTER.encode("cp1252"))})})
    (corpus / f"{PATIENT}.json").write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    (corpus / "autre.txt").write_text("Examen : Scanner thoracique\nIPP : P880099\nDate : 01/02/2024\n\n"
                                      "Pas d'anomalie pulmonaire.\n", encoding="utf-8")
    return site_over(root, corpus, encoder)


def test_the_letter_is_found_and_on_the_patient_timeline(site) -> None:  # noqa: ANN001
    from auth_support import auth

    headers = auth("clinician", "dr.letters")
    letter_id = f"report:{PATIENT}/DocumentReference/dr-sortie-1"
    found = site.get("/search", params={"q": "décompensation cardiaque fibrillation atriale", "mode": "lexical"}, headers=headers).json()
    assert [r["id"] for r in found["results"]] == [letter_id]
    allergy = site.get("/search", params={"q": "allergie pénicilline", "mode": "lexical"}, headers=headers).json()
    assert [r["id"] for r in allergy["results"]] == [f"record:{PATIENT}"]
    act = site.get("/search", params={"q": "cholécystectomie", "mode": "lexical"}, headers=headers).json()
    assert [r["patient_id"] for r in act["results"]] == [PATIENT]
    timeline = site.get(f"/patients/{PATIENT}/timeline", headers=headers).json()
    entries = [(e["id"], e["title"], e["date"]) for g in timeline["groups"] for e in g["entries"]]
    assert (letter_id, "Lettre de sortie", "2024-03-02") in entries
    assert (f"record:{PATIENT}", "Cholécystectomie par cœlioscopie (14/05/2019) [terminé]", "2019-05-14") in entries
    document = site.get(f"/documents/{letter_id}", headers=headers).json()
    assert document["patient_id"] == PATIENT and "anticoagulation par apixaban" in document["text"]


def _two_exports(root: Path) -> None:
    """Two bundles of one patient, months apart: another problem list, another letter each."""
    for folder, rid, words, problem in (("a", "dr-jan", "Consultation de janvier : dyspnée stade II.", "Asthme"),
                                        ("b", "dr-juin", "Consultation de juin : dyspnée stade III.", "BPCO")):
        (root / folder).mkdir(parents=True)
        condition = {"resourceType": "Condition", "id": f"c-{folder}", "code": {"text": problem},
                     "subject": {"reference": f"Patient/{PATIENT}"}}
        bundle = _bundle(condition, _docref(rid, {"contentType": "text/plain", "data": _b64(words.encode())}))
        (root / folder / f"{PATIENT}.json").write_text(json.dumps(bundle), encoding="utf-8")


def test_two_bundles_of_one_patient_keep_both_letters(tmp_path: Path) -> None:
    """Two exports of one patient: one record is indexed (the other bundle's record is a reported
    conflict, as before: not merged), but each bundle's letter is a document of its own, not lost; a
    second run does not claim the conflicting record's « previously indexed version is kept »."""
    from bench.lexical_overhead import HashEncoder
    from indexer.pipeline import index_paths
    from indexer.settings import Settings

    _two_exports(tmp_path / "exports")
    config = Settings(index={"dir": tmp_path / "index"}, api={"audit_log": tmp_path / "audit.log"})
    first = index_paths([tmp_path / "exports"], config, HashEncoder())
    second = index_paths([tmp_path / "exports"], config, HashEncoder())
    assert first.documents_added == 3 and second.documents_unchanged == 3
    b_file = str((tmp_path / "exports" / "b" / f"{PATIENT}.json").resolve())
    for run in (first, second):
        reasons = [reason for path, reason in run.skipped if path == b_file]
        assert reasons == [f"duplicate document id 'record:{PATIENT}' with different content "
                           f"(indexed: {(tmp_path / 'exports' / 'a' / f'{PATIENT}.json').resolve()}): this version is not indexed"]


def test_refuted_allergy_and_treatment_not_taken_are_negated_mentions(tmp_path: Path) -> None:
    """« Absence d'allergie à Iode », « Pas de traitement par Warfarine »: what the clinical context
    detector reads as negated, so « allergie iode » and « warfarine » do not affirm them of the patient."""
    from indexer.pipeline import passage_contexts
    from indexer.text.passages import split_passages

    [record], _ = _parse(tmp_path, _treatments_bundle())
    contexts: dict[str, str] = {}
    for passage in split_passages(record, 120, 20):
        for kind, text in passage_contexts(record, passage).items():
            contexts[kind] = contexts.get(kind, "") + " " + text
    assert "Iode" in contexts.get("negated", "") and "Iode" not in contexts.get("affirmed", "")
    assert "Warfarine" in contexts.get("negated", "") and "Warfarine" not in contexts.get("affirmed", "")
    assert "Pénicilline" in contexts.get("affirmed", "") and "Pénicilline" not in contexts.get("negated", "")


def _cda(body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><ClinicalDocument xmlns="urn:hl7-org:v3">'
            f'<title>Lettre de liaison</title><component>{body}</component></ClinicalDocument>').encode("utf-8")


def test_dmp_cda_letters_n1_pdf_and_structured_sections(tmp_path: Path) -> None:
    """The DMP stores letters as HL7 CDA R2: « N1 » a base64 PDF in nonXMLBody, « N3 » titled sections.
    An entity in the XML is not resolved (no XXE from an export)."""
    pdf = _pdf(["Lettre de liaison", "", "Conclusion :", "Pneumopathie franche lobaire aigue guerie."])
    n1 = _cda(f'<nonXMLBody><text mediaType="application/pdf" representation="B64">{_b64(pdf)}</text></nonXMLBody>')
    n3 = _cda('<structuredBody><component><section><title>Motif</title><text><paragraph>Bilan de '
              '<content>dyspnée</content> d\'effort.</paragraph></text></section></component><component><section>'
              '<title>Conclusion</title><text><list><item>Insuffisance mitrale sévère</item><item>Avis chirurgical</item>'
              '</list></text></section></component></structuredBody>')
    xxe = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<ClinicalDocument xmlns="urn:hl7-org:v3"><component><structuredBody><component><section><title>T</title>'
           b'<text>&x;</text></section></component></structuredBody></component></ClinicalDocument>')
    documents, warnings = _parse(tmp_path, _bundle(
        _docref("cda-n1", {"contentType": "application/hl7-v3+xml", "data": _b64(n1)}),
        _docref("cda-n3", {"contentType": "text/xml", "data": _b64(n3)}),
        _docref("cda-xxe", {"contentType": "application/hl7-v3+xml", "data": _b64(xxe)}),
    ))
    by_id = {d.id: d for d in documents}
    n1_doc = by_id[f"report:{PATIENT}/DocumentReference/cda-n1"]
    assert [(s.title, s.text) for s in n1_doc.sections][-1] == ("Conclusion", "Pneumopathie franche lobaire aigue guerie.")
    n3_doc = by_id[f"report:{PATIENT}/DocumentReference/cda-n3"]
    assert [(s.title, s.text) for s in n3_doc.sections] == [
        ("Motif", "Bilan de dyspnée d'effort."), ("Conclusion", "Insuffisance mitrale sévère\nAvis chirurgical")]
    assert all("root:" not in d.text for d in documents)  # /etc/passwd never read
    assert f"report:{PATIENT}/DocumentReference/cda-xxe" not in by_id
    assert any(w.startswith("DocumentReference cda-xxe: no readable text (application/hl7-v3+xml: CDA document with "
                            "neither nonXMLBody nor section text)") for w in warnings)


def test_letter_dated_with_a_bare_date_is_kept(tmp_path: Path) -> None:
    """DocumentReference.date is a FHIR instant; exports often write « 2024-03-02 »: the letter was
    rejected whole (« invalid at date »). Read as that day, with a warning."""
    resource = _docref("dr-day", {"contentType": "text/plain", "data": _b64("Consultation de suivi.".encode())}, date="2024-03-02")
    [_, letter], warnings = _parse(tmp_path, _bundle(resource))
    assert (letter.id, letter.date) == (f"report:{PATIENT}/DocumentReference/dr-day", dt.date(2024, 3, 2))
    assert "DocumentReference dr-day: date '2024-03-02' is a date, not the FHIR instant it should be: read as that day" in warnings


def test_document_search_bundle_without_patient_gives_its_letters(tmp_path: Path) -> None:
    """A FHIR server's ``GET /DocumentReference?patient=…`` answer: a searchset of letters, no Patient
    resource. It was rejected whole (« a record bundle needs a Patient resource »); each letter naming
    « Patient/<id> » is now a report of that patient, one naming no patient is left out."""
    letters = [
        _docref("dr-1", {"contentType": "text/plain", "data": _b64("Consultation : lombalgie commune.".encode())}),
        _docref("dr-2", {"contentType": "text/plain", "data": _b64("Consultation : sciatique L5.".encode())},
                subject={"reference": "https://fhir.chu.example/fhir/Patient/P880002"}),
        _docref("dr-3", {"contentType": "text/plain", "data": _b64("Sans patient.".encode())}, subject=None),
        {"resourceType": "Condition", "id": "c-1", "code": {"text": "Lombalgie"}, "subject": {"reference": f"Patient/{PATIENT}"}},
    ]
    for letter in letters:
        if letter.get("subject", 1) is None:
            del letter["subject"]
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in letters]}
    documents, warnings = _parse(tmp_path, bundle)
    assert [(d.id, d.patient_id, d.text) for d in documents] == [
        (f"report:{PATIENT}/DocumentReference/dr-1", PATIENT, "Consultation : lombalgie commune."),
        ("report:P880002/DocumentReference/dr-2", "P880002", "Consultation : sciatique L5."),
    ]
    assert "DocumentReference dr-3 names no Patient/<id> subject in a bundle without Patient resource: not indexed" in warnings
    assert "1 Condition resource(s) not indexed: a record needs the bundle's Patient resource" in warnings
    with pytest.raises(Exception, match="a record bundle needs a Patient resource, found none"):
        _parse(tmp_path, {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": letters[3]}]}, name="c.json")


def test_attachment_without_content_type_and_with_an_unknown_charset(tmp_path: Path) -> None:
    """No contentType: a PDF is recognised by its « %PDF- » bytes, anything else read as text; a charset
    label no codec knows (« x-mac-french-legacy ») falls back to the `.txt` reader's guess (cp1252 here)."""
    pdf = _pdf(["Compte rendu de consultation", "", "Conclusion :", "Gonarthrose droite."])
    documents, _ = _parse(tmp_path, _bundle(
        _docref("dr-pdf", {"data": _b64(pdf)}),
        _docref("dr-mac", {"contentType": "text/plain; charset=x-mac-french-legacy", "data": _b64("Hanche opérée.".encode("cp1252"))}),
    ))
    by_id = {d.id: d for d in documents}
    pdf_doc = by_id[f"report:{PATIENT}/DocumentReference/dr-pdf"]
    assert (pdf_doc.metadata["content_type"], pdf_doc.sections[-1].text) == ("application/pdf", "Gonarthrose droite.")
    assert by_id[f"report:{PATIENT}/DocumentReference/dr-mac"].text == "Hanche opérée."
