"""Small helpers shared by the parsers: reading text safely, parsing dates, extracting PDF text."""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from pathlib import Path

from indexer.schema import MAX_DATE, MIN_DATE, date_in_range
from indexer.sources.errors import SourceError
from indexer.text.ligatures import spell_ligatures

# Warnings about one file (a date dropped, a resource left out) collected while it is parsed, so the
# run can report them next to the file without each parser threading a list through every helper.
_WARNINGS: ContextVar[list[str] | None] = ContextVar("source_warnings", default=None)


@contextmanager
def collect_warnings() -> Iterator[list[str]]:
    """Collect the :func:`warn` calls made while parsing one file."""
    collected: list[str] = []
    token = _WARNINGS.set(collected)
    try:
        yield collected
    finally:
        _WARNINGS.reset(token)


def warn(message: str) -> None:
    """Record a problem that does not stop a document from being indexed (shown in the run report)."""
    collected = _WARNINGS.get()
    if collected is not None:
        collected.append(message)

# "%Y.%m.%d": the ACR-NEMA date (« 1997.04.24 ») that DICOM files converted from older systems still carry.
_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%Y.%m.%d", "%Y%m%d", "%Y/%m/%d")


def _checked(value: date, raw: object) -> date | None:
    if date_in_range(value):
        return value
    warn(f"date {str(raw)!r} outside the supported range {MIN_DATE.isoformat()}..{MAX_DATE.isoformat()}: ignored")
    return None


def parse_date(value: object) -> date | None:
    """Parse the date formats found in French hospital exports and DICOM/FHIR.

    ``None`` if unparseable or impossible (31/02), and ``None`` with a warning if the index cannot
    store it (« 01/03/3024 », 1628): one bad date must not abort a run or lose the document.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return _checked(value.date(), value)
    if isinstance(value, date):
        return _checked(value, value)
    text = str(value).strip()
    if not text:
        return None
    if re.match(r"^\d{4}-\d{2}-\d{2}T", text):
        text = text[:10]
    for fmt in _DATE_FORMATS:
        try:
            return _checked(datetime.strptime(text, fmt).date(), value)
        except ValueError:
            continue
    # A month-precision date (FHIR « 2021-03 », a French header « Date : 03/2021 ») is a real date, not an
    # « impossible » one: read as the 1st of its month, as a year alone is read as 1 January.
    month = re.fullmatch(r"(\d{4})[-/](\d{1,2})|(\d{1,2})[/.-](\d{4})", text)
    if month:
        year, number = (month.group(1), month.group(2)) if month.group(1) else (month.group(4), month.group(3))
        if 1 <= int(number) <= 12 and int(year) >= 1:
            return _checked(date(int(year), int(number), 1), value)
    if re.fullmatch(r"\d{4}", text):
        year = int(text)
        return _checked(date(year, 1, 1), value) if year >= 1 else None
    if re.fullmatch(r"[0-9/.\-]{6,}", text):
        warn(f"impossible date {text!r}: ignored")
    return None


_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")


def looks_binary(text: str) -> bool:
    """Control characters (C0 other than whitespace, C1, DEL) are absent from real reports; a few
    per cent of them means compressed or encrypted data that happens to contain no NUL byte."""
    if "\x00" in text:
        return True
    sample = text[:65536]
    controls = sum(1 for c in sample if c not in _ALLOWED_CONTROLS and unicodedata.category(c) == "Cc")
    return controls > max(2, len(sample) // 100)


# Byte-order marks of the Unicode encodings other than UTF-8 (UTF-32 first: its little-endian BOM
# starts with UTF-16's). Windows Notepad's « Unicode » is UTF-16 LE with a BOM: read as UTF-8 or
# Windows-1252 it is one NUL byte in two, and the report would be skipped as binary.
_UNICODE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(raw: bytes) -> str:
    """UTF-16/32 when the file starts with their byte-order mark, else UTF-8 (with or without BOM),
    else Windows-1252 (what French Windows exports write: « ’ œ € » live in 0x80-0x9F, where Latin-1
    has only control codes), else Latin-1; typographic ligatures spelled out (:mod:`indexer.text.ligatures`)."""
    return spell_ligatures(_decode(raw))


def _decode(raw: bytes) -> str:
    for bom, encoding in _UNICODE_BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                break  # a BOM followed by something else: fall back to the byte encodings below
    bare = _bomless_utf16(raw)
    if bare is not None:
        return bare
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _bomless_utf16(raw: bytes) -> str | None:
    """UTF-16 written without its byte-order mark (some export tools, « Unicode big endian » saves):
    one NUL in every other byte, always on the same side. It was skipped as « binary content »."""
    sample = raw[:4096]
    if len(sample) < 8 or len(raw) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    half = len(sample) // 2
    for zeros, encoding in ((odd, "utf-16-le"), (even, "utf-16-be")):
        other = even if zeros is odd else odd
        if zeros.count(0) >= 0.9 * half and other.count(0) <= 0.01 * half:
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                return None
    return None


def read_text(path: Path) -> str:
    """Read a text file (see :func:`decode_text`); empty or binary content is an error."""
    raw = path.read_bytes()
    if not raw.strip():
        raise SourceError(path, "empty file")
    text = decode_text(raw)
    if looks_binary(text):
        raise SourceError(path, "binary content in a text file")
    return text


def read_pdf_text(path: Path) -> str:
    """Extract the text layer of a PDF file with pypdf; scanned or broken PDFs are reported, not guessed."""
    return pdf_text(path, path)


def pdf_text(source: Path | bytes, path: Path) -> str:
    """The text layer of a PDF given as a file or as its bytes (a FHIR attachment's decoded ``data``);
    errors name *path*. One reader for both, so an attached PDF is read exactly as a PDF file is."""
    from io import BytesIO

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(BytesIO(source) if isinstance(source, bytes) else source)
        if reader.is_encrypted:
            # Exports are often « protected » with an owner password only (printing, copying): the
            # empty user password opens them. They were skipped as « File has not been decrypted ».
            try:
                opened = reader.decrypt("")
            except Exception as exc:  # noqa: BLE001 - an unsupported cipher (AES without cryptography)
                raise SourceError(path, f"encrypted PDF that cannot be opened ({exc.__class__.__name__}: {exc})") from exc
            if not opened:
                raise SourceError(path, "encrypted PDF: a password is needed to read it (export it without protection)")
        pages = [page.extract_text() or "" for page in reader.pages]
    except SourceError:
        raise
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise SourceError(path, f"unreadable PDF ({exc.__class__.__name__}: {exc})") from exc
    except Exception as exc:  # pypdf raises assorted errors on damaged files
        raise SourceError(path, f"unreadable PDF ({exc.__class__.__name__}: {exc})") from exc
    text = spell_ligatures("\n".join(pages).strip())  # pypdf keeps the font's « ﬁ », « ﬂ »
    if not text:
        raise SourceError(path, "PDF has no text layer (scanned document? OCR is not supported)")
    return text
