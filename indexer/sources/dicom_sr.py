"""DICOM Structured Reports: the radiology report a PACS or RIS exports as a DICOM object.

A text SR (Basic Text, Enhanced, Comprehensive, Comprehensive 3D, Extensible SR Storage) carries no
pixels but a content tree (PS3.3 C.17.3): CONTAINER items are the report's sections (« Findings »,
« Impression »), named by their concept name; TEXT, CODE, NUM, DATE, TIME, DATETIME and PNAME items
are its content. It becomes the same report :class:`Document` a text report does
(:func:`indexer.sources.reports.report_from_text`): id ``report:<AccessionNumber>`` (else the file's
path), so images of the same study link to it (:mod:`indexer.linking`), patient id, date, title,
language detected from the text, and one section per container. References to images and other objects
(IMAGE, COMPOSITE, WAVEFORM, SCOORD, TCOORD) are not text: they are counted in the metadata. The SOP
Instance UIDs of the images the report cites (its CurrentRequestedProcedureEvidenceSequence and its IMAGE
items) are kept in ``metadata["referenced_sop_uids"]``, with its StudyInstanceUID: what links it to those
images first (:class:`indexer.linking.ReportIndex`). UIDs identify the patient's exam in the hospital's
systems: they never enter the searchable text, and researchers never see them
(:data:`search_api.security.deid._DROPPED_METADATA`).

Key Object Selection (« key images »), radiation dose reports, CAD SRs and other SOP classes are not
read as reports: :func:`is_text_sr` is False for them and they keep the image reader's reason.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from indexer.departments import department_fields
from indexer.imaging.dicom_pixels import sop_class_uid
from indexer.schema import Document, DocumentKind, Section
from indexer.sources.common import parse_date
from indexer.sources.errors import SourceError
from indexer.sources.identity import document_id
from indexer.text.language import detect_language

#: the SR storage SOP classes whose content is a narrative report
TEXT_SR_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.88.11": "Basic Text SR",
    "1.2.840.10008.5.1.4.1.1.88.22": "Enhanced SR",
    "1.2.840.10008.5.1.4.1.1.88.33": "Comprehensive SR",
    "1.2.840.10008.5.1.4.1.1.88.34": "Comprehensive 3D SR",
    "1.2.840.10008.5.1.4.1.1.88.35": "Extensible SR",
}
#: value types that point at other objects or regions, not text
_REFERENCES = frozenset({"IMAGE", "COMPOSITE", "WAVEFORM", "SCOORD", "SCOORD3D", "TCOORD"})
#: a UID as the images carry it: dotted digits. A template's placeholder (« 0 » in pydicom's reportsi.dcm) is not one
_UID = re.compile(r"[0-9]+(?:\.[0-9]+)+")
#: relationships of the root's own items that describe the report (observer, subject, language), not its content
_CONTEXT = frozenset({"HAS OBS CONTEXT", "HAS CONCEPT MOD", "HAS ACQ CONTEXT"})


def is_text_sr(ds: Any) -> bool:
    """Whether *ds* is a structured report whose content is read as a report (not KOS, dose, CAD...)."""
    return sop_class_uid(ds) in TEXT_SR_CLASSES


def header_text(ds: Any, keyword: str) -> str:
    """The DICOM attribute *keyword* of *ds* (a dataset or a sequence item) as stripped text, "" when absent."""
    value = ds.get(keyword)
    return str(value).strip() if value is not None else ""


def _meaning(item: Any, keyword: str = "ConceptNameCodeSequence") -> str:
    sequence = item.get(keyword)
    return header_text(sequence[0], "CodeMeaning") if sequence else ""


def _sop_uids(references: Any) -> list[str]:
    """The ReferencedSOPInstanceUIDs of a ReferencedSOPSequence, placeholders left out."""
    uids = (header_text(reference, "ReferencedSOPInstanceUID") for reference in references or [])
    return [uid for uid in uids if _UID.fullmatch(uid)]


def _evidence_uids(ds: Any) -> list[str]:
    """The SOP instances the report was made from (CurrentRequestedProcedureEvidenceSequence > series >
    instances). Not PertinentOtherEvidenceSequence: the priors it compares with are not its images."""
    return [uid for study in ds.get("CurrentRequestedProcedureEvidenceSequence") or []
            for series in study.get("ReferencedSeriesSequence") or []
            for uid in _sop_uids(series.get("ReferencedSOPSequence"))]


def _clean(text: str) -> str:
    """SR text values end lines with CR, LF or both; blank lines and trailing spaces go."""
    lines = str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines if line.strip())


def _units(measured: Any) -> str:
    code = (measured.get("MeasurementUnitsCodeSequence") or [None])[0]
    if code is None:
        return ""
    value, meaning = header_text(code, "CodeValue"), header_text(code, "CodeMeaning")
    if header_text(code, "CodingSchemeDesignator") == "UCUM" and value and value != "1" and not value.startswith("{"):
        return value  # « mm », « cm2 », « %»: what a report writes, where the meaning says « millimeter »
    return meaning if meaning.lower() not in {"no units", "unity"} else ""


def _item_value(item: Any) -> str:
    """The content of a non-container item as text ('' for references and empty items)."""
    kind = header_text(item, "ValueType").upper()
    if kind == "TEXT":
        return _clean(header_text(item, "TextValue"))
    if kind == "CODE":
        return _meaning(item, "ConceptCodeSequence")
    if kind == "NUM":
        measured = (item.get("MeasuredValueSequence") or [None])[0]
        if measured is None:
            return ""
        number = header_text(measured, "NumericValue")
        return f"{number} {_units(measured)}".strip() if number else ""
    if kind == "DATE":
        parsed = parse_date(header_text(item, "Date"))
        return parsed.isoformat() if parsed else header_text(item, "Date")
    if kind == "TIME":
        raw = header_text(item, "Time")
        return f"{raw[:2]}:{raw[2:4]}" if len(raw) >= 4 and raw[:4].isdigit() else raw
    if kind == "DATETIME":
        raw = header_text(item, "DateTime")
        parsed = parse_date(raw[:8]) if len(raw) >= 8 else None
        return f"{parsed.isoformat()} {raw[8:10]}:{raw[10:12]}".strip(" :") if parsed else raw
    if kind == "PNAME":
        return " ".join(part for part in header_text(item, "PersonName").split("^") if part)
    return ""  # UIDREF (a UID is not report text), references, unknown types


def _line(item: Any, inline: bool = False) -> str:
    """One item as a line: TEXT as its text, others as « Concept: value ». *inline*: inside a continuous
    container (a sentence cut into items, « A mass of » 3 cm « was detected. »), values only."""
    value = _item_value(item)
    if not value:
        return ""
    name = _meaning(item)
    if inline or header_text(item, "ValueType").upper() == "TEXT" or not name:
        return value
    return f"{name}: {value}"


class _Walker:
    """Collect sections (consecutive items under one heading merged) and count references."""

    def __init__(self) -> None:
        self.sections: list[tuple[str, list[str]]] = []
        self.references: Counter[str] = Counter()
        self.images: list[str] = []  # the SOP Instance UIDs IMAGE items cite

    def reference(self, item: Any, kind: str) -> None:
        self.references[kind] += 1
        if kind == "IMAGE":
            self.images += _sop_uids(item.get("ReferencedSOPSequence"))

    def add(self, title: str, line: str) -> None:
        if not line:
            return
        if self.sections and self.sections[-1][0] == title:
            self.sections[-1][1].append(line)
        else:
            self.sections.append((title, [line]))

    def walk(self, items: Any, title: str, root: bool = False) -> None:
        for item in items or []:
            kind = header_text(item, "ValueType").upper()
            if kind == "CONTAINER":
                heading = _meaning(item) or title
                if header_text(item, "ContinuityOfContent").upper() == "CONTINUOUS":
                    self.continuous(item, heading)
                else:
                    self.walk(item.get("ContentSequence"), heading)
                continue
            here = title
            if kind in _REFERENCES:
                self.reference(item, kind)
            elif kind == "TEXT" and root and _meaning(item):
                # a flat report (root > TEXT « Findings », TEXT « Impression »): the item names its section
                here = _meaning(item)
                self.add(here, _line(item))
            else:
                self.add(title, _line(item))
            self.walk(item.get("ContentSequence"), here)  # modifiers, « inferred from » text, properties

    def continuous(self, container: Any, title: str) -> None:
        """A continuous container reads as one sentence; what its items carry beneath follows it."""
        words: list[str] = []
        below: list[Any] = []
        for item in container.get("ContentSequence") or []:
            kind = header_text(item, "ValueType").upper()
            if kind == "CONTAINER":
                below.append(item)
                continue
            if kind in _REFERENCES:
                self.reference(item, kind)
            else:
                words.append(_line(item, inline=True))
            below.extend(item.get("ContentSequence") or [])
        self.add(title, " ".join(word for word in words if word))
        self.walk(below, title)


def _language(text: str, declared: str) -> str:
    detected = detect_language(text)
    return declared if detected == "und" and declared in {"fr", "en"} else detected


def _truncation(ds: Any) -> str:
    """Why *ds* looks cut short, or ''. pydicom reads a truncated file without a word: its last element
    (the Content Sequence, in an SR cut in its content) then holds fewer bytes than its declared length."""
    from pydicom.datadict import keyword_for_tag
    from pydicom.dataelem import RawDataElement

    tags = list(ds.keys())
    if not tags:
        return ""
    raw = ds.get_item(tags[-1])
    if isinstance(raw, RawDataElement) and raw.value is not None and raw.length != 0xFFFFFFFF and len(raw.value) < raw.length:
        name = keyword_for_tag(raw.tag) or str(raw.tag)
        return f"truncated structured report: the file ends inside {name} ({len(raw.value)} of {raw.length} bytes)"
    return ""


def report_from_sr(ds: Any, path: Path, key: str | None = None) -> Document:
    """A report Document from a text SR dataset (see the module docstring); SourceError without text."""
    truncated = _truncation(ds)
    if truncated:
        raise SourceError(path, truncated)
    if "ContentSequence" not in ds:
        raise SourceError(path, "structured report without text (no Content Sequence: empty, or the file is cut short)")
    walker = _Walker()
    context: list[str] = []
    names: list[str] = []
    declared_language = ""
    for item in ds.get("ContentSequence") or []:
        if header_text(item, "RelationshipType").upper() in _CONTEXT and header_text(item, "ValueType").upper() != "CONTAINER":
            # observer, subject, language of the report: kept, not indexed as its text
            name, value = _meaning(item), _item_value(item)
            if name.lower().startswith("language of content item"):  # TID 1204: « fr », « en-US »
                declared = header_text((item.get("ConceptCodeSequence") or [{}])[0], "CodeValue")
                declared_language = declared.split("-")[0].lower() or declared_language
            if value and header_text(item, "ValueType").upper() == "PNAME":
                names.append(f"{name}: {value}" if name else value)  # an observer's or a subject's name
            elif value:
                context.append(f"{name}: {value}" if name else value)
            continue
        walker.walk([item], "", root=True)
    sections = [Section(title=title, text="\n".join(lines)) for title, lines in walker.sections]
    if not sections:
        found = ", ".join(f"{n} {kind}" for kind, n in sorted(walker.references.items()))
        raise SourceError(path, f"structured report without text ({found or 'no content items'})")
    plain = "\n\n".join(f"{s.title}\n{s.text}" if s.title else s.text for s in sections)
    accession = header_text(ds, "AccessionNumber")
    sop_class = sop_class_uid(ds)
    metadata: dict[str, Any] = {
        "format": "dicom-sr",
        "sop_class": TEXT_SR_CLASSES.get(sop_class, sop_class),
        "report_type": _meaning(ds) or None,
        "accession": accession or None,
        "institution": header_text(ds, "InstitutionName") or None,
        "department": None,
        **department_fields(header_text(ds, "InstitutionalDepartmentName")),
        "study_description": header_text(ds, "StudyDescription") or None,
        "content_date": (d.isoformat() if (d := parse_date(header_text(ds, "ContentDate"))) else None),
        "completion": header_text(ds, "CompletionFlag") or None,
        "verification": header_text(ds, "VerificationFlag") or None,
        "study_uid": header_text(ds, "StudyInstanceUID") or None,
        "series_uid": header_text(ds, "SeriesInstanceUID") or None,
        "sop_uid": header_text(ds, "SOPInstanceUID") or None,
        "referenced_sop_uids": sorted(set(_evidence_uids(ds)) | set(walker.images)),
        "context": context,
        "references": dict(sorted(walker.references.items())),
        "identifying": {
            "patient_name": header_text(ds, "PatientName"),
            "patient_birth_date": header_text(ds, "PatientBirthDate"),
            "patient_sex": header_text(ds, "PatientSex"),
            **({"context_names": names} if names else {}),
        },
    }
    return Document(
        id=document_id(DocumentKind.REPORT, accession or key or path.name),
        kind=DocumentKind.REPORT,
        title=_meaning(ds) or header_text(ds, "SeriesDescription") or header_text(ds, "StudyDescription") or path.stem,
        text=plain,
        patient_id=header_text(ds, "PatientID") or None,
        # the exam's date first, as a text report's « Date de l'examen », so an image of the study links
        # by patient and date too; the report's own date (ContentDate) when the study has none
        date=parse_date(header_text(ds, "StudyDate")) or parse_date(header_text(ds, "ContentDate")),
        # detected from the text as a text report's; the language the SR declares when the text is too short to tell
        language=_language(plain, declared_language),
        source_path=str(path),
        sections=sections,
        metadata={k: v for k, v in metadata.items() if v not in (None, [], {})},
    )
