"""What medsearch knows about a patient, read from their documents (never from a separate registry).

The identity (name, birth date, sex) comes from the FHIR record's ``identifying`` metadata, or from
a DICOM header's; stays from the record's encounters; a document's care unit, body part and age at
the document date from its metadata. The patient view, the timeline and the cohorts all use these
functions, over documents that were read through the caller's filter, so they never see more than
the access scope allows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from indexer.backend.filters import DocumentFilter
from indexer.departments import canonical_department
from indexer.schema import Document, DocumentKind

_SEX = {"m": "male", "male": "male", "homme": "male", "h": "male", "f": "female", "female": "female", "femme": "female"}


def documents_where(engine, where: DocumentFilter) -> list[Document]:  # noqa: ANN001 - SearchEngine
    """Every document matching *where* (one SQL query, then the documents' bodies).

    The one place to swap for the storage backend's ``documents_where``.
    """
    engine.refresh_if_changed()
    ids = engine.backend.document_ids_where(where)
    documents = engine.backend.get_documents(ids)
    return [documents[i] for i in ids if i in documents]


def normalise_sex(value: Any) -> str | None:
    """« M », "male", « homme » → ``male``; « F », "female", « femme » → ``female``; else None."""
    return _SEX.get(str(value or "").strip().casefold())


def parse_birth_date(value: Any) -> dt.date | None:
    """ISO (FHIR) or DICOM ``YYYYMMDD`` birth dates."""
    text = str(value or "").strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def age_at(birth: dt.date | None, when: dt.date | None) -> int | None:
    """Age in whole years on *when* (None when either date is unknown)."""
    if birth is None or when is None:
        return None
    return when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day))


def identity_of(documents: Iterable[Document]) -> dict[str, Any]:
    """Name, birth date and sex: the FHIR record's first, then any DICOM header's."""
    ranked = sorted(documents, key=lambda d: d.kind != DocumentKind.RECORD)
    identity: dict[str, Any] = {"name": None, "birth_date": None, "sex": None}
    for document in ranked:
        found = document.metadata.get("identifying") or {}
        if not isinstance(found, dict):
            continue
        identity["name"] = identity["name"] or (str(found.get("patient_name") or "").replace("^", " ").strip() or None)
        birth = parse_birth_date(found.get("patient_birth_date"))
        identity["birth_date"] = identity["birth_date"] or birth
        identity["sex"] = identity["sex"] or normalise_sex(found.get("patient_sex"))
    return identity


def stays_of(documents: Iterable[Document]) -> list[dict[str, Any]]:
    """The patient's stays (FHIR encounters of their records), oldest first, without duplicates."""
    stays: dict[str, dict[str, Any]] = {}
    for document in documents:
        for stay in document.metadata.get("encounters") or []:
            if isinstance(stay, dict) and stay.get("id"):
                stays.setdefault(str(stay["id"]), stay)
    return sorted(stays.values(), key=lambda s: s.get("start") or "")


def stay_of(date: dt.date | None, stays: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The stay whose period holds *date* (its start day to its end day, inclusive)."""
    if date is None:
        return None
    iso = date.isoformat()
    for stay in stays:
        start, end = stay.get("start"), stay.get("end") or stay.get("start")
        if start and start <= iso <= (end or start):
            return stay
    return None


def department_of(document: Document) -> str | None:
    """The care unit a document belongs to (report header « Service », DICOM department), by its
    canonical name (:func:`indexer.departments.canonical_department`: « Pulmonology » is « Pneumologie »,
    whatever the index stored: a DICOM header's name, or an index built before names were canonical)."""
    metadata = getattr(document, "metadata", None)
    value = metadata.get("department") if isinstance(metadata, dict) else getattr(document, "department", None)
    return canonical_department(value)


def body_part_of(document: Document) -> str | None:
    """DICOM body part examined, when the document is an image with one."""
    value = document.metadata.get("body_part")
    return str(value).strip() or None if value else None
