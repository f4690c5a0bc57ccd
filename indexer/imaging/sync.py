"""Keep the image vectors (through the backend's writer) and the thumbnail cache in step with an indexing run.

Called by :func:`indexer.pipeline.index_paths` before the run publishes. Each image document's vector
is recomputed only when its source file changed (size or mtime) or the model changed (the backend
empties a space whose model changed, see :meth:`~indexer.backend.base.IndexWriter.ensure_image_space`);
so an incremental run over an unchanged archive decodes nothing. One decode per changed image serves the pixel descriptor, the
CLIP embedding (when configured) and the thumbnail. Documents the run removed are removed here too.
An image that cannot be decoded now keeps its text entry and is reported, like any skipped file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from indexer.imaging.clip import ClipEncoder, clip_model_id, load_clip
from indexer.imaging.descriptor import DESCRIPTOR_DIM, DESCRIPTOR_VERSION, describe
from indexer.imaging.errors import ImageReadError
from indexer.imaging.frame import ImageFrame
from indexer.imaging.loader import load_image
from indexer.imaging.thumbnails import get_or_create_thumbnail
from indexer.schema import Document, DocumentKind
from indexer.settings import ImageSettings
from indexer.backend.base import IndexWriter

CLIP_BATCH = 16


@dataclass
class ImageSyncReport:
    described: int = 0
    removed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


def source_key(path: str) -> str:
    """What a stored vector was computed from: the file's size and modification time."""
    stat = os.stat(path)
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def sync_image_indexes(
    writer: IndexWriter,
    documents: Iterable[Document],
    removed_ids: Iterable[str],
    settings: ImageSettings,
    clip: ClipEncoder | None = None,
    thumbnails: Path | None = None,
) -> ImageSyncReport:
    """Describe new/changed images, drop removed ones, render missing thumbnails into *thumbnails*.

    *documents* are this run's parsed documents (unchanged ones included: their vectors are only
    checked); *removed_ids* are the ids the run deleted from the text stores. *clip* defaults to
    the configured model (``settings.clip_model``), loaded once per process. Nothing is saved here:
    the writer's commit/publish does it with the rest of the run.
    """
    started = time.perf_counter()
    report = ImageSyncReport()
    images = [d for d in documents if d.kind == DocumentKind.IMAGE]
    current = {d.id for d in images}
    writer.ensure_image_space("descriptor", DESCRIPTOR_DIM, DESCRIPTOR_VERSION)
    clip_model = clip if clip is not None else (_loaded_clip(settings) if settings.clip_model else None)
    if clip_model is not None:
        writer.ensure_image_space("clip", clip_model.dim, clip_model.name)

    report.removed = writer.remove_image_vectors([doc_id for doc_id in removed_ids if doc_id not in current])

    pending: list[tuple[str, str, ImageFrame]] = []  # CLIP batch: (doc id, key, frame)
    for document in images:
        if document.metadata.get("pixels_error"):
            # indexed from its header alone: the run already warned why its pixels are not decoded, and
            # the file is not « ignoré » (it was counted twice among the skipped files)
            continue
        try:
            key = source_key(document.source_path)
        except OSError as exc:
            report.skipped.append((document.source_path, f"image vector not computed: {exc.strerror or exc}"))
            continue
        needs_clip = clip_model is not None and writer.image_vector_key("clip", document.id) != key
        if writer.image_vector_key("descriptor", document.id) == key and not needs_clip:
            _thumbnail(document, thumbnails, settings, None, report)
            continue
        try:
            frame = load_image(document.source_path)
        except ImageReadError as exc:
            report.skipped.append((document.source_path, f"image vector not computed: {exc.reason}"))
            continue
        writer.put_image_vectors("descriptor", [(document.id, key, describe(frame))])
        report.described += 1
        if needs_clip:
            pending.append((document.id, key, frame))
            if len(pending) >= CLIP_BATCH:
                _embed(writer, pending, clip_model)
        _thumbnail(document, thumbnails, settings, frame, report)
    if pending and clip_model is not None:
        _embed(writer, pending, clip_model)
    report.seconds = time.perf_counter() - started
    return report


_clip_cache: dict[str, ClipEncoder] = {}


def _loaded_clip(settings: ImageSettings) -> ClipEncoder:
    """Load the configured CLIP model once per process (indexing runs may be scheduled repeatedly)."""
    key = clip_model_id(settings)
    if key not in _clip_cache:
        model = load_clip(settings)
        assert model is not None
        _clip_cache[key] = model
    return _clip_cache[key]


def _embed(writer: IndexWriter, pending: list[tuple[str, str, ImageFrame]], clip: ClipEncoder) -> None:
    vectors = clip.encode_images([frame for _, _, frame in pending])
    writer.put_image_vectors("clip", [(doc_id, key, vector) for (doc_id, key, _), vector in zip(pending, vectors, strict=True)])
    pending.clear()


def _thumbnail(
    document: Document, thumbnails: Path | None, settings: ImageSettings, frame: ImageFrame | None, report: ImageSyncReport
) -> None:
    """Render the result-list thumbnail now (once), reusing the frame just decoded when there is one."""
    if thumbnails is None:
        return
    try:
        get_or_create_thumbnail(
            document.id,
            document.source_path,
            thumbnails,
            max_side=settings.thumbnail_size,
            loader=(lambda _path: frame) if frame is not None else load_image,
        )
    except (ImageReadError, OSError) as exc:
        report.skipped.append((document.source_path, f"thumbnail not rendered: {getattr(exc, 'reason', exc)}"))
