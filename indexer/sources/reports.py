"""Clinical reports (radiology, operative, discharge letters) from .txt, .md or .pdf files.

Hospital exports put identification in a header of ``Key : value`` lines (IPP, date, exam number,
title) followed by a body with section headings on their own line (« Indication : », « CONCLUSION : »,
or Markdown ``## Conclusion``). Both French and English key names are recognised.
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

from indexer.departments import department_fields
from indexer.schema import Document, DocumentKind, Section
from indexer.sources.common import parse_date, read_pdf_text, read_text
from indexer.sources.errors import SourceError
from indexer.sources.identity import document_id
from indexer.text.language import detect_language

# Folded (lower-case, accent-free) header key -> Document/metadata field.
_HEADER_KEYS = {
    "ipp": "patient_id",
    "patient id": "patient_id",
    "patient": "patient_id",
    "date": "date",
    "date de l'examen": "date",
    "date of exam": "date",
    "n° d'examen": "accession",
    "no d'examen": "accession",
    "accession": "accession",
    "accession number": "accession",
    "type": "report_type",
    "titre": "title",
    "title": "title",
    "examen": "title",
    "exam": "title",
    "etablissement": "institution",
    "institution": "institution",
    "service": "department",
    "department": "department",
}
_HEADER_LINE = re.compile(r"^\s*([^:]{1,40}?)\s*:\s*(.+?)\s*$")
_HEADING_LINE = re.compile(r"^\s*(?:#{1,6}\s*)?([^\n:]{2,60}?)\s*:?\s*$")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().replace("’", "'")


_IDENTIFYING = frozenset({"patient_id", "accession"})


def _header_key(line: str) -> str | None:
    """The field a ``Label : value`` header line sets, or None."""
    match = _HEADER_LINE.match(line)
    return _HEADER_KEYS.get(_fold(match.group(1))) if match else None


def _split_header(text: str) -> tuple[dict[str, str], str]:
    """Return (recognised identification fields, body).

    The header is the block before the first blank line. Only its lines whose label is an
    identification key (:data:`_HEADER_KEYS`) are taken out; every other line of the block stays in
    the body, and a ``Label : text`` line becomes a ``Label :`` heading followed by its text, so a
    report written entirely as ``Label : text`` lines (« Indication : douleur », « Conclusion : ... »)
    keeps all of its clinical text.
    """
    lines = text.splitlines()
    # The header is the first block of text, not the first block of lines: an export that starts with
    # a blank line, or a Markdown report whose « # Compte rendu » title stands alone above its header,
    # had no header at all, so its IPP and date were lost (the document tied to no patient) and the
    # IPP left in the searchable text.
    # A letterhead block (« CENTRE HOSPITALIER LYON SUD / Service de radiologie ») above the header
    # likewise: a short first block with no identification key is skipped when the next block names the
    # patient or the exam (IPP, accession number), which a body paragraph does not.
    start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    title_end = next((i for i in range(start, len(lines)) if not lines[i].lstrip().startswith("#")), len(lines))
    if title_end > start and title_end < len(lines) and not lines[title_end].strip():
        start = next((i for i in range(title_end, len(lines)) if lines[i].strip()), len(lines))
    else:
        first_end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
        after = next((i for i in range(first_end, len(lines)) if lines[i].strip()), len(lines))
        after_end = next((i for i in range(after, len(lines)) if not lines[i].strip()), len(lines))
        if (first_end - start <= 4 and not any(_header_key(line) for line in lines[start:first_end])
                and any(_header_key(line) in _IDENTIFYING for line in lines[after:after_end])):
            start = after
    lead = lines[:start]
    fields: dict[str, str] = {}
    kept: list[str] = []
    index = len(lines)
    for index, line in enumerate(lines[start:], start):
        if not line.strip():
            break
        match = _HEADER_LINE.match(line)
        key = _HEADER_KEYS.get(_fold(match.group(1))) if match else None
        if key:
            fields.setdefault(key, match.group(2))  # type: ignore[union-attr]
        elif match:
            kept += [f"{match.group(1).strip()} :", match.group(2)]
        else:
            kept.append(line)
    else:
        index = len(lines)
    if not fields:  # no header at all: the whole file is body
        return {}, text
    return fields, "\n".join([*lead, *kept, *lines[index + 1 :]])


def _is_heading(line: str) -> bool:
    stripped = line.strip()
    if stripped.startswith("#"):
        return True
    if not stripped.endswith(":") or len(stripped) > 60:
        return False
    return bool(_HEADING_LINE.match(stripped))


def _split_sections(body: str) -> list[Section]:
    """Cut the body at heading lines; text before the first heading is an untitled section."""
    sections: list[Section] = []
    title, buffer = "", []
    for line in body.splitlines():
        if _is_heading(line):
            if any(b.strip() for b in buffer):
                sections.append(Section(title=title, text="\n".join(buffer).strip()))
            title, buffer = line.strip().lstrip("#").rstrip(":").strip(), []
        else:
            buffer.append(line)
    if any(b.strip() for b in buffer):
        sections.append(Section(title=title, text="\n".join(buffer).strip()))
    return sections


def report_sections(text: str) -> tuple[dict[str, str], list[Section]]:
    """(identification fields of the header, titled sections of the body) of a report's text: what a
    ``.txt`` report and a letter attached to a FHIR DocumentReference share, so both are cut alike."""
    fields, body = _split_header(text)
    return fields, _split_sections(body)


def report_from_text(text: str, path: Path, key: str | None = None) -> Document:
    """Build a report Document from its raw text (shared by the .txt/.md and .pdf readers).

    Its id is ``report:<accession number>`` when the header has one, else ``report:<key>`` (the path
    relative to the indexed root, see :mod:`indexer.sources.identity`).
    """
    fields, sections = report_sections(text)
    if not sections:
        raise SourceError(path, "report has a header but no body text")
    accession = (fields.get("accession") or "").strip()
    plain = "\n\n".join(f"{s.title}\n{s.text}" if s.title else s.text for s in sections)
    title = fields.get("title") or fields.get("report_type") or path.stem
    metadata = {k: v for k, v in fields.items() if k in {"accession", "report_type", "institution", "department"}}
    metadata.update(department_fields(metadata.get("department")))
    return Document(
        id=document_id(DocumentKind.REPORT, accession or key or path.name),
        kind=DocumentKind.REPORT,
        title=title,
        text=plain,
        patient_id=fields.get("patient_id"),
        date=parse_date(fields.get("date")),
        language=detect_language(plain),
        source_path=str(path),
        sections=sections,
        metadata=metadata,
    )


def parse_report(path: Path, key: str | None = None) -> list[Document]:
    """Parse a .txt/.md/.pdf report file into one Document."""
    text = read_pdf_text(path) if path.suffix.lower() == ".pdf" else read_text(path)
    return [report_from_text(text, path, key)]


# « XXXX »: the Open-i exports' de-identification mask, in place of a name, a date or any word judged
# identifying (« There are no XXXX of a pleural effusion », « Normal chest x-XXXX. »). Written as « […] »
# so that the mask is neither a searchable word nor shown to a reader as if it were one.
_MASK = re.compile(r"X{3,}(?:[-/ ]X{3,})*")
_OPENI_SECTIONS = ("COMPARISON", "INDICATION", "FINDINGS", "IMPRESSION")


def _unmask(text: str) -> tuple[str, int]:
    return _MASK.subn("[…]", " ".join(text.split()))


def report_from_openi(root: ET.Element, path: Path, key: str | None = None) -> Document:
    """An Open-i (``eCitation``) radiology report: id ``report:<uId>`` (« CXR1 »), its labelled sections.

    The export is de-identified: no patient and no exam date (``articleDate`` is the date the collection
    was published, the same for every report: never the exam's), so both stay empty rather than wrong.
    The MeSH labels are the coders' reading of the report, kept in metadata, not in the searchable text.
    """
    uid = root.find("uId")
    report_id = (uid.get("id") or "").strip() if uid is not None else ""
    sections: list[Section] = []
    masked = 0
    for node in root.iter("AbstractText"):
        label = (node.get("Label") or "").strip().upper()
        text, count = _unmask("".join(node.itertext()))
        masked += count
        if text:
            sections.append(Section(title=label.capitalize() if label else "", text=text))
    sections.sort(key=lambda s: _OPENI_SECTIONS.index(s.title.upper()) if s.title.upper() in _OPENI_SECTIONS else 99)
    if not sections:
        raise SourceError(path, "Open-i report with no text in its sections (COMPARISON, INDICATION, FINDINGS, IMPRESSION)")
    plain = "\n\n".join(f"{s.title}\n{s.text}" if s.title else s.text for s in sections)
    kind = (root.findtext("articleType") or "").strip()
    mesh = [(n.text or "").strip() for n in root.iter("major") if (n.text or "").strip()]
    return Document(
        id=document_id(DocumentKind.REPORT, report_id or key or path.name),
        kind=DocumentKind.REPORT,
        title="Chest radiograph" if kind == "XR" else (kind or path.stem),
        text=plain,
        patient_id=None,
        date=None,
        language=detect_language(plain),
        source_path=str(path),
        sections=sections,
        metadata={
            "format": "openi",
            "accession": report_id or None,
            "publisher": (root.findtext("publisher") or "").strip() or None,
            "mesh_major": mesh,
            "masked_spans": masked,
        },
    )
