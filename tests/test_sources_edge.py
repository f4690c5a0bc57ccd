"""Real but awkward exports (tests/fixtures/edge): each is read, or skipped with a reason, and one bad
part never costs a whole file or a whole run (issue #11, item 4)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from indexer.pipeline import index_paths, parse_sources, passage_contexts
from indexer.schema import DocumentKind
from indexer.settings import Settings
from indexer.sources import SourceError, discover_sources, parse_file
from indexer.backend.embedded.generations import live_layout
from indexer.backend.embedded.metadata import MetadataStore
from indexer.text.passages import split_passages

EDGE = Path(__file__).parent / "fixtures" / "edge"


def _parse(relative: str) -> tuple[list, list[tuple[str, str]]]:
    warnings: list[tuple[str, str]] = []
    return parse_file(EDGE / relative, root=EDGE, warnings=warnings), warnings


def test_report_written_only_as_label_lines_keeps_its_text() -> None:
    [doc], _ = _parse("reports/labels_only.txt")
    assert doc.id == "report:reports/labels_only.txt"
    assert (doc.title, doc.patient_id, doc.date) == ("Échographie abdominale", "P777001", dt.date(2024, 2, 12))
    assert [s.title for s in doc.sections] == ["Indication", "Résultat", "Conclusion"]
    assert "lithiase vésiculaire non compliquée" in doc.text and "hypochondre droit" in doc.text
    assert "P777001" not in doc.text  # identification keys stay out of the searchable text


def test_out_of_range_report_date_is_dropped_with_a_warning() -> None:
    [doc], warnings = _parse("reports/date_3024.txt")
    assert doc.date is None and "Gonarthrose" in doc.text
    assert warnings and "01/03/3024" in warnings[0][1] and "outside the supported range" in warnings[0][1]


def test_article_from_1628_is_indexed_without_its_date() -> None:
    [doc], warnings = _parse("articles/harvey_1628.json")
    assert (doc.id, doc.date, doc.metadata["year"]) == ("article:ART-1628", None, 1628)
    assert any("1628" in message for _, message in warnings)


def test_article_list_keeps_its_valid_items() -> None:
    docs, warnings = _parse("articles/list_one_invalid.json")
    assert [d.id for d in docs] == ["article:ART-L1", "article:ART-L3"]
    assert len(warnings) == 1 and "item 1" in warnings[0][1]


def test_unknown_fhir_resource_types_are_skipped_and_the_record_kept_with_its_treatment() -> None:
    [doc], warnings = _parse("records/unknown_type.json")
    assert doc.id == "record:P777010" and doc.kind is DocumentKind.RECORD
    assert "Pneumopathie franche lobaire aiguë" in doc.text and "CRP : 180 mg/L" in doc.text
    notes = " ".join(message for _, message in warnings)
    assert "VendorSpecificThing" in notes and "MedicationRequest" not in notes  # treatments are read now
    assert "Traitements\nAmoxicilline [en cours]" in doc.text


def test_refuted_condition_is_negated_and_entered_in_error_is_not_indexed() -> None:
    [doc], warnings = _parse("records/refuted.json")
    assert "Sarcoïdose" not in doc.text and "Hémoglobine" not in doc.text  # entered-in-error
    assert "Pneumopathie communautaire" in doc.text and "D-dimères" in doc.text
    problems = next(p for p in split_passages(doc, 120, 20) if "embolie pulmonaire" in p.text)
    contexts = passage_contexts(doc, problems)
    assert "embolie pulmonaire" in contexts.get("negated", "")  # what the clinical detector reads
    assert "embolie pulmonaire" not in contexts.get("affirmed", "")
    assert "Pneumopathie communautaire" in contexts.get("affirmed", "")
    assert sum("entered-in-error" in message for _, message in warnings) == 2


def test_cp1252_report_decodes_correctly() -> None:
    [doc], _ = _parse("reports/cp1252.txt")
    assert "L’œdème pulmonaire" in doc.text and "cœur" in doc.text and "120 €" in doc.text


def test_binary_file_without_nul_bytes_is_not_indexed_as_text() -> None:
    assert b"\x00" not in (EDGE / "reports" / "binary_no_nul.txt").read_bytes()
    with pytest.raises(SourceError, match="binary content"):
        parse_file(EDGE / "reports" / "binary_no_nul.txt")


def test_symlinks_leaving_the_indexed_folder_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "private").mkdir(parents=True)
    shutil.copy(EDGE / "reports" / "labels_only.txt", outside / "secret.txt")
    shutil.copy(EDGE / "reports" / "cp1252.txt", outside / "private" / "other.txt")
    root = tmp_path / "exports"
    root.mkdir()
    shutil.copy(EDGE / "reports" / "date_3024.txt", root / "kept.txt")
    (root / "link.txt").symlink_to(outside / "secret.txt")
    (root / "linked_dir").symlink_to(outside / "private", target_is_directory=True)
    (root / "inside.txt").symlink_to(root / "kept.txt")  # inside the root: the same file, read once
    files, skipped = discover_sources([root])
    assert [f.path.name for f in files] == ["kept.txt"]
    assert {Path(p).name for p, _ in skipped} == {"link.txt", "linked_dir"}
    assert all("not followed" in reason for _, reason in skipped)
    documents, skipped_run, _ = parse_sources([root], None)
    assert [d.id for d in documents] == ["report:kept.txt"] and len(skipped_run) == 2


def test_edge_folder_indexes_in_one_run(tmp_path: Path, encoder) -> None:
    """The whole edge folder in one run: nothing aborts it, every readable document lands."""
    folder = tmp_path / "edge"
    shutil.copytree(EDGE, folder)
    settings = Settings(index={"dir": tmp_path / "index"})
    report = index_paths([folder], settings, encoder)
    store = MetadataStore(live_layout(settings.index.dir).metadata, readonly=True)
    ids = set(store.document_ids())
    assert {"report:reports/date_3024.txt", "article:ART-1628", "article:ART-L1", "article:ART-L3",
            "record:P777010", "record:P777011", "report:reports/labels_only.txt"} <= ids
    assert {Path(p).name for p, _ in report.skipped} == {"binary_no_nul.txt"}
    assert report.warnings


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_reports_with_a_bom_are_read(tmp_path: Path, encoding: str) -> None:
    """Windows Notepad's « Unicode » (UTF-16 LE with a BOM) was skipped as « binary content »."""
    text = "IPP : P777050\nDate : 01/03/2024\nTitre : Radiographie thoracique\n\nConclusion :\nPneumothorax droit. Pas d'épanchement.\n"
    raw = text.encode(encoding)
    if encoding == "utf-16-be":
        raw = b"\xfe\xff" + raw  # the big-endian codec writes no BOM of its own
    path = tmp_path / "cr.txt"
    path.write_bytes(raw)
    [doc] = parse_file(path)
    assert (doc.patient_id, doc.date, doc.title) == ("P777050", dt.date(2024, 3, 1), "Radiographie thoracique")
    assert "Pneumothorax droit" in doc.text and "épanchement" in doc.text


def test_acr_nema_dotted_dicom_date_is_read() -> None:
    """« 1997.04.24 » (ACR-NEMA style, in DICOM converted from older systems) was dropped as an « impossible date »."""
    from indexer.sources.common import collect_warnings, parse_date

    with collect_warnings() as notes:
        assert parse_date("1997.04.24") == dt.date(1997, 4, 24)
        assert parse_date("24.04.1997") == dt.date(1997, 4, 24)
    assert notes == []


def test_fhir_resource_without_type_is_named_in_the_warning(tmp_path: Path) -> None:
    """A resource with no resourceType was reported as « 1 ? resource(s) not read », an entry with no
    resource was dropped without a word."""
    import json

    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "P777051"}},
        {"resource": {"resourceType": "Observation", "status": "final"}},
        {"resource": {"id": "x"}},
        {"fullUrl": "urn:uuid:1"},
    ]}
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    warnings: list[tuple[str, str]] = []
    [doc] = parse_file(path, warnings=warnings)
    assert doc.id == "record:P777051"
    assert doc.sections[0].text == "Patient P777051."  # was « Patient P777051, , né(e) le ?. »
    notes = [message for _, message in warnings]
    assert "2 entry(ies) without a resource or its resourceType (entry 2, 3): skipped" in notes
    assert any(note.startswith("Observation (entry 1) invalid at code") for note in notes)
    assert not any("?" in note or "  " in note for note in notes)


def test_symlink_loops_and_dangling_links_are_skipped_with_a_reason(tmp_path: Path) -> None:
    """A link loop named like a report (`a.txt` → `b.txt` → `a.txt`) made discovery raise and the whole run
    fail; a link to a deleted file was dropped without a word."""
    root = tmp_path / "exports"
    root.mkdir()
    shutil.copy(EDGE / "reports" / "date_3024.txt", root / "kept.txt")
    (root / "a.txt").symlink_to(root / "b.txt")
    (root / "b.txt").symlink_to(root / "a.txt")
    (root / "gone.txt").symlink_to(root / "deleted.txt")
    files, skipped = discover_sources([root])
    assert [f.path.name for f in files] == ["kept.txt"]
    reasons = {Path(p).name: reason for p, reason in skipped}
    assert reasons["a.txt"] == reasons["b.txt"] == "symbolic link loop: not followed"
    assert reasons["gone.txt"] == f"broken symbolic link: its target {root / 'deleted.txt'} does not exist"
    documents, skipped_run, _ = parse_sources([root], None)
    assert [d.id for d in documents] == ["report:kept.txt"] and len(skipped_run) == 3


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16"])
def test_fhir_bundle_not_in_utf8_keeps_its_accents(tmp_path: Path, encoding: str) -> None:
    """A Windows-1252 bundle was read as UTF-8 with replacement characters (« Diab\ufffdte », never found);
    a UTF-16 one failed as « malformed JSON »."""
    import json

    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "P777052", "gender": "female"}},
        {"resource": {"resourceType": "Condition", "subject": {"reference": "Patient/P777052"},
                      "code": {"text": "Diabète de type 2 déséquilibré"}}},
    ]}
    path = tmp_path / "bundle.json"
    path.write_bytes(json.dumps(bundle, ensure_ascii=False).encode(encoding))
    [doc] = parse_file(path)
    assert doc.id == "record:P777052" and "Diabète de type 2 déséquilibré" in doc.text and "\ufffd" not in doc.text


@pytest.mark.parametrize(
    "text",
    [
        "\n\nIPP : P777053\nDate : 02/01/2024\n\nConclusion :\nPas d'embolie pulmonaire.\n",
        "# Compte rendu d'angioscanner\n\nIPP : P777053\nDate : 02/01/2024\n\n## Conclusion\nPas d'embolie pulmonaire.\n",
        "CENTRE HOSPITALIER LYON SUD\nService de radiologie\n\nIPP : P777053\nDate : 02/01/2024\n\n"
        "Conclusion :\nPas d'embolie pulmonaire.\n",
    ],
    ids=["leading-blank-lines", "markdown-title-above-header", "letterhead-above-header"],
)
def test_header_after_blank_lines_or_a_markdown_title_is_read(tmp_path: Path, text: str) -> None:
    """The header was only the block before the first blank line: a report starting with a blank line, or
    with a « # Title » or a letterhead above its header, lost its IPP and date (tied to no patient), the IPP left in its text."""
    path = tmp_path / "cr.md"
    path.write_text(text, encoding="utf-8")
    [doc] = parse_file(path)
    assert (doc.patient_id, doc.date) == ("P777053", dt.date(2024, 1, 2))
    assert "P777053" not in doc.text and "Pas d'embolie pulmonaire." in doc.text
    assert doc.sections[-1].title == "Conclusion"


def test_a_body_paragraph_without_identification_is_not_taken_for_a_header(tmp_path: Path) -> None:
    """The letterhead rule needs the next block to name the patient or the exam: « Examen : ... » in the
    second paragraph of a report without header stays clinical text."""
    path = tmp_path / "cr.txt"
    path.write_text("Douleur thoracique.\n\nExamen : radiographie du thorax.\nPas de pneumothorax.\n", encoding="utf-8")
    [doc] = parse_file(path)
    assert doc.patient_id is None and doc.title == "cr" and "radiographie du thorax" in doc.text


def test_unsupported_files_in_a_folder_are_reported_with_their_reason(tmp_path: Path) -> None:
    """A data engineer drops an export folder with a ``.docx`` and a ``.csv`` next to the reports: they are
    not read, and the run says so (they were left out in silence: « fichiers lus 5 » of 7, « ignorés 0 »);
    hidden files and files matching an ignore pattern stay silent."""
    (tmp_path / "cr.txt").write_text("Compte rendu : pas d'épanchement.", encoding="utf-8")
    (tmp_path / "courrier.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / "export.csv").write_text("a;b\n", encoding="utf-8")
    (tmp_path / "LISEZMOI").write_text("pas un DICOM", encoding="utf-8")
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x00")
    (tmp_path / "notes.bak").write_text("brouillon", encoding="utf-8")
    files, skipped = discover_sources([tmp_path], ignore=["*.bak"])
    assert [f.path.name for f in files] == ["cr.txt"]
    reasons = {Path(path).name: reason for path, reason in skipped}
    assert set(reasons) == {"courrier.docx", "export.csv", "LISEZMOI"}
    assert reasons["courrier.docx"].startswith("unsupported file type '.docx'") and ".pdf" in reasons["courrier.docx"]
    assert reasons["LISEZMOI"].startswith("no extension and not a DICOM file")
