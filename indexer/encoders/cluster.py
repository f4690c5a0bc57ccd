"""The passage-encoding stage on a Ray cluster (optional extra ``medsearch[cluster]``).

Why: embedding is the only indexing stage that does not fit one machine's CPU for a hospital's millions
of reports (shared/MODELS.md: ~100 passages/s per 2 cores at best). Ray Data's ``map_batches`` with a
callable class runs the same encoder in actors on every node of a cluster; the vectors come back to the
indexing process, which writes Tantivy, FAISS and SQLite exactly as before (the write side is not
distributed: it is fast and must stay one writer).

:class:`RayPassageEncoder` is an :class:`~indexer.encoders.base.Encoder`: queries are embedded locally
by the wrapped encoder, passages by the cluster. The pipeline hands it ``4 × encoder.batch_size``
passages per call; raise ``encoder.batch_size`` (e.g. 1024) so each call keeps every actor busy.

    MEDSEARCH_ENCODER__RAY_ADDRESS=ray://head:10001 MEDSEARCH_ENCODER__BATCH_SIZE=1024 medsearch index /data
"""

from __future__ import annotations

from typing import Any

import numpy as np

from indexer.encoders.base import Encoder, l2_normalise


class _EncodeBatch:
    """Ray Data callable class: one encoder per actor, loaded once, applied to each batch."""

    def __init__(self, settings: dict[str, Any]) -> None:
        from indexer.encoders import load_encoder
        from indexer.settings import EncoderSettings

        self.encoder = load_encoder(EncoderSettings(**{**settings, "ray_address": None}))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in batch["text"]]
        return {"i": batch["i"], "vector": self.encoder.encode_passages(texts)}


class RayPassageEncoder:
    """Passages through Ray Data ``map_batches`` on a cluster, queries through the local encoder."""

    def __init__(self, local: Encoder, settings: dict[str, Any], address: str | None = None,
                 actors: int | None = None, batch_size: int = 256, num_cpus_per_actor: float = 1.0) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        self._local, self._settings = local, settings
        self.name, self.dim = local.name, local.dim
        self._actors = actors or max(1, int(ray.cluster_resources().get("CPU", 1) // num_cpus_per_actor))
        self._batch_size, self._num_cpus = batch_size, num_cpus_per_actor

    @property
    def fingerprint(self) -> str:
        return getattr(self._local, "fingerprint", self.name)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._local.encode_queries(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        import ray.data

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        dataset = ray.data.from_items([{"i": i, "text": t} for i, t in enumerate(texts)])
        encoded = dataset.map_batches(
            _EncodeBatch, fn_constructor_kwargs={"settings": self._settings}, batch_size=self._batch_size,
            batch_format="numpy", concurrency=self._actors, num_cpus=self._num_cpus,
        )
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for batch in encoded.iter_batches(batch_size=None, batch_format="numpy"):
            out[np.asarray(batch["i"], dtype=np.int64)] = np.stack(list(batch["vector"]))
        return l2_normalise(out)
