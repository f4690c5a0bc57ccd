"""Tie images to the text that describes them, the way Open-i does.

A DICOM study is linked to its radiology report by accession number (or, failing that, same patient
and same date); an article figure is linked to its caption and article. The linked text is appended
to the image document so a text query finds the image, and the links are kept in metadata so a
result can show both.
"""

from __future__ import annotations

from pathlib import Path

from indexer.schema import Document, DocumentKind, Section

_CONCLUSION_TITLES = ("conclusion", "impression", "synthèse", "synthese")


def _conclusion(report: Document) -> str:
    for section in report.sections:
        if section.title.lower().startswith(_CONCLUSION_TITLES):
            return section.text
    return report.sections[-1].text if report.sections else report.text[:500]


def _link_dicom_to_reports(images: list[Document], reports: list[Document]) -> None:
    by_accession = {r.metadata["accession"]: r for r in reports if r.metadata.get("accession")}
    by_patient_date = {(r.patient_id, r.date): r for r in reports if r.patient_id and r.date}
    for image in images:
        if image.metadata.get("format") != "dicom":
            continue
        accession = image.metadata.get("accession")
        report = by_accession.get(accession) if accession else None
        if report is None and image.patient_id and image.date:
            report = by_patient_date.get((image.patient_id, image.date))
        if report is None:
            continue
        conclusion = _conclusion(report)
        image.metadata["linked_reports"] = [report.id]
        report.metadata.setdefault("linked_images", []).append(image.id)
        image.sections.append(Section(title=f"Compte rendu {report.id}", text=f"{report.title}\n{conclusion}"))
        image.text = f"{image.text}\n\n{report.title}\n{conclusion}".strip()
        image.language = report.language


def _figure_image(article: Document, file: str, by_path: dict[str, Document], by_stem: dict[str, list[Document]]) -> Document | None:
    """The image a figure entry names: the file at that path beside the article when it exists,
    else the only figure with that file name (exports often flatten or move the figures folder)."""
    if article.source_path:
        beside = str((Path(article.source_path).parent / file).resolve())
        if beside in by_path:
            return by_path[beside]
    candidates = by_stem.get(Path(file).stem, [])
    return candidates[0] if len(candidates) == 1 else None


def _link_figures_to_articles(images: list[Document], articles: list[Document]) -> None:
    figures = [img for img in images if img.metadata.get("format") != "dicom"]
    by_path = {img.source_path: img for img in figures if img.source_path}
    by_stem: dict[str, list[Document]] = {}
    for img in figures:
        by_stem.setdefault(Path(img.source_path or img.id).stem, []).append(img)
    for article in articles:
        for figure in article.metadata.get("figures", []):
            image = _figure_image(article, figure.get("file", ""), by_path, by_stem)
            if image is None:
                continue
            caption = figure.get("caption", "")
            image.title = caption[:120] or image.title
            image.text = f"{caption}\n\n{article.title}".strip()
            image.sections = [Section(title="Légende", text=caption), Section(title="Article", text=article.title)]
            image.language = article.language
            image.date = image.date or article.date
            image.metadata.update({"caption": caption, "article_id": article.id})
            article.metadata.setdefault("linked_images", []).append(image.id)


def group_series(documents: list[Document]) -> list[Document]:
    """Keep one image document per DICOM series: its middle instance (by InstanceNumber).

    A CT series is hundreds of files of the same exam; a physician wants one result per series, not
    three hundred. Its instances share the document id ``image:<SeriesInstanceUID>``; the
    representative keeps the instances' SOP Instance UIDs and files in its metadata.
    Order is preserved (the representative takes the place of the series' first file).
    """
    series: dict[str, list[Document]] = {}
    for document in documents:
        uid = document.metadata.get("series_uid") if document.metadata.get("format") == "dicom" else None
        if uid:
            series.setdefault(uid, []).append(document)
    kept: list[Document] = []
    for document in documents:
        uid = document.metadata.get("series_uid") if document.metadata.get("format") == "dicom" else None
        if not uid:
            kept.append(document)
            continue
        members = series[uid]
        if document is not members[0]:
            continue
        ordered = sorted(members, key=lambda d: (d.metadata.get("instance_number") or 0, d.source_path))
        representative = ordered[(len(ordered) - 1) // 2]
        if len(ordered) > 1:
            representative.metadata["series_instances"] = [d.metadata.get("sop_uid") or d.source_path for d in ordered]
            representative.metadata["series_files"] = [d.source_path for d in ordered]
        kept.append(representative)
    return kept


def link_documents(documents: list[Document]) -> None:
    """Enrich image documents (in place) with their report or caption text."""
    by_kind: dict[DocumentKind, list[Document]] = {}
    for document in documents:
        by_kind.setdefault(document.kind, []).append(document)
    images = by_kind.get(DocumentKind.IMAGE, [])
    _link_dicom_to_reports(images, by_kind.get(DocumentKind.REPORT, []))
    _link_figures_to_articles(images, by_kind.get(DocumentKind.ARTICLE, []))
