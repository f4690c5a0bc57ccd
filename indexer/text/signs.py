"""Signed abbreviations (« ST+ », « ST- », "HER2+") and « non- » abbreviations ("non-ST", « non-HDL »).

Both tokenisers of the project (Tantivy's ``simple`` one for the lexical index and snippets, and
:func:`indexer.clinical.text.tokenize` for the lexicon and context detection) read a word as a run of
letters and digits, so « IDM ST- » and « SCA ST+ » both became ``idm st`` / ``sca st``, and "non-ST
elevation myocardial infarction" held the phrase "ST elevation": a search for an NSTEMI found STEMIs and
the reverse. This module says, once for everyone, which spans are one token with a meaning of their own:

* an abbreviation in capitals (2-6 letters or digits, first a letter) directly followed by ``+``, ``-``
  or ``−`` (U+2212) and then by neither a letter, a digit, ``/`` nor another sign: « ST+ », « ST− »,
  « HER2- ». Not « ST+/- » (either sign: plain ``ST``), not « ST-elevation », « COVID-19 », « +/- »,
  « -2 », dates, nor French suspended hyphens (« pré- et post-opératoire »: lower case);
* « st » in any case, as typed quickly (« idm st- », « sca St+ »): the one lower-case exception. « st »
  is no French prefix (no suspended hyphen « st- et ... »), « St-Étienne », "1st-degree", « post- » and
  "ST-elevation" stay as they were (a letter after the sign, or one before the « st »), so a lower-case
  « st » with a sign is the ST segment; another lower-case word before a sign is not read as one
  (« pré- », « anti- »: suspended hyphens);
* ``non-`` glued by a hyphen to such an abbreviation: "non-ST-elevation" → ``nonST`` + elevation, so
  the STEMI phrase "ST elevation" is not inside it.

:func:`analysis_text` rewrites those spans into plain words Tantivy keeps whole (« ST+ » → ``STplus``,
« ST- » → ``STminus``, "non-ST" → ``nonST``): the lexical index and the query go through it alike.
"""

from __future__ import annotations

import re
from functools import lru_cache

SIGNS = "+-\u2212"
_SIGN_CLASS = "+\\-\u2212"  # the signs inside a regex character class ("-" escaped: not a range)
_ABBREVIATION = r"[A-Z][A-Z0-9]{1,5}"
#: what may carry a sign or follow « non- »: a capitalised abbreviation, or the ST segment in any case
_SIGNED = rf"(?:{_ABBREVIATION}|[Ss][Tt])"
#: a signed abbreviation (group ``abbr`` + ``sign``) or a « non- » one (``non`` + ``nabbr``)
SPECIAL = re.compile(
    rf"(?<![^\W_])(?P<non>[Nn]on|NON)-(?P<nabbr>{_SIGNED})(?![^\W_])"
    rf"|(?<![^\W_])(?P<abbr>{_SIGNED})(?P<sign>[{_SIGN_CLASS}])(?![\w/{_SIGN_CLASS}])"
)
#: :data:`SPECIAL` without its groups, to put in other tokenisers' patterns (snippets, ES queries)
SPECIAL_TOKEN = (
    rf"(?<![^\W_])(?:[Nn]on|NON)-{_SIGNED}(?![^\W_])"
    rf"|(?<![^\W_]){_SIGNED}[{_SIGN_CLASS}](?![\w/{_SIGN_CLASS}])"
)
#: what each sign becomes in :func:`analysis_text` and in the lexicon's tokens
SIGN_WORDS = {"+": "plus", "-": "minus", "\u2212": "minus"}
SIGN_NORMS = {"+": "+", "-": "-", "\u2212": "-"}


#: what every special span holds: a capitalised abbreviation right before a sign, « st » in any case before a
#: sign and then no letter (not the « st- » of « post-op »: that keeps the pre-check cheap), or « non- »
#: before a capital or « st ». A
#: pattern that starts with a character set is scanned fast by ``re``; :data:`SPECIAL`'s leading
#: look-behind is tried at every position (the clinical tokenizer was 15 % slower with it alone)
_HINT = re.compile(
    rf"[A-Z][A-Z0-9]{{1,5}}[{_SIGN_CLASS}]|[Ss][Tt][{_SIGN_CLASS}](?![\w/{_SIGN_CLASS}])|[Nn][Oo][Nn]-(?:[A-Z]|[Ss][Tt])"
)


def may_hold_special(text: str) -> bool:
    """Cheap pre-check: False when *text* holds no special span (most query words and passages)."""
    return ("-" in text or "+" in text or "\u2212" in text) and _HINT.search(text) is not None


def _word(match: re.Match[str]) -> str:
    if match["nabbr"]:
        return "non" + match["nabbr"]
    return match["abbr"] + SIGN_WORDS[match["sign"]]


@lru_cache(maxsize=65_536)
def _cached_analysis_text(text: str) -> str:
    return SPECIAL.sub(_word, text)


def analysis_text(text: str) -> str:
    """*text* with each special span rewritten as one plain word (see the module docstring): what the
    Tantivy analyzers are given, at index and at query time."""
    if not may_hold_special(text):
        return text
    if len(text) <= 200:  # query words and lexicon forms recur: cached; passages are not
        return _cached_analysis_text(text)
    return SPECIAL.sub(_word, text)


def analysis_text_with_offsets(text: str) -> tuple[str, list[int]]:
    """:func:`analysis_text` and, for each of its characters (plus one past the end), the offset in
    *text* it comes from: highlighting reports spans of the original text."""
    pieces: list[str] = []
    offsets: list[int] = []
    cursor = 0
    for match in SPECIAL.finditer(text) if may_hold_special(text) else ():
        pieces.append(text[cursor : match.start()])
        offsets.extend(range(cursor, match.start()))
        word = _word(match)
        pieces.append(word)
        # every character of the new word points into the span; its end maps to the span's end
        offsets.extend(min(match.start() + k, match.end() - 1) for k in range(len(word)))
        cursor = match.end()
    pieces.append(text[cursor:])
    offsets.extend(range(cursor, len(text) + 1))
    return "".join(pieces), offsets
