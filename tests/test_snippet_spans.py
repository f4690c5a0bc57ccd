"""The snippet's fast tokenisation gives exactly the spans and terms of the lexical analyzers.

:func:`search_api.snippets.fast_term_spans` tokenises with a regex and analyses each token through a
per-word cache (#14 item 3: two Tantivy round trips per shown passage were a fifth of a lexical
search's Python time); a highlight must still mean what BM25 matched, so both must agree on every
text: the fixture corpus's documents and edge cases of tokenisation.
"""

from __future__ import annotations

import pytest

from indexer.text.analyzers import LANGUAGES, term_spans
from search_api.snippets import fast_term_spans, match_spans, query_spans, query_terms

EDGE_CASES = [
    "Absence d'épanchement pleural. L'examen du 12/03/2024 : nodule de 3.5cm (x2) au lobe_supérieur.",
    "Épanchements pleuraux bilatéraux — œdème, cœur & ÆSOPHAGE; naïve façade; SpO2 92 %, T° 38,5°C, 10² UI.",
    "Decomposed accents: épanchement e\u0301panchement; ligature ﬁbrose; full-width ＣＴ; Greek αβγ; ⅷ ½.",
    "a" * 39 + " " + "b" * 40 + " " + "c" * 41 + " supercalifragilisticexpialidociousprocedures",
    "rule-out pneumonia, non-contrast CT; X-ray (PA/LAT) 'quoted' \"double\" tabs\tand\nnewlines\r\nhere",
    "", "   ", "---", "日本語のテキスト 中文 한국어 عربي עברית हिन्दी",
]

#: highlight texts with phrases (:func:`search_api.query_plan.highlight_text`): a phrase's words are
#: marked only where the whole phrase occurs
PHRASE_QUERIES = [
    'pneumothorax "décollement pleural" "collapsed lung" PNO',
    'fracture "infarctus du myocarde" "pleural effusion" "x-ray"',
    '"épanchement pleural" "lame d\'épanchement pleural" pleurésie',
]


def _texts(source_folder) -> list[str]:  # noqa: ANN001
    from indexer.pipeline import parse_sources

    documents, _, _ = parse_sources([source_folder], None)
    return [doc.text for doc in documents] + [doc.title for doc in documents]


def _reference(text: str) -> dict[str, list[tuple[str, int, int]]]:
    return {lang: term_spans(text, lang) for lang in LANGUAGES}


def _fast(text: str) -> dict[str, list[tuple[str, int, int]]]:
    spans = fast_term_spans(text)
    return {lang: [(terms[i], start, end) for terms, start, end in spans if terms[i] is not None]
            for i, lang in enumerate(LANGUAGES)}


@pytest.mark.parametrize("text", EDGE_CASES)
def test_fast_spans_equal_the_analyzers_on_edge_cases(text: str) -> None:
    assert _fast(text) == _reference(text)


def test_fast_spans_equal_the_analyzers_on_the_fixture_corpus(source_folder) -> None:  # noqa: ANN001
    texts = _texts(source_folder)
    assert len(texts) > 10
    for text in texts:
        assert _fast(text) == _reference(text), text[:80]


def test_match_spans_marks_inflected_forms() -> None:
    text = "Absence d'épanchements pleuraux. Pleural effusion on the left."
    spans = match_spans(text, query_terms("epanchement pleural"))
    assert [text[a:b] for a, b in spans] == ["épanchements", "pleuraux", "Pleural"]


def test_query_matcher_equals_match_spans(source_folder) -> None:  # noqa: ANN001
    from search_api.snippets import QueryMatcher

    for query in ("epanchement pleural", "pleural effusion fracture", "infarctus du myocarde", "de la", *PHRASE_QUERIES):
        matcher = QueryMatcher(query)
        for text in [*_texts(source_folder), *EDGE_CASES]:
            assert matcher.spans(text) == query_spans(text, query), (query, text[:60])


@pytest.mark.parametrize("query", ["pleural pleura effusion", "a ab abc", "fracture 2e"])
def test_query_matcher_whole_tokens_only(query: str) -> None:
    """The matcher finds matched words with one regex per set of words: a word must still match only
    as a whole token (not inside a longer one, not across ``_`` or digits), like the analyzers."""
    from search_api.snippets import QueryMatcher

    texts = [
        "pleurale pleural_pleural pleural2 2pleural pleural-pleural PLEURAL pleura pleurae effusions",
        "ab abc a abcd ab_ab a.b.c ab2 éab abé fracture2e 2e fractures",
        "pleural", "pleural.", " pleural ", "xpleural pleuralx",
    ]
    matcher = QueryMatcher(query)
    for _ in range(2):  # the second pass answers from the remembered verdicts
        for text in texts:
            assert matcher.spans(text) == query_spans(text, query), (query, text)


def reference_snippet(
    text: str, query: str, language: str | None = None, width: int = 280, statuses: tuple[str, ...] | None = None
) -> tuple[str, str | None]:
    """The snippet as first written, one passage at a time, every piece escaped whatever the text holds:
    (HTML, clinical status of the first match — a family mention's with its relatives, « family:mother » —,
    or of the first match in one of *statuses* when there is one). The reference the faster snippet paths
    are compared to (here and in tests/test_lean_results.py)."""
    import html

    from indexer.clinical.context import mention_reading, split_reading
    from search_api.snippets import _window, snippet_language

    spans = query_spans(text, query)
    context, anchor = None, 0
    found = [mention_reading(text, *span, snippet_language(language)) for span in spans]
    wanted = [(at, status) for at, status in found if statuses is None or split_reading(status)[0] in statuses]
    if found:
        anchor, context = (wanted or found)[0]
    start, end = _window(text, anchor, width)
    parts, cursor = ["…" if start > 0 else ""], start
    for span_start, span_end in spans:
        if span_end <= start or span_start >= end:
            continue
        parts += [html.escape(text[cursor:span_start], quote=False),
                  f"<mark>{html.escape(text[span_start:span_end], quote=False)}</mark>"]
        cursor = span_end
    parts += [html.escape(text[cursor:end], quote=False), "…" if end < len(text) else ""]
    return "".join(parts).replace("\n", " "), context


def test_snippet_html_equals_escaping_every_piece(source_folder) -> None:  # noqa: ANN001
    """Pieces are escaped only when the text holds « & < > »: the HTML must not change for it."""
    from search_api.snippets import contextual_snippet

    tricky = ["Pleural effusion <b>left</b> & right > 2 cm; pleural <script>alert(1)</script>",
              "a < b pleural & effusion", "pleural effusion, no markup at all", *EDGE_CASES]
    for query in ("pleural effusion", "epanchement pleural", "fracture"):
        for text in [*_texts(source_folder), *tricky]:
            assert contextual_snippet(text, query).html == reference_snippet(text, query)[0], (query, text[:60])
    assert "&lt;b&gt;left&lt;/b&gt; &amp; right &gt;" in contextual_snippet(tricky[0], "pleural effusion").html


def _old_query_terms(query: str) -> dict[str, frozenset[str]]:
    """:func:`query_terms` as it was: every word of the query analysed again, each time (a signed or
    « non- » abbreviation, « ST+ », "non-ST", is one word: indexer/text/signs.py)."""
    import re

    from indexer.text.analyzers import terms
    from indexer.text.signs import SPECIAL_TOKEN
    from search_api.snippets import MIN_HIGHLIGHT_CHARS

    wanted: dict[str, set[str]] = {lang: set() for lang in LANGUAGES}
    for word in re.findall(rf"{SPECIAL_TOKEN}|\w+", query):
        analysed = {lang: terms(word, lang) for lang in LANGUAGES}
        if all(analysed.values()):
            for lang, lang_terms in analysed.items():
                wanted[lang].update(t for t in lang_terms if len(t) >= MIN_HIGHLIGHT_CHARS)
    return {lang: frozenset(lang_terms) for lang, lang_terms in wanted.items()}


def test_query_terms_per_word_cache_equals_analysing_the_query(source_folder) -> None:  # noqa: ANN001
    """The highlighted terms of a query, built from per-word cached analyses, equal the analysis of
    every word in place: on the highlight texts the planner writes for the benchmark's and the
    eval's queries (concepts' forms in both languages, repeated words), the corpus and edge cases."""
    from bench.synthetic import queries
    from search_api.models import SearchRequest
    from search_api.query_plan import plan_query

    texts = [plan_query(SearchRequest(q=q, mode="lexical")).highlight_text for q in queries(300, seed=3)]
    texts += [*_texts(source_folder), *EDGE_CASES, "de la du et the of and", "l'épaule d'un_homme 3cm x2 IRM"]
    highlighted = 0
    for text in texts:
        expected = _old_query_terms(text)
        assert query_terms.__wrapped__(text) == expected, text
        highlighted += sum(map(len, expected.values()))
    assert highlighted > 1000


def test_snippet_shows_the_match_in_the_context_the_search_asked_for(tmp_path) -> None:  # noqa: ANN001
    """A passage found for its affirmed pneumothorax must not be shown as « nié » because a form of the
    concept (« décollement pleural ») first appears in a negated sentence; a search for
    the negated finding shows the negated mention."""
    from engine_support import engine_over_reports
    from search_api.models import SearchRequest
    from search_api.snippets import contextual_snippet

    text = ("Pas d'argument pour un épanchement pleural. Pas de décollement pleural à gauche. "
            "Pneumothorax droit avec décollement pleural de 2 cm au sommet.")
    engine = engine_over_reports(tmp_path, {"R1": text, "R2": "Pneumothorax gauche minime."})
    result = next(r for r in engine.search(SearchRequest(q="pneumothorax", mode="lexical")).results if r.id.endswith("R1.txt"))
    assert result.context == "affirmed"
    assert result.snippet.index("<mark>Pneumothorax</mark>") < result.snippet.rindex("<mark>décollement</mark>")
    assert "épanchement pleural. Pas" in result.snippet  # not the whole form: not marked
    # the first highlighted words are the negated « décollement pleural » (« pleural » of « épanchement
    # pleural » is not: not the whole form): as first written, the snippet said negated
    plan = engine.plan(SearchRequest(q="pneumothorax"))
    assert contextual_snippet(text, plan.highlight_text, "fr").context == "negated"
    assert contextual_snippet(text, plan.highlight_text, "fr", statuses=plan.lexical_statuses).context == "affirmed"
    negated = engine.search(SearchRequest(q="sans épanchement pleural", mode="lexical")).results
    assert [r.context for r in negated if r.id.endswith("R1.txt")] == ["negated"]


def _marked(query: str, text: str) -> list[str]:
    from search_api.query_plan import plan_query
    from search_api.models import SearchRequest
    from search_api.snippets import QueryMatcher

    highlight = plan_query(SearchRequest(q=query)).highlight_text
    spans = QueryMatcher(highlight).spans(text)
    assert spans == query_spans(text, highlight)  # the page's matcher and the document page agree
    return [text[a:b] for a, b in spans]


def test_a_multi_word_form_is_marked_only_where_it_occurs_whole() -> None:
    """"pneumothorax" expands to « décollement pleural » and "collapsed lung": the lexical leg matched
    them as phrases, so « Lungs » of "lungs are clear" or « pleural » of « épanchement pleural » is no
    match (QA on Open-i: every word of every form was marked)."""
    assert _marked("pneumothorax", "Lungs are clear. Small pneumothorax.") == ["pneumothorax"]
    assert _marked("pneumothorax", "Épanchement pleural droit, poumon collapsed.") == []
    assert _marked("pneumothorax", "Décollement pleural de 2 cm") == ["Décollement", "pleural"]
    assert _marked("pneumothorax", "Right collapsed lung. The lungs are clear.") == ["collapsed", "lung"]


def test_free_words_and_one_word_forms_are_marked_as_before() -> None:
    # « clear » is a free word of the query (no concept): marked wherever it occurs; « PNO » is a
    # one-word form of pneumothorax
    assert _marked("clear pneumothorax", "Lungs are clear. PNO droit.") == ["clear", "PNO"]
    # a negated concept's forms are phrases too: « pleural » of « décollement pleural » is not marked
    assert _marked("pneumothorax sans épanchement pleural", "Décollement absent, pas d'épanchement pleural.") == [
        "épanchement", "pleural"]
