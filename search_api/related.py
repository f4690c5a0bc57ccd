"""What a document view needs around the document: its linked reports / images, similar documents,
and its text with the query's matches highlighted.

``GET /documents/{id}/links``: a report's images (those linked to it at index time) and an image's
reports, both ways. ``GET /documents/{id}/similar``: documents close in meaning (the dense leg over
the document's own text), the document itself left out. ``GET /documents/{id}/highlight?q=``: its
sections with the query's terms in ``<mark>`` (the lexical index's analyzers, as snippets) and
which section holds the best matching passage, so the portal can scroll to it.
All three read through :func:`search_api.scope.request_scope`: nothing outside the scope shows, and
each is audited (the document, its patient's real id, what was returned), as ``GET /documents/{id}`` is.
"""

# No `from __future__ import annotations`: FastAPI must resolve the closures' dependency annotations.
import html
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from indexer.backend.filters import DocumentFilter
from indexer.schema import Document, DocumentKind
from search_api.audit import AuditLog
from search_api.image_results import image_url
from search_api.matching import exact_matches
from search_api.models import MAX_LIMIT, MAX_QUERY_CHARS, SearchRequest, SearchResponse
from search_api.patient_data import documents_where
from search_api.scope import current_user, patient_viewer, request_scope, within_scope
from search_api.security.identity import client_address
from search_api.security.views import deid_search_result
from search_api.snippets import query_spans
from search_api.viewer import Viewer

SIMILAR_QUERY_CHARS = 600


class LinkedDocument(BaseModel):
    id: str
    kind: DocumentKind
    title: str
    date: Any = None
    modality: str | None = None
    url: str
    thumbnail_url: str | None = None


class DocumentLinks(BaseModel):
    reports: list[LinkedDocument] = Field(description="Reports tied to this image")
    images: list[LinkedDocument] = Field(description="Images tied to this report")


class HighlightedSection(BaseModel):
    title: str
    html: str = Field(description="Escaped text, the query's terms in <mark>")
    marks: int


class HighlightedDocument(BaseModel):
    id: str
    best_section: int | None = Field(description="Index of the section holding the best matching passage")
    sections: list[HighlightedSection]


def _linked(document: Document, viewer: Viewer) -> LinkedDocument:
    image = document.kind == DocumentKind.IMAGE
    patient = document.patient_id
    shown = viewer.doc_out(document.id, patient)
    return LinkedDocument(
        id=shown, kind=document.kind, title=viewer.text(document.title, patient) or "",
        date=viewer.date(document.date, patient), modality=document.modality,
        url=f"/documents/{quote(shown, safe='')}", thumbnail_url=image_url(shown, "thumbnail") if image else None,
    )


def highlight(text: str, query: str) -> tuple[str, int]:
    """*text* escaped, with the analysed terms of *query* in ``<mark>``; and how many were marked."""
    spans = query_spans(text, query) if query else []
    parts, cursor = [], 0
    for start, end in spans:
        parts.append(html.escape(text[cursor:start], quote=False))
        parts.append(f"<mark>{html.escape(text[start:end], quote=False)}</mark>")
        cursor = end
    parts.append(html.escape(text[cursor:], quote=False))
    return "".join(parts), len(spans)


def related_router(engine: Callable[[], Any], audit: AuditLog) -> APIRouter:
    router = APIRouter(tags=["documents"])
    view = patient_viewer(engine)

    def record(http: Request, who: str, action: str, document: Document, **details: Any) -> None:
        """Audit a read around *document*: real ids (the engine's, whatever a researcher was shown)."""
        audit.record(who, action, document_id=document.id, patient_id=document.patient_id, client=client_address(http), **details)

    def visible(doc_id: str, who: str, scope: DocumentFilter, viewer: Viewer) -> Document:
        """The document the caller names (a researcher: by the pseudonymised id they were shown), 404
        when it is missing, out of scope, or named by a real IPP-bearing id to a researcher."""
        search_engine = engine()
        document = search_engine.document(viewer.doc_in(doc_id))
        if document is None or not viewer.shows_as(document.id, document.patient_id, doc_id):
            raise HTTPException(status_code=404, detail=f"aucun document {doc_id!r}")
        if document.patient_id:
            if document.id not in set(search_engine.backend.document_ids_where(
                within_scope(DocumentFilter(patient_id=document.patient_id), scope)
            )):
                raise HTTPException(status_code=404, detail=f"aucun document {doc_id!r}")
        return document

    @router.get("/documents/{doc_id:path}/links", response_model=DocumentLinks)
    def links(
        doc_id: str, http: Request, who: Annotated[str, Depends(current_user)],
        scope: Annotated[DocumentFilter, Depends(request_scope)], viewer: Annotated[Viewer, Depends(view)],
    ) -> DocumentLinks:
        """Report ↔ image links, both ways (an image's reports, a report's images)."""
        document = visible(doc_id, who, scope, viewer)
        search_engine = engine()
        reports: list[Document] = []
        images: list[Document] = []
        if document.kind == DocumentKind.IMAGE:
            ids = [str(i) for i in document.metadata.get("linked_reports") or []]
            where = within_scope(DocumentFilter(patient_id=document.patient_id), scope)
            allowed = set(search_engine.backend.document_ids_where(where)) if document.patient_id else set(ids)
            found = search_engine.backend.get_documents([i for i in ids if i in allowed])
            reports = [found[i] for i in ids if i in found]
        elif document.kind == DocumentKind.REPORT and document.patient_id:
            where = within_scope(DocumentFilter(patient_id=document.patient_id, kinds=("image",)), scope)
            images = sorted((d for d in documents_where(search_engine, where)
                             if document.id in (d.metadata.get("linked_reports") or [])), key=lambda d: d.id)
        record(http, who, "document_links", document, returned=[d.id for d in reports + images])
        return DocumentLinks(reports=[_linked(d, viewer) for d in reports], images=[_linked(d, viewer) for d in images])

    @router.get("/documents/{doc_id:path}/similar", response_model=SearchResponse)
    def similar(
        doc_id: str, http: Request, who: Annotated[str, Depends(current_user)],
        scope: Annotated[DocumentFilter, Depends(request_scope)], viewer: Annotated[Viewer, Depends(view)],
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT - 1)] = 10,
        same_kind: bool = True,
    ) -> SearchResponse:
        """Documents close in meaning to this one (dense search over its own text), itself excluded."""
        document = visible(doc_id, who, scope, viewer)
        text = " ".join(s.text for s in document.sections if s.title.lower().startswith(("conclusion", "compte rendu")))
        text = (text or document.text or document.title)[:min(SIMILAR_QUERY_CHARS, MAX_QUERY_CHARS)].strip()
        if not text:
            raise HTTPException(status_code=422, detail="ce document n'a pas de texte à comparer")
        request = SearchRequest(
            q=text, mode="dense", kinds=[document.kind] if same_kind else [], limit=limit + 1,
        )
        search_engine = engine()
        response = search_engine.search(request, search_engine.request_filter(request, scope))
        response.results = [r for r in response.results if r.id != document.id][:limit]
        record(http, who, "document_similar", document, returned=[r.id for r in response.results],
               patients=sorted({r.patient_id for r in response.results if r.patient_id}))
        if viewer.deid is not None:  # the "query" is the document's own text: never echoed to a researcher
            response.results = [deid_search_result(r, viewer.deid) for r in response.results]
            response.query = viewer.text(response.query, document.patient_id) or ""
            response.interpretation, response.expanded_terms = None, []  # both quote the document's own words
        return response

    @router.get("/documents/{doc_id:path}/highlight", response_model=HighlightedDocument)
    def highlighted(
        doc_id: str, http: Request, who: Annotated[str, Depends(current_user)],
        scope: Annotated[DocumentFilter, Depends(request_scope)], viewer: Annotated[Viewer, Depends(view)],
        q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
        include_negated: bool = False,
        expand: bool = True,
    ) -> HighlightedDocument:
        """The document's sections with the query's matches marked; the best passage's section."""
        document = visible(doc_id, who, scope, viewer)
        sections = [(s.title, s.text) for s in document.sections] or [("", document.text)]
        best = None
        words = ""
        if q.strip():
            plan = engine().plan(SearchRequest(q=viewer.query(q), include_negated=include_negated, expand=expand))
            words = plan.highlight_text
            where = within_scope(DocumentFilter(patient_id=document.patient_id), scope) if document.patient_id else scope
            matches = exact_matches(engine(), plan, where)
            if document.id in matches:
                passage = engine().backend.get_passages([matches.best_pid[document.id]]).get(matches.best_pid[document.id])
                if passage is not None:
                    titles = [title for title, _ in sections]
                    best = titles.index(passage.section) if passage.section in titles else None
        patient = document.patient_id
        record(http, who, "document_highlight", document, query=q.strip() or None)
        out = [
            HighlightedSection(title=viewer.text(t, patient) or "", html=viewer.html(h, patient) or "", marks=n)
            for t, (h, n) in ((t, highlight(x, words)) for t, x in sections)
        ]
        if best is None:
            best = next((i for i, s in enumerate(out) if s.marks), None)
        return HighlightedDocument(id=viewer.doc_out(document.id, patient), best_section=best, sections=out)

    return router
