"""Source readers: turn files into :class:`indexer.schema.Document` objects.

:func:`parse_file` picks the reader from the file's extension (and, for JSON and PDF, from its
content) and raises :class:`SourceError` with a human-readable reason when a file must be skipped.
"""

from __future__ import annotations

import json
from fnmatch import fnmatch
from pathlib import Path

from indexer.schema import Document
from indexer.sources.articles import article_from_json, parse_article_pdf, parse_pubmed_xml
from indexer.sources.common import read_pdf_text
from indexer.sources.errors import SourceError
from indexer.sources.fhir_records import is_fhir, parse_fhir
from indexer.sources.images import parse_dicom, parse_raster
from indexer.sources.reports import parse_report, report_from_text

SUPPORTED_EXTENSIONS = frozenset({".txt", ".md", ".pdf", ".json", ".xml", ".dcm", ".png", ".jpg", ".jpeg"})

__all__ = ["SUPPORTED_EXTENSIONS", "SourceError", "discover_files", "parse_file"]


def _parse_json(path: Path) -> list[Document]:
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        raise SourceError(path, "empty file")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(path, f"malformed JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    if is_fhir(raw):
        return parse_fhir(path, raw)
    return article_from_json(path, raw)


def _parse_pdf(path: Path) -> list[Document]:
    """A PDF with a patient header is a report; otherwise it is read as an article."""
    text = read_pdf_text(path)
    head = text[:600].lower()
    if "ipp" in head or "patient id" in head:
        return [report_from_text(text, path)]
    return parse_article_pdf(path)


_READERS = {
    ".txt": parse_report,
    ".md": parse_report,
    ".pdf": _parse_pdf,
    ".json": _parse_json,
    ".xml": parse_pubmed_xml,
    ".dcm": parse_dicom,
    ".png": parse_raster,
    ".jpg": parse_raster,
    ".jpeg": parse_raster,
}


def parse_file(path: Path, max_bytes: int | None = None) -> list[Document]:
    """Read one source file into documents, or raise :class:`SourceError` saying why it was skipped."""
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise SourceError(path, f"unsupported file type '{path.suffix}'")
    size = path.stat().st_size
    if size == 0:
        raise SourceError(path, "empty file")
    if max_bytes is not None and size > max_bytes:
        raise SourceError(path, f"file too large ({size / 1e6:.1f} MB > {max_bytes / 1e6:.1f} MB limit)")
    try:
        return reader(path)
    except SourceError:
        raise
    except Exception as exc:  # a parser bug must not stop a nightly indexing job: report and go on
        raise SourceError(path, f"unexpected {exc.__class__.__name__}: {exc}") from exc


def discover_files(paths: list[Path], ignore: list[str] | tuple[str, ...] = ()) -> list[Path]:
    """All supported files under *paths* (files or folders), sorted for reproducible ids and order.

    Inside folders, files whose name matches one of the *ignore* patterns (fnmatch) are left out.
    """
    found: set[Path] = set()
    for path in paths:
        if path.is_file():
            found.add(path)
        elif path.is_dir():
            found.update(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SUPPORTED_EXTENSIONS
                and not any(fnmatch(p.name, pattern) for pattern in ignore)
            )
    return sorted(found)
