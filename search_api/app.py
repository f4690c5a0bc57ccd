"""The FastAPI application: search, documents, stats and health, with an audit trail.

Every endpoint but ``/health`` (and the schema pages ``/docs``, ``/redoc``, ``/openapi.json``, which
hold no patient data) needs an identity: a Bearer JWT or an API key (:mod:`search_api.security`).
What the caller may see is a restriction inside retrieval (``principal.scope``); researchers get the
de-identified view; every search and document read is written to the hash-chained audit log, and a
request whose audit line cannot be written fails (503).
"""


import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi_offline import FastAPIOffline
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from indexer.backend.base import IndexNotFoundError, backend_unreachable
from indexer.encoders import Encoder
from indexer.settings import ConfigError, Settings, get_settings
from search_api.access_log import install as install_access_log_filter
from search_api.engine_factory import build_engine
from search_api.gc_tuning import freeze_loaded_objects
from search_api.images import image_router
from search_api.jobs import jobs_router
from search_api.limits import BodySizeLimit
from search_api.models import DocumentResponse, SearchRequest, SearchResponse, StatsResponse
from search_api.retrieval import SearchEngine
from search_api.cohorts import cohort_router
from search_api.patients import patient_router
from search_api.request_id import install as install_request_id
from search_api.query_params import search_query
from search_api.related import related_router
from search_api.saved_searches import saved_search_router
from search_api.security import Principal, Role, current_principal, require_role
from search_api.security.setup import install_security
from search_api.security.views import (
    deid_document, deid_search_result, readable_document, refuse_real_date_filters, researcher_filter_patient,
    scope_linked_reports,
)


log = logging.getLogger("medsearch.api")


def _writable_folder(path: Path) -> str | None:
    """Why files cannot be created in *path*'s folder (created if missing), or None."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return f"{path.parent} is not writable by this user"
    return None


def check_writable(settings: Settings) -> None:
    """The audit log and the user data must be writable: an API that cannot audit answers 503 to every
    request (by design), so an unwritable ``api.audit_log`` is a deployment error to refuse at start-up,
    naming the setting, not an API that starts, reports ready and refuses everything."""
    for name, env, path in (("api.audit_log", "MEDSEARCH_API__AUDIT_LOG", settings.api.audit_log),
                            ("api.user_data", "MEDSEARCH_API__USER_DATA", settings.api.user_data)):
        problem = _writable_folder(path)
        if problem:
            raise ConfigError(f"{name} = {path} ({env}): cannot be written: {problem}")


def create_app(settings: Settings | None = None, encoder: Encoder | None = None) -> FastAPI:
    """Build the API over the index in ``settings.index.dir`` (uvicorn calls this as a factory)."""
    settings = settings or get_settings()
    state: dict[str, object] = {"engine": None}
    install_access_log_filter()  # no query text, IPP or document id in the server's access log
    check_writable(settings)

    @asynccontextmanager
    async def warm_up(_: FastAPI) -> AsyncIterator[None]:
        """Load the encoder and the index before the first request, not during it."""
        try:
            engine().warm_up()
        except HTTPException:
            pass  # no index yet: /search answers 503 until one is built
        except Exception as exc:  # noqa: BLE001 - only the backend's « cannot answer now »; others re-raised
            if not backend_unreachable(exc):
                raise
            # Elasticsearch down at start-up: the API starts anyway (liveness stays green, so an orchestrator
            # does not restart it in a loop) and answers 503 until the cluster answers; the engine is built
            # at the first request that finds it back
            log.warning("the index's server cannot be reached at start-up (%s: %s): searches answer 503 until it can",
                        type(exc).__name__, exc)
        freeze_loaded_objects()
        yield

    app = FastAPIOffline(  # /docs and /redoc with their assets served locally (no CDN in a hospital)
        title="medsearch API",
        version="0.1.0",
        description="Hybrid (BM25 + dense) search across clinical reports, patient records, articles and images.",
        lifespan=warm_up,
    )
    security = install_security(app, settings)

    def engine() -> SearchEngine:
        if state["engine"] is None:
            try:
                state["engine"] = build_engine(settings, encoder, interactive=True)  # fail fast on a hung cluster
            except IndexNotFoundError as exc:
                raise HTTPException(status_code=503, detail=str(exc)) from exc
        return state["engine"]  # type: ignore[return-value]

    def run_search(request: SearchRequest, principal: Principal, http: Request) -> SearchResponse:
        search_engine = engine()
        asked = request
        deid = security.deid.for_engine(search_engine) if principal.deidentified else None
        if deid is not None:  # researchers filter by pseudonym and cannot probe names, IPPs or real dates
            refuse_real_date_filters(request.date_from, request.date_to)
            request = request.model_copy(
                update={"q": deid.query(request.q), "patient_id": researcher_filter_patient(request.patient_id, deid)}
            )
        response = search_engine.search(request, where=principal.scope.apply(search_engine.filter_for(request)),
                                        spelling="lexicon" if principal.deidentified else "index")
        results = scope_linked_reports(response.results, principal.scope, search_engine.backend)
        security.record(
            http, principal, "search",
            query=asked.q,
            filters=asked.model_dump(exclude={"q"}, exclude_defaults=True, mode="json"),
            returned=[r.id for r in results],
            patients=sorted({r.patient_id for r in results if r.patient_id}),
        )
        if deid is not None:
            results = [deid_search_result(r, deid) for r in results]
        return response.model_copy(update={"results": results})

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", responses={503: {"description": "Not ready: no index yet, or its server is down"}})
    def ready() -> JSONResponse:
        """Readiness for a load balancer or a Kubernetes ``readinessProbe``: 200 when the index is loaded and
        its server answers (the generation served), 503 with the reason otherwise (nothing published yet,
        built with another encoder, Elasticsearch unreachable). ``/health`` stays liveness only: the
        process answers (an orchestrator must not restart the API because Elasticsearch is down).
        Public like ``/health``: no patient data, no path, no count."""
        try:
            search_engine = engine()
            search_engine.backend.ping(3.0)  # a hung cluster: 503 in 3 s, not after a search's timeouts and retries
            search_engine.backend.refresh()
            generation = search_engine.backend.info().generation
        except HTTPException as exc:  # IndexNotFoundError: no index / another encoder
            detail = str(exc.detail)
            reason = ("index built with another encoder: rebuild it" if "encoder" in detail
                      else "index written by another medsearch version: rebuild it" if "format" in detail or "older" in detail
                      else "no index published yet")
            return JSONResponse(status_code=503, content={"status": "not ready", "reason": reason})
        except IndexNotFoundError:
            return JSONResponse(status_code=503, content={"status": "not ready", "reason": "no index published yet"})
        except Exception as exc:  # noqa: BLE001
            if not backend_unreachable(exc):
                raise
            return JSONResponse(status_code=503, content={"status": "not ready", "reason": "the index's server cannot be reached"})
        if _writable_folder(settings.api.audit_log):  # a full or read-only disk since start-up: every request is a 503
            return JSONResponse(status_code=503, content={"status": "not ready", "reason": "the audit log cannot be written"})
        return JSONResponse(content={"status": "ready", "generation": generation})

    @app.get("/stats", response_model=StatsResponse)
    def stats(_: Annotated[Principal, Depends(require_role(Role.ADMIN))]) -> StatsResponse:
        return engine().stats()

    @app.get("/search", response_model=SearchResponse)
    def search_get(
        http: Request,
        principal: Annotated[Principal, Depends(current_principal)],
        request: Annotated[SearchRequest, Depends(search_query)],
    ) -> SearchResponse:
        return run_search(request, principal, http)

    @app.post("/search", response_model=SearchResponse)
    def search_post(
        request: SearchRequest, http: Request, principal: Annotated[Principal, Depends(current_principal)]
    ) -> SearchResponse:
        return run_search(request, principal, http)

    app.include_router(related_router(engine, security.audit))  # before /documents/{id:path}, which would swallow /links

    @app.get("/documents/{doc_id:path}", response_model=DocumentResponse)
    def get_document(
        doc_id: str, http: Request, principal: Annotated[Principal, Depends(current_principal)]
    ) -> DocumentResponse:
        document = readable_document(security, engine(), doc_id, principal, http)
        security.record(http, principal, "document_read", document_id=document.id, patient_id=document.patient_id)
        response = DocumentResponse.model_validate(document.model_dump())
        return deid_document(response, security.deid.for_engine(engine())) if principal.deidentified else response

    @app.exception_handler(Exception)
    async def _backend_unreachable(_: Request, exc: Exception) -> JSONResponse:
        """Elasticsearch down or timing out during a request: 503 with a message and ``Retry-After``, never
        a 500 with a stack trace; anything else is the 500 it always was (logged by the server)."""
        if not backend_unreachable(exc):
            raise exc
        log.warning("the index's server did not answer (%s: %s)", type(exc).__name__, exc)
        return JSONResponse(status_code=503, headers={"Retry-After": "30"},
                            content={"detail": "the search index's server cannot be reached: retry in a moment"})

    @app.exception_handler(ValidationError)
    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: ValidationError | RequestValidationError) -> JSONResponse:
        """422 with where and why, for GET parameters (validated in our code) and bodies alike. The
        rejected input is not echoed back: it may not even be encodable (a lone surrogate)."""
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": errors})

    app.include_router(image_router(settings, engine, security))
    app.include_router(patient_router(engine, security.audit))
    app.include_router(cohort_router(settings, engine, security.audit))
    app.include_router(saved_search_router(settings, security.audit))
    app.include_router(jobs_router(settings), dependencies=[Depends(require_role(Role.ADMIN))])
    app.add_middleware(BodySizeLimit, max_bytes=int(settings.api.max_body_mb * 1e6))
    install_request_id(app)  # outermost: every answer (a 500 too) carries X-Request-ID
    return app
