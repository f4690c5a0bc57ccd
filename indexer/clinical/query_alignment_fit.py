"""Fitting the French → English query map of ``search.query_alignment`` (build side, #14 item 5).

Why a module of its own: serving (:mod:`search_api.query_alignment`) only loads a fitted matrix and applies it;
the pair sources (the ICD-10 labels, the hand lexicon, the installed FreeDict dictionary, the ICD-10 labels'
aligned words) and the choice of method and α on held-out pairs run once, offline, in
``scripts/build_query_alignment.py`` and the tests. Only the ICD-10 map ships (BENCHMARKS.md, #14 item 5,
eighth round and "Other pairs: the FreeDict dictionary").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np


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
    from indexer.clinical.word_alignment import align_words, words

    labels = icd10_pairs(path)
    spellings: Counter[tuple[str, str]] = Counter()
    for fr, _ in labels:
        spellings.update((stem(fold(word)), word) for word in words(fr.lower()))
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
