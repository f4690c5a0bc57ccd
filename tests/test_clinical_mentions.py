"""Stored mention indexes give the snippet the very answer of the query-time analysis.

:func:`indexer.clinical.mentions.mention_index` is computed at index time and read back by
:func:`~indexer.clinical.mentions.mention_at` instead of :func:`~indexer.clinical.mention_context`
(#14 item 3); for every word of every text, in every language setting, both must agree.
"""

from __future__ import annotations

import re

import pytest

from indexer.clinical import mention_context
from indexer.clinical.mentions import mention_at, mention_index

TEXTS = [
    "Antécédents familiaux :\nMère : cancer du sein.\n- Père : IDM à 50 ans\n\nLe patient présente une dyspnée.",
    "Pas d'épanchement pleural. Nodule du lobe supérieur droit ; pas de pneumothorax mais une atélectasie.",
    "Family history of colon cancer. The patient denies chest pain, but reports dyspnea. Rule out embolism.",
    "CONCLUSION\nEmbolie pulmonaire éliminée. Pneumopathie possible du lobe inférieur droit ?",
    "1. Pneumothorax : non\n2) Suspicion de fracture costale.\n- no pleural effusion\n* possible consolidation",
    "Indication : bilan.\n\nRésultats :\nAbsence de lésion. Dr. Martin, 3.5 cm, e.g. stable.\nConclusion : normal",
    "", "   ", "Épanchement.",
]


def _check(text: str) -> None:
    for language in (None, "fr", "en", "und"):
        stored = mention_index(text, language)
        for word in re.finditer(r"\w+", text):
            expected = mention_context(text, word.start(), word.end(), language if language in ("fr", "en") else None)
            assert mention_at(stored, word.start(), word.end()) == expected, (word.group(), language)


@pytest.mark.parametrize("text", TEXTS)
def test_stored_mentions_answer_like_the_text_analysis(text: str) -> None:
    _check(text)


def test_stored_mentions_on_the_fixture_corpus(source_folder) -> None:  # noqa: ANN001
    from indexer.pipeline import parse_sources
    from indexer.text.passages import split_passages

    documents, _, _ = parse_sources([source_folder], None)
    checked = 0
    for document in documents:
        for passage in split_passages(document):
            _check(passage.text)
            checked += 1
    assert checked > 10


def test_a_negated_mention_is_read_back() -> None:
    text = "Radio du thorax. Absence d'épanchement pleural."
    start = text.index("épanchement")
    sentence, status = mention_at(mention_index(text, "fr"), start, start + len("épanchement"))
    assert (sentence, status.value) == (text.index("Absence"), "negated")


def test_decoded_index_equals_the_python_loops() -> None:
    """The stored index's decoding (starts and the order check chained in C) gives what the loops gave,
    in order, out of order, overlapping, one sentence and none."""
    import json

    from indexer.clinical.mentions import _decoded

    def old(index: str):  # noqa: ANN202
        data = json.loads(index)
        sentences = data["s"]
        starts = [start for start, _ in sentences]
        ordered = all(sentences[i][1] <= sentences[i + 1][0] for i in range(len(sentences) - 1))
        return sentences, data["c"], starts if ordered else None

    cases = [[], [[0, 12]], [[0, 28], [29, 58], [59, 93]], [[0, 30], [30, 40]], [[0, 31], [30, 40]],
             [[10, 20], [0, 5]], [[0, 5], [5, 9], [8, 12]], [[3, 3], [3, 3]]]
    indexes = [json.dumps({"s": s, "c": [[0, 4, "negated"]] if s else []}, separators=(",", ":")) for s in cases]
    indexes += [mention_index(text, lang) for text in TEXTS for lang in ("fr", "en", None)]
    for index in indexes:
        assert _decoded.__wrapped__(index) == old(index), index
    assert sum(old(i)[2] is None for i in indexes) >= 3  # the unordered case was covered
