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
