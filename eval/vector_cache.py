"""Passage vectors cached by (encoder fingerprint, exact text) for evaluation runs.

Why: an evaluation index is rebuilt whenever the indexing code or settings change (:mod:`eval.index_key`),
but most such changes (a bigger lexicon, a new lexical field) leave the text each passage is embedded
from unchanged, and embedding is nearly all of the indexing time (Open-i: ~10k passages). A vector is a
pure function of the encoder and the text, so reusing it for the same text is exact, not an
approximation; a changed text (e.g. new negation rules) is embedded again.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from eval.index_key import fingerprint


class CachedEncoder:
    """An encoder whose passage vectors are looked up by text hash before being computed (and saved)."""

    def __init__(self, encoder: object, folder: Path) -> None:
        self._encoder = encoder
        self.name, self.dim = encoder.name, encoder.dim  # type: ignore[attr-defined]
        self.fingerprint = fingerprint(encoder)
        safe = re.sub(r"[^A-Za-z0-9_.=-]+", "_", self.fingerprint)
        self.path = folder / f"vectors-{safe}.npz"
        self._vectors: dict[str, np.ndarray] = {}
        if self.path.exists():
            data = np.load(self.path)
            self._vectors = dict(zip((str(k) for k in data["keys"]), data["vectors"]))
        self.hits = self.misses = 0

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encoder.encode_queries(texts)  # type: ignore[attr-defined]

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        missing = sorted({i for i, k in enumerate(keys) if k not in self._vectors}, key=lambda i: i)
        if missing:
            fresh = self._encoder.encode_passages([texts[i] for i in missing])  # type: ignore[attr-defined]
            for i, vector in zip(missing, fresh):
                self._vectors[keys[i]] = vector
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        return np.vstack([self._vectors[k] for k in keys]) if texts else np.zeros((0, self.dim), np.float32)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self._vectors)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys, dtype="U40"), vectors=np.vstack([self._vectors[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32))
        tmp.replace(self.path)
