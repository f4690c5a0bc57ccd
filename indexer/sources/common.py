"""Small helpers shared by the parsers: reading text safely, parsing dates, extracting PDF text."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from indexer.sources.errors import SourceError

_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%Y%m%d", "%Y/%m/%d")


def parse_date(value: object) -> date | None:
    """Parse the date formats found in French hospital exports and DICOM/FHIR; ``None`` if unparseable."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    if re.match(r"^\d{4}-\d{2}-\d{2}T", text):
        text = text[:10]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    if re.fullmatch(r"\d{4}", text):
        return date(int(text), 1, 1)
    return None


def read_text(path: Path) -> str:
    """Read a text file as UTF-8 (falling back to Latin-1, common in hospital exports); empty is an error."""
    raw = path.read_bytes()
    if not raw.strip():
        raise SourceError(path, "empty file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if "\x00" in text:
        raise SourceError(path, "binary content in a text file")
    return text


def read_pdf_text(path: Path) -> str:
    """Extract the text layer of a PDF with pypdf; scanned or broken PDFs are reported, not guessed."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise SourceError(path, f"unreadable PDF ({exc.__class__.__name__}: {exc})") from exc
    except Exception as exc:  # pypdf raises assorted errors on damaged files
        raise SourceError(path, f"unreadable PDF ({exc.__class__.__name__}: {exc})") from exc
    text = "\n".join(pages).strip()
    if not text:
        raise SourceError(path, "PDF has no text layer (scanned document? OCR is not supported)")
    return text
