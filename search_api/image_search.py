"""Image retrieval over the index: image → image (descriptor, CLIP), text → image (CLIP text tower).

Three legs can rank images, fused with weighted RRF like the text legs of ``/search``:

* ``descriptor``: the uploaded image's pixel descriptor against ``images.faiss`` (always there);
* ``clip``: its CLIP embedding against ``images-clip.faiss`` (when a CLIP model is configured);
* text: with an optional ``q``, the hybrid text search restricted to images (report text, caption,
  DICOM header), each hit keeping the methods that matched.

Vector indexes are reopened when the indexer rewrites them (file size/mtime), like the text stores.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from indexer.imaging.clip import ClipEncoder
from indexer.imaging.descriptor import DESCRIPTOR_DIM, DESCRIPTOR_VERSION, describe
from indexer.imaging.frame import ImageFrame
from indexer.imaging.index import ImageVectorIndex, sidecar_path
from indexer.schema import DocumentKind
from indexer.settings import ImageSettings
from indexer.store.layout import IndexLayout
from indexer.store.metadata import DocumentFilter, MetadataStore
from search_api.fusion import reciprocal_rank_fusion
from search_api.image_results import dense_is_evidence, image_fields, image_url, ordered_methods
from search_api.models import MAX_LIMIT, ImageMethod, LinkedReport, SearchRequest, SearchResponse

IMAGE_KINDS = (DocumentKind.IMAGE.value,)


class ImageResult(BaseModel):
    id: str
    title: str
    date: dt.date | None
    patient_id: str | None
    modality: str | None
    body_part: str | None = None
    score: float
    methods: list[ImageMethod] = Field(description="what scored it: descriptor, clip, and/or the text that matched")
    descriptor_similarity: float | None = None
    clip_similarity: float | None = None
    linked_reports: list[LinkedReport] = Field(default_factory=list)
    caption: str | None = None
    thumbnail_url: str
    render_url: str
    url: str


class ImageSearchResponse(BaseModel):
    query: str | None
    took_ms: float
    total: int = Field(description="Images in the fused candidate pool")
    results: list[ImageResult]
    reports: list[LinkedReport] = Field(description="Reports tied to the results, in result order, once each")


class _ReloadingIndex:
    """An :class:`ImageVectorIndex` reopened when its files change on disk (a new indexing run)."""

    def __init__(self, path: Path, dim: int, model: str) -> None:
        self.path, self.dim, self.model = path, dim, model
        self._stamp: tuple[int, ...] | None = None
        self._index = ImageVectorIndex(dim, model)
        self._lock = threading.Lock()

    def get(self) -> ImageVectorIndex:
        stamp = self._file_stamp()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._index = ImageVectorIndex.load(self.path, self.dim, self.model)
                    self._stamp = stamp
        return self._index

    def _file_stamp(self) -> tuple[int, ...]:
        stamp: list[int] = []
        for path in (self.path, sidecar_path(self.path)):
            try:
                stat = path.stat()
                stamp += [stat.st_size, stat.st_mtime_ns]
            except OSError:
                stamp += [-1, -1]
        return tuple(stamp)


def allowed_images(metadata: MetadataStore, where: DocumentFilter) -> list[str] | None:
    """Image ids passing the filters (None: no filter beyond 'is an image', so search them all)."""
    images_only = replace(where, kinds=IMAGE_KINDS)
    if replace(images_only, kinds=()).is_empty():
        return None
    return metadata.document_ids_where(images_only)


class ClipTextLeg:
    """Text query → CLIP text tower → CLIP image index: the extra fused leg of hybrid ``/search``."""

    def __init__(self, layout: IndexLayout, clip: ClipEncoder, weight: float) -> None:
        self.clip = clip
        self.weight = weight
        self._index = _ReloadingIndex(layout.clip_images, clip.dim, clip.name)

    def __call__(self, query: str, metadata: MetadataStore, where: DocumentFilter, depth: int) -> list[tuple[str, float]]:
        if where.kinds and DocumentKind.IMAGE.value not in where.kinds:
            return []
        vector = self.clip.encode_texts([query])[0]
        hits = self._index.get().search(vector, depth, allowed_images(metadata, where))
        return [(h.doc_id, h.score) for h in hits]


#: the hybrid text search: (request, filter applied inside its legs) → response
TextSearch = Callable[[SearchRequest, DocumentFilter], SearchResponse]


class ImageSearch:
    """Answers ``POST /search/image``: images similar to an uploaded one, optionally constrained by text."""

    def __init__(self, layout: IndexLayout, settings: ImageSettings, clip: ClipEncoder | None = None) -> None:
        self.settings = settings
        self.clip = clip
        self.descriptors = _ReloadingIndex(layout.images, DESCRIPTOR_DIM, DESCRIPTOR_VERSION)
        self.clip_images = _ReloadingIndex(layout.clip_images, clip.dim, clip.name) if clip else None

    def search(
        self,
        frame: ImageFrame,
        metadata: MetadataStore,
        text_search: TextSearch,
        where: DocumentFilter,
        q: str | None = None,
        limit: int = 10,
    ) -> ImageSearchResponse:
        started = time.perf_counter()
        depth = max(100, limit * 4)
        allowed = allowed_images(metadata, where)
        legs: dict[str, list[str]] = {}
        similarity: dict[str, dict[str, float]] = {}
        weights = {"descriptor": 1.0, "clip": self.settings.clip_weight, "text": 1.0}

        hits = self.descriptors.get().search(describe(frame), depth, allowed)
        legs["descriptor"] = [h.doc_id for h in hits]
        similarity["descriptor"] = {h.doc_id: h.score for h in hits}
        if self.clip is not None and self.clip_images is not None:
            hits = self.clip_images.get().search(self.clip.encode_images([frame])[0], depth, allowed)
            legs["clip"] = [h.doc_id for h in hits]
            similarity["clip"] = {h.doc_id: h.score for h in hits}
        text_methods: dict[str, list[ImageMethod]] = {}
        if q:
            request = SearchRequest(
                q=q, kinds=[DocumentKind.IMAGE], patient_id=where.patient_id,
                date_from=where.date_from, date_to=where.date_to, limit=min(depth, MAX_LIMIT),
            )
            text = text_search(request, replace(where, kinds=IMAGE_KINDS)).results
            legs["text"] = [r.id for r in text]
            best = max((r.explanation.dense_similarity or 0.0 for r in text), default=None)
            text_methods = {  # only where the text really matched: a term, or a dense match near the best
                r.id: [m for m in r.methods if m in ("report_text", "caption", "metadata")]
                for r in text
                if r.explanation.lexical_rank is not None or dense_is_evidence(r.explanation.dense_similarity, best)
            }

        fused = reciprocal_rank_fusion(list(legs.values()), [weights[name] for name in legs])
        page = fused[:limit]
        documents = metadata.get_documents([doc_id for doc_id, _ in page])
        results: list[ImageResult] = []
        for doc_id, score in page:
            document = documents.get(doc_id)
            if document is None:
                continue
            extra = [leg for leg in ("descriptor", "clip") if doc_id in similarity.get(leg, {})]
            fields = image_fields(document, metadata, extra=extra)
            results.append(
                ImageResult(
                    id=doc_id,
                    title=document.title,
                    date=document.date,
                    patient_id=document.patient_id,
                    modality=document.modality,
                    body_part=document.metadata.get("body_part"),
                    score=round(score, 6),
                    methods=ordered_methods([*fields["methods"], *text_methods.get(doc_id, [])]),
                    descriptor_similarity=_rounded(similarity.get("descriptor", {}).get(doc_id)),
                    clip_similarity=_rounded(similarity.get("clip", {}).get(doc_id)),
                    linked_reports=fields["linked_reports"],
                    caption=fields["caption"],
                    thumbnail_url=fields["thumbnail_url"],
                    render_url=image_url(doc_id, "render"),
                    url=f"/documents/{doc_id}",
                )
            )
        reports = list({r.id: r for result in results for r in result.linked_reports}.values())
        took = (time.perf_counter() - started) * 1000
        return ImageSearchResponse(query=q, took_ms=round(took, 2), total=len(fused), results=results, reports=reports)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(np.float32(value)), 4)
