"""« Essayez avec l'orthographe … » (search_api/spelling.py): a query word the index does not contain gets
the closest known spelling as ``suggestion``, only when the caller's own filtered search matches it, and
the results stay those of the query as typed."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from auth_support import auth
from engine_support import engine_over_reports
from es_support import ES_URL, SKIP_REASON, unique_prefix
from indexer.backend.filters import DocumentFilter
from search_api.models import SearchRequest
from search_api.query_plan import default_lexicon
from search_api.spelling import SpellingVocabulary, lexicon_words, max_edits, replace_word

REPORTS = {
    "r1": "Fracture du col du fémur droit. Opacité basale gauche. Zorglubese discrète.",
    "r2": "Fracture de la clavicule. Coupole diaphragmatique surélevée. Zorglubese minime.",
    "r3": "Cardiomegaly. Mild atelectasis at the left base. Calcified granuloma.",
    "r4": "Calcified granuloma in the right upper lobe. No pneumothorax.",
    # a word only the restricted patient P5's reports contain
    "r5": "There are zorglubase deposits in the right lower lobe and the heart is normal in size.",
    "r6": "The zorglubase deposits are stable and there is no pleural effusion.",
    "r7": "Coupole diaphragmatique droite ascensionnée.",
    # too short to tell its language ("und"): in no French or English passage count
    "r8": "Quinoxalite.",
    "r9": "Quinoxalite gauche.",
    # P5's reports misspell a finding the lexicon knows: « atelectasiss » is planned as *atelectasis*
    "r10": "There is atelectasiss of the left lower lobe and the heart is normal in size.",
    "r11": "The atelectasiss of the left lower lobe has not changed since the last exam.",
}
PATIENTS = {"r1": "P1", "r2": "P1", "r3": "P3", "r4": "P4", "r5": "P5", "r6": "P5", "r7": "P1", "r8": "P4", "r9": "P4",
            "r10": "P5", "r11": "P5"}
NOT_P5 = DocumentFilter(allowed_patients=("P1", "P3", "P4"))


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spelling")


@pytest.fixture(scope="module")
def engine(root: Path):  # noqa: ANN201
    built = engine_over_reports(root, REPORTS, PATIENTS)
    built.speller.vocabulary(from_index=True)  # read now (a search only starts the read, in the background)
    return built


def _suggestion(engine, q: str, where: DocumentFilter | None = None, spelling: str = "index") -> str | None:  # noqa: ANN001
    return engine.search(SearchRequest(q=q), where, spelling=spelling).suggestion


# -- the vocabulary -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lexicon_vocabulary() -> SpellingVocabulary:
    return SpellingVocabulary(lexicon_words(default_lexicon()))


@pytest.mark.parametrize(("typed", "expected"), [
    ("pneumothorx", "pneumothorax"), ("cardiomegally", "cardiomegaly"), ("epanchment", "épanchement"),
    ("atelectasys", "atelectasis"), ("fracure", "fracture"), ("pulmonnaire", "pulmonaire"),
])
def test_the_lexicon_vocabulary_knows_the_spelling(lexicon_vocabulary: SpellingVocabulary, typed: str, expected: str) -> None:
    assert lexicon_vocabulary.candidates(typed)[0] == expected


def test_the_edit_budget_and_the_word_itself(lexicon_vocabulary: SpellingVocabulary) -> None:
    assert max_edits("rate") == 1 and max_edits("fracure") == 2
    assert "fracture" not in lexicon_vocabulary.candidates("fracture")  # never the word as typed
    assert lexicon_vocabulary.candidates("qwxzvbnm") == []  # nothing within two edits


def test_replace_word_keeps_the_rest_of_the_query() -> None:
    assert replace_word("Fracure du col, fracure ancienne", "fracure", "fracture") == "Fracture du col, fracture ancienne"
    assert replace_word("fracured", "fracure", "fracture") == "fracured"  # whole words only


# -- the engine ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "expected"), [
    ("fracure du col", "fracture du col"),  # French, corrected from the lexicon and the index
    ("granuloma calcifed", "granuloma calcified"),  # English
    ("zorglubese", "zorglubese"),  # spelled right: no suggestion (see below)
])
def test_a_misspelled_word_gets_the_known_spelling(engine, typed: str, expected: str) -> None:  # noqa: ANN001
    expected_suggestion = None if typed == expected else expected
    assert _suggestion(engine, typed) == expected_suggestion


@pytest.mark.parametrize("q", ["calcified granuloma", "pneumothorax", "fracture du col", "coupole", "zygomycose xylophage"])
def test_no_suggestion_for_a_query_spelled_right_or_with_nothing_close(engine, q: str) -> None:  # noqa: ANN001
    assert _suggestion(engine, q) is None


def test_the_results_are_those_of_the_query_as_typed(engine) -> None:  # noqa: ANN001
    with_suggestion = engine.search(SearchRequest(q="granuloma calcifed"), spelling="index")
    without = engine.search(SearchRequest(q="granuloma calcifed"))
    assert with_suggestion.suggestion and without.suggestion is None
    assert [r.id for r in with_suggestion.results] == [r.id for r in without.results]
    assert with_suggestion.query == "granuloma calcifed"


def test_a_word_only_hidden_documents_contain_is_never_suggested(engine) -> None:  # noqa: ANN001
    assert _suggestion(engine, "zorglabase") == "zorglubase"  # P5's word, to a caller who may see P5
    # a caller restricted to other patients: P5's word is not proposed; their own close word is
    assert _suggestion(engine, "zorglabase", NOT_P5) == "zorglubese"
    assert _suggestion(engine, "zorglabase", DocumentFilter(allowed_patients=("P3", "P4"))) is None
    # typed exactly, the hidden word reads as unknown to them (not as known), and its visible neighbour comes
    assert _suggestion(engine, "zorglubase", NOT_P5) == "zorglubese"
    assert _suggestion(engine, "zorglubase") is None


def test_a_hidden_word_is_checked_as_written_not_as_the_concept_it_would_be_planned_as(engine) -> None:  # noqa: ANN001
    assert _suggestion(engine, "xatelectasiss") == "atelectasiss"  # P5's spelling, to a caller who may see P5
    # to the others: not P5's misspelling (which their search would match through the concept *atelectasis*),
    # the lexicon's word, which their documents use
    assert _suggestion(engine, "xatelectasiss", NOT_P5) == "atelectasis"


def test_words_of_reports_of_no_analysed_language(engine) -> None:  # noqa: ANN001
    assert {engine.backend.get_document(f"report:{r}.txt").language for r in ("r8", "r9")} == {"und"}
    assert _suggestion(engine, "quinoxalyte") == "quinoxalite"
    assert _suggestion(engine, "quinoxalite") is None  # matched as typed: not "corrected"


def test_lexicon_only_callers_get_no_index_word(engine) -> None:  # noqa: ANN001
    assert _suggestion(engine, "zorglabase", spelling="lexicon") is None
    assert _suggestion(engine, "fracure du col", spelling="lexicon") == "fracture du col"


def test_internal_callers_pay_nothing(engine) -> None:  # noqa: ANN001
    assert engine.search(SearchRequest(q="fracure du col")).suggestion is None  # no spelling asked


def test_a_search_never_waits_for_the_index_vocabulary() -> None:
    from search_api.spelling import Speller

    started = threading.Event()

    def slow_texts(language: str):  # noqa: ANN202
        started.wait(10)  # the read blocks until the test lets it go
        return iter(["zorglubase zorglubase"] * 3)

    speller = Speller(default_lexicon, slow_texts)
    assert speller.candidates("fracure") == ["fracture", "fractures", "fractured"]  # the lexicon's, at once
    assert speller.candidates("zorglabase") == []
    started.set()
    deadline = time.monotonic() + 10
    while speller.candidates("zorglabase") != ["zorglubase"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)


# -- the API --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(engine, root: Path) -> TestClient:  # noqa: ANN001 - the engine fixture built the index under root
    from bench.lexical_overhead import HashEncoder
    from indexer.settings import Settings
    from search_api.app import create_app

    settings = Settings(index={"dir": root / "index"}, api={"audit_log": root / "audit.log", "user_data": root / "user_data.sqlite"})
    client = TestClient(create_app(settings, encoder=HashEncoder()))
    # the API's first misspelled query starts reading the index's words in the background and meanwhile
    # proposes the lexicon's: the lexicon knows « fracture », not P5's « zorglubase »
    first = client.get("/search", params={"q": "zorglabase fracure"}, headers=auth()).json()["suggestion"]
    assert first in ("zorglabase fracture", "zorglubase fracture")
    deadline = time.monotonic() + 60
    while client.get("/search", params={"q": "zorglabase"}, headers=auth()).json()["suggestion"] is None:
        assert time.monotonic() < deadline, "the index's vocabulary was never read"
        time.sleep(0.2)
    return client


def test_the_api_returns_the_suggestion(client: TestClient) -> None:
    body = client.get("/search", params={"q": "fracure du col"}, headers=auth()).json()
    assert body["suggestion"] == "fracture du col" and body["query"] == "fracure du col"
    assert client.get("/search", params={"q": "fracture du col"}, headers=auth()).json()["suggestion"] is None
    grouped = client.get("/search/patients", params={"q": "granuloma calcifed"}, headers=auth()).json()
    assert grouped["suggestion"] == "granuloma calcified"


def test_the_api_never_suggests_a_word_of_documents_the_caller_may_not_see(client: TestClient) -> None:
    assert client.get("/search", params={"q": "zorglabase"}, headers=auth()).json()["suggestion"] == "zorglubase"
    restricted = auth(patients=["P3", "P4"])
    assert client.get("/search", params={"q": "zorglabase"}, headers=restricted).json()["suggestion"] is None
    grouped = client.get("/search/patients", params={"q": "zorglabase"}, headers=restricted).json()
    assert grouped["suggestion"] is None
    # a researcher (de-identified view): lexicon words only, an index word may be a name
    assert client.get("/search", params={"q": "zorglabase"}, headers=auth("researcher")).json()["suggestion"] is None


# -- both storage backends --------------------------------------------------------------------------------
BACKENDS = ["embedded", pytest.param("elasticsearch", marks=pytest.mark.skipif(not ES_URL, reason=SKIP_REASON))]


@pytest.mark.parametrize("kind", BACKENDS)
def test_the_suggestion_on_each_backend(kind: str, tmp_path: Path) -> None:
    """What a suggestion needs of the storage interface (passage counts, documents' texts per language, scoped
    counts) is answered alike by the embedded stores and Elasticsearch."""
    backend = {"kind": kind} if kind == "embedded" else {"kind": kind, "url": ES_URL, "index_prefix": unique_prefix()}
    built = engine_over_reports(tmp_path, REPORTS, PATIENTS, backend=backend)
    try:
        built.speller.vocabulary(from_index=True)
        assert _suggestion(built, "fracure du col") == "fracture du col"
        assert _suggestion(built, "granuloma calcifed") == "granuloma calcified"
        assert _suggestion(built, "zorglabase") == "zorglubase"
        assert _suggestion(built, "zorglabase", DocumentFilter(allowed_patients=("P3", "P4"))) is None
        assert _suggestion(built, "quinoxalyte") == "quinoxalite"
        assert _suggestion(built, "calcified granuloma") is None
    finally:
        if kind == "elasticsearch":
            built.backend.drop_everything()
        built.backend.close()
