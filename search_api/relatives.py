"""Whether a matched passage answers a query about given relatives (« cancer du sein chez la mère »).

A query about family history searches the family mentions (``search.family_cues``); a query that names a
relative (:func:`indexer.clinical.query.family_relatives`) asks about that relative only, and a passage whose
matching family mentions are all about someone else (« Père : cancer du sein ») does not answer it. Each
passage's stored mentions name the relatives of its family spans (« family:father »,
:func:`indexer.clinical.mentions.mention_index`), so the check is a few look-ups per matched passage, with
the snippet's own matcher (the words and concept forms the lexical leg matched).

Retrieval does not call this: a search restricts its family matches inside the engine (the plan's status
``family:mother`` searches that relative's family fields, :func:`indexer.backend.base.status_fields`), so that
counts and pages agree; a post-filter with this check would make ``total`` lie. It stays the per-passage
statement of the same rule (:func:`~indexer.clinical.context.relatives_match`), for explanations and tests.
"""

from __future__ import annotations

from collections.abc import Sequence

from indexer.clinical.context import mention_reading, relatives_match, split_reading
from indexer.clinical.mentions import mention_status_at, snippet_language
from search_api.snippets import query_matcher

FAMILY = "family"


def passage_answers_relatives(text: str, highlight: str, relatives: Sequence[str], mentions: str | None = None,
                              language: str | None = None) -> bool:
    """True when a match of *highlight* (a plan's ``highlight_text``) in *text* is a family mention about one
    of *relatives* or about a relative the text does not name (« antécédents familiaux de … »); always True
    when *relatives* is empty (the query names none). *mentions*: the passage's stored mention index."""
    if not relatives:
        return True
    for start, end in query_matcher(highlight).spans(text):
        reading = (mention_status_at(mentions, start, end)[1] if mentions is not None
                   else mention_reading(text, start, end, snippet_language(language))[1])
        status, found = split_reading(reading)
        if status == FAMILY and relatives_match(tuple(relatives), found):
            return True
    return False
