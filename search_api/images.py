"""Image endpoints: search by an uploaded image, and the pictures themselves (thumbnail, windowed render).

``POST /search/image`` takes a PNG, JPEG or DICOM upload (plus optional ``q`` text and the filters of
``/search``) and returns similar images with the reports tied to them. ``GET /images/{id}/thumbnail``
and ``GET /images/{id}/render`` serve pixels. All need an identity (``search_api.security``); an image
outside the caller's scope answers 404 exactly as a missing one, similar-image search runs inside
the scope, researchers get de-identified results, and every access, granted or denied, is audited.
"""

# No `from __future__ import annotations`: FastAPI must resolve the closures' Depends(user) annotations.
import datetime as dt
import hashlib
import io
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field, field_validator, model_validator

from indexer.imaging import ImageReadError, load_image, render
from indexer.backend.filters import DocumentFilter
from indexer.imaging.thumbnails import get_or_create_thumbnail, thumbnails_dir
from indexer.schema import Document, DocumentKind
from indexer.settings import Settings
from search_api.engine_factory import clip_for, clip_text_leg  # noqa: F401  (re-exported)
from search_api.image_search import ImageSearch, ImageSearchResponse
from search_api.models import FilterDate, MAX_LIMIT, MAX_QUERY_CHARS
from search_api.retrieval import SearchEngine
from search_api.security import Principal, SecurityContext, current_principal
from search_api.security.views import (
    deid_image_response, readable_document, refuse_real_date_filters, researcher_filter_patient, scope_linked_reports,
)
from search_api.uploads import decode_upload, read_limited, sniff, status_for

RenderWindow = Literal["default", "auto", "lung", "bone", "brain", "soft"]
_PRIVATE_CACHE = {"Cache-Control": "private, max-age=3600"}  # article figures
_NO_STORE = {"Cache-Control": "no-store"}  # patient images: never kept in any cache


def _cache_headers(document: Document) -> dict[str, str]:
    return _NO_STORE if document.patient_id else _PRIVATE_CACHE


class ImageSearchParams(BaseModel):
    """The form fields of ``POST /search/image`` besides the file (``kinds`` is accepted and ignored)."""

    q: str | None = Field(default=None, description="Optional text the images' report/caption/header should match")
    patient_id: str | None = Field(default=None, max_length=64)
    date_from: FilterDate | None = None
    date_to: FilterDate | None = None
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT)

    @field_validator("q")
    @classmethod
    def _query(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if len(value) > MAX_QUERY_CHARS:
            raise ValueError(f"the query is too long ({len(value)} characters, at most {MAX_QUERY_CHARS})")
        return value or None

    @model_validator(mode="after")
    def _dates_in_order(self) -> "ImageSearchParams":
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from must be on or before date_to")
        return self


def image_router(settings: Settings, engine: Callable[[], SearchEngine], security: SecurityContext) -> APIRouter:
    """The image endpoints over the same engine and security context as the rest of the API."""
    router = APIRouter(tags=["images"])
    thumbnails = thumbnails_dir(settings)
    max_bytes = int(settings.images.max_upload_mb * 1e6)
    service: dict[str, ImageSearch] = {}

    def image_search() -> ImageSearch:
        if "it" not in service:
            service["it"] = ImageSearch(engine().backend, settings.images, clip_for(settings.images))
        return service["it"]

    def readable_image(doc_id: str, principal: Principal, http: Request) -> Document:
        return readable_document(security, engine(), doc_id, principal, http, kind=DocumentKind.IMAGE.value)

    @router.post("/search/image", response_model=ImageSearchResponse)
    def search_image(
        http: Request,
        principal: Annotated[Principal, Depends(current_principal)],
        file: Annotated[UploadFile, File(description="PNG, JPEG or DICOM image")],
        q: Annotated[str | None, Form()] = None,
        patient_id: Annotated[str | None, Form()] = None,
        date_from: Annotated[str | None, Form()] = None,
        date_to: Annotated[str | None, Form()] = None,
        limit: Annotated[int, Form()] = 10,
        kinds: Annotated[list[str], Form(description="ignored: results are images")] = [],  # noqa: B006
    ) -> ImageSearchResponse:
        declared = int(http.headers.get("content-length") or 0)
        if declared > max_bytes + 64_000:  # multipart overhead allowance
            raise HTTPException(status_code=413, detail=f"upload too large: more than {max_bytes / 1e6:g} MB")
        params = ImageSearchParams.model_validate(
            {"q": q, "patient_id": patient_id, "date_from": date_from, "date_to": date_to, "limit": limit}
        )
        data = read_limited(file.file, max_bytes)
        frame = decode_upload(data, settings.images.max_upload_pixels)
        search_engine = engine()
        search_engine.refresh_if_changed()
        deid = security.deid.for_engine(search_engine) if principal.deidentified else None
        if deid is not None:
            refuse_real_date_filters(params.date_from, params.date_to)
        patient_id = researcher_filter_patient(params.patient_id, deid) if deid is not None else params.patient_id
        q = deid.query(params.q) if deid is not None and params.q else params.q
        where = principal.scope.apply(DocumentFilter(  # the restriction is a filter of every image leg
            kinds=(DocumentKind.IMAGE.value,), patient_id=patient_id,
            date_from=params.date_from, date_to=params.date_to,
        ))
        # the text leg gets the same (restricted) filter: image_search passes *where* to it
        response = image_search().search(frame, search_engine.search, where, q, params.limit)
        results = scope_linked_reports(response.results, principal.scope, search_engine.backend)
        response = response.model_copy(update={
            "results": results,
            "reports": list({r.id: r for result in results for r in result.linked_reports}.values()),
        })
        security.record(
            http, principal, "image_search",
            query=params.q,
            filters=params.model_dump(exclude={"q"}, exclude_defaults=True, mode="json"),
            upload={"type": sniff(data), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()},
            returned=[r.id for r in response.results],
            patients=sorted({r.patient_id for r in response.results if r.patient_id}),
        )
        return deid_image_response(response, deid) if deid is not None else response

    @router.get("/images/{doc_id:path}/thumbnail", response_class=FileResponse)
    def thumbnail(
        doc_id: str, http: Request, principal: Annotated[Principal, Depends(current_principal)]
    ) -> FileResponse:
        document = readable_image(doc_id, principal, http)
        try:
            path = get_or_create_thumbnail(
                document.id, document.source_path, thumbnails, max_side=settings.images.thumbnail_size
            )
        except FileNotFoundError as exc:
            raise HTTPException(status_code=404, detail=f"the image file of {doc_id!r} is no longer available") from exc
        except ImageReadError as exc:
            raise HTTPException(status_code=status_for(exc.reason), detail=f"cannot render {doc_id!r}: {exc.reason}") from exc
        security.record(http, principal, "image_thumbnail", document_id=document.id, patient_id=document.patient_id)
        return FileResponse(path, media_type="image/png", headers=_cache_headers(document))

    @router.get("/images/{doc_id:path}/render", response_class=Response)
    def render_image(
        doc_id: str,
        http: Request,
        principal: Annotated[Principal, Depends(current_principal)],
        window: RenderWindow = "default",
        frame: Annotated[int | None, Query(ge=0, description="Frame index (default: the middle one)")] = None,
    ) -> Response:
        document = readable_image(doc_id, principal, http)
        try:
            picture = render(load_image(document.source_path, frame), window)
        except ImageReadError as exc:
            status = 404 if exc.reason == "file not found" else status_for(exc.reason)
            raise HTTPException(status_code=status, detail=f"cannot render {doc_id!r}: {exc.reason}") from exc
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        security.record(
            http, principal, "image_render", document_id=document.id, patient_id=document.patient_id, window=window, frame=frame,
        )
        return Response(buffer.getvalue(), media_type="image/png", headers=_cache_headers(document))

    return router
