"""The same document exported more than once is indexed once (indexer/sources/duplicates.py).

Every test writes its own export folders (tmp_path) and runs the real pipeline: what the index holds
(ids, ``duplicate_sources``, passages in each store), what the run report says, and what incremental
runs do when copies come and go.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pydicom
import pytest

from conftest import write_ct_dicom
from es_support import ES_URL, SKIP_REASON, unique_prefix
from indexer.backend.embedded.dense import DenseIndex
from indexer.backend.embedded.generations import live_layout
from indexer.backend.embedded.lexical import LexicalIndex
from indexer.backend.embedded.metadata import MetadataStore
from indexer.check import check_index
from indexer.pipeline import IndexReport, index_paths, parse_sources
from indexer.schema import Document, DocumentKind
from indexer.settings import Settings
from indexer.sources import discover_sources
from indexer.sources.duplicates import content_key, normalise_text
from indexer.streaming import iter_batches, scan

CR_123 = "IPP : P1\nDate : 02/01/2024\nExamen : Scanner thoracique\n\nConclusion :\nNodule pulmonaire lobaire supérieur droit.\n"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _store(settings: Settings) -> MetadataStore:
    return MetadataStore(live_layout(settings.index.dir).metadata, readonly=True)


def _found(settings: Settings, word: str) -> list[str]:
    """Ids of the documents the lexical store finds for *word* (one entry per passage hit)."""
    store = _store(settings)
    hits = LexicalIndex(live_layout(settings.index.dir).lexical).search(word, 20)
    return sorted(store.get_passages([h.pid])[h.pid].doc_id for h in hits)


def _names(lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted((Path(path).parent.name + "/" + Path(path).name, message) for path, message in lines)


def _assert_consistent(settings: Settings) -> None:
    """The three stores agree (``medsearch check``) and hold as many passages as the metadata store."""
    assert check_index(settings.index.dir).ok
    assert len(DenseIndex.load(live_layout(settings.index.dir).dense, 512)) == _store(settings).passage_count()


def _settings(tmp_path: Path) -> Settings:
    return Settings(index={"dir": tmp_path / "index"})


def test_the_same_report_in_two_export_folders_is_indexed_once(tmp_path: Path, encoder) -> None:
    """Before: ``report:export_2024/CR_123.txt`` and ``report:rattrapage/CR_123.txt``, the report found
    twice and counted twice. Now one document, the other file named on it and in the run report."""
    src = tmp_path / "src"
    kept = _write(src / "export_2024" / "CR_123.txt", CR_123)
    copy = _write(src / "rattrapage" / "CR_123.txt", CR_123)
    settings = _settings(tmp_path)
    report = index_paths([src], settings, encoder)
    store = _store(settings)
    assert store.document_ids() == ["report:export_2024/CR_123.txt"]
    assert store.get_document("report:export_2024/CR_123.txt").metadata["duplicate_sources"] == [str(copy)]
    assert (report.documents_added, report.skipped, report.warnings) == (1, [], [])
    assert report.duplicates == [(str(copy), f"duplicate of {kept} (report:export_2024/CR_123.txt): same patient, "
                                             "date and text (its own id would be report:rattrapage/CR_123.txt); not indexed again")]
    assert set(_found(settings, "Nodule")) == {"report:export_2024/CR_123.txt"}
    _assert_consistent(settings)


def test_the_copy_kept_does_not_depend_on_the_order_folders_are_given(tmp_path: Path, encoder) -> None:
    """Each folder given on its own: both copies get the id ``report:CR_123.txt``; the copy at the
    smallest path is kept whichever folder comes first, and the other is a duplicate, not « skipped »."""
    src = tmp_path / "src"
    _write(src / "export_2024" / "CR_123.txt", CR_123)
    _write(src / "rattrapage" / "CR_123.txt", CR_123)
    kept = []
    for order, folders in enumerate(([src / "rattrapage", src / "export_2024"], [src / "export_2024", src / "rattrapage"])):
        settings = Settings(index={"dir": tmp_path / f"index{order}"})
        report = index_paths(folders, settings, encoder)
        assert report.skipped == [] and len(report.duplicates) == 1
        kept.append(_store(settings).source_paths())
    assert kept[0] == kept[1] == {"report:CR_123.txt": str(src / "export_2024" / "CR_123.txt")}


def test_a_pdf_and_its_text_conversion_are_one_report(tmp_path: Path, encoder) -> None:
    from fpdf import FPDF

    text = "IPP : P2\nDate : 03/01/2024\n\nConclusion :\nFracture du col femoral droit."
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    for line in text.splitlines():
        pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    (tmp_path / "src").mkdir()
    pdf.output(str(tmp_path / "src" / "CR_200.pdf"))
    _write(tmp_path / "src" / "CR_200.txt", text + "\n")
    settings = _settings(tmp_path)
    report = index_paths([tmp_path / "src"], settings, encoder)
    store = _store(settings)
    assert store.document_ids() == ["report:CR_200.pdf"]  # the smallest id
    assert store.get_document("report:CR_200.pdf").metadata["duplicate_sources"] == [str(tmp_path / "src" / "CR_200.txt")]
    assert _names(report.duplicates)[0][0] == "src/CR_200.txt"


def test_what_is_never_merged(tmp_path: Path, encoder) -> None:
    """Same text but another patient, another date, no patient at all, or two accession numbers of the
    source's own: different documents, all indexed."""
    body = "\n\nConclusion :\nRadiographie thoracique normale.\n"
    src = tmp_path / "src"
    _write(src / "a" / "P1.txt", "IPP : P1\nDate : 02/01/2024" + body)
    _write(src / "b" / "P2.txt", "IPP : P2\nDate : 02/01/2024" + body)  # another patient
    _write(src / "c" / "P1-later.txt", "IPP : P1\nDate : 03/01/2024" + body)  # another day
    _write(src / "d" / "anon1.txt", "Date : 02/01/2024" + body)  # no patient: maybe two patients
    _write(src / "d" / "anon2.txt", "Date : 02/01/2024" + body)
    _write(src / "e" / "A1.txt", "IPP : P3\nN° d'examen : A1\nDate : 02/01/2024" + body)  # two exams of P3
    _write(src / "e" / "A2.txt", "IPP : P3\nN° d'examen : A2\nDate : 02/01/2024" + body)
    settings = _settings(tmp_path)
    report = index_paths([src], settings, encoder)
    assert report.duplicates == [] and report.documents_added == 7
    assert len(_store(settings).document_ids()) == 7


def test_a_copy_without_accession_number_joins_the_report_that_has_one(tmp_path: Path, encoder) -> None:
    """A report's id of its own (its accession number) is kept over a path-keyed copy of it."""
    src = tmp_path / "src"
    _write(src / "a" / "CR.txt", "IPP : P1\nN° d'examen : Z9\nDate : 02/01/2024\n\nConclusion :\nHernie discale L5-S1.\n")
    _write(src / "0" / "CR.txt", "IPP : P1\nDate : 02/01/2024\n\nConclusion :\nHernie discale L5-S1.\n")
    settings = _settings(tmp_path)
    report = index_paths([src], settings, encoder)
    assert _store(settings).document_ids() == ["report:Z9"]  # not report:0/CR.txt, the smaller id
    assert _names(report.duplicates)[0][0] == "0/CR.txt"


def test_one_id_with_different_content_is_reported_on_both_files(tmp_path: Path, encoder) -> None:
    """Same accession number, different text: one version is indexed (the smallest path), and the run
    report names both files, on the skipped file and as a warning on the kept one: nothing is mixed."""
    src = tmp_path / "src"
    kept = _write(src / "export_2024" / "A1.txt", "IPP : P3\nN° d'examen : A1\n\nConclusion :\nPneumothorax droit.\n")
    other = _write(src / "rattrapage" / "A1.txt", "IPP : P3\nN° d'examen : A1\n\nConclusion :\nPneumothorax gauche.\n")
    settings = _settings(tmp_path)
    report = index_paths([src], settings, encoder)
    assert report.duplicates == []
    assert report.skipped == [(str(other), f"duplicate document id 'report:A1' with different content (indexed: {kept}): "
                                           "this version is not indexed")]
    assert report.warnings == [(str(kept), f"document id 'report:A1' is also given by {other} with different content: "
                                           "that version is not indexed, check the export")]
    document = _store(settings).get_document("report:A1")
    assert "Pneumothorax droit" in document.text and "gauche" not in document.text
    assert "duplicate_sources" not in document.metadata


def test_a_fhir_bundle_exported_twice(tmp_path: Path, encoder) -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "P4", "gender": "female", "birthDate": "1950-01-01"}},
        {"resource": {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/P4"},
                      "code": {"text": "Diabète de type 2"}, "recordedDate": "2020-01-01"}}]}
    src = tmp_path / "src"
    _write(src / "export_2024" / "P4.json", json.dumps(bundle))
    _write(src / "rattrapage" / "P4.json", json.dumps(bundle, indent=2))  # re-exported, formatted otherwise
    settings = _settings(tmp_path)
    report = index_paths([src], settings, encoder)
    assert _store(settings).document_ids() == ["record:P4"]
    assert _names(report.duplicates) == [("rattrapage/P4.json", f"duplicate of {src / 'export_2024' / 'P4.json'} "
                                          "(record:P4): same id, same content; not indexed again")]
    assert report.skipped == []  # before: « skipped: duplicate document id », as if the file were broken


def test_incremental_runs_follow_the_copies(tmp_path: Path, encoder) -> None:
    """Unchanged copies stay unchanged; deleting the kept copy's file keeps the other one (nothing
    vanishes); the copy with the smaller id coming back takes its place without leaving a twin."""
    src = tmp_path / "src"
    kept = _write(src / "export_2024" / "CR_123.txt", CR_123)
    copy = _write(src / "rattrapage" / "CR_123.txt", CR_123)
    settings = _settings(tmp_path)
    index_paths([src], settings, encoder)
    again = index_paths([src], settings, encoder, prune=True)
    assert (again.documents_added, again.documents_updated, again.documents_unchanged, again.documents_removed) == (0, 0, 1, 0)
    assert len(again.duplicates) == 1

    kept.unlink()
    third = index_paths([src], settings, encoder, prune=True)
    assert _store(settings).source_paths() == {"report:rattrapage/CR_123.txt": str(copy)}
    assert "duplicate_sources" not in _store(settings).get_document("report:rattrapage/CR_123.txt").metadata
    assert (third.documents_added, third.documents_removed, third.duplicates) == (1, 1, [])
    assert set(_found(settings, "Nodule")) == {"report:rattrapage/CR_123.txt"}

    _write(kept, CR_123)  # back, without --prune: the rattrapage document is superseded, not left as a twin
    fourth = index_paths([src], settings, encoder)
    assert _store(settings).document_ids() == ["report:export_2024/CR_123.txt"]
    assert (fourth.documents_added, fourth.documents_removed) == (1, 1)
    assert (str(copy), "now indexed as report:export_2024/CR_123.txt: its previous document "
                       "report:rattrapage/CR_123.txt was removed") in fourth.warnings
    assert set(_found(settings, "Nodule")) == {"report:export_2024/CR_123.txt"}
    _assert_consistent(settings)


def test_a_report_moved_to_another_folder_survives_prune(tmp_path: Path, encoder) -> None:
    """Its hash leaves the path out: the moved report counted as unchanged, kept its old path, and
    ``--prune`` removed it although its file is there (the kept copy of an accession number deleted,
    its identical copy left, did the same)."""
    src = tmp_path / "src"
    first = _write(src / "export_2024" / "A1.txt", "IPP : P3\nN° d'examen : A1\n\nConclusion :\nPneumothorax droit.\n")
    settings = _settings(tmp_path)
    index_paths([src], settings, encoder)
    moved = src / "rattrapage" / "A1.txt"
    moved.parent.mkdir()
    first.rename(moved)
    report = index_paths([src], settings, encoder, prune=True)
    assert _store(settings).source_paths() == {"report:A1": str(moved)}
    assert (report.documents_updated, report.documents_removed) == (1, 0)
    assert _found(settings, "Pneumothorax") == ["report:A1"]
    _assert_consistent(settings)


def test_a_dicom_instance_in_two_folders_is_one_instance(tmp_path: Path, encoder) -> None:
    """The series was one document already, but listed the copied instance's UID twice (and chose its
    « middle » instance among the copies); the copy is now a listed duplicate."""
    src = tmp_path / "src"
    for number, name in ((1, "S-A"), (2, "S-B"), (3, "S-C")):
        path = src / "export_2024" / f"{name}.dcm"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_ct_dicom(path, "P5", "ACC5", instance_number=number)
    (src / "rattrapage").mkdir()
    shutil.copy(src / "export_2024" / "S-C.dcm", src / "rattrapage" / "S-C.dcm")
    settings = _settings(tmp_path)
    report = index_paths([src], settings, encoder)
    [image_id] = _store(settings).document_ids()
    image = _store(settings).get_document(image_id)
    sops = [pydicom.dcmread(src / "export_2024" / f"{n}.dcm").SOPInstanceUID for n in ("S-A", "S-B", "S-C")]
    assert image.metadata["series_instances"] == sops
    assert image.metadata["duplicate_sources"] == [str(src / "rattrapage" / "S-C.dcm")]
    assert image.source_path == str(src / "export_2024" / "S-B.dcm")  # the middle of three, not of four
    assert _names(report.duplicates) == [("rattrapage/S-C.dcm", f"duplicate of {src / 'export_2024' / 'S-C.dcm'} "
                                          f"({image_id}): same SOP Instance UID {sops[2]}; not indexed again")]


def test_streamed_batches_equal_the_whole_corpus_parse_with_duplicates(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _write(src / "export_2024" / "CR_123.txt", CR_123)
    _write(src / "rattrapage" / "CR_123.txt", CR_123)
    _write(src / "rattrapage" / "other" / "CR_123.txt", CR_123)
    _write(src / "export_2024" / "A1.txt", "IPP : P3\nN° d'examen : A1\n\nConclusion :\nPneumothorax droit.\n")
    _write(src / "rattrapage" / "A1.txt", "IPP : P3\nN° d'examen : A1\n\nConclusion :\nPneumothorax gauche.\n")
    whole, skipped, _ = parse_sources([src], None, warnings=(warnings := []))
    files, _ = discover_sources([src])
    table = scan(files, None)
    streamed = {d.id: d for batch in iter_batches(files, table, None, batch_files=1) for d in batch}
    assert {d.id: d.model_dump() for d in whole} == {i: d.model_dump() for i, d in streamed.items()}
    assert streamed["report:export_2024/CR_123.txt"].metadata["duplicate_sources"] == [
        str(src / "rattrapage" / "CR_123.txt"), str(src / "rattrapage" / "other" / "CR_123.txt")]
    assert table.skipped == skipped and len(skipped) == 1 and table.warnings == warnings


def test_content_key_reads_through_layout_not_through_words() -> None:
    """White space and NFKC forms (a PDF's line breaks, « ﬁ », non-breaking spaces) are layout; case
    and punctuation are words of the report and keep two texts apart."""
    def report(text: str, patient: str | None = "P1") -> Document:
        return Document(id="report:x", kind=DocumentKind.REPORT, text=text, patient_id=patient)

    assert normalise_text("  Pas\u00a0d'épanchement\n\n pleural  ") == "Pas d'épanchement pleural"
    assert content_key(report("ﬁbrose  pulmonaire\n")) == content_key(report("fibrose pulmonaire"))
    assert content_key(report("Fibrose pulmonaire")) != content_key(report("fibrose pulmonaire"))
    assert content_key(report("fibrose", "P1")) != content_key(report("fibrose", "P2"))


def test_the_cli_says_how_many_duplicates_were_skipped(capsys) -> None:
    from indexer.cli import _print_report

    report = IndexReport(files_seen=2, documents_added=1, duplicates=[("/x/b/CR.txt", "duplicate of /x/a/CR.txt (report:a/CR.txt): …")])
    _print_report(report)
    out = capsys.readouterr().out
    assert "doublons ignorés" in out and "1" in out.split("doublons ignorés")[1].splitlines()[0]
    assert "doublon /x/b/CR.txt: duplicate of /x/a/CR.txt" in " ".join(out.split())


@pytest.mark.elasticsearch
@pytest.mark.skipif(not ES_URL, reason=SKIP_REASON)
def test_incremental_copies_on_elasticsearch(tmp_path: Path, encoder) -> None:
    """The same runs on the Elasticsearch backend: the choice of copies is made before the writer, so
    both backends hold the same documents (and the moved/superseded rewrites use the writer interface)."""
    from indexer.backend.factory import open_backend
    from indexer.backend.filters import DocumentFilter
    from indexer.check import check_configured

    src = tmp_path / "src"
    kept = _write(src / "export_2024" / "CR_123.txt", CR_123)
    copy = _write(src / "rattrapage" / "CR_123.txt", CR_123)
    settings = Settings(index={"dir": tmp_path / "index"},
                        backend={"kind": "elasticsearch", "url": ES_URL, "index_prefix": unique_prefix()})

    def stored() -> dict[str, str]:
        backend = open_backend(settings)
        try:
            ids = backend.document_ids_where(DocumentFilter())
            return {doc_id: d.source_path for doc_id, d in backend.get_documents(ids).items()}
        finally:
            backend.close()

    first = index_paths([src], settings, encoder)
    assert (first.documents_added, len(first.duplicates)) == (1, 1)
    assert stored() == {"report:export_2024/CR_123.txt": str(kept)}
    kept.unlink()
    index_paths([src], settings, encoder, prune=True)
    assert stored() == {"report:rattrapage/CR_123.txt": str(copy)}
    _write(kept, CR_123)
    index_paths([src], settings, encoder)
    assert stored() == {"report:export_2024/CR_123.txt": str(kept)}
    assert check_configured(settings).ok


def test_a_contradicting_copy_at_a_smaller_path_replaces_the_indexed_version_and_says_so(tmp_path: Path, encoder) -> None:
    """The version kept is the smallest path's, in every run: a contradicting file appearing at a smaller
    path replaces the indexed one; the skipped line must not claim « its previously indexed version is kept »."""
    src = tmp_path / "src"
    later = _write(src / "rattrapage" / "A1.txt", "IPP : P3\nN° d'examen : A1\n\nConclusion :\nPneumothorax gauche.\n")
    settings = _settings(tmp_path)
    index_paths([src], settings, encoder)
    first = _write(src / "export_2024" / "A1.txt", "IPP : P3\nN° d'examen : A1\n\nConclusion :\nPneumothorax droit.\n")
    report = index_paths([src], settings, encoder)
    assert report.documents_updated == 1
    assert report.skipped == [(str(later), f"duplicate document id 'report:A1' with different content (indexed: {first}): "
                                           "this version is not indexed")]
    assert _store(settings).source_paths() == {"report:A1": str(first)}
    assert "Pneumothorax droit" in _store(settings).get_document("report:A1").text
