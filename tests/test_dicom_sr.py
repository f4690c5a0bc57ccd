"""DICOM Structured Reports read as report documents: pydicom's real SR test files, synthetic SRs
linked to the CT of the same study by accession number (and by patient and date), SRs without text
and non-report SR classes skipped with their reasons, and an indexed SR found by a search. Linking by
DICOM UIDs: cited SOP instances, then StudyInstanceUID, before accession and patient + date; never
across patients; the same links whole-corpus and streamed."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from indexer.linking import link_documents
from indexer.pipeline import parse_sources
from indexer.schema import DocumentKind
from indexer.sources import SourceError, parse_file
from indexer.sources.reports import report_from_text
from conftest import write_ct_dicom

BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
KEY_OBJECT_SELECTION = "1.2.840.10008.5.1.4.1.1.88.59"


def _code(value: str, meaning: str, scheme: str = "DCM") -> Dataset:
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, scheme, meaning
    return code


def _item(value_type: str, name: str, relationship: str = "CONTAINS", **values: object) -> Dataset:
    item = Dataset()
    item.RelationshipType, item.ValueType = relationship, value_type
    item.ConceptNameCodeSequence = [_code(name[:8].upper(), name)]
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def _container(name: str, *children: Dataset) -> Dataset:
    container = _item("CONTAINER", name, ContinuityOfContent="SEPARATE")
    container.ContentSequence = list(children)
    return container


def _image_reference(sop_uid: str | None = None) -> Dataset:
    reference = Dataset()
    reference.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    reference.ReferencedSOPInstanceUID = sop_uid or generate_uid()
    return _item("IMAGE", "Image Reference", ReferencedSOPSequence=[reference])


def write_sr(path: Path, content: list[Dataset], *, title: str = "Chest X-Ray Report", accession: str = "",
             patient_id: str = "P1", study_date: str = "20240314", sop_class: str = BASIC_TEXT_SR,
             study_uid: str | None = None, evidence: dict[str, list[str]] | None = None) -> Path:
    """A DICOM SR file (UTF-8) whose root container *title* holds *content*; *evidence*: the SOP
    Instance UIDs of its CurrentRequestedProcedureEvidenceSequence, by series UID (in its study)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.AccessionNumber, ds.StudyDate, ds.ContentDate = "SR", accession, study_date, "20240315"
    ds.PatientID, ds.PatientName, ds.PatientSex = patient_id, "EXEMPLE^JEAN", "M"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid or generate_uid(), generate_uid()
    if evidence:
        study = Dataset()
        study.StudyInstanceUID = ds.StudyInstanceUID
        study.ReferencedSeriesSequence = []
        for series_uid, sop_uids in evidence.items():
            series = Dataset()
            series.SeriesInstanceUID = series_uid
            series.ReferencedSOPSequence = [_image_reference(uid).ReferencedSOPSequence[0] for uid in sop_uids]
            study.ReferencedSeriesSequence.append(series)
        ds.CurrentRequestedProcedureEvidenceSequence = [study]
    ds.SeriesDescription = "Compte rendu"
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.ConceptNameCodeSequence = [_code("18748-4", title, "LN")]
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "VERIFIED"
    ds.ContentSequence = content
    ds.save_as(path, enforce_file_format=True)
    return path


def french_chest_report() -> list[Dataset]:
    return [
        _item("CODE", "Language of Content Item and Descendants", "HAS CONCEPT MOD",
              ConceptCodeSequence=[_code("fr", "French", "RFC5646")]),
        _item("PNAME", "Recording Observer's Name", "HAS OBS CONTEXT", PersonName="MARTIN^CLAIRE"),
        _container("Findings",
                   _item("TEXT", "Finding", TextValue="Épanchement pleural gauche de faible abondance,\r\n"
                                                       "sans pneumothorax associé. Pas de foyer pulmonaire."),
                   _item("NUM", "Diameter", MeasuredValueSequence=[_measured("12", "mm")]),
                   _image_reference()),
        _container("Impression",
                   _item("TEXT", "Impression", TextValue="Épanchement pleural gauche minime."),
                   _item("CODE", "Finding", ConceptCodeSequence=[_code("60046008", "Pleural effusion", "SCT")])),
    ]


def _measured(number: str, unit: str) -> Dataset:
    measured = Dataset()
    measured.NumericValue = number
    measured.MeasurementUnitsCodeSequence = [_code(unit, "millimeter", "UCUM")]
    return measured


# --- pydicom's real SR files ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["reportsi.dcm", "reportsi_with_empty_number_tags.dcm"])
def test_pydicom_basic_text_sr_is_a_report(tmp_path: Path, name: str) -> None:
    path = Path(shutil.copy(get_testdata_file(name), tmp_path / name))
    [document] = parse_file(path, root=tmp_path)
    assert document.kind is DocumentKind.REPORT
    assert document.id == f"report:{name}"  # no accession number: the path, as a text report's
    assert document.title == "Document Title"  # the root container's concept name
    assert document.date == dt.date(2005, 5, 30)  # ContentDate (the study date is empty)
    assert document.patient_id is None  # PatientID is empty in this template
    assert [(s.title, s.text) for s in document.sections] == [("Section Heading", "Enter text")]
    assert document.text == "Section Heading\nEnter text"
    assert document.metadata["sop_class"] == "Basic Text SR"
    assert document.metadata["references"] == {"IMAGE": 2}
    assert document.metadata["verification"] == "UNVERIFIED"
    assert document.metadata["context"] == [
        "Observation Context Mode: DIRECT", "Recording Observer's Organization Name: Enter text",
        "Observation Context Mode: PATIENT",
    ]
    identifying = document.metadata["identifying"]
    assert identifying["patient_name"] == "Last Name^First Name"
    assert identifying["context_names"] == ["Recording Observer's Name: Enter text"]


def test_pydicom_comprehensive_sr_keeps_its_text_numbers_and_codes(tmp_path: Path) -> None:
    path = Path(shutil.copy(get_testdata_file("test-SR.dcm"), tmp_path / "test-SR.dcm"))
    [document] = parse_file(path, root=tmp_path)
    assert (document.kind, document.title, document.date) == (DocumentKind.REPORT, "Diagnosis", dt.date(2001, 2, 13))
    assert document.metadata["sop_class"] == "Comprehensive SR"
    first = document.sections[0].text.splitlines()
    assert first[0] == "A mass of 3 Length Unit was detected."  # a continuous container reads as a sentence
    assert "Code: Sample Code 1" in first  # its modifiers follow
    coded = next(s for s in document.sections if s.title == "Code")
    assert coded.text.startswith("Sample Text\nA\nB\nC")  # CR, LF and CRLF line ends all become lines
    assert "Inferred Sample Text" in coded.text  # an « inferred from » child's text
    assert "Date: 2000-12-06" in document.text and "Time: 12:00" in document.text
    assert "Sample Text 2" in document.text  # text under an image reference
    assert document.metadata["references"] == {"COMPOSITE": 1, "IMAGE": 2, "SCOORD": 1, "TCOORD": 1, "WAVEFORM": 1}
    assert document.metadata["identifying"]["patient_name"] == "Test^S R"
    assert "1.2.3.4.5" not in document.text  # a UIDREF is not report text


def test_pydicom_ct_is_still_an_image(tmp_path: Path) -> None:
    path = Path(shutil.copy(get_testdata_file("CT_small.dcm"), tmp_path / "CT_small.dcm"))
    [document] = parse_file(path, root=tmp_path)
    assert document.kind is DocumentKind.IMAGE and document.modality == "CT"


# --- synthetic SRs -------------------------------------------------------------------------------


def test_synthetic_sr_sections_language_and_identity(tmp_path: Path) -> None:
    [document] = parse_file(write_sr(tmp_path / "cr.dcm", french_chest_report(), accession="ACC1"), root=tmp_path)
    same_exam_as_text = report_from_text("IPP : P1\nN° d'examen : ACC1\n\nConclusion :\nRAS.\n", tmp_path / "cr.txt")
    assert document.id == same_exam_as_text.id == "report:ACC1"
    assert (document.patient_id, document.date, document.title) == ("P1", dt.date(2024, 3, 14), "Chest X-Ray Report")
    assert document.language == "fr"
    assert [s.title for s in document.sections] == ["Findings", "Impression"]
    assert document.sections[0].text == (
        "Épanchement pleural gauche de faible abondance,\nsans pneumothorax associé. Pas de foyer pulmonaire.\n"
        "Diameter: 12 mm"
    )
    assert document.sections[1].text == "Épanchement pleural gauche minime.\nFinding: Pleural effusion"
    assert document.metadata["accession"] == "ACC1"
    assert document.metadata["references"] == {"IMAGE": 1}
    assert document.metadata["content_date"] == "2024-03-15"
    assert "MARTIN" not in document.text and "French" not in document.text  # context, not report text
    assert document.metadata["identifying"]["context_names"] == ["Recording Observer's Name: MARTIN CLAIRE"]


def test_flat_sr_text_items_name_their_sections(tmp_path: Path) -> None:
    content = [_item("TEXT", "Findings", TextValue="The lungs are clear."),
               _item("TEXT", "Impression", TextValue="No acute cardiopulmonary disease.")]
    [document] = parse_file(write_sr(tmp_path / "IM000001", content, sop_class=COMPREHENSIVE_SR), root=tmp_path)
    assert document.id == "report:IM000001"  # an extensionless PACS export file, sniffed as DICOM
    assert [(s.title, s.text) for s in document.sections] == [
        ("Findings", "The lungs are clear."), ("Impression", "No acute cardiopulmonary disease.")]
    assert document.language == "en"


def test_sr_without_text_is_skipped_with_its_reason(tmp_path: Path) -> None:
    path = write_sr(tmp_path / "refs.dcm", [_container("Key images", _image_reference(), _image_reference())])
    with pytest.raises(SourceError, match=r"structured report without text \(2 IMAGE\)"):
        parse_file(path, root=tmp_path)


def test_key_object_selection_keeps_todays_reason(tmp_path: Path) -> None:
    path = write_sr(tmp_path / "kos.dcm", french_chest_report(), sop_class=KEY_OBJECT_SELECTION)
    with pytest.raises(SourceError, match=r"no pixel data: this DICOM object \(Key Object Selection"):
        parse_file(path, root=tmp_path)


def test_sr_links_to_the_image_of_its_patient_and_date_without_accession(tmp_path: Path) -> None:
    write_sr(tmp_path / "sr.dcm", french_chest_report(), patient_id="P2", study_date="20240402")
    write_ct_dicom(tmp_path / "ct.dcm", "P2", "OTHER-ACC", study_date="20240402")
    documents = [d for name in ("sr.dcm", "ct.dcm") for d in parse_file(tmp_path / name, root=tmp_path)]
    link_documents(documents)
    report, image = documents
    assert image.metadata["linked_reports"] == [report.id] == ["report:sr.dcm"]
    assert "Épanchement pleural gauche minime." in image.text  # the impression, appended to the image's text


# --- indexed end to end --------------------------------------------------------------------------


def test_indexed_sr_is_linked_to_its_ct_and_found_by_search(tmp_path: Path) -> None:
    from bench.lexical_overhead import HashEncoder
    from indexer.backend.embedded.generations import live_layout
    from indexer.backend.embedded.lexical import LexicalIndex
    from indexer.backend.embedded.metadata import MetadataStore
    from indexer.pipeline import index_paths
    from indexer.settings import Settings

    folder = tmp_path / "pacs"
    folder.mkdir()
    write_sr(folder / "report.dcm", french_chest_report(), accession="ACC1")
    write_ct_dicom(folder / "ct.dcm", "P1", "ACC1")
    write_sr(folder / "refs.dcm", [_container("Key images", _image_reference())])
    (folder / "broken.dcm").write_bytes((folder / "report.dcm").read_bytes()[:-30])  # an SR cut short
    settings = Settings(index={"dir": tmp_path / "index"}, api={"audit_log": tmp_path / "audit.log"})
    encoder = HashEncoder()
    run = index_paths([folder], settings, encoder)

    skipped = {Path(path).name: reason for path, reason in run.skipped}
    assert set(skipped) == {"refs.dcm", "broken.dcm"}  # one bad SR never stops the run
    assert skipped["refs.dcm"] == "structured report without text (1 IMAGE)"
    assert skipped["broken.dcm"].startswith("truncated structured report: the file ends inside ContentSequence")
    layout = live_layout(settings.index.dir)
    store = MetadataStore(layout.metadata, readonly=True)
    report = store.get_document("report:ACC1")
    assert report.kind is DocumentKind.REPORT and report.patient_id == "P1"
    [image_id] = report.metadata["linked_images"]
    image = store.get_document(image_id)
    assert image.metadata["linked_reports"] == ["report:ACC1"]
    assert "Épanchement pleural gauche minime." in image.text
    hits = LexicalIndex(layout.lexical).search("abondance", 10)
    assert "report:ACC1" in {store.get_passages([h.pid])[h.pid].doc_id for h in hits}

    from search_api.engine_factory import build_engine
    from search_api.models import SearchRequest

    engine = build_engine(settings, encoder, clip=False)
    found = engine.search(SearchRequest(q="épanchement pleural", mode="lexical", limit=10)).results
    assert found and found[0].id == "report:ACC1" and found[0].kind == "report"


def test_declared_language_when_the_text_is_too_short_to_tell(tmp_path: Path) -> None:
    language = _item("CODE", "Language of Content Item and Descendants", "HAS CONCEPT MOD",
                     ConceptCodeSequence=[_code("fr-FR", "French (France)", "RFC5646")])
    content = [language, _item("TEXT", "Impression", TextValue="RAS.")]
    [document] = parse_file(write_sr(tmp_path / "court.dcm", content), root=tmp_path)
    assert document.language == "fr"
    assert [(s.title, s.text) for s in document.sections] == [("Impression", "RAS.")]


# --- linked by DICOM UIDs (indexer.linking.ReportIndex) ------------------------------------------


def _impression(text: str = "Nodule pulmonaire stable.") -> list[Dataset]:
    return [_container("Impression", _item("TEXT", "Impression", TextValue=text))]


def _parse(folder: Path, *names: str) -> list:
    return [d for name in names for d in parse_file(folder / name, root=folder)]


def test_pydicom_srs_keep_the_sop_uids_they_cite_and_researchers_never_see_them(tmp_path: Path) -> None:
    from search_api.security.deid import Deidentifier

    [comprehensive] = parse_file(Path(shutil.copy(get_testdata_file("test-SR.dcm"), tmp_path / "test-SR.dcm")), root=tmp_path)
    # its two IMAGE items (a CT and an MR instance); not the COMPOSITE (an SR) nor the WAVEFORM
    assert comprehensive.metadata["referenced_sop_uids"] == ["1.2.3.4.0.1", "1.2.3.4.5.0"]
    assert comprehensive.metadata["study_uid"] == "1.2.276.0.7230010.3.1.4.2139363186.7819.982086466.2"
    assert "1.2.3.4" not in comprehensive.text
    [template] = parse_file(Path(shutil.copy(get_testdata_file("reportsi.dcm"), tmp_path / "reportsi.dcm")), root=tmp_path)
    assert "referenced_sop_uids" not in template.metadata  # its IMAGE items cite « 0 », a template's placeholder
    shown = Deidentifier(b"k" * 32).value(comprehensive.metadata, None)
    assert not {"referenced_sop_uids", "study_uid", "series_uid", "sop_uid"} & set(shown)


@pytest.mark.parametrize("missing", ["patient id", "study date"])
def test_sr_without_accession_links_to_its_study_by_study_instance_uid(tmp_path: Path, missing: str) -> None:
    study = generate_uid()
    write_sr(tmp_path / "sr.dcm", _impression(), study_uid=study,  # dated by its ContentDate (2024-03-15) when no StudyDate
             patient_id="" if missing == "patient id" else "P3", study_date="20240314" if missing == "patient id" else "")
    write_ct_dicom(tmp_path / "ct.dcm", "P3", "RIS-ACC-9", study_uid=study)  # the accession only the PACS has
    write_ct_dicom(tmp_path / "other.dcm", "P3", "RIS-ACC-7", study_date="20240315")  # another exam, on the report's day
    report, image, other = documents = _parse(tmp_path, "sr.dcm", "ct.dcm", "other.dcm")
    assert "accession" not in report.metadata
    link_documents(documents)
    assert image.metadata["linked_reports"] == [report.id]
    assert report.metadata["linked_images"] == [image.id]
    assert "Nodule pulmonaire stable." in image.text
    assert "linked_reports" not in other.metadata  # same day as the report in one case: the study decides
    assert study not in image.text and study not in report.text


def test_sr_citing_instances_links_to_them_not_to_another_exam_of_that_day(tmp_path: Path) -> None:
    series_a, sop_a, sop_c = generate_uid(), generate_uid(), generate_uid()
    write_ct_dicom(tmp_path / "a.dcm", "P4", "", study_uid=generate_uid(), series_uid=series_a, sop_uid=sop_a)
    write_ct_dicom(tmp_path / "b.dcm", "P4", "", study_uid=generate_uid(), series_uid=generate_uid())  # same patient, same day
    write_ct_dicom(tmp_path / "c.dcm", "P4", "", study_uid=generate_uid(), series_uid=generate_uid(), sop_uid=sop_c)
    content = _impression() + [_container("Key images", _image_reference(sop_c))]  # c: cited in the content tree only
    write_sr(tmp_path / "sr.dcm", content, patient_id="P4", evidence={series_a: [sop_a]})  # a: in its evidence only
    report, a, b, c = documents = _parse(tmp_path, "sr.dcm", "a.dcm", "b.dcm", "c.dcm")
    assert report.metadata["referenced_sop_uids"] == sorted([sop_a, sop_c])
    link_documents(documents)
    assert a.metadata["linked_reports"] == c.metadata["linked_reports"] == [report.id]
    assert "linked_reports" not in b.metadata  # the report said which images it describes
    assert report.metadata["linked_images"] == [a.id, c.id]
    assert all(uid not in d.text for d in documents for uid in (sop_a, sop_c, series_a))


def test_cited_instance_comes_before_the_accession_number(tmp_path: Path) -> None:
    sop = generate_uid()
    write_ct_dicom(tmp_path / "ct.dcm", "P5", "ACC5", sop_uid=sop)
    write_sr(tmp_path / "sr.dcm", _impression("Compte rendu définitif."), patient_id="P5", evidence={generate_uid(): [sop]})
    (tmp_path / "cr.txt").write_text("IPP : P5\nN° d'examen : ACC5\n\nConclusion :\nCompte rendu préliminaire.\n", encoding="utf-8")
    image, sr, text = documents = _parse(tmp_path, "ct.dcm", "sr.dcm", "cr.txt")
    assert text.metadata["accession"] == "ACC5"  # the accession rule alone would link the text report (added last)
    link_documents(documents)
    assert image.metadata["linked_reports"] == [sr.id]
    assert "linked_images" not in text.metadata


def test_uids_pointing_at_another_patients_image_do_not_link(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    study, series, sop = generate_uid(), generate_uid(), generate_uid()
    write_ct_dicom(tmp_path / "ct.dcm", "P7", "ACC7", study_uid=study, series_uid=series, sop_uid=sop)
    # filed under P6 but citing P7's image, in P7's study, with P7's accession number: every rule refuses it
    write_sr(tmp_path / "sr.dcm", _impression(), patient_id="P6", accession="ACC7", study_uid=study, evidence={series: [sop]})
    documents, skipped, _ = parse_sources([tmp_path], None, warnings=(warnings := []))
    image = next(d for d in documents if d.kind is DocumentKind.IMAGE)
    report = next(d for d in documents if d.kind is DocumentKind.REPORT)
    assert "linked_reports" not in image.metadata and "linked_images" not in report.metadata
    assert "Nodule" not in image.text
    message = f"report {report.id} cites its SOP instance but image {image.id} is of another patient: not linked"
    assert warnings == [(str(tmp_path / "sr.dcm"), message)]  # once, under the first rule that named it
    assert message in caplog.text
    assert "P6" not in message and "P7" not in message


def test_streamed_uid_links_equal_the_whole_corpus_links(tmp_path: Path) -> None:
    from indexer.sources import discover_sources
    from indexer.streaming import iter_batches, scan

    series, sops = generate_uid(), [generate_uid() for _ in range(3)]
    for number, sop in enumerate(sops, start=1):  # one series of 3: its document is instance 2
        write_ct_dicom(tmp_path / f"s{number}.dcm", "P8", "", study_uid=generate_uid(entropy_srcs=["st"]),
                       series_uid=series, sop_uid=sop, instance_number=number)
    write_sr(tmp_path / "sr.dcm", _impression() + [_container("Key images", _image_reference(sops[0]))],
             patient_id="P8", study_date="20240101")  # cites instance 1 only, another date, its own study uid
    other_study, other_series, other_sop = generate_uid(), generate_uid(), generate_uid()
    write_ct_dicom(tmp_path / "x.dcm", "P9", "ACC9", study_uid=other_study, series_uid=other_series, sop_uid=other_sop)
    write_sr(tmp_path / "wrong.dcm", _impression(), patient_id="P10", study_uid=other_study)
    whole, skipped, _ = parse_sources([tmp_path], None, warnings=(warnings := []))
    files, _ = discover_sources([tmp_path])
    table = scan(files, None)
    streamed = {d.id: d for batch in iter_batches(files, table, None, batch_files=2) for d in batch}
    assert set(streamed) == {d.id for d in whole}
    for document in whole:
        assert streamed[document.id].model_dump() == document.model_dump(), document.id
    assert sorted(table.warnings) == sorted(warnings) and len(warnings) == 1 and "StudyInstanceUID" in warnings[0][1]
    by_id = {d.id: d for d in whole}
    assert by_id[f"image:{series}"].metadata["linked_reports"] == ["report:sr.dcm"]
    assert by_id[f"image:{series}"].metadata["sop_uid"] == sops[1]  # linked through its series' instances
    assert "linked_reports" not in by_id[f"image:{other_series}"].metadata


def test_report_index_precedence_rule_by_rule() -> None:
    from indexer.linking import LinkKeys, ReportIndex

    day = dt.date(2024, 3, 14)
    image = LinkKeys("P1", day, "ACC1", "1.2.9.1", frozenset({"1.2.9.1.1", "1.2.9.1.2"}))
    reports = {  # each report matches the image by one rule only
        "sop": LinkKeys("P1", dt.date(2024, 1, 1), None, "1.2.8", frozenset({"1.2.9.1.2"})),
        "study": LinkKeys("P1", dt.date(2024, 1, 1), None, "1.2.9.1"),
        "accession": LinkKeys("P1", dt.date(2024, 1, 1), "ACC1"),
        "patient_date": LinkKeys("P1", day),
    }
    order = list(reports)
    for rule in order:  # the reports of this rule and every later one: this rule's wins, whatever the order added
        index: ReportIndex[str] = ReportIndex([image])
        for name in reversed(order[order.index(rule):]):
            index.add(reports[name], name)
        found = index.match(image)
        assert (found.report, found.rule, found.refused) == (rule, rule, [])
    # another patient's report is refused under its rule; the next rule's report links (the same
    # patient id written otherwise is the same patient, as the filters compare ids)
    index = ReportIndex([image])
    index.add(LinkKeys("P2", day, None, None, frozenset({"1.2.9.1.1"})), "wrong")
    index.add(LinkKeys(" p1", None, None, "1.2.9.1"), "same patient")
    found = index.match(image)
    assert (found.report, found.rule, found.refused) == ("same patient", "study", [("wrong", "sop")])
