"""Pick the storage backend from configuration, the way :func:`indexer.encoders.load_encoder` picks an encoder.

``backend.kind: embedded`` (default) opens the on-disk index under ``index.dir``;
``backend.kind: elasticsearch`` connects to ``backend.url`` with credentials from the environment
(``MEDSEARCH_BACKEND__USERNAME`` / ``MEDSEARCH_BACKEND__PASSWORD`` or ``MEDSEARCH_BACKEND__API_KEY``:
never in the YAML file). Each implementation is imported only when chosen, so the embedded one
never needs the ``elasticsearch`` client installed and vice versa.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from indexer.backend.base import IndexBackend

if TYPE_CHECKING:
    from indexer.settings import Settings


def open_backend(settings: Settings, *, interactive: bool = False) -> IndexBackend:
    """The configured backend (reading lazily: opening never fails for lack of an index). *interactive*:
    for the API, whose Elasticsearch client fails fast (``backend.api_request_timeout_s``,
    ``backend.api_max_retries``) where the indexer's retries patiently."""
    kind = settings.backend.kind
    if kind == "embedded":
        from indexer.backend.embedded import EmbeddedBackend

        return EmbeddedBackend(settings)
    if kind == "elasticsearch":
        try:
            from indexer.backend.elasticsearch import ElasticsearchBackend
        except ImportError as exc:
            raise RuntimeError(
                f"backend.kind=elasticsearch cannot be loaded ({exc}): install the client with "
                "`pip install 'elasticsearch>=8,<9'`"
            ) from exc
        return ElasticsearchBackend(settings, interactive=interactive)
    raise ValueError(f"unknown backend.kind {kind!r} (embedded | elasticsearch)")
