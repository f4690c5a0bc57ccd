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
