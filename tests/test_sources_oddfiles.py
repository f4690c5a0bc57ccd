"""Odd but real files, as a hospital's data engineer meets them: every one indexed, or skipped with its reason.

pydicom's own test files are read from the installed package at test time (nothing licensed is copied
here); the other odd files are written by the tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.sources import SourceError, parse_file

pydicom_data = pytest.importorskip("pydicom.data")


def _testdata(name: str) -> Path:
    path = pydicom_data.get_testdata_file(name)
    if path is None:
        pytest.skip(f"pydicom test file {name} not available")
    return Path(path)


def _charset(name: str) -> Path:
    found = [Path(p) for p in pydicom_data.get_charset_files(name)]
    if not found:
        pytest.skip(f"pydicom charset file {name} not available")
    return found[0]


def test_every_pydicom_test_file_is_indexed_or_skipped_with_a_reason() -> None:
    """No pydicom test file makes the reader raise anything but a SourceError with a reason."""
    files = [Path(p) for p in pydicom_data.get_testdata_files() + pydicom_data.get_charset_files()]
    files = [p for p in files if p.is_file()]
    assert len(files) >= 70
    indexed = 0
    for path in files:
        try:
            documents = parse_file(path, dicom=True if not path.suffix else None)
        except SourceError as exc:
            assert exc.reason.strip(), path
            continue
        indexed += len(documents)
        for document in documents:
            assert document.id, path
            if document.kind.value == "image":
                assert "()" not in document.text, (path, document.text)
    assert indexed >= 60


def test_compressed_dicom_without_its_decoder_keeps_header_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """A JPEG 2000 file on a machine without pylibjpeg-openjpeg: indexed from its header, not skipped."""
    import indexer.imaging.transfer_syntax as transfer_syntax

    real = transfer_syntax.get_decoder

    class _Missing:
        is_available = False

    def no_compressed_decoders(uid):  # noqa: ANN001, ANN202
        return _Missing() if uid.is_compressed else real(uid)

    monkeypatch.setattr(transfer_syntax, "get_decoder", no_compressed_decoders)
    warnings: list[tuple[str, str]] = []
    [document] = parse_file(_testdata("US1_J2KR.dcm"), warnings=warnings)
    assert (document.patient_id, document.modality, str(document.date)) == ("13US1", "US", "2004-08-26")
    assert "no decoder installed" in document.metadata["pixels_error"]
    assert "pip install" in document.metadata["pixels_error"]
    assert any("header indexed without pixels" in note for _, note in warnings)
    for name in ("JPEG-LL.dcm", "MR_small_RLE.dcm", "emri_small_jpeg_ls_lossless.dcm"):
        [document] = parse_file(_testdata(name))
        assert document.metadata["pixels_error"] and document.modality, name


def test_decoder_refusing_the_pixels_keeps_the_header() -> None:
    """JPEG-lossy.dcm: the installed decoders refuse its pixels; it was skipped whole."""
    [document] = parse_file(_testdata("JPEG-lossy.dcm"))
    assert (document.patient_id, document.modality) == ("8NM1", "NM")
    assert document.metadata["pixels_error"].startswith("cannot decode pixel data")


def test_japanese_and_korean_names_of_images_without_pixels_are_decoded() -> None:
    """chrJapMulti / chrKoreanMulti (ISO 2022 IR 87 / 149, no pixel data): indexed, names not mojibake."""
    [japanese] = parse_file(_charset("chrJapMulti.dcm"))
    assert japanese.metadata["identifying"]["patient_name"] == "やまだ^たろう"
    assert (japanese.patient_id, japanese.modality, str(japanese.date)) == ("2008-4", "CR", "2008-05-04")
    [korean] = parse_file(_charset("chrKoreanMulti.dcm"))
    assert korean.metadata["identifying"]["patient_name"] == "김희중"
    [french] = parse_file(_charset("chrFren.dcm"))
    assert french.metadata["identifying"]["patient_name"] == "Buc^Jérôme"
    [chinese] = parse_file(_charset("chrX1.dcm"))
    assert chinese.metadata["identifying"]["patient_name"] == "Wang^XiaoDong=王^小東"


def test_image_with_corrupt_frame_count_keeps_its_header() -> None:
    """badVR.dcm: NumberOfFrames '1A'; patient, date and modality are fine and indexed."""
    [document] = parse_file(_testdata("badVR.dcm"))
    assert (document.patient_id, str(document.date), document.modality) == ("id11111", "2003-08-05", "RTDOSE")
    assert "corrupt image header" in document.metadata["pixels_error"]


def test_header_with_nothing_to_index_is_still_skipped() -> None:
    with pytest.raises(SourceError, match="names no patient, modality or description"):
        parse_file(_charset("chrSQEncoding.dcm"))


def test_dicomdir_is_skipped_as_a_media_directory() -> None:
    with pytest.raises(SourceError, match="DICOMDIR: the directory of a DICOM CD"):
        parse_file(_testdata("DICOMDIR"), dicom=True)


def test_modality_without_french_words_has_no_empty_parentheses() -> None:
    [document] = parse_file(_charset("chrFren.dcm"))
    assert document.text.splitlines()[0] == "Modalité OT"


# --- FHIR bundles ----------------------------------------------------------------------------------

def _bundle(tmp_path: Path, name: str, resources: list[dict], full_urls: list[str] | None = None) -> Path:
    import json

    urls = full_urls or [f"{r['resourceType']}/{r.get('id', i)}" for i, r in enumerate(resources)]
    entry = [{"fullUrl": url, "resource": r} for url, r in zip(urls, resources)]
    path = tmp_path / name
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entry}), encoding="utf-8")
    return path


def _condition(cid: str, text: str, subject: str | None) -> dict:
    resource = {"resourceType": "Condition", "id": cid, "code": {"text": text}}
    if subject is not None:
        resource["subject"] = {"reference": subject}
    return resource


def test_fhir_malformed_resource_among_good_ones_keeps_the_rest(tmp_path: Path) -> None:
    path = _bundle(tmp_path, "b.json", [
        {"resourceType": "Patient", "id": "P1", "gender": "female"},
        _condition("C1", "diabète de type 2", "Patient/P1"),
        {"resourceType": "Observation", "id": "O-bad", "status": "final", "code": {"text": "HbA1c"}, "valueQuantity": {"value": "beaucoup"}},
        {"resourceType": "Observation", "id": "O-good", "status": "final", "code": {"text": "HbA1c"},
         "subject": {"reference": "Patient/P1"}, "valueQuantity": {"value": 8.1, "unit": "%"}},
    ])
    warnings: list[tuple[str, str]] = []
    [record] = parse_file(path, warnings=warnings)
    assert record.patient_id == "P1" and "diabète de type 2" in record.text and "HbA1c : 8,1 %" in record.text
    assert any("O-bad" in note and "skipped" in note for _, note in warnings)


def test_fhir_resource_of_another_patient_is_never_attached(tmp_path: Path) -> None:
    """P2's cancer in P1's export was read as P1's: another patient's diagnosis in this patient's record."""
    path = _bundle(tmp_path, "P1.json", [
        {"resourceType": "Patient", "id": "P1"},
        _condition("C1", "asthme", "Patient/P1"),
        _condition("C2", "cancer du pancréas", "Patient/P2"),
        _condition("C3", "hypertension", "https://fhir.chu.example/fhir/Patient/P1/_history/3"),
        _condition("C4", "cirrhose", "urn:uuid:9a1c4e2e-0000-4000-8000-000000000002"),
    ])
    warnings: list[tuple[str, str]] = []
    [record] = parse_file(path, warnings=warnings)
    assert record.patient_id == "P1"
    assert "asthme" in record.text and "hypertension" in record.text
    assert "pancréas" not in record.text and "cirrhose" not in record.text
    notes = [note for _, note in warnings]
    assert any("C2" in n and "Patient/P2" in n and "not attached" in n for n in notes)
    assert any("C4" in n and "not attached" in n for n in notes)


def test_fhir_bundle_of_two_patients_gives_two_records(tmp_path: Path) -> None:
    """A bundle of two Patients was rejected whole (« exactly one Patient »): both records lost."""
    u1, u2 = "urn:uuid:00000000-0000-4000-8000-000000000001", "urn:uuid:00000000-0000-4000-8000-000000000002"
    path = _bundle(
        tmp_path,
        "two.json",
        [
            {"resourceType": "Patient", "id": "P1"},
            {"resourceType": "Patient", "id": "P2"},
            _condition("C1", "asthme", u1),
            _condition("C2", "cancer du pancréas", "Patient/P2"),
            {"resourceType": "Observation", "id": "O3", "status": "final", "code": {"text": "uricémie"}, "valueString": "élevée"},
        ],
        [u1, u2, "urn:uuid:c1", "urn:uuid:c2", "urn:uuid:c3"],
    )
    warnings: list[tuple[str, str]] = []
    records = {d.patient_id: d for d in parse_file(path, warnings=warnings)}
    assert set(records) == {"P1", "P2"}
    assert "asthme" in records["P1"].text and "pancréas" not in records["P1"].text
    assert "pancréas" in records["P2"].text and "asthme" not in records["P2"].text
    assert all("uricémie" not in d.text for d in records.values())
    assert any("O3" in note and "names no subject" in note for _, note in warnings), warnings
    assert {d.id for d in records.values()} == {"record:P1", "record:P2"}


# --- Open-i radiology reports (torchxrayvision's NLMCXR_reports.tgz, read from the installed package) ---

def _openi_files(tmp_path: Path, names: tuple[str, ...]) -> list[Path]:
    import tarfile

    from eval.openi import find_archive

    try:
        archive = find_archive()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    out = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if member.isfile() and Path(member.name).name in names:
                target = tmp_path / Path(member.name).name
                target.write_bytes(tar.extractfile(member).read())  # type: ignore[union-attr]
                out.append(target)
    return sorted(out)


def test_openi_xml_export_is_read_as_a_radiology_report(tmp_path: Path) -> None:
    """An Open-i XML dropped in the source folder was skipped (« no readable PubmedArticle »)."""
    [one, ten] = _openi_files(tmp_path, ("1.xml", "10.xml"))
    [report] = parse_file(one, root=tmp_path)
    assert report.id == "report:CXR1" and report.kind.value == "report" and report.language == "en"
    assert [s.title for s in report.sections] == ["Comparison", "Indication", "Findings", "Impression"]
    assert "no focal consolidation" in report.text
    # de-identified: no patient, and the collection's publication date is not the exam's date
    assert report.patient_id is None and report.date is None
    # the « XXXX » masks are neither words nor shown as such
    assert "XXXX" not in report.text and "[…]" in report.text and report.metadata["masked_spans"] >= 1
    [report10] = parse_file(ten, root=tmp_path)
    assert "XXXX" not in report10.text and "-year-old male" in report10.text
    # MeSH labels are the coders' reading: metadata only, never searchable text
    assert report10.metadata["mesh_major"] and not any(m in report10.text for m in report10.metadata["mesh_major"])


def test_openi_shaped_export_without_text_is_skipped_with_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "empty_openi.xml"
    path.write_text('<?xml version="1.0"?><eCitation><uId id="CXR9"/><MedlineCitation><Article><Abstract>'
                    '<AbstractText Label="FINDINGS"/></Abstract></Article></MedlineCitation></eCitation>', encoding="utf-8")
    with pytest.raises(SourceError, match="Open-i report with no text"):
        parse_file(path)


# --- text, PDF and folder oddities -----------------------------------------------------------------

_REPORT = "IPP : P123\nDate : 12/03/2021\nExamen : Scanner thoracique\n\nIndication :\nDouleur, fièvre.\n\nConclusion :\nÉpanchement pleural modéré.\n"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_read_not_called_binary(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "cr.txt"
    path.write_bytes(_REPORT.encode(encoding))
    [report] = parse_file(path)
    assert (report.patient_id, str(report.date), report.language) == ("P123", "2021-03-12", "fr")
    assert "Épanchement pleural modéré" in report.sections[-1].text


@pytest.mark.parametrize(
    ("encoded", "name"),
    [
        (_REPORT.encode("latin-1"), "latin1"),
        (_REPORT.replace("\n", "\r\n").encode("cp1252"), "cp1252-crlf"),
        (b"\xff\xfe" + _REPORT.encode("utf-16-le"), "utf16-bom"),
        (_REPORT.replace("\n\nConclusion :\n", "\r\n\r\nConclusion :\r").encode("utf-8"), "mixed-line-ends"),
    ],
)
def test_french_report_in_other_encodings_and_line_ends(tmp_path: Path, encoded: bytes, name: str) -> None:
    path = tmp_path / f"{name}.txt"
    path.write_bytes(encoded)
    [report] = parse_file(path)
    assert (report.patient_id, str(report.date)) == ("P123", "2021-03-12")
    assert [s.title for s in report.sections] == ["Indication", "Conclusion"]
    assert "Épanchement pleural modéré." == report.sections[-1].text


def _text_pdf(path: Path, text: str) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    for line in text.splitlines():
        pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def _encrypt(source: Path, target: Path, user: str) -> Path:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password=user, owner_password="proprietaire", algorithm="RC4-128")
    with target.open("wb") as handle:
        writer.write(handle)
    return target


def test_pdf_protected_by_an_owner_password_only_is_read(tmp_path: Path) -> None:
    """Printing/copy protection (empty user password) skipped the report: « File has not been decrypted »."""
    plain = _text_pdf(tmp_path / "plain.pdf", "IPP : P42\nDate : 05/06/2022\n\nConclusion :\nPneumopathie basale droite.")
    [report] = parse_file(_encrypt(plain, tmp_path / "protected.pdf", ""))
    assert report.patient_id == "P42" and "Pneumopathie basale droite" in report.text
    with pytest.raises(SourceError, match="encrypted PDF: a password is needed"):
        parse_file(_encrypt(plain, tmp_path / "locked.pdf", "secret"))


def test_pdf_without_text_layer_and_broken_pdf_say_why(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.write(str(tmp_path / "scan.pdf"))
    with pytest.raises(SourceError, match="no text layer"):
        parse_file(tmp_path / "scan.pdf")
    (tmp_path / "cut.pdf").write_bytes(b"%PDF-1.4\n")
    with pytest.raises(SourceError, match="unreadable PDF"):
        parse_file(tmp_path / "cut.pdf")


def test_symlink_loop_is_named_as_such(tmp_path: Path) -> None:
    import os

    from indexer.sources import discover_sources

    (tmp_path / "cr.txt").write_text(_REPORT, encoding="utf-8")
    os.symlink(tmp_path / "boucle", tmp_path / "boucle")  # extensionless: was « no extension and not a DICOM file »
    os.symlink(tmp_path / "boucle.txt", tmp_path / "boucle.txt")
    os.symlink(tmp_path, tmp_path / "sous-dossier")  # a folder link back to the root: not walked again
    found, skipped = discover_sources([tmp_path])
    assert [s.path.name for s in found] == ["cr.txt"]
    reasons = {Path(p).name: r for p, r in skipped}
    assert reasons == {"boucle": "symbolic link loop: not followed", "boucle.txt": "symbolic link loop: not followed"}
    with pytest.raises(SourceError, match="symbolic link loop"):  # was a RuntimeError out of parse_file
        parse_file(tmp_path / "boucle.txt")


def test_truncated_png_and_exif_rotated_jpeg(tmp_path: Path) -> None:
    import io

    from PIL import Image

    picture = Image.new("RGB", (64, 32), (200, 10, 10))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    (tmp_path / "cut.png").write_bytes(buffer.getvalue()[:60])
    with pytest.raises(SourceError, match="unreadable image"):
        parse_file(tmp_path / "cut.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # « rotate 90° clockwise to display »: a phone photo of a wound, held upright
    picture.save(tmp_path / "photo.jpg", exif=exif.tobytes())
    [image] = parse_file(tmp_path / "photo.jpg")
    assert (image.metadata["rows"], image.metadata["columns"]) == (64, 32)  # as displayed, not as stored


def test_odd_file_names_and_duplicates_under_two_names(tmp_path: Path) -> None:
    from indexer.sources import discover_sources

    for name in ("CR é ü #1 (copie).txt", "dup.txt", "  espace.txt", "ligne\u2028sep.txt"):
        (tmp_path / name).write_text(_REPORT, encoding="utf-8")
    found, skipped = discover_sources([tmp_path])
    assert not skipped and len(found) == 4
    ids = {parse_file(s.path, root=tmp_path)[0].id for s in found}
    assert "report:CR é ü #1 (copie).txt" in ids and len(ids) == 4


def test_empty_and_huge_single_line_files(tmp_path: Path) -> None:
    (tmp_path / "vide.txt").write_bytes(b"")
    (tmp_path / "blancs.txt").write_bytes(b" \r\n\t\n")
    for name in ("vide.txt", "blancs.txt"):
        with pytest.raises(SourceError, match="empty file"):
            parse_file(tmp_path / name)
    (tmp_path / "long.txt").write_bytes(b"IPP : P5\n\n" + b"pneumopathie " * 200_000)
    [report] = parse_file(tmp_path / "long.txt")
    assert report.patient_id == "P5" and len(report.text) > 2_000_000


# --- end to end: what lands in the index, what the run reports --------------------------------------

def test_odd_folder_end_to_end_index_contents_and_reasons(tmp_path: Path, encoder) -> None:  # noqa: ANN001
    import json
    import shutil

    from indexer.backend.embedded.generations import live_layout
    from indexer.backend.embedded.metadata import MetadataStore
    from indexer.pipeline import index_paths
    from indexer.settings import Settings

    source = tmp_path / "exports"
    source.mkdir()
    shutil.copy(_testdata("JPEG-lossy.dcm"), source / "JPEG-lossy.dcm")
    shutil.copy(_charset("chrJapMulti.dcm"), source / "chrJapMulti.dcm")
    (source / "vide.txt").write_bytes(b"")
    entry = [
        {"fullUrl": "Patient/P1", "resource": {"resourceType": "Patient", "id": "P1"}},
        {"fullUrl": "Patient/P2", "resource": {"resourceType": "Patient", "id": "P2"}},
        {"resource": _condition("C1", "asthme sévère", "Patient/P1")},
        {"resource": _condition("C2", "cancer du pancréas", "Patient/P2")},
        {"resource": _condition("C3", "cirrhose", "Patient/P9")},
    ]
    (source / "bundle.json").write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entry}))
    settings = Settings(index={"dir": tmp_path / "index"}, api={"audit_log": tmp_path / "audit.log"})
    report = index_paths([source], settings, encoder)
    store = MetadataStore(live_layout(settings.index.dir).metadata, readonly=True)
    records = {d.patient_id: d for d in store.get_documents(["record:P1", "record:P2"]).values()}
    assert "asthme" in records["P1"].text and "pancréas" not in records["P1"].text
    assert "pancréas" in records["P2"].text and "cirrhose" not in records["P1"].text + records["P2"].text
    images = [d for d in store.get_documents(list(store.document_ids())).values() if d.kind.value == "image"]
    by_patient = {d.patient_id: d for d in images}
    assert set(by_patient) == {"8NM1", "2008-4"}
    assert by_patient["2008-4"].metadata["identifying"]["patient_name"] == "やまだ^たろう"
    assert by_patient["8NM1"].metadata["pixels_error"].startswith("cannot decode pixel data")
    skipped = {Path(p).name: r for p, r in report.skipped}
    assert skipped == {"vide.txt": "empty file"}  # the header-only images are not « ignoré » a second time
    warned = " ".join(note for _, note in report.warnings)
    assert "header indexed without pixels" in warned and "Patient/P9" in warned


def test_dicom_without_study_date_takes_the_acquisition_or_content_date(tmp_path: Path) -> None:
    import pydicom

    ds = pydicom.dcmread(_testdata("CT_small.dcm"))
    ds.StudyDate = ""
    for keyword in ("SeriesDate", "AcquisitionDate"):
        if keyword in ds:
            delattr(ds, keyword)
    ds.ContentDate = "20050607"
    ds.save_as(tmp_path / "ct.dcm")
    [document] = parse_file(tmp_path / "ct.dcm")
    assert str(document.date) == "2005-06-07"  # was None: the exam fell out of every date filter
    ds.ContentDate = ""
    ds.save_as(tmp_path / "ct2.dcm")
    [undated] = parse_file(tmp_path / "ct2.dcm")
    assert undated.date is None and undated.patient_id == "1CT1"


def test_month_precision_dates_are_read_not_called_impossible(tmp_path: Path) -> None:
    """FHIR « 2021-03 » and a header « Date : 03/2021 » were dropped as « impossible date »."""
    path = _bundle(tmp_path, "P1.json", [
        {"resourceType": "Patient", "id": "P1"},
        {**_condition("C1", "asthme", "Patient/P1"), "onsetDateTime": "2019-03"},
    ])
    warnings: list[tuple[str, str]] = []
    [record] = parse_file(path, warnings=warnings)
    assert str(record.date) == "2019-03-01" and not warnings
    report = tmp_path / "cr.txt"
    report.write_text("IPP : P1\nDate : 03/2021\n\nConclusion :\nRAS.\n", encoding="utf-8")
    [document] = parse_file(report, warnings=warnings)
    assert str(document.date) == "2021-03-01" and not warnings
    report.write_text("IPP : P1\nDate : 13/2021\n\nConclusion :\nRAS.\n", encoding="utf-8")
    [document] = parse_file(report, warnings=warnings)
    assert document.date is None and any("impossible date" in note for _, note in warnings)
