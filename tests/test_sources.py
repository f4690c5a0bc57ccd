"""Parsing of each source kind, including the broken files the indexer must skip with a reason."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from indexer.schema import DocumentKind
from indexer.sources import SourceError, discover_files, parse_file
from indexer.text.language import detect_language
from conftest import PMID_T02, RPT_T001, FIXTURES, write_ct_dicom



def test_french_report_header_sections_and_language() -> None:
    [doc] = parse_file(FIXTURES / "reports" / "RPT-T001.txt")
    assert doc.id == RPT_T001
    assert doc.kind is DocumentKind.REPORT
    assert doc.patient_id == "P900001"
    assert doc.date == dt.date(2024, 3, 14)
    assert doc.title == "Scanner thoracique injecté"
    assert doc.language == "fr"
    assert doc.metadata["accession"] == "ACC9000001"
    assert [s.title for s in doc.sections] == ["INDICATION", "TECHNIQUE", "RÉSULTATS", "CONCLUSION"]
    assert "Épanchement pleural droit abondant" in doc.sections[-1].text


def test_english_markdown_report() -> None:
    [doc] = parse_file(FIXTURES / "reports" / "RPT-T004.md")
    assert (doc.patient_id, doc.date, doc.language) == ("P900004", dt.date(2024, 7, 1), "en")
    assert [s.title for s in doc.sections] == ["Indication", "Findings", "Impression"]


def test_fhir_bundle_becomes_one_record() -> None:
    [doc] = parse_file(FIXTURES / "records" / "P900003.json")
    assert doc.kind is DocumentKind.RECORD
    assert doc.patient_id == "P900003"
    assert "Infarctus du myocarde antérieur (IDM)" in doc.text
    assert "Troponine T : 1250 ng/L" in doc.text
    assert "http://hl7.org/fhir/sid/icd-10|I21.0" in doc.metadata["codes"]
    assert doc.date == dt.date(2024, 6, 18)


def test_article_json_and_pubmed_xml() -> None:
    [article] = parse_file(FIXTURES / "articles" / "ART-T01.json")
    assert (article.kind, article.language, article.date.year) == (DocumentKind.ARTICLE, "en", 2021)
    assert article.metadata["figures"][0]["file"] == "figures/ART-T01-fig1.png"
    [xml] = parse_file(FIXTURES / "articles" / "pubmed-T02.xml")
    assert xml.id == PMID_T02
    assert xml.language == "fr"
    assert xml.metadata["authors"] == ["Claire Dupont"]
    assert [s.title for s in xml.sections][:2] == ["Contexte", "Résultats"]


def test_dicom_header_becomes_searchable_text(tmp_path: Path) -> None:
    path = tmp_path / "IMG-1.dcm"
    write_ct_dicom(path, "P1", "ACC1")
    [doc] = parse_file(path)
    assert (doc.kind, doc.modality, doc.patient_id) == (DocumentKind.IMAGE, "CT", "P1")
    assert doc.date == dt.date(2024, 3, 14)
    assert "TDM THORAX INJECTE" in doc.text and "thorax" in doc.text
    assert doc.metadata["accession"] == "ACC1"
    assert doc.metadata["identifying"]["patient_name"] == "EXEMPLE^JEAN"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("corrupt.dcm", b"not a dicom" * 20, "not a readable DICOM"),
        ("truncated.json", b'{"resourceType": "Bundle", "ty', "malformed JSON"),
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"   \n\n ", "empty file"),
        ("bad.pdf", b"%PDF-1.4 garbage", "PDF"),
        ("broken.xml", b"<PubmedArticleSet><PubmedArticle>", "malformed XML"),
        ("figure.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "unreadable image"),
        ("notes.docx", b"PK\x03\x04", "unsupported file type"),
    ],
)
def test_broken_files_raise_source_error_with_reason(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SourceError) as excinfo:
        parse_file(path)
    assert reason in excinfo.value.reason
    assert excinfo.value.path == str(path)


def test_truncated_dicom_pixel_data_keeps_its_header(tmp_path: Path) -> None:
    """Pixels cut off by a transfer: the exam is still indexed from its header, the reason stated."""
    path = tmp_path / "IMG-2.dcm"
    write_ct_dicom(path, "P1", "ACC1")
    path.write_bytes(path.read_bytes()[:-3000])
    warnings: list[tuple[str, str]] = []
    [document] = parse_file(path, warnings=warnings)
    assert document.patient_id == "P1" and document.modality == "CT"
    assert "pixel data" in document.metadata["pixels_error"]
    assert [note for _, note in warnings if note.startswith("header indexed without pixels")]


def test_invalid_fhir_and_article_name_the_bad_field(tmp_path: Path) -> None:
    fhir = tmp_path / "bad_fhir.json"
    fhir.write_text('{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient", "gender": 12}}]}')
    with pytest.raises(SourceError, match="invalid FHIR Bundle"):
        parse_file(fhir)
    article = tmp_path / "bad_article.json"
    article.write_text('{"id": "A1", "year": 2020}')
    with pytest.raises(SourceError, match="field 'title'"):
        parse_file(article)


def test_oversized_file_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("IPP : P1\n\n" + "mot " * 1000)
    with pytest.raises(SourceError, match="too large"):
        parse_file(path, max_bytes=100)


def test_discover_files_is_sorted_and_filters_extensions(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ("b/z.txt", "a.json", "ignore.exe", "b/c.dcm"):
        (tmp_path / name).write_text("x")
    assert [p.relative_to(tmp_path).as_posix() for p in discover_files([tmp_path])] == ["a.json", "b/c.dcm", "b/z.txt"]
    (tmp_path / "ground_truth.json").write_text("{}")
    (tmp_path / "b" / ".hidden.txt").write_text("x")
    kept = discover_files([tmp_path], ignore=[".*", "ground_truth.json"])
    assert [p.relative_to(tmp_path).as_posix() for p in kept] == ["a.json", "b/c.dcm", "b/z.txt"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Absence d'épanchement pleural et pas de pneumothorax.", "fr"),
        ("No pleural effusion and no pneumothorax on the left side.", "en"),
        ("IRM", "und"),
        # short French conclusions were « und » (left out by a language=fr filter)
        ("Appendicite aiguë.", "fr"),
        ("Embolie pulmonaire bilatérale. Épanchement pleural gauche.", "fr"),
        ("Cholecystectomie sous coelioscopie sans complication.", "fr"),
        ("Café au lait spots on the left arm.", "en"),
        ("Pneumothorax", "und"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language
