"""Clinical letters inside a FHIR bundle: one *report* document per ``DocumentReference``, and per long
``DiagnosticReport.presentedForm``.

In real exports the discharge letters, operative reports and consultation letters are
``DocumentReference`` resources (FHIR FR Core, the DMP): they were skipped, so their words found no one.
Each becomes a report of the bundle's patient, cut into sections like a ``.txt`` report
(:func:`indexer.sources.reports.report_sections`), its text read from the attachment
(:mod:`indexer.sources.attachments`).

Ids: ``report:<Patient.id>/DocumentReference/<id>`` (``DiagnosticReport`` likewise). A FHIR id is
unique per resource type on its server, not across servers nor against our path-keyed ids; prefixed
with the patient and the resource type it is stable across runs and folders (the same letter exported
in two bundles of the patient is one document, kept once by :mod:`indexer.sources.duplicates`) and
cannot be taken by a report file (``report:<relative path>``) unless a folder mimics a FHIR reference.
A resource without an id falls back to its position, ``…/DocumentReference/#2``: ``#`` is not
allowed in a FHIR id, so it cannot collide with one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from indexer.departments import department_fields
from indexer.schema import Document, DocumentKind, Section
from indexer.sources.attachments import AttachmentError, attachment_text, media_type
from indexer.sources.common import parse_date, warn
from indexer.sources.identity import document_id
from indexer.sources.reports import report_sections
from indexer.text.language import detect_language

#: the order the formats of one document are tried in when ``content`` gives several (FHIR: « the same
#: document in different formats »): the text as written before text recovered from layout
_PREFERRED = ("text/plain", "text/markdown", "text/html", "application/xhtml+xml", "application/pdf",
              "application/hl7-v3+xml", "application/hl7-cda+xml", "text/xml", "application/xml")

#: a presentedForm text up to this length reads as the exam's line in the record; a longer one (a full
#: report, several paragraphs) is a report document of its own: as a timeline line it would fill the
#: screen, and in the record it would dilute the passages of the problem list and results
PRESENTED_FORM_INLINE_CHARS = 400


def codeable_text(concept: Any) -> str:
    """Human text of a CodeableConcept: its ``text`` or the first coding's display/code."""
    if concept is None:
        return ""
    if getattr(concept, "text", None):
        return concept.text
    for coding in getattr(concept, "coding", None) or []:
        if coding.display or coding.code:
            return coding.display or coding.code
    return ""


def concept_codes(concept: Any) -> list[str]:
    """A CodeableConcept's codes as ``system|code`` (kept in metadata: LOINC, ATC, CCAM)."""
    return [f"{c.system}|{c.code}" for c in (getattr(concept, "coding", None) or []) if c.code]


def _rank(attachment: Any) -> int:
    kind, _ = media_type(getattr(attachment, "contentType", None))
    return _PREFERRED.index(kind) if kind in _PREFERRED else len(_PREFERRED)


def first_readable(attachments: list[Any], binaries: Mapping[str, Any], path: Path) -> tuple[str, str, Any]:
    """(text, media type, attachment) of the first attachment that reads, plain text before HTML before PDF;
    :class:`AttachmentError` naming every format's reason when none does."""
    reasons: list[str] = []
    for attachment in sorted(attachments, key=_rank):
        try:
            text, kind = attachment_text(attachment, binaries, path)
            return text, kind, attachment
        except AttachmentError as exc:
            kind = media_type(getattr(attachment, "contentType", None))[0] or "untyped"
            reasons.append(f"{kind}: {exc}")
    raise AttachmentError("; ".join(reasons) or "no attachment")


def _key(scope: str, kind: str, resource: Any, position: int) -> str:
    return f"{scope}/{kind}/{resource.id or f'#{position}'}"


def _displays(references: list[Any] | None) -> list[str]:
    return [r.display for r in references or [] if getattr(r, "display", None)]


def _letter(path: Path, text: str, doc_id: str, patient_id: str | None, when: date | None, title: str,
            metadata: dict[str, Any]) -> Document:
    """A report Document of a letter's *text*, sections cut as a ``.txt`` report's (the header's IPP
    and date lines leave the searchable text; the FHIR subject and date are the ones kept)."""
    _, sections = report_sections(text)
    if not sections:
        sections = [Section(title="", text=text)]
    plain = "\n\n".join(f"{s.title}\n{s.text}" if s.title else s.text for s in sections)
    return Document(
        id=doc_id,
        kind=DocumentKind.REPORT,
        title=title,
        text=plain,
        patient_id=patient_id,
        date=when,
        language=detect_language(plain),
        source_path=str(path),
        sections=sections,
        metadata={k: v for k, v in metadata.items() if v not in (None, [], "")},
    )


def document_reference_report(path: Path, resource: Any, position: int, patient_id: str | None, scope: str,
                              binaries: Mapping[str, Any]) -> Document | None:
    """The report of one DocumentReference, or None (with a warning giving the reason) when none of
    its attachments can be read: that letter is lost, the record and the other letters are kept."""
    name = f"DocumentReference {resource.id}" if resource.id else f"DocumentReference #{position}"
    attachments = [c.attachment for c in resource.content or [] if getattr(c, "attachment", None) is not None]
    try:
        text, kind, used = first_readable(attachments, binaries, path)
    except AttachmentError as exc:
        warn(f"{name}: no readable text ({exc}); not indexed")
        return None
    context = resource.context
    period = getattr(context, "period", None)
    header, _ = report_sections(text)  # the letter's own « Titre : », « Date : » lines, when FHIR says nothing
    when = (parse_date(resource.date) or parse_date(getattr(period, "start", None)) or parse_date(getattr(used, "creation", None))
            or parse_date(header.get("date")))
    title = (codeable_text(resource.type) or header.get("title") or header.get("report_type") or (used.title or "")
             or (resource.description or "") or "Document")
    unit = (codeable_text(getattr(context, "practiceSetting", None)) or codeable_text(getattr(context, "facilityType", None))
            or header.get("department"))
    metadata: dict[str, Any] = {
        # no FHIR id, masterIdentifier nor encounter reference: identifiers that link back to the
        # hospital's systems, which the de-identified view would show (the id is in the document id)
        "format": "fhir-documentreference",
        "report_type": title,
        "type_codes": concept_codes(resource.type),  # the LOINC code (« 18842-5 » discharge summary), kept for filters
        "category": [codeable_text(c) for c in resource.category or [] if codeable_text(c)],
        # « imaging » or not: only an imaging document may be an image's report by patient and date
        "category_codes": [code for c in resource.category or [] for code in concept_codes(c)],
        "author": _displays(resource.author),
        "custodian": resource.custodian.display if resource.custodian else None,
        "institution": resource.custodian.display if resource.custodian else None,
        "content_type": kind,  # as read: the attachment's, else its Binary's, else sniffed
        **department_fields(unit or None),
    }
    return _letter(path, text, document_id(DocumentKind.REPORT, _key(scope, "DocumentReference", resource, position)),
                   patient_id, when, title, metadata)


def replaced_versions(resources: list[Any]) -> dict[str, str]:
    """Ids of the DocumentReferences another one of the bundle replaces (``relatesTo.code`` « replaces »),
    each with the id of its replacement: a corrected letter and its first version are one letter, and
    both indexed would answer a query twice, once with the wrong text."""
    replaced: dict[str, str] = {}
    for resource in resources:
        for relation in resource.relatesTo or []:
            target = (getattr(relation.target, "reference", None) or "").strip()
            if relation.code == "replaces" and "DocumentReference/" in target:
                replaced[target.rsplit("DocumentReference/", 1)[1].split("/")[0]] = resource.id or "?"
    return replaced


def presented_form(path: Path, report: Any, binaries: Mapping[str, Any]) -> str | None:
    """The text of a DiagnosticReport's ``presentedForm`` (None when it has none; a warning when it
    has one that cannot be read: the report's line in the record keeps its conclusion)."""
    if not report.presentedForm:
        return None
    try:
        text, _, _ = first_readable(list(report.presentedForm), binaries, path)
    except AttachmentError as exc:
        name = f"DiagnosticReport {report.id}" if report.id else "DiagnosticReport"
        warn(f"{name}: presentedForm has no readable text ({exc}); its conclusion alone is indexed")
        return None
    return text


def diagnostic_report_document(path: Path, report: Any, position: int, text: str, patient_id: str | None,
                               scope: str) -> Document:
    """The report document of a DiagnosticReport whose presentedForm is long (see
    :data:`PRESENTED_FORM_INLINE_CHARS`)."""
    title = codeable_text(report.code) or "Compte rendu"
    when = parse_date(report.effectiveDateTime) or parse_date(getattr(report.effectivePeriod, "start", None)) \
        or parse_date(report.issued)
    metadata = {
        "format": "fhir-diagnosticreport",
        "report_type": title,
        "type_codes": concept_codes(report.code),
        # RAD / imaging, or LAB: only an imaging report may be an image's report by patient and date
        # (indexer.linking.imaging_evidence)
        "category": [codeable_text(c) for c in report.category or [] if codeable_text(c)],
        "category_codes": [code for c in report.category or [] for code in concept_codes(c)],
        "conclusion": report.conclusion,
        "author": _displays(report.performer),
    }
    return _letter(path, text, document_id(DocumentKind.REPORT, _key(scope, "DiagnosticReport", report, position)),
                   patient_id, when, title, metadata)
