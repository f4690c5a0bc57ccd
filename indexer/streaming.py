"""Documents in bounded batches, linked exactly as a whole-corpus parse would link them.

A whole-corpus run parses every file, then links images to reports and figures to articles
(:mod:`indexer.linking`), then splits, encodes and writes: memory grows with the corpus and a crash
after hours keeps nothing. Streaming needs the links without the documents, hence two passes:

1. :func:`scan` parses every file once and keeps only what linking and de-duplication need (a few
   hundred bytes per document: ids, accession, patient and date, study and SOP UIDs (those a DICOM SR
   cites too), a report's title and conclusion, an article's figure list, a DICOM instance's series
   and number): the :class:`LinkTable`.
2. :func:`iter_batches` parses the files again, *batch_files* at a time, keeps the documents that
   the whole-corpus parse keeps (one per DICOM series, one per duplicated document), applies the links
   from the table and yields the batch. Concatenated, the batches equal :func:`parse_sources`'s
   documents (same ids, same content hashes); only the table stays in memory between batches.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from indexer.linking import LinkKeys, ReportIndex, _conclusion, instance_copy_message, refuse_link, report_modality, unique_instances
from indexer.schema import Document, DocumentKind, Section
from indexer.sources import SourceError, SourceFile, parse_file
from indexer.sources.duplicates import Candidate, select_copies


@dataclass
class _ReportLink:
    id: str
    title: str
    conclusion: str
    language: str
    source: str | None = None


@dataclass
class _FigureLink:
    caption: str
    article_id: str
    article_title: str
    article_language: str
    article_date: dt.date | None


@dataclass
class LinkTable:
    """What pass 2 needs to reproduce whole-corpus linking and de-duplication."""

    #: (source path, position in the file) of each accepted document, by id
    accepted: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: DICOM series representative: series uid → source path; and the series' members (uids, files)
    representative: dict[str, str] = field(default_factory=dict)
    series_members: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    image_report: dict[str, _ReportLink] = field(default_factory=dict)
    report_images: dict[str, list[str]] = field(default_factory=dict)
    #: report id → its linked images' modalities, in link order (linking.report_modality)
    report_modalities: dict[str, list[str | None]] = field(default_factory=dict)
    figure: dict[str, _FigureLink] = field(default_factory=dict)
    #: kept id → the other files the same document was found in (indexer.sources.duplicates)
    duplicate_sources: dict[str, list[str]] = field(default_factory=dict)
    #: (copy's path, which kept document it duplicates): copies not indexed again
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    article_images: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    files_seen: int = 0


def _series_uid(document: Document) -> str | None:
    return document.metadata.get("series_uid") if document.metadata.get("format") == "dicom" else None


def scan(files: list[SourceFile], max_bytes: int | None) -> LinkTable:
    """Pass 1: parse every file once, keep the link table (see module docstring)."""
    table = LinkTable(files_seen=len(files))
    instances: dict[str, list[tuple[int, str, str]]] = {}  # series uid → (instance number, path, sop uid)
    order: list[tuple[Candidate, str | None]] = []  # (candidate, series uid) in discovery order
    reports: dict[str, tuple[LinkKeys, _ReportLink]] = {}
    articles: list[tuple[str, str, list[dict], _FigureLink]] = []
    images: dict[str, tuple[str, str | None, LinkKeys, str | None]] = {}  # path#position → (id, format, keys, series uid)
    image_modality: dict[str, str | None] = {}  # image id → its DICOM modality
    series_ids: dict[str, str] = {}  # series uid → its image document's id
    for source in files:
        try:
            documents = parse_file(source.path, max_bytes=max_bytes, root=source.root, warnings=table.warnings, dicom=source.dicom)
        except SourceError as exc:
            table.skipped.append((exc.path, exc.reason))
            continue
        for position, document in enumerate(documents):
            uid = _series_uid(document)
            if uid:
                series_ids[uid] = document.id
                instances.setdefault(uid, []).append(
                    (document.metadata.get("instance_number") or 0, document.source_path, document.metadata.get("sop_uid") or document.source_path)
                )
            order.append((Candidate.of(document, position, source.key), uid))
            if document.kind is DocumentKind.REPORT:
                reports[f"{document.source_path}#{position}"] = (
                    LinkKeys.of_report(document),
                    _ReportLink(document.id, document.title, _conclusion(document), document.language, document.source_path),
                )
            elif document.kind is DocumentKind.ARTICLE:
                articles.append((f"{document.source_path}#{position}", document.source_path,
                                 list(document.metadata.get("figures", [])),
                                 _FigureLink("", document.id, document.title, document.language, document.date)))
            elif document.kind is DocumentKind.IMAGE:
                images[f"{document.source_path}#{position}"] = (
                    document.id, document.metadata.get("format"), LinkKeys.of_image(document), uid,
                )
                image_modality.setdefault(document.id, document.modality)
    # one document per DICOM series: the middle instance (linking.group_series)
    for uid, members in instances.items():
        ordered, copies = unique_instances(sorted(members, key=lambda m: (m[0], m[1])), lambda m: m[2], lambda m: m[1])
        table.representative[uid] = ordered[(len(ordered) - 1) // 2][1]
        for copy, kept in copies:
            table.duplicate_sources.setdefault(series_ids[uid], []).append(copy[1])
            table.duplicates.append((copy[1], instance_copy_message(kept[1], series_ids[uid], copy[2])))
        if len(ordered) > 1:
            table.series_members[uid] = ([m[2] for m in ordered], [m[1] for m in ordered])
    # one copy per document, a series standing where its first file stood (indexer.sources.duplicates)
    candidates: list[Candidate] = []
    placed: set[str] = set()
    for candidate, uid in order:
        if uid:
            if uid in placed:
                continue
            placed.add(uid)
            candidate = dataclasses.replace(candidate, path=table.representative[uid], position=0)
        candidates.append(candidate)
    selection = select_copies(candidates)
    table.accepted = {doc_id: (c.path, c.position) for doc_id, c in selection.accepted.items()}
    table.duplicate_sources.update(selection.duplicate_sources)
    table.duplicates += selection.duplicates
    table.skipped += selection.skipped
    table.warnings += selection.warnings
    kept = {f"{path}#{position}" for path, position in table.accepted.values()}
    # images ↔ reports (linking._link_dicom_to_reports), the same rules
    kept_images = [(key, value) for key, value in images.items() if key in kept]
    dicom: list[tuple[str, LinkKeys]] = []
    for _, (image_id, fmt, keys, uid) in kept_images:
        if fmt == "dicom":
            if uid in table.series_members:  # the representative's series_instances (linking.group_series)
                keys = dataclasses.replace(keys, sop_uids=frozenset(table.series_members[uid][0]))
            dicom.append((image_id, keys))
    index: ReportIndex[_ReportLink] = ReportIndex(keys for _, keys in dicom)
    for key, (keys, link) in reports.items():
        if key in kept:
            index.add(keys, link)
    for image_id, keys in dicom:
        found = index.match(keys)
        for refused, rule in found.refused:
            refuse_link(image_id, refused.id, refused.source, rule, table.warnings)
        if found.report is not None:
            table.image_report[image_id] = found.report
            table.report_images.setdefault(found.report.id, []).append(image_id)
            table.report_modalities.setdefault(found.report.id, []).append(image_modality.get(image_id))
    # figures ↔ articles (linking._link_figures_to_articles)
    figures = {key.rsplit("#", 1)[0]: value[0] for key, value in kept_images if value[1] != "dicom"}
    by_stem: dict[str, list[str]] = {}
    for path, image_id in figures.items():
        by_stem.setdefault(Path(path).stem, []).append(image_id)
    for key, path, figure_list, link in articles:
        if key not in kept:
            continue
        for figure in figure_list:
            file = figure.get("file", "")
            beside = str((Path(path).parent / file).resolve())
            candidates = by_stem.get(Path(file).stem, [])
            image_id = figures.get(beside) or (candidates[0] if len(candidates) == 1 else None)
            if image_id is None:
                continue
            table.figure[image_id] = _FigureLink(figure.get("caption", ""), link.article_id, link.article_title,
                                                 link.article_language, link.article_date)
            table.article_images.setdefault(link.article_id, []).append(image_id)
    return table


def _apply_links(document: Document, table: LinkTable) -> None:
    if document.id in table.duplicate_sources:
        document.metadata["duplicate_sources"] = sorted(set(table.duplicate_sources[document.id]))
    uid = _series_uid(document)
    if uid and uid in table.series_members:
        document.metadata["series_instances"], document.metadata["series_files"] = (list(x) for x in table.series_members[uid])
    report = table.image_report.get(document.id)
    if report is not None:
        document.metadata["linked_reports"] = [report.id]
        document.sections.append(Section(title=f"Compte rendu {report.id}", text=f"{report.title}\n{report.conclusion}"))
        document.text = f"{document.text}\n\n{report.title}\n{report.conclusion}".strip()
        document.language = report.language
    if document.id in table.report_images:
        document.metadata.setdefault("linked_images", []).extend(table.report_images[document.id])
    if document.kind is DocumentKind.REPORT:
        document.modality = report_modality(document, table.report_modalities.get(document.id, ()))
    figure = table.figure.get(document.id)
    if figure is not None:
        document.title = figure.caption[:120] or document.title
        document.text = f"{figure.caption}\n\n{figure.article_title}".strip()
        document.sections = [Section(title="Légende", text=figure.caption), Section(title="Article", text=figure.article_title)]
        document.language = figure.article_language
        document.date = document.date or figure.article_date
        document.metadata.update({"caption": figure.caption, "article_id": figure.article_id})
    if document.id in table.article_images:
        document.metadata.setdefault("linked_images", []).extend(table.article_images[document.id])


def iter_batches(files: list[SourceFile], table: LinkTable, max_bytes: int | None, batch_files: int = 256) -> Iterator[list[Document]]:
    """Pass 2: the accepted, linked documents of *files*, about *batch_files* files at a time."""
    batch: list[Document] = []
    read = 0
    for source in files:
        try:
            documents = parse_file(source.path, max_bytes=max_bytes, root=source.root, dicom=source.dicom)
        except SourceError:
            documents = []  # already reported by the scan (or changed since: it is picked up next run)
        for position, document in enumerate(documents):
            if table.accepted.get(document.id) != (document.source_path, 0 if _series_uid(document) else position):
                continue  # a non-representative series instance, or a duplicate id
            _apply_links(document, table)
            batch.append(document)
        read += 1
        if read >= batch_files and batch:
            yield batch
            batch, read = [], 0
    if batch:
        yield batch
