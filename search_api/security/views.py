"""What each principal's responses look like: scope checks on single documents and linked reports,
and the researchers' de-identified copies of search results, documents and image results.

Retrieval already ran inside the scope (the restriction is a filter of every leg); what is left here
is (1) reports *linked* to an image, which come from the image's metadata rather than from retrieval,
and (2) the de-identification of what a researcher sees.
"""

from __future__ import annotations

import threading
from typing import Any

from indexer.backend.filters import DocumentFilter, normalise_key
from search_api.security.deid import Deidentifier, dicom_name_parts, names_in
from search_api.security.scope import AccessScope, Principal

#: the patient id a researcher's unknown pseudonym is turned into: matches no document
NO_SUCH_PATIENT = "\u2205no-such-patient"


class DeidRegistry:
    """One :class:`Deidentifier` per index version: patient ids and known names read from the index."""

    def __init__(self, key: bytes, dates: str = "shift") -> None:
        self.key = key
        self.dates = dates
        self._cached: tuple[Any, Deidentifier] | None = None
        self._lock = threading.Lock()

    def for_engine(self, engine: Any) -> Deidentifier:
        """The de-identifier of the engine's live index generation (rebuilt when a new one is published)."""
        backend = engine.backend
        info = backend.info()
        version = (id(backend), info.generation, info.updated_at)
        with self._lock:
            if self._cached is None or self._cached[0] != version:
                self._cached = (version, self._build(backend))
            return self._cached[1]

    def _build(self, backend: Any) -> Deidentifier:
        """Patient ids and names, read once per generation from every patient document."""
        patients: set[str] = set()
        names: set[str] = set()
        keyed: set[str] = set()  # ids naming an accession number, a DICOM UID or a path: keyed for researchers
        for document in backend.iter_documents(DocumentFilter()):
            if not document.patient_id:
                continue
            patients.add(document.patient_id)
            if normalise_key(document.patient_id) not in normalise_key(document.id):
                keyed.add(document.id)
            identifying = (document.metadata or {}).get("identifying") or {}
            names |= dicom_name_parts(identifying.get("patient_name"))
            names |= names_in(document.text)
            names |= names_in(document.title)
        return Deidentifier(self.key, patients, names, self.dates, documents=keyed)


#: Why a researcher's search cannot filter on dates (the portal shows it in French: ui/messages.py).
DATE_FILTERS_REFUSED = (
    "date filters are not available in the de-identified view: its dates are shifted per patient, so a filter "
    "on real dates would reveal them; use a cohort's date criteria, which apply to the dates you see"
)


def refuse_real_date_filters(date_from: object, date_to: object) -> None:
    """A researcher sees each patient's dates shifted by a secret per-patient offset; a search filter
    applies to the real dates stored in the index, so narrowing a window until a document appears or
    disappears would reveal its real date (and, from it, the patient's offset). Until the index stores
    shifted dates, such filters are refused with a 422 rather than answered (cohorts filter the shifted
    dates themselves: search_api/cohorts.py)."""
    if date_from is not None or date_to is not None:
        from fastapi import HTTPException

        raise HTTPException(status_code=422, detail=DATE_FILTERS_REFUSED)


def researcher_filter_patient(patient_id: str | None, deid: Deidentifier) -> str | None:
    """A researcher filters by pseudonym; a real IPP (or anything else) matches nothing."""
    if not patient_id:
        return patient_id
    return deid.real_patient(patient_id) or NO_SUCH_PATIENT


def _deid_linked(report: Any, patient_id: str | None, d: Deidentifier) -> Any:
    return report.model_copy(update={
        "id": d.doc_id(report.id, patient_id),
        "title": d.text(report.title, patient_id),
        "date": d.date(report.date, patient_id),
        "conclusion": d.text(report.conclusion, patient_id),
        "url": d.doc_id(report.url, patient_id),
    })


def deid_search_result(result: Any, d: Deidentifier) -> Any:
    pid = result.patient_id
    if not pid:
        return result
    fields = type(result).model_fields  # an image search's results have no snippet nor section
    update = {
        "id": d.doc_id(result.id, pid),
        "title": d.text(result.title, pid),
        "date": d.date(result.date, pid),
        "patient_id": d.pseudonym(pid),
        **({"snippet": d.html(result.snippet, pid)} if "snippet" in fields else {}),
        **({"section": d.text(result.section, pid)} if "section" in fields else {}),
        "url": d.doc_id(result.url, pid),
        "linked_reports": [_deid_linked(r, pid, d) for r in result.linked_reports],
        "caption": d.text(result.caption, pid) if result.caption else result.caption,
    }
    for name in ("thumbnail_url", "render_url"):
        if getattr(result, name, None):
            update[name] = d.doc_id(getattr(result, name), pid)
    return result.model_copy(update=update)


def deid_document(document: Any, d: Deidentifier) -> Any:
    pid = document.patient_id
    if not pid:
        return document
    return document.model_copy(update={
        "id": d.doc_id(document.id, pid),
        "title": d.text(document.title, pid),
        "text": d.text(document.text, pid),
        "patient_id": d.pseudonym(pid),
        "date": d.date(document.date, pid),
        "source_path": "",
        "sections": [s.model_copy(update={"title": d.text(s.title, pid), "text": d.text(s.text, pid)}) for s in document.sections],
        "metadata": d.value(document.metadata, pid),
    })


def deid_image_response(response: Any, d: Deidentifier) -> Any:
    results = [deid_search_result(r, d) for r in response.results]
    reports = list({r.id: r for result in results for r in result.linked_reports}.values())
    return response.model_copy(update={"results": results, "reports": reports})


def scope_linked_reports(results: list[Any], scope: AccessScope, backend: Any) -> list[Any]:
    """Drop linked reports outside the scope (an image's report may belong to another care unit)."""
    if scope.unrestricted:
        return results
    wanted = sorted({r.id for result in results for r in getattr(result, "linked_reports", [])})
    if not wanted:
        return results
    documents = backend.get_documents(wanted)
    visible = {doc_id for doc_id, doc in documents.items() if scope.admits(doc)}
    return [
        result.model_copy(update={"linked_reports": [r for r in result.linked_reports if r.id in visible]})
        if any(r.id not in visible for r in result.linked_reports) else result
        for result in results
    ]


def readable_document(context: Any, engine: Any, doc_id: str, principal: Principal, request: Any, kind: str | None = None) -> Any:
    """The document *doc_id* if this principal may read it; 404 otherwise, exactly as for a missing one.

    Researchers address patient documents by the ids they were shown (pseudonymised): asking for a
    record by its real IPP answers 404, so the API cannot be used to confirm that an IPP exists.
    """
    from fastapi import HTTPException

    missing = HTTPException(status_code=404, detail=f"no {'image' if kind == 'image' else 'document'} with id {doc_id!r}")
    deid = context.deid.for_engine(engine) if principal.deidentified else None
    real_id = deid.real_doc_id(doc_id) if deid is not None else doc_id
    document = engine.document(real_id)
    if document is None or (kind is not None and getattr(document.kind, "value", document.kind) != kind):
        raise missing
    shown_id = deid.doc_id(document.id, document.patient_id) if deid is not None else document.id
    if not principal.scope.admits(document) or shown_id != doc_id:
        context.audit_denied(request, principal, "outside the user's scope", document_id=document.id, patient_id=document.patient_id)
        raise missing
    return document
