"""Typographic ligatures (« ﬁ », « ﬂ », « ﬀ »…) spelled as their letters.

Why: text copied from a PDF, or extracted from one by pypdf, often keeps the font's ligature characters:
« ﬁbrose » is not « fibrose » for the lexicon (concepts and their translations were not recognised), nor
for the encoder (the dense leg read other sub-words). Tantivy's analyzers already fold them. Documents
are read with them spelled out (:mod:`indexer.sources.common`), so only a document that held one changes
(its content hash), and a query is spelled out when it is validated (:class:`search_api.models.SearchRequest`).
Only the Latin ligatures of Unicode's Alphabetic Presentation Forms (U+FB00–U+FB06): a full NFKC would
also rewrite « µ », « ² » or « ½ », which the clinical text keeps as typed.
"""

from __future__ import annotations

#: each ligature → the letters it stands for
LIGATURES: dict[str, str] = {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
_TABLE = str.maketrans(LIGATURES)


def spell_ligatures(text: str) -> str:
    """*text* with each typographic ligature replaced by its letters (« ﬁbrose » → « fibrose »)."""
    return text.translate(_TABLE) if any(char in text for char in LIGATURES) else text
