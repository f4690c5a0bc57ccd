"""The one place a :class:`~search_api.retrieval.SearchEngine` is built from settings.

The API, the evaluation harness and the benchmarks all call :func:`build_engine`, so they search the
same way: the configured backend (:func:`indexer.backend.factory.open_backend`), the configured
encoder (or one already loaded), the search settings, and the CLIP text→image leg when a CLIP model
is configured.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from indexer.backend.base import IndexBackend
from indexer.backend.factory import open_backend
from indexer.encoders import Encoder, load_encoder
from indexer.imaging.clip import ClipEncoder, clip_model_id, load_clip
from indexer.settings import ImageSettings, Settings
from search_api.image_search import ClipTextLeg
from search_api.retrieval import SearchEngine

_clip_lock = threading.Lock()


@lru_cache(maxsize=2)
def _load_clip_cached(model_id: str, settings_json: str) -> ClipEncoder | None:
    return load_clip(ImageSettings.model_validate_json(settings_json))


def clip_for(settings: ImageSettings) -> ClipEncoder | None:
    """The configured CLIP model, loaded once per process and shared by both image legs."""
    if not settings.clip_model:
        return None
    with _clip_lock:
        return _load_clip_cached(clip_model_id(settings), settings.model_dump_json())


def clip_text_leg(settings: Settings) -> ClipTextLeg | None:
    """The CLIP leg of hybrid ``/search`` (None without a configured CLIP model)."""
    clip = clip_for(settings.images)
    return ClipTextLeg(clip, settings.images.clip_weight) if clip else None


def build_engine(
    settings: Settings,
    encoder: Encoder | None = None,
    *,
    backend: IndexBackend | None = None,
    clip: bool = True,
    interactive: bool = False,
) -> SearchEngine:
    """A search engine over the configured backend. Raises
    :class:`~indexer.backend.base.IndexNotFoundError` when nothing is indexed yet (or built with
    another encoder). *clip=False* leaves the CLIP leg out even when configured (text-only evaluation); *interactive*:
    the API's fail-fast Elasticsearch client (:func:`indexer.backend.factory.open_backend`)."""
    return SearchEngine(
        backend or open_backend(settings, interactive=interactive),
        encoder or load_encoder(settings.encoder),
        settings.search,
        text_to_image=clip_text_leg(settings) if clip else None,
    )
