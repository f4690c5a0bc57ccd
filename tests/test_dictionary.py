"""French → English words from an installed dictd dictionary (#14 item 5): the dictd files read, a query
word's lemmas and the noun a relational adjective derives from, the fallback inside the cognate
translator (validated by the index like a cognate), and one search end to end on a small English index.

The dictionary is a small dictd pair written here in FreeDict's layout (the Debian package is GPL-2+ and
may be absent); the last test reads the real package when it is installed."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from engine_support import engine_over_reports
from indexer.clinical.cognates import CognateTranslator
from indexer.clinical.dictionary import DEFAULT_PATH, DictionaryTranslator, dictd_entries, lemma_forms, read_dictd
from search_api.models import SearchRequest

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
ENTRIES = {  # FreeDict's entry layout: the headword line, then the senses (numbered when several)
    "ombre": "ombre /ɔ̃bʀ/ <n, fem>\n1. shadow\n2. shade\n",
    "mamelon": "mamelon /maməlɔ̃/\nnipple\n",
    "graisse": "graisse /gʀɛs/ <n, fem>\nfat, grease\n",
    "élever": "élever /elve/ <v>\n1. raise, lift (up)\n2. bring up, make a stroke over the line\n3. erect\n",
    "insuffisance": "insuffisance <n, fem>\n1. absence, lack\n",
    "chirurgical": "chirurgical <adj>\nsurgical\n",
}


def _b64(number: int) -> str:
    out = ""
    while True:
        out = _B64[number % 64] + out
        number //= 64
        if not number:
            return out


def write_dictd(folder: Path, entries: dict[str, str] = ENTRIES, name: str = "fra-eng") -> Path:
    """*entries* as a dictd dictionary (``.index`` + gzip ``.dict.dz``) under *folder*; its base path."""
    body, index = b"", ["00databaseshort\tA\tB"]
    for headword, text in entries.items():
        data = text.encode("utf-8")
        index.append(f"{headword}\t{_b64(len(body))}\t{_b64(len(data))}")
        body += data
    base = folder / name
    base.with_name(name + ".dict.dz").write_bytes(gzip.compress(body))
    base.with_name(name + ".index").write_text("\n".join(index) + "\n", encoding="utf-8")
    return base


def test_dictd_entries_are_read_first_senses_first_without_glosses(tmp_path: Path) -> None:
    table = read_dictd(write_dictd(tmp_path))
    assert table["ombre"] == ("shadow", "shade")
    assert table["graisse"] == ("fat", "grease")
    assert table["elever"] == ("raise", "lift", "bring up")  # folded headword; "(up)" dropped; 3rd sense not read
    assert "make a stroke over the line" not in table["elever"]  # a gloss, not a word to search
    assert read_dictd(tmp_path / "absent") == {}


def test_dictd_entries_keep_the_headword_as_written(tmp_path: Path) -> None:
    """The entries in index order, the headword lower-cased but accented (the query-alignment pairs embed it)."""
    entries = dict(dictd_entries(write_dictd(tmp_path)))
    assert list(entries)[:3] == ["ombre", "mamelon", "graisse"]
    assert entries["élever"] == ("raise", "lift", "bring up") and "elever" not in entries
    assert dictd_entries(tmp_path / "absent") == []


@pytest.mark.parametrize(("word", "lemma"), [
    ("ombres", "ombre"), ("chirurgicales", "chirurgical"), ("surélevée", "surelever"), ("élevés", "elever"),
    ("mamelonnaire", "mamelon"), ("vertébrale", "vertebre"),
])
def test_lemma_forms_reach_the_headword(word: str, lemma: str) -> None:
    forms = lemma_forms(word)
    assert lemma in forms and forms[0] == word.replace("é", "e")  # the word as typed first
    if word == "mamelonnaire":
        assert lemma not in lemma_forms(word, denominal=False)


def test_translator_uses_the_first_form_that_is_a_headword(tmp_path: Path) -> None:
    translate = DictionaryTranslator(write_dictd(tmp_path))
    assert translate.available
    assert translate("ombres") == ("shadow", "shade")
    assert translate("mamelonnaire") == ("nipple",)
    assert DictionaryTranslator(write_dictd(tmp_path), denominal=False)("mamelonnaire") == ()
    assert translate("coupole") == ()
    missing = DictionaryTranslator(tmp_path / "nothing")
    assert not missing.available and missing("ombre") == ()


def _counts(vocabulary: dict[str, int]):  # noqa: ANN202
    return lambda words: {w: vocabulary.get(w, 0) for w in words}


def test_cognate_translator_falls_back_on_the_dictionary_and_validates_it(tmp_path: Path) -> None:
    counts = _counts({"shadow": 40, "shade": 1, "nipple": 25, "fat": 30, "absence": 900, "failure": 80, "surgical": 300})
    translator = CognateTranslator(counts, word_translations=True)
    assert translator("ombre") == () and translator("mamelonnaire") == ()  # no rule, no ICD-10 pair
    translator.dictionary = DictionaryTranslator(write_dictd(tmp_path))
    translator.clear()
    assert translator("ombre") == ("shadow",)  # "shade": in 1 passage, below cognate_min_passages
    assert translator("mamelonnaire") == ("nipple",) and translator("graisse") == ("fat",)
    # a word the ICD-10 pairs translate keeps that translation: the dictionary's "absence" is never proposed
    assert translator("insuffisance") == ("failure",)
    # the cognate rules come first too: « chirurgicales » → surgical by -ale → -al, not via the dictionary
    assert translator("chirurgicales") == ("surgical",)


ENGLISH_REPORTS = {  # long enough for the language to be told (the counts are of English documents)
    "N1": "Findings: Right nipple shadow projects over the lower lung. There is no pneumothorax and the heart size is normal.",
    "N2": "Findings: Bilateral nipple shadows are seen. The lungs are clear and there is no pleural effusion.",
    "N3": "Impression: Nodular opacity which is likely a nipple shadow; repeat the study with the nipple markers.",
    "F1": "Findings: There is a prominent epicardial fat pad. The heart size is normal and the lungs are clear.",
    "F2": "Findings: Epicardial fat is seen at the cardiac apex. The lungs are clear and there is no effusion.",
    "F3": "Findings: There is a fat pad at the right cardiophrenic angle. The lungs are clear of any consolidation.",
    "X1": "Findings: The lungs are clear. The heart size is normal and there is no pleural effusion or pneumothorax.",
    "X2": "Findings: There is mild cardiomegaly. The lungs are clear and there is no effusion or pneumothorax.",
}


@pytest.fixture(scope="module")
def english_engine(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """An engine over English reports whose settings point at a small dictd dictionary (feedback off:
    the translation alone is measured)."""
    base = write_dictd(tmp_path_factory.mktemp("dictd"))
    return engine_over_reports(tmp_path_factory.mktemp("dictionary"), ENGLISH_REPORTS,
                               search={"dictionary_path": base, "feedback_lexical": False})


def _lexical(engine, text: str) -> list[str]:  # noqa: ANN001
    response = engine.search(SearchRequest(q=text, mode="lexical", limit=20))
    return sorted(dict.fromkeys(Path(r.id.split(":", 1)[-1]).stem for r in response.results))


def test_a_french_query_finds_english_reports_through_the_configured_dictionary(english_engine) -> None:  # noqa: ANN001
    assert english_engine.cognates.dictionary is not None and english_engine.cognates.dictionary.available
    assert _lexical(english_engine, "ombre mamelonnaire") == ["N1", "N2", "N3"]
    assert english_engine.plan(SearchRequest(q="ombre mamelonnaire")).cognates == [("ombre", ("shadow",)),
                                                                                ("mamelonnaire", ("nipple",))]
    assert _lexical(english_engine, "graisse") == ["F1", "F2", "F3"]
    shipped, english_engine.cognates.dictionary = english_engine.cognates.dictionary, None
    english_engine.cognates.clear()
    try:
        assert _lexical(english_engine, "ombre mamelonnaire") == [] and _lexical(english_engine, "graisse") == []
    finally:
        english_engine.cognates.dictionary = shipped
        english_engine.cognates.clear()


def test_shipped_defaults_and_an_absent_dictionary_translates_nothing(tmp_path: Path) -> None:
    from indexer.settings import Settings, get_settings

    for search in (Settings().search, get_settings().search):  # the model and default.yaml agree
        assert search.dictionary_translations is True and search.dictionary_path == DEFAULT_PATH
    translator = CognateTranslator(_counts({"shadow": 40}))
    translator.dictionary = DictionaryTranslator(tmp_path / "not-installed")
    assert translator("ombre") == ()


@pytest.mark.skipif(not DictionaryTranslator(DEFAULT_PATH).available, reason="dict-freedict-fra-eng not installed")
def test_the_installed_freedict_translates_general_words() -> None:
    translate = DictionaryTranslator(DEFAULT_PATH)
    assert "shadow" in translate("ombre") and "nipple" in translate("mamelonnaire") and "fat" in translate("graisse")
    assert "funnel" in translate("entonnoir") and translate("coupole") == ()
