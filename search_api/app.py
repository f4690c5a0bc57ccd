"""The FastAPI application: search, documents, stats and health, with an audit trail.

Who is asking comes from the ``X-User`` header (set by the portal, or by the hospital's
authenticating reverse proxy). Reading a document that belongs to a patient requires it, and every
search and every document read is written to the audit log.
"""


from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from indexer.backend.base import IndexNotFoundError
from indexer.encoders import Encoder
from indexer.schema import DocumentKind
from indexer.settings import Settings, get_settings
from search_api.audit import AuditLog
from search_api.engine_factory import build_engine
from search_api.images import image_router
from search_api.models import DocumentResponse, SearchMode, SearchRequest, SearchResponse, StatsResponse
from search_api.retrieval import SearchEngine

ANONYMOUS = "anonymous"


def create_app(settings: Settings | None = None, encoder: Encoder | None = None) -> FastAPI:
    """Build the API over the index in ``settings.index.dir`` (uvicorn calls this as a factory)."""
    settings = settings or get_settings()
    state: dict[str, object] = {"engine": None}

    @asynccontextmanager
    async def warm_up(_: FastAPI) -> AsyncIterator[None]:
        """Load the encoder and the index before the first request, not during it."""
        try:
            engine().warm_up()
        except HTTPException:
            pass  # no index yet: /search answers 503 until one is built
        yield

    app = FastAPI(
        title="medsearch API",
        version="0.1.0",
        description="Hybrid (BM25 + dense) search across clinical reports, patient records, articles and images.",
        lifespan=warm_up,
    )
    audit = AuditLog(settings.api.audit_log)
    app.state.audit = audit

    def engine() -> SearchEngine:
        if state["engine"] is None:
            try:
                state["engine"] = build_engine(settings, encoder)
            except IndexNotFoundError as exc:
                raise HTTPException(status_code=503, detail=str(exc)) from exc
        return state["engine"]  # type: ignore[return-value]

    def user(x_user: Annotated[str | None, Header(description="Authenticated user name")] = None) -> str:
        # The portal percent-encodes non-ASCII names (HTTP headers are ASCII): « Dr Hélène » arrives as UTF-8 %-escapes.
        return unquote((x_user or "").strip()) or ANONYMOUS

    def run_search(request: SearchRequest, who: str, http: Request) -> SearchResponse:
        response = engine().search(request)
        audit.record(
            who,
            "search",
            query=request.q,
            filters=request.model_dump(exclude={"q"}, exclude_defaults=True, mode="json"),
            returned=[r.id for r in response.results],
            client=http.client.host if http.client else None,
        )
        return response

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/stats", response_model=StatsResponse)
    def stats() -> StatsResponse:
        return engine().stats()

    @app.get("/search", response_model=SearchResponse)
    def search_get(
        http: Request,
        who: Annotated[str, Depends(user)],
        q: Annotated[str, Query(description="Query text (French or English)")],
        kinds: Annotated[list[DocumentKind], Query()] = [],  # noqa: B006 - FastAPI needs a literal default
        patient_id: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        language: str | None = None,
        mode: SearchMode = "hybrid",
        include_negated: bool = False,
        expand: bool = True,
        clinical: bool = True,
        limit: int = 10,
        offset: int = 0,
    ) -> SearchResponse:
        request = SearchRequest.model_validate(
            {
                "q": q, "kinds": kinds, "patient_id": patient_id, "date_from": date_from, "date_to": date_to,
                "language": language, "mode": mode, "include_negated": include_negated, "expand": expand, "clinical": clinical,
                "limit": limit, "offset": offset,
            }
        )
        return run_search(request, who, http)

    @app.post("/search", response_model=SearchResponse)
    def search_post(request: SearchRequest, http: Request, who: Annotated[str, Depends(user)]) -> SearchResponse:
        return run_search(request, who, http)

    @app.get("/documents/{doc_id:path}", response_model=DocumentResponse)
    def get_document(doc_id: str, http: Request, who: Annotated[str, Depends(user)]) -> DocumentResponse:
        document = engine().document(doc_id)
        if document is None:
            raise HTTPException(status_code=404, detail=f"no document with id {doc_id!r}")
        if document.patient_id and who == ANONYMOUS:
            audit.record(who, "document_denied", document_id=doc_id, patient_id=document.patient_id)
            raise HTTPException(status_code=401, detail="reading a patient document requires an identified user (X-User header)")
        audit.record(
            who,
            "document_read",
            document_id=doc_id,
            patient_id=document.patient_id,
            client=http.client.host if http.client else None,
        )
        return DocumentResponse.model_validate(document.model_dump())

    @app.exception_handler(ValidationError)
    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: ValidationError | RequestValidationError) -> JSONResponse:
        """422 with where and why, for GET parameters (validated in our code) and bodies alike. The
        rejected input is not echoed back: it may not even be encodable (a lone surrogate)."""
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": errors})

    app.include_router(image_router(settings, engine, user, audit))
    return app
