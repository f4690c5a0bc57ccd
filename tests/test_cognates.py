"""French → English cognates for query words the lexicon does not know (#14 item 5):
the spelling rules on real words, the validation against an index's English vocabulary, the query
plan, and one search end to end on a small English index."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.backend.base import primary_forms
from indexer.clinical.cognates import FALSE_FRIENDS, CognateTranslator, english_candidates, query_words
from search_api.models import SearchRequest
from engine_support import engine_over_reports
from search_api.query_plan import plan_query


@pytest.mark.parametrize(("french", "english"), [
    ("densité", "density"), ("opacités", "opacity"), ("qualité", "quality"),
    ("métabolique", "metabolic"), ("diaphragmatiques", "diaphragmatic"), ("technique", "technical"),
    ("cardiaque", "cardiac"),
    ("ostéopathie", "osteopathy"), ("mastectomie", "mastectomy"), ("pneumonie", "pneumonia"),
    ("dégénératif", "degenerative"),
    ("pulmonaire", "pulmonary"), ("vasculaire", "vascular"), ("mammaires", "mammary"),
    ("bronchite", "bronchitis"), ("fibrose", "fibrosis"), ("hyperostose", "hyperostosis"),
    ("granulome", "granuloma"), ("emphysème", "emphysema"), ("œdème", "edema"),
    ("trachée", "trachea"), ("dilatée", "dilated"), ("calcifié", "calcified"), ("implanté", "implanted"),
    ("bulleux", "bullous"), ("granulomateuse", "granulomatous"), ("osseuse", "osseous"),
    ("postérieur", "posterior"), ("tumeur", "tumor"), ("artère", "artery"), ("diamètre", "diameter"),
    ("interstitiel", "interstitial"), ("vertébrale", "vertebral"), ("médiastinale", "mediastinal"),
    ("pleuraux", "pleural"), ("sigmoïde", "sigmoid"), ("aorte", "aorta"), ("hôpital", "hospital"),
    ("densite", "density"),  # typed without its accent: both readings of -ite are offered
])
def test_regular_endings_give_the_english_word(french: str, english: str) -> None:
    assert english in english_candidates(french)


@pytest.mark.parametrize("word", ["préservatif", "actuel", "éventuelle", "blessé", "résumé", "sensibilité"])
def test_false_friends_are_never_transferred(word: str) -> None:
    assert english_candidates(word) == ()


def test_false_friend_list_holds_what_the_rules_would_otherwise_produce() -> None:
    # each listed word would get its misleading look-alike without the list
    from indexer.clinical import cognates

    assert "FALSE_FRIENDS" in cognates.__all__ and "preservatif" in FALSE_FRIENDS and "actuel" in FALSE_FRIENDS
    saved = cognates.FALSE_FRIENDS
    cognates.FALSE_FRIENDS = frozenset()
    try:
        assert "preservative" in cognates.english_candidates("préservatif")
        assert "actual" in cognates.english_candidates("actuel")
    finally:
        cognates.FALSE_FRIENDS = saved


def test_short_words_stop_words_and_numbers_get_no_candidates() -> None:
    assert english_candidates("rein") == () and english_candidates("T12") == ()
    assert query_words("qualité technique de l'image dans les 3 jours") == ["qualité", "technique", "image", "jours"]


def _counting(vocabulary: dict[str, int]):  # noqa: ANN202
    calls: list[list[str]] = []

    def counts(words):  # noqa: ANN001, ANN202
        calls.append(list(words))
        return {w: vocabulary.get(w, 0) for w in words}

    return counts, calls


def test_only_candidates_the_english_documents_use_are_kept_most_frequent_first() -> None:
    counts, calls = _counting({"density": 40, "metabolic": 12, "pulmonary": 300, "pulmonar": 1, "technic": 5,
                               "mammary": 50, "mammar": 4})
    translator = CognateTranslator(counts, min_passages=3)
    assert translator("densité") == ("density",)
    assert translator("ostéopathie") == ()                    # "osteopathy": no English document has it
    assert translator("élevé") == ()                          # "eleved" is not a word
    assert translator("pulmonaire") == ("pulmonary",)         # "pulmonar" (1 passage) is under the floor
    assert translator("mammaires") == ("mammary", "mammar")  # two English terms, most used first
    assert translator("technique") == ("technic",)  # "technical" is the same English term: looked up once
    assert translator.translate("ostéopathie métabolique") == [("métabolique", ("metabolic",))]
    before = len(calls)
    assert translator("Densité") == ("density",) and len(calls) == before  # memoised per word
    translator.clear()
    translator("densité")
    assert len(calls) == before + 1


def test_a_word_the_english_documents_already_use_as_typed_is_left_alone() -> None:
    # "image" is English too; "imag"/"imaga" would only be kept if used more than "image" itself
    counts, _ = _counting({"image": 500, "imag": 3})
    assert CognateTranslator(counts)("image") == ()
    counts, _ = _counting({"condensation": 2, "density": 40})
    assert CognateTranslator(counts)("condensation") == ()  # no rule applies, nothing is invented


def _cognates(mapping: dict[str, tuple[str, ...]]):  # noqa: ANN202
    return lambda word: mapping.get(word.lower(), ())


def test_plan_adds_cognates_to_the_free_words_and_the_dense_text_of_french_queries() -> None:
    cognates = _cognates({"densité": ("density",), "métabolique": ("metabolic",), "ostéopathie": ("osteopathy",)})
    plan = plan_query(SearchRequest(q="ostéopathie métabolique"), dense_translation=True, cognates=cognates)
    assert plan.lexical_text == "ostéopathie métabolique osteopathy metabolic"
    assert plan.dense_text == "ostéopathie métabolique osteopathy metabolic"
    assert plan.interpretation.cognates == {"ostéopathie": ["osteopathy"], "métabolique": ["metabolic"]}
    assert "osteopathy" in plan.highlight_text
    # without dense translation only the lexical leg gets them; without the hook nothing changes
    assert plan_query(SearchRequest(q="densité"), cognates=cognates).dense_text == "densité"
    assert plan_query(SearchRequest(q="densité"), dense_translation=True).lexical_text == "densité"


def test_plan_leaves_english_queries_and_lexicon_concepts_alone() -> None:
    cognates = _cognates({"pleural": ("pleurae",), "épanchement": ("effusion",), "pulmonaire": ("pulmonary",)})
    english = plan_query(SearchRequest(q="density of the pleural space"), dense_translation=True, cognates=cognates)
    assert english.language == "en" and english.cognates == [] and "pleurae" not in english.lexical_text
    # « épanchement pleural » is a lexicon concept: its translation is the lexicon's, not a cognate
    french = plan_query(SearchRequest(q="épanchement pleural"), dense_translation=True, cognates=cognates)
    assert french.cognates == [] and french.lexical_text == ""
    # « atélectasie » is a concept, « pulmonaire » is left over: only the free word gets a cognate
    mixed = plan_query(SearchRequest(q="atélectasie pulmonaire"), cognates=cognates)
    assert mixed.cognates == [("pulmonaire", ("pulmonary",))] and mixed.lexical_text == "pulmonaire pulmonary"


def test_dense_text_in_english_replaces_concepts_and_free_words() -> None:
    cognates = _cognates({"dégénératif": ("degenerative",), "pulmonaire": ("pulmonary",)})

    def dense(query: str) -> str | None:
        return plan_query(SearchRequest(q=query), dense_translation=True, cognates=cognates, dense_style="english").dense_text

    assert dense("rachis dégénératif") == "rachis degenerative"          # unknown « rachis » kept as typed
    assert dense("atélectasie pulmonaire") == "atelectasis pulmonary"    # concept name + cognate
    assert dense("accentuation de la trame pulmonaire") == "accentuation trame pulmonary"  # stop words out
    assert dense("épanchement pleural sans pneumothorax") == "pleural effusion"  # the affirmed part only
    assert dense("thorax en entonnoir") == "thorax en entonnoir"          # nothing translated: as typed
    assert dense("IR") == "IR"                                           # ambiguous: not translated
    assert dense("pleural effusion") == "pleural effusion"                # English: as typed
    assert dense("nodule") == "nodule" and dense("calcifications") == "calcifications"  # language unknown, typed in English
    # the default style appends instead
    assert plan_query(SearchRequest(q="rachis dégénératif"), dense_translation=True,
                      cognates=cognates).dense_text == "rachis dégénératif degenerative"


# -- end to end: a French query finds English reports through a validated cognate -----------------------
ENGLISH_REPORTS = {
    "E1": "Findings: Increased density in the right lower lobe. Impression: density may represent atelectasis.",
    "E2": "Findings: Focal density projecting over the left hilum. No pleural effusion.",
    "E3": "Findings: Stable density at the left base. Heart size normal.",
    "E4": "Findings: Lungs are clear. Heart size normal. No pneumothorax.",
    "E5": "Findings: Degenerative changes of the thoracic spine. Lungs are clear.",
    "E6": "Findings: Mild degenerative changes of the spine. No focal consolidation.",
    "E7": "Findings: Degenerative disc disease. Heart size normal. The lungs are clear.",
}


@pytest.fixture(scope="module")
def english_engine(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return engine_over_reports(tmp_path_factory.mktemp("cognates"), ENGLISH_REPORTS)


def _ids(engine, query: str) -> list[str]:  # noqa: ANN001
    return [Path(r.id.split(":", 1)[-1]).stem for r in engine.search(SearchRequest(q=query, mode="lexical", limit=10)).results]


def test_backend_counts_english_passages_per_word(english_engine) -> None:  # noqa: ANN001
    counts = english_engine.backend.term_passage_counts(["density", "densité", "degenerative", "the", "osteopathy"], "en")
    assert counts == {"density": 3, "densité": 0, "degenerative": 3, "the": 0, "osteopathy": 0}


def test_french_words_find_english_reports_through_validated_cognates(english_engine) -> None:  # noqa: ANN001
    assert sorted(_ids(english_engine, "densité")) == ["E1", "E2", "E3"]
    assert sorted(_ids(english_engine, "rachis dégénératif")) == ["E5", "E6", "E7"]
    response = english_engine.search(SearchRequest(q="densité", mode="lexical"))
    assert response.interpretation.cognates == {"densité": ["density"]} and response.total == 3
    english_engine.settings.cognates = False
    try:
        assert _ids(english_engine, "densité") == []  # the lexicon does not know « densité »
    finally:
        english_engine.settings.cognates = True


# -- words learnt from the ICD-10 label pairs -------------------------------------------------------------
def test_word_alignment_learns_translations_from_aligned_labels() -> None:
    from indexer.clinical.word_alignment import align_words

    pairs = [("perte de poids", "weight loss"), ("perte de l'audition", "hearing loss"), ("perte de sang", "blood loss"),
             ("poids anormal", "abnormal weight"), ("sang dans les urines", "blood in urine"), ("audition faible", "poor hearing")]
    table = align_words(pairs)
    assert table["pert"] == "loss" and table["poid"] == "weight" and table["sang"] == "blood"
    assert "urin" not in table  # seen together once only: not enough evidence


@pytest.mark.parametrize(("french", "english"), [
    ("perte", "loss"), ("rachis", "spine"), ("poumon", "lung"), ("insuffisance", "failure"), ("maladie", "disease"),
    ("aiguë", "acute"), ("épanchement", "effusion"), ("kyste", "cyst"), ("hanche", "hip"), ("reins", "kidney"),
])
def test_shipped_icd10_pairs_give_word_translations(french: str, english: str) -> None:
    from indexer.clinical.word_alignment import word_translations

    assert word_translations(french) == (english,)


def test_word_translations_are_proposed_only_when_asked_and_still_validated() -> None:
    counts, _ = _counting({"spine": 900, "degenerative": 500, "loss": 40})
    assert CognateTranslator(counts)("rachis") == ()  # no spelling rule reaches « rachis »
    translator = CognateTranslator(counts, word_translations=True)
    assert translator("rachis") == ("spine",) and translator("perte") == ("loss",)
    assert translator("poumon") == ()  # "lung": not used by these "documents"


def test_a_candidate_that_is_another_french_word_in_french_documents_is_dropped() -> None:
    """« osseuse » → "bone": analysed as French, "bone" is "bon", the stem of « bonne(s) »; where French
    documents use it the lexical leg would match « bonne évolution ». "density" stays "density" in French
    (no French passage has it), and "degenerative" analyses to « dégénératif »'s own stem: both kept."""
    counts, _ = _counting({"bone": 800, "osseous": 30, "density": 40, "degenerative": 500})
    french, asked = _counting({"bone": 120, "density": 0, "degenerative": 60})
    translator = CognateTranslator(counts, word_translations=True, french_counts=french)
    assert translator("osseuse") == ("osseous",)
    assert translator("densité") == ("density",) and translator("dégénératif") == ("degenerative",)
    assert "degenerative" not in [w for call in asked for w in call]  # same French stem: not even asked
    # an English-only index (Open-i) has no French passages: nothing is dropped
    assert CognateTranslator(counts, word_translations=True, french_counts=_counting({})[0])("osseuse")[0] == "bone"


def test_shipped_defaults() -> None:
    from indexer.settings import Settings, get_settings

    for search in (Settings().search, get_settings().search):  # the model and default.yaml agree
        assert search.cognates is True and search.word_translations is True and search.cognate_min_passages == 3
        assert search.dense_translation_style == "append"


def test_every_endpoint_plans_with_the_engine_so_matches_agree(english_engine) -> None:  # noqa: ANN001
    """/search/patients, cohorts, the patient timeline and highlighting plan through SearchEngine.plan:
    the documents they count as matching « densité » are those /search counts."""
    from indexer.backend.filters import DocumentFilter
    from search_api.matching import exact_matches

    request = SearchRequest(q="densité")
    plan = english_engine.plan(request)
    assert plan.cognates == [("densité", ("density",))] and "density" in plan.highlight_text
    assert len(exact_matches(english_engine, plan, DocumentFilter()).doc_ids) == english_engine.search(request).total == 3


def test_negated_free_words_also_get_their_cognates() -> None:
    cognates = _cognates({"densité": ("density",), "dégénératif": ("degenerative",)})
    plan = plan_query(SearchRequest(q="sans densité"), cognates=cognates)
    assert plan.interpretation.polarity == "negated" and plan.concepts == [["densité", "density"]]
    assert plan.interpretation.cognates == {"densité": ["density"]}
    plan = plan_query(SearchRequest(q="pneumothorax sans rachis dégénératif"), cognates=cognates)
    assert plan.required == [(["rachis dégénératif", "rachis degenerative"], ("negated",))]
    assert plan.lexical_text == ""  # the affirmed part is a concept: nothing free to translate there
    assert plan_query(SearchRequest(q="sans densité")).concepts == [["densité"]]  # no look-up, no change


# -- relational adjectives; the dictionary only for words the index does not know as typed --------------------


def test_relational_adjectives_reach_ial_and_the_noun_they_derive_from() -> None:
    from indexer.clinical.cognates import relational_nouns

    assert "diaphragme" in relational_nouns("diaphragmatiques") and "aorte" in relational_nouns("aortique")
    counts, _ = _counting({"epicardial": 13, "diaphragmatic": 1, "diaphragm": 112, "mediastinal": 40, "mediastinum": 90})
    translator = CognateTranslator(counts, min_passages=3)
    assert translator("épicardique") == () and translator("diaphragmatique") == ()
    translator.relational = True
    translator.clear()
    assert translator("épicardique") == ("epicardial",)           # -ique → -ial
    assert translator("diaphragmatiques") == ("diaphragm",)       # "diaphragmatic" is rare: the noun's cognate
    assert translator("médiastinale") == ("mediastinal",)         # its own cognate found: the noun is not tried


def test_the_dictionary_can_be_kept_for_words_the_index_does_not_know_as_typed() -> None:
    counts, _ = _counting({"place": 6, "location": 14, "funnel": 5})
    translator = CognateTranslator(counts, min_passages=3)
    translator.dictionary = {"place": ("location",), "entonnoir": ("funnel",)}.get
    assert translator("place") == ("location",) and translator("entonnoir") == ("funnel",)
    translator.dictionary_unknown_only = True
    translator.clear()
    assert translator("place") == ()                # « sonde en place »: "place" is the index's own word
    assert translator("entonnoir") == ("funnel",)   # unknown to the index as typed: translated


# -- a French query's concept typed by its French preferred name: the English preferred name scores as typed ---
def test_plan_scores_the_english_preferred_name_as_typed_for_a_french_preferred_name() -> None:
    plan = plan_query(SearchRequest(q="cardiomégalie"), typed_translations=True)
    forms = plan.concepts[0]
    assert forms[:2] == ["cardiomégalie", "cardiomegaly"] and primary_forms(forms) == 2
    assert primary_forms(plan_query(SearchRequest(q="cardiomégalie")).concepts[0]) == 1            # off by default
    # a French synonym typed has no aligned English form; an English query is left as typed
    assert primary_forms(plan_query(SearchRequest(q="silhouette cardiaque élargie"), typed_translations=True).concepts[0]) == 1
    english = plan_query(SearchRequest(q="cardiomegaly"), typed_translations=True).concepts[0]
    assert english[0] == "cardiomegaly" and primary_forms(english) == 1
    negated = plan_query(SearchRequest(q="épanchement pleural sans cardiomégalie"), typed_translations=True)
    assert [primary_forms(forms) for forms, _ in negated.required] == [2]


SYNONYM_REPORTS = {
    "S1": "Findings: Enlarged heart. Lungs are clear.",
    "S2": "Findings: Mild cardiomegaly. Lungs are clear.",
}


def test_the_backend_scores_every_primary_form_as_typed(tmp_path: Path) -> None:
    from indexer.backend.base import Forms

    backend = engine_over_reports(tmp_path, SYNONYM_REPORTS).backend

    def scores(forms: list[str]) -> dict[int, float]:
        return {hit.pid: hit.score for hit in backend.lexical_search("", 10, concepts=[forms])}

    plain = scores(["cardiomégalie", "enlarged heart"])            # the synonym at 0.7
    primary = scores(Forms(["cardiomégalie", "enlarged heart"], primary=2))  # same forms: a memoised clause must not answer
    assert plain.keys() == primary.keys() and len(plain) == 2
    boosted = [pid for pid in plain if primary[pid] > plain[pid] * 1.3]  # 1 / 0.7 ≈ 1.43
    assert len(boosted) == 1 and all(primary[pid] == pytest.approx(plain[pid]) for pid in plain if pid not in boosted)


def test_the_elasticsearch_concept_query_boosts_only_the_forms_after_the_primary_ones() -> None:
    from indexer.backend.base import Forms
    from indexer.backend.elasticsearch.queries import concept_query

    def boosted(forms: list[str]) -> list[bool]:
        return ["boost" in clause.get("bool", {}) for clause in concept_query(forms, ("affirmed",))["bool"]["should"]]

    assert boosted(["cardiomégalie", "cardiomegaly", "enlarged heart"]) == [False, True, True]
    assert boosted(Forms(["cardiomégalie", "cardiomegaly", "enlarged heart"], primary=2)) == [False, False, True]
