"""Patient-centred views: a patient's identity and timeline, and search results grouped by patient.

``GET /patients/{id}`` (identity block, age, sex, counts, stays), ``GET /patients/{id}/timeline``
(every document of the patient, dated, grouped by stay, with the current query's matches marked) and
``GET/POST /search/patients`` (patients ranked by their best documents, with exact counts).

Every endpoint reads documents through :func:`search_api.scope.request_scope`'s filter, combined
with the user's own: a patient outside the caller's scope is simply not found, and counts never
include what the caller may not see.
"""

# No `from __future__ import annotations`: FastAPI must resolve the closures' dependency annotations.
import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field, model_validator

from indexer.backend.base import affirmed_statuses
from indexer.backend.filters import DocumentFilter
from indexer.clinical.context import split_reading
from indexer.departments import canonical_department
from indexer.schema import Document, DocumentKind
from indexer.sources.fhir_records import encounter_class_label
from search_api.audit import AuditLog
from search_api.image_results import image_url
from search_api.matching import ComparedMatches, DocumentMatches, plan_matches
from search_api.models import MAX_LIMIT, RELATIVES_DESCRIPTION, QueryInterpretation, SearchRequest, split_mention_context
from search_api.patient_data import (
    age_at,
    body_part_of,
    department_of,
    documents_where,
    identity_of,
    stay_of,
    stays_of,
)
from search_api.query_params import search_query
from search_api.security.identity import client_address
from search_api.security.views import refuse_real_date_filters
from search_api.scope import current_user, patient_viewer, request_scope, within_scope
from search_api.snippets import Snippet, query_matcher
from search_api.viewer import Viewer
from indexer.clinical import ExpandedTerm


class PatientIdentity(BaseModel):
    """What the caller may see of who the patient is (fields may be withheld: None)."""

    name: str | None = None
    birth_date: dt.date | None = None
    sex: Literal["male", "female"] | None = None
    age: int | None = Field(default=None, description="Age in whole years on ``age_on``")
    age_on: dt.date | None = Field(
        default=None, description="The day ``age`` is counted on: today for an identified view; for a researcher the "
        "patient's last document, in the researcher's shifted dates (age at that document, exact: the shift moves the "
        "birth date and the document alike), never today, which is not shifted and would narrow the patient's shift")


class Stay(BaseModel):
    """A stay (FHIR encounter): the timeline groups documents under it by date."""

    id: str
    label: str | None = Field(default=None, description="Encounter class, in French (hospitalisation, urgences...)")
    code: str | None = Field(default=None, description="Encounter class as FHIR codes it (HL7 v3 ActCode: IMP, AMB, EMER...)")
    start: dt.date | None = None
    end: dt.date | None = None
    reason: str | None = None
    unit: str | None = Field(default=None, description="Care unit, by its canonical name (« Pulmonology » is « Pneumologie »)")


class PatientResponse(BaseModel):
    patient_id: str
    identity: PatientIdentity
    documents: int
    by_kind: dict[str, int]
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    stays: list[Stay]
    departments: list[str]


class TimelineEntry(BaseModel):
    id: str
    kind: DocumentKind
    title: str
    date: dt.date | None
    modality: str | None = None
    body_part: str | None = None
    department: str | None = None
    age: int | None = Field(default=None, description="The patient's age at the document date")
    stay_id: str | None = None
    url: str
    thumbnail_url: str | None = None
    entry: str | None = Field(
        default=None, description="For a record's own dated entries (problem, result, exam): which; the id is the record's"
    )
    matched: bool = Field(default=False, description="The document contains the query's terms")
    snippet: str | None = Field(default=None, description="HTML: the matched passage (matched documents only)")
    context: str | None = None
    relatives: list[str] = Field(default_factory=list, description=RELATIVES_DESCRIPTION)

    @model_validator(mode="before")
    @classmethod
    def _mention_relatives(cls, data: Any) -> Any:
        return split_mention_context(data)


class TimelineGroup(BaseModel):
    """Documents of one stay, or (``stay`` None) a run of documents dated outside any known stay, between
    two stays (several such groups in one timeline: each where its dates fall)."""

    stay: Stay | None = None
    entries: list[TimelineEntry]


class TimelineResponse(BaseModel):
    patient_id: str
    query: str | None = None
    total: int = Field(description="Documents on the timeline (after the kind filter)")
    matched: int = Field(description="Of those, documents containing the query's terms")
    groups: list[TimelineGroup] = Field(description="Most recent first; undated documents last")


class PatientHit(BaseModel):
    """One of a patient's best documents for the query."""

    id: str
    kind: DocumentKind
    title: str
    date: dt.date | None
    snippet: str
    context: str | None = None
    relatives: list[str] = Field(default_factory=list, description=RELATIVES_DESCRIPTION)
    url: str

    @model_validator(mode="before")
    @classmethod
    def _mention_relatives(cls, data: Any) -> Any:
        return split_mention_context(data)
    semantic_only: bool = Field(default=False, description="Found by meaning only: the query's words are not in it")


class PatientResult(BaseModel):
    patient_id: str
    rank: int
    matching_documents: int = Field(description="Exact number of the patient's documents containing the query's terms")
    affirmed_documents: int = Field(
        default=0, description="Of ``matching_documents``, those matching through an affirmed mention, not only a "
        "suspicion: 0 means the patient would not be in a one-criterion cohort of the query")
    best: list[PatientHit]


class PatientSearchResponse(BaseModel):
    query: str
    total: int = Field(description="Exact number of documents containing the query's terms")
    total_patients: int = Field(description="Exact number of distinct patients among them")
    total_affirmed: int = Field(default=0, description="As ``SearchResponse.total_affirmed``: of ``total``, the "
                                "documents matching through an affirmed mention")
    total_patients_affirmed: int = Field(default=0, description="Patients with at least one of them (what a "
                                         "one-criterion cohort of the query counts)")
    term_match: bool = Field(description="False when no document contains the query's words (semantic results only)")
    interpretation: QueryInterpretation | None = None
    expanded_terms: list[ExpandedTerm] = Field(default_factory=list)
    offset: int
    limit: int
    patients: list[PatientResult]
    suggestion: str | None = Field(default=None, description="As ``SearchResponse.suggestion``: the query with its "
                                   "misspelled words corrected, or null")


BEST_PER_PATIENT = 3


def _stay_model(stay: dict[str, Any]) -> Stay:
    return Stay(**stay_fields(stay))


def stay_fields(stay: dict[str, Any]) -> dict[str, Any]:
    """A stored stay (:func:`indexer.sources.fhir_records._stay`) as the API shows it: the class named in
    French from its ActCode (an index built before the code was kept: from the FHIR display), the
    code kept; the care unit by its canonical name."""
    return {
        "id": str(stay.get("id") or ""), "label": encounter_class_label(stay.get("class_code"), stay.get("class")),
        "code": stay.get("class_code"), "start": stay.get("start"), "end": stay.get("end"),
        "reason": stay.get("reason"), "unit": canonical_department(stay.get("unit")),
    }


def _identity(documents: list[Document], viewer: Viewer) -> PatientIdentity:
    """The identity block as *viewer* may see it, its age counted on :func:`age_day`."""
    found = identity_of(documents)
    on = age_day(documents, viewer)
    found["age"] = age_at(found["birth_date"], on)
    found["age_on"] = viewer.date(on, documents[0].patient_id if documents else None)
    return PatientIdentity.model_validate(viewer.identity(found))


def age_day(documents: list[Document], viewer: Viewer) -> dt.date | None:
    """The real day a patient's age is given on: today for an identified view, the patient's last
    document for a researcher.

    Why: a researcher saw « 64 ans » (counted on the real today) beside the patient's shifted dates, an
    inconsistent pair (the last shifted document could read « 63 ans » after it) that also narrows the
    patient's date shift (age today and the ages at shifted dates bound it). The age at the last
    document is the same number before and after shifting, like every other age the researcher sees."""
    if not viewer.deidentified:
        return dt.date.today()
    return max((d.date for d in documents if d.date), default=None)


def _with_evidence(snippets: dict[str, tuple[str, str | None]], compared: ComparedMatches | None
                   ) -> dict[str, tuple[str, str | None]]:
    """*snippets* with, for a comparison query (« FEVG < 40 % »), the sentence giving each document's value
    (:attr:`ComparedMatches.evidence`) instead of the label's best passage, which may not give it."""
    if compared is None:
        return snippets
    return {doc_id: (compared.evidence.get(doc_id, snippet), context) for doc_id, (snippet, context) in snippets.items()}


def _snippets(engine, matches: DocumentMatches, documents: list[tuple[str, str | None]], query: str,  # noqa: ANN001
              statuses: tuple[str, ...] | None = None) -> dict[str, tuple[str, str | None]]:
    """(HTML, context) of the best passage of each (matched document id, its language): the page's
    passages read in one call and their snippets built together (:meth:`QueryMatcher.snippets`,
    with each passage's stored mentions), as ``/search`` does, instead of a read and a
    :func:`contextual_snippet` per document (tests/test_lean_patients.py checks they are equal)."""
    if not documents:
        return {}
    pids = [matches.best_pid[doc_id] for doc_id, _ in documents]
    passages = engine.backend.get_passages(sorted(set(pids)))
    items = []
    for pid, (_, language) in zip(pids, documents):
        passage = passages.get(pid)
        items.append((passage.text, language, passage.mentions) if passage else ("", language, None))
    return dict(zip((doc_id for doc_id, _ in documents), query_matcher(query).snippets(items, statuses=statuses)))


def patient_documents(engine, patient_id: str, scope: DocumentFilter, kinds: tuple[str, ...] = ()) -> list[Document]:  # noqa: ANN001
    """The patient's documents the caller may see (404 when there are none: unknown or out of scope)."""
    documents = documents_where(engine, within_scope(DocumentFilter(patient_id=patient_id, kinds=kinds), scope))
    return documents


def dated_days(documents: list[Document]) -> list[dt.date]:
    """Every day the patient's timeline shows, sorted: the documents' dates and their record's own dated
    entries (``metadata.entries``: problems, results, treatments…), as :func:`_record_entries` lists them.
    Why: the header said « du 12/01/2021 au 24/05/2024 » while the timeline showed a 2016 problem of the
    record (a record is dated by its latest entry; its older entries were left out of the range)."""
    days = {d.date for d in documents if d.date}
    for document in documents:
        for item in document.metadata.get("entries") or []:
            if isinstance(item, dict) and item.get("date"):
                try:
                    days.add(dt.date.fromisoformat(str(item["date"])[:10]))
                except ValueError:
                    continue  # an entry the timeline cannot date either
    return sorted(days)


def patient_router(engine: Callable[[], Any], audit: AuditLog) -> APIRouter:
    """The patient endpoints over the API's engine and audit log."""
    router = APIRouter(tags=["patients"])
    view = patient_viewer(engine)

    def visible(patient_id: str, scope: DocumentFilter, viewer: Viewer) -> list[Document]:
        """The documents of the patient the caller names (a researcher: by pseudonym), 404 if none."""
        documents = patient_documents(engine(), viewer.patient_in(patient_id) or patient_id, scope)
        if not documents:
            raise HTTPException(status_code=404, detail=f"aucun patient {patient_id!r} visible")
        return documents

    @router.get("/patients/{patient_id}", response_model=PatientResponse)
    def get_patient(
        patient_id: str,
        http: Request,
        who: Annotated[str, Depends(current_user)],
        scope: Annotated[DocumentFilter, Depends(request_scope)],
        viewer: Annotated[Viewer, Depends(view)],
    ) -> PatientResponse:
        """A patient's identity block (as the caller's role allows: researchers get sex and age only,
        under a ``PSN-`` pseudonym, with shifted dates), document counts and stays."""
        documents = visible(patient_id, scope, viewer)
        real = documents[0].patient_id
        dates = dated_days(documents)
        by_kind: dict[str, int] = {}
        for document in documents:
            by_kind[document.kind.value] = by_kind.get(document.kind.value, 0) + 1
        audit.record(who, "patient_view", patient_id=real, client=client_address(http))
        return PatientResponse(
            patient_id=viewer.patient_out(real) or patient_id,
            identity=_identity(documents, viewer),
            documents=len(documents),
            by_kind=dict(sorted(by_kind.items())),
            first_date=viewer.date(dates[0], real) if dates else None,
            last_date=viewer.date(dates[-1], real) if dates else None,
            stays=[_stay_model(viewer.stay(s, real)) for s in stays_of(documents)],
            departments=sorted({d for d in map(department_of, documents) if d}),
        )

    @router.get("/patients/{patient_id}/timeline", response_model=TimelineResponse)
    def get_timeline(
        patient_id: str,
        http: Request,
        who: Annotated[str, Depends(current_user)],
        scope: Annotated[DocumentFilter, Depends(request_scope)],
        viewer: Annotated[Viewer, Depends(view)],
        kinds: Annotated[list[DocumentKind], Query(description="Only these document kinds")] = [],  # noqa: B006
        q: Annotated[str | None, Query(description="Mark the documents matching this query")] = None,
        include_negated: bool = False,
        expand: bool = True,
    ) -> TimelineResponse:
        """Every document of the patient, dated, grouped by stay (the FHIR encounters' periods), with
        the query's matches marked."""
        everything = visible(patient_id, scope, viewer)
        real = everything[0].patient_id
        stays = stays_of(everything)
        shown_stays = {str(s["id"]): viewer.stay(s, real) for s in stays}
        wanted = tuple(k.value for k in kinds)
        documents = [d for d in everything if not wanted or d.kind.value in wanted]
        matches = DocumentMatches()
        compared = None  # a comparison query's checked set (« FEVG < 40 % »)
        query = viewer.query((q or "").strip()) if (q or "").strip() else ""
        if query:
            request = SearchRequest(q=query, patient_id=real, include_negated=include_negated, expand=expand)
            plan = engine().plan(request)
            where = within_scope(DocumentFilter(patient_id=real, kinds=wanted), scope)
            # « FEVG < 40 % »: only the documents giving a satisfying value are marked, as /search counts them
            matches, compared = plan_matches(engine(), plan, where)
            highlight = plan.highlight_text
        birth = identity_of(everything)["birth_date"]
        snippets = _with_evidence(_snippets(engine(), matches, [(d.id, d.language) for d in documents if d.id in matches], highlight,
                                            plan.lexical_statuses), compared) if query else {}
        groups: dict[str | None, list[TimelineEntry]] = {}
        for document in sorted(documents, key=lambda d: (d.date is None, d.date or dt.date.min), reverse=False):
            stay = stay_of(document.date, stays)
            shown_id = viewer.doc_out(document.id, real)
            entry = TimelineEntry(
                id=shown_id, kind=document.kind, title=viewer.text(document.title, real) or "",
                date=viewer.date(document.date, real),
                modality=document.modality, body_part=body_part_of(document), department=department_of(document),
                age=age_at(birth, document.date), stay_id=shown_stays[str(stay["id"])]["id"] if stay else None,
                url=f"/documents/{quote(shown_id, safe='')}",
                thumbnail_url=image_url(shown_id, "thumbnail") if document.kind == DocumentKind.IMAGE else None,
            )
            if document.id in matches:
                entry.matched = True
                snippet, context = snippets[document.id]
                entry.context, relatives = split_reading(context)
                entry.relatives = list(relatives)
                entry.snippet = viewer.html(snippet, real)
            groups.setdefault(entry.stay_id, []).append(entry)
            for sub in _record_entries(document, entry, highlight if query else "", stays, birth, viewer, shown_stays):
                groups.setdefault(sub.stay_id, []).append(sub)
        ordered = _ordered_groups(groups, list(shown_stays.values()))
        audit.record(
            who, "patient_timeline", patient_id=real, query=query or None,
            client=client_address(http),
        )
        return TimelineResponse(
            patient_id=viewer.patient_out(real) or patient_id, query=query or None, total=len(documents),
            matched=sum(1 for d in documents if d.id in matches), groups=ordered,
        )

    def search_patients(request: SearchRequest, offset: int, limit: int, who: str, scope: DocumentFilter, http: Request,
                        viewer: Viewer) -> PatientSearchResponse:
        asked = request
        if viewer.deidentified:  # researchers filter by pseudonym and cannot probe names, IPPs or real dates (as /search)
            refuse_real_date_filters(request.date_from, request.date_to)
            request = request.model_copy(update={"q": viewer.query(request.q), "patient_id": viewer.patient_in(request.patient_id)})
        response = _patient_search(engine(), request, scope, offset, limit, spelling="lexicon" if viewer.deidentified else "index")
        audit.record(
            who, "patient_search", query=asked.q,
            filters=asked.model_dump(exclude={"q"}, exclude_defaults=True, mode="json"),
            returned=[p.patient_id for p in response.patients], client=client_address(http),
        )
        return _shown_patient_search(response, viewer)

    @router.get("/search/patients", response_model=PatientSearchResponse)
    def search_patients_get(
        http: Request,
        who: Annotated[str, Depends(current_user)],
        scope: Annotated[DocumentFilter, Depends(request_scope)],
        request: Annotated[SearchRequest, Depends(search_query)],
        viewer: Annotated[Viewer, Depends(view)],
    ) -> PatientSearchResponse:
        """Patients ranked by their best documents for the query (the parameters of ``GET /search``;
        ``offset``/``limit`` page through patients)."""
        return search_patients(request, request.offset, request.limit, who, scope, http, viewer)

    @router.post("/search/patients", response_model=PatientSearchResponse)
    def search_patients_post(
        request: SearchRequest,
        http: Request,
        who: Annotated[str, Depends(current_user)],
        scope: Annotated[DocumentFilter, Depends(request_scope)],
        viewer: Annotated[Viewer, Depends(view)],
    ) -> PatientSearchResponse:
        """As ``GET``, with the body of ``POST /search``; its ``offset``/``limit`` page through patients."""
        return search_patients(request, request.offset, request.limit, who, scope, http, viewer)

    return router


def _record_entries(document: Document, record: TimelineEntry, highlight: str, stays: list[dict[str, Any]],
                    birth: dt.date | None, viewer: Viewer, shown_stays: dict[str, dict[str, Any]]) -> list[TimelineEntry]:
    """A FHIR record's dated entries (problems, results, exams) as timeline lines of their own, each
    marked when its own text holds the query's terms (shown as the caller's *viewer* allows)."""
    out = []
    items = [item for item in document.metadata.get("entries") or [] if isinstance(item, dict) and item.get("date")]
    texts = [str(item.get("text") or "") for item in items]
    # the record's entries are matched, and the marked ones' snippets built, together (one pass over
    # their words: QueryMatcher.snippets), not one contextual_snippet per entry
    matcher = query_matcher(highlight) if record.matched and highlight else None
    spans = matcher.spans_many(texts) if matcher else [[] for _ in texts]
    shown = iter(matcher.snippets([(text, document.language, None) for text, found in zip(texts, spans) if found]) if matcher else [])
    for item, text, found in zip(items, texts, spans):
        when = dt.date.fromisoformat(str(item["date"]))
        stay = stay_of(when, stays)
        marked = bool(found)
        snippet = Snippet(*next(shown)) if marked else None
        patient = document.patient_id
        out.append(TimelineEntry(
            id=record.id, kind=document.kind, title=viewer.text(text, patient) or "", date=viewer.date(when, patient),
            entry=str(item.get("type") or ""), age=age_at(birth, when),
            stay_id=shown_stays[str(stay["id"])]["id"] if stay else None, url=record.url, matched=marked,
            snippet=viewer.html(snippet.html, patient) if snippet else None, context=snippet.context if snippet else None,
        ))
    return out


def _ordered_groups(groups: dict[str | None, list[TimelineEntry]], stays: list[dict[str, Any]]) -> list[TimelineGroup]:
    """Groups most recent first (by their latest document); documents inside a group most recent first.
    *groups* are keyed by the stay ids of *stays* as the caller sees them.

    Documents outside every stay (key None) are not one group: each run of them between two stays is
    its own « Hors séjour connu » group, placed by date. Why: one group sorted by its latest document put
    a 2016 letter above a 2021 stay when the patient also had a 2024 one (31 of the demo's 200
    timelines read out of order), and a cardiologist reads the reports in order to find a finding earlier."""
    by_id = {str(s["id"]): s for s in stays}
    newest_first = lambda e: (e.date is not None, e.date or dt.date.min)  # noqa: E731
    # (latest date, stay group) and (date, a lone document outside the stays), merged most recent first
    items: list[tuple[tuple[bool, dt.date], TimelineGroup | TimelineEntry]] = []
    for stay_id, entries in groups.items():
        entries.sort(key=newest_first, reverse=True)
        if stay_id is None:
            items += [(newest_first(e), e) for e in entries]
        else:
            items.append((newest_first(entries[0]), TimelineGroup(stay=_stay_model(by_id[stay_id]), entries=entries)))
    items.sort(key=lambda item: (item[0], isinstance(item[1], TimelineGroup)), reverse=True)
    out: list[TimelineGroup] = []
    for _, item in items:
        if isinstance(item, TimelineGroup):
            out.append(item)
        elif out and out[-1].stay is None:
            out[-1].entries.append(item)
        else:
            out.append(TimelineGroup(stay=None, entries=[item]))
    return out


def _patient_search(engine, request: SearchRequest, scope: DocumentFilter, offset: int, limit: int,  # noqa: ANN001
                    spelling: str | None = None) -> PatientSearchResponse:
    """Patients ranked by their best document in the fused ranking, then by their best term match
    (*spelling*: :attr:`SearchResponse.suggestion`'s source, as :meth:`SearchEngine.search`)."""
    where = engine.request_filter(request, scope)
    plan = engine.plan(request)
    # « FEVG < 40 % »: only the label's matches with a satisfying value, as /search and cohorts count them
    matches, compared = plan_matches(engine, plan, where)
    # The fused ranking orders the patients it reaches; those beyond it follow in term-match order.
    # Its depth is the same for every page: a depth following the page ((offset + limit) x 3) ranked
    # the patients differently on each page, so paging 10 by 10 through « embolie pulmonaire » (23
    # patients on the demo index) showed one patient twice and never showed another. Cost of the
    # fixed depth on page 1: about +5 ms of 45 (median, demo index, 2 loaded cores).
    depth = MAX_LIMIT
    ranked = engine.search(request.model_copy(update={"offset": 0, "limit": depth}), where, spelling=spelling)
    documents = engine.backend.document_summaries(matches.doc_ids)  # no text: every match may be thousands
    # per-match work in comprehensions and C (Counter, dict.fromkeys): a common word matches
    # thousands of documents at 100k passages, and a Python loop per match was a fifth of a request
    patient_of = {doc_id: summary.patient_id for doc_id, summary in documents.items() if summary.patient_id}
    counts = Counter(patient_of.values())
    affirmed_counts = _affirmed_counts(engine, plan, where, ranked, matches, patient_of, counts)
    order: list[str] = []
    best: dict[str, list[PatientHit]] = {}
    term_match = bool(matches)
    for hit in ranked.results:  # fused order: the best documents first
        if not hit.patient_id or (term_match and hit.patient_id not in counts):
            continue
        if hit.patient_id not in best:
            order.append(hit.patient_id)
            best[hit.patient_id] = []
        if len(best[hit.patient_id]) < BEST_PER_PATIENT:
            best[hit.patient_id].append(PatientHit(
                id=hit.id, kind=hit.kind, title=hit.title, date=hit.date, snippet=hit.snippet, context=hit.context, relatives=hit.relatives,
                url=hit.url, semantic_only=hit.id not in matches,
            ))
    # then patients whose matches are beyond the fused ranking's depth, in the order of their best match
    for patient in dict.fromkeys(map(patient_of.get, matches.doc_ids)):
        if patient is not None and patient not in best:
            order.append(patient)
            best[patient] = []
    page = order[offset : offset + limit]
    # fill the page's patients up to BEST_PER_PATIENT from their term matches (best first): one pass
    # over the matches for the whole page, then the fill-ins' snippets built together
    missing = {p: BEST_PER_PATIENT - len(best[p]) for p in page if len(best[p]) < BEST_PER_PATIENT and counts.get(p)}
    left = {p: counts[p] for p in missing}  # each one's matching documents not passed yet: stop when none is
    shown = {h.id for p in missing for h in best[p]}
    fills: list[tuple[str, str]] = []  # (patient, document), in each patient's match order
    for doc_id in matches.doc_ids:
        if not missing:
            break
        patient = patient_of.get(doc_id)
        if patient not in missing:
            continue
        left[patient] -= 1
        if doc_id not in shown:
            fills.append((patient, doc_id))
            missing[patient] -= 1
        if not missing[patient] or not left[patient]:
            del missing[patient]
    snippets = _with_evidence(_snippets(engine, matches, [(doc_id, documents[doc_id].language) for _, doc_id in fills],
                                        plan.highlight_text, plan.lexical_statuses), compared)
    for patient, doc_id in fills:
        document = documents[doc_id]
        snippet, context = snippets[doc_id]
        best[patient].append(PatientHit(
            id=doc_id, kind=DocumentKind(document.kind), title=document.title, date=document.date, snippet=snippet,
            context=context, url=f"/documents/{doc_id}",
        ))
    return PatientSearchResponse(
        query=request.q, total=len(matches), total_patients=len(counts),
        total_affirmed=sum(affirmed_counts.values()), total_patients_affirmed=len(affirmed_counts), term_match=term_match,
        interpretation=plan.interpretation, expanded_terms=plan.expanded_terms, offset=offset, limit=limit,
        patients=[
            PatientResult(patient_id=p, rank=offset + i + 1, matching_documents=counts.get(p, 0),
                          affirmed_documents=affirmed_counts.get(p, 0), best=best[p])
            for i, p in enumerate(page)
        ],
        suggestion=ranked.suggestion,
    )


def _affirmed_counts(engine, plan, where: DocumentFilter, ranked, matches: DocumentMatches,  # noqa: ANN001
                     patient_of: dict[str, str], counts: Counter) -> Counter:
    """Per patient, the matching documents that match through an affirmed mention (the patients a
    one-criterion cohort of the query holds, as ``SearchResponse.total_patients_affirmed`` counts them).

    Why: the patients view said « 12 patients » where a cohort of the same query held 7, with nothing
    saying why (suspected findings rank, at a quarter of the weight, but a cohort keeps affirmed ones).
    The affirmed set (the query searched without hypothetical mentions, as the backend's
    ``lexical_search_counted(affirmed=True)`` counts it) is only asked of the backend when the search's
    counts say some match is not affirmed: otherwise every match is, and *counts* is the answer."""
    if ranked.total_affirmed is None or ranked.total_affirmed >= len(matches):
        return counts
    kept = affirmed_statuses(plan.lexical_statuses)
    affirmed = engine.backend.lexical_matching_documents(plan.lexical_text, where, kept, plan.concepts, plan.required) if kept else set()
    return Counter(patient_of[doc_id] for doc_id in affirmed if doc_id in patient_of)


def _shown_patient_search(response: PatientSearchResponse, viewer: Viewer) -> PatientSearchResponse:
    """The grouped results as the caller sees them (researchers: pseudonyms, shifted dates, masked text)."""
    if not viewer.deidentified:
        return response
    patients = []
    for result in response.patients:
        real = result.patient_id
        best = [
            hit.model_copy(update={
                "id": viewer.doc_out(hit.id, real), "title": viewer.text(hit.title, real) or "",
                "date": viewer.date(hit.date, real), "snippet": viewer.html(hit.snippet, real) or "",
                "url": viewer.doc_out(hit.url, real),
            })
            for hit in result.best
        ]
        patients.append(result.model_copy(update={"patient_id": viewer.patient_out(real), "best": best}))
    return response.model_copy(update={"patients": patients})
