"""Image retrieval over the index: image → image (descriptor, CLIP), text → image (CLIP text tower).

Three legs can rank images, fused with weighted RRF like the text legs of ``/search``:

* ``descriptor``: the uploaded image's pixel descriptor against ``images.faiss`` (always there);
* ``clip``: its CLIP embedding against ``images-clip.faiss`` (when a CLIP model is configured);
* text: with an optional ``q``, the hybrid text search restricted to images (report text, caption,
  DICOM header), each hit keeping the methods that matched.

Image vectors are read through the storage backend (:meth:`~indexer.backend.base.IndexBackend.image_search`),
which reloads them with the text stores when a new generation is published.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from pydantic import BaseModel, Field

from indexer.imaging.clip import ClipEncoder
from indexer.imaging.descriptor import DESCRIPTOR_VERSION, describe
from indexer.imaging.frame import ImageFrame
from indexer.backend.base import IndexBackend
from indexer.backend.filters import DocumentFilter
from indexer.schema import DocumentKind
from indexer.settings import ImageSettings
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


class ClipTextLeg:
    """Text query → CLIP text tower → CLIP image vectors: the extra fused leg of hybrid ``/search``."""

    def __init__(self, clip: ClipEncoder, weight: float) -> None:
        self.clip = clip
        self.weight = weight

    def __call__(self, query: str, backend: IndexBackend, where: DocumentFilter, depth: int) -> list[tuple[str, float]]:
        if where.kinds and DocumentKind.IMAGE.value not in where.kinds:
            return []
        vector = self.clip.encode_texts([query])[0]
        hits = backend.image_search("clip", vector, depth, where, model=self.clip.name)
        return [(h.doc_id, h.score) for h in hits]


#: the hybrid text search: (request, filter applied inside its legs) → response
TextSearch = Callable[[SearchRequest, DocumentFilter], SearchResponse]


class ImageSearch:
    """Answers ``POST /search/image``: images similar to an uploaded one, optionally constrained by text."""

    def __init__(self, backend: IndexBackend, settings: ImageSettings, clip: ClipEncoder | None = None) -> None:
        self.backend = backend
        self.settings = settings
        self.clip = clip

    def search(
        self,
        frame: ImageFrame,
        text_search: TextSearch,
        where: DocumentFilter,
        q: str | None = None,
        limit: int = 10,
    ) -> ImageSearchResponse:
        with self.backend.pinned():  # one generation for the whole request
            return self._search(frame, text_search, where, q, limit)

    def _search(
        self, frame: ImageFrame, text_search: TextSearch, where: DocumentFilter, q: str | None, limit: int
    ) -> ImageSearchResponse:
        started = time.perf_counter()
        depth = max(100, limit * 4)
        backend = self.backend
        legs: dict[str, list[str]] = {}
        similarity: dict[str, dict[str, float]] = {}
        weights = {"descriptor": 1.0, "clip": self.settings.clip_weight, "text": 1.0}

        hits = backend.image_search("descriptor", describe(frame), depth, where, model=DESCRIPTOR_VERSION)
        legs["descriptor"] = [h.doc_id for h in hits]
        similarity["descriptor"] = {h.doc_id: h.score for h in hits}
        if self.clip is not None:
            hits = backend.image_search("clip", self.clip.encode_images([frame])[0], depth, where, model=self.clip.name)
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
        if q:  # the text typed with the upload restricts: only images whose report, caption or header has its words
            worded = {r.id for r in text if r.explanation.lexical_rank is not None}
            fused = [(doc_id, score) for doc_id, score in fused if doc_id in worded]
        page = fused[:limit]
        documents = backend.get_documents([doc_id for doc_id, _ in page])
        results: list[ImageResult] = []
        for doc_id, score in page:
            document = documents.get(doc_id)
            if document is None:
                continue
            extra = [leg for leg in ("descriptor", "clip") if doc_id in similarity.get(leg, {})]
            fields = image_fields(document, backend, extra=extra)
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
