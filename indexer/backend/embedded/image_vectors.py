"""A FAISS index of one vector per image document, keyed by document id.

Part of the embedded backend (:mod:`indexer.backend.embedded`): one file per image space
(``descriptor``, ``clip``) in each generation. Why not :class:`indexer.backend.embedded.dense.DenseIndex`: image vectors belong to documents (not passages), have
their own dimension and model (pixel descriptor, or CLIP), and must be recomputed when the *pixels*
change (a re-exported file) or the model changes, which the text content hash of the document does
not see. So a JSON sidecar next to the FAISS file (``images.faiss`` → ``images.ids.json``) keeps the
model name, the FAISS id of each document, and the key (source file size + mtime) its vector was
computed from; the indexer recomputes a vector only when that key changes.

Vectors are L2-normalised, so inner product is cosine; the index is exact (``IndexFlatIP``): a
hospital's image collection is at most a few hundred thousand representative frames.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from indexer.backend.embedded.layout import atomic_write_bytes


@dataclass(frozen=True)
class ImageHit:
    doc_id: str
    score: float


def sidecar_path(index_path: Path) -> Path:
    """``images.faiss`` → ``images.ids.json``."""
    return index_path.with_suffix(".ids.json")


class ImageVectorIndex:
    """Exact cosine index of image vectors with a document-id map and per-document version keys."""

    def __init__(self, dim: int, model: str) -> None:
        self.dim = dim
        self.model = model
        self._index: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._entries: dict[str, tuple[int, str]] = {}  # doc id -> (faiss id, key)
        self._doc_of: dict[int, str] = {}
        self._next_id = 0

    # -- persistence ------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path, dim: int, model: str) -> ImageVectorIndex:
        """Open the index at *path*; an absent one, or one built by another model, starts empty.

        Starting empty on a model change is what makes every vector be recomputed, as it must be.
        """
        index = cls(dim, model)
        sidecar = sidecar_path(path)
        if not (path.is_file() and sidecar.is_file()):
            return index
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        stored = faiss.read_index(str(path))
        if meta.get("model") != model or stored.d != dim:
            return index
        index._index = stored
        present = set(faiss.vector_to_array(stored.id_map).tolist()) if stored.ntotal else set()
        # An interrupted save may leave sidecar entries without a vector: drop them so they are recomputed.
        index._entries = {doc: (int(vid), key) for doc, (vid, key) in meta["entries"].items() if int(vid) in present}
        index._doc_of = {vid: doc for doc, (vid, _) in index._entries.items()}
        index._next_id = int(meta.get("next_id", 0))
        return index

    @classmethod
    def open_stored(cls, path: Path) -> ImageVectorIndex | None:
        """Open the index at *path* with the model and dimension it was built with (None: absent)."""
        sidecar = sidecar_path(path)
        if not (path.is_file() and sidecar.is_file()):
            return None
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        return cls.load(path, int(meta["dim"]), str(meta["model"]))

    def save(self, path: Path) -> None:
        """Write the FAISS file, then the sidecar (a crash in between leaves orphan vectors, never lost keys)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, faiss.serialize_index(self._index).tobytes())
        meta = {"model": self.model, "dim": self.dim, "next_id": self._next_id,
                "entries": {doc: [vid, key] for doc, (vid, key) in sorted(self._entries.items())}}
        atomic_write_bytes(sidecar_path(path), json.dumps(meta, ensure_ascii=False).encode("utf-8"))

    # -- writing ----------------------------------------------------------------------------
    def key_of(self, doc_id: str) -> str | None:
        """The version key the stored vector of *doc_id* was computed from (None: no vector)."""
        entry = self._entries.get(doc_id)
        return entry[1] if entry else None

    def put(self, doc_id: str, key: str, vector: np.ndarray) -> None:
        """Store (or replace) the vector of *doc_id*."""
        vector = np.ascontiguousarray(np.asarray(vector, dtype=np.float32).reshape(1, self.dim))
        self.remove([doc_id])
        vid = self._next_id
        self._next_id += 1
        self._index.add_with_ids(vector, np.array([vid], dtype=np.int64))
        self._entries[doc_id] = (vid, key)
        self._doc_of[vid] = doc_id

    def remove(self, doc_ids: Iterable[str]) -> int:
        """Remove these documents' vectors; unknown ids are ignored. Returns how many were removed."""
        vids = [self._entries.pop(doc)[0] for doc in doc_ids if doc in self._entries]
        for vid in vids:
            self._doc_of.pop(vid, None)
        if vids:
            self._index.remove_ids(np.asarray(vids, dtype=np.int64))
        return len(vids)

    # -- reading ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._entries

    def doc_ids(self) -> list[str]:
        return sorted(self._entries)

    def vector(self, doc_id: str) -> np.ndarray | None:
        """The stored vector of *doc_id* (to search 'images like this indexed one')."""
        entry = self._entries.get(doc_id)
        return self._index.reconstruct(entry[0]) if entry else None

    def search(
        self, query: np.ndarray, limit: int, allowed: Iterable[str] | None = None
    ) -> list[ImageHit]:
        """Top-*limit* documents by cosine; only among *allowed* document ids when given."""
        if not self._entries or limit <= 0:
            return []
        params = None
        keep_alive = None
        if allowed is not None:
            vids = np.array([self._entries[d][0] for d in set(allowed) if d in self._entries], dtype=np.int64)
            if vids.size == 0:
                return []
            keep_alive = faiss.IDSelectorBatch(vids)
            params = faiss.SearchParameters(sel=keep_alive)
            limit = min(limit, int(vids.size))
        query = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(1, self.dim))
        scores, ids = self._index.search(query, min(limit, int(self._index.ntotal)), params=params)
        del keep_alive
        return [
            ImageHit(self._doc_of[int(vid)], float(score))
            for score, vid in zip(scores[0], ids[0], strict=True)
            if vid >= 0 and int(vid) in self._doc_of
        ]
