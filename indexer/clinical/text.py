"""Text normalisation and tokenisation shared by context detection, the lexicon and query parsing.

Clinical text is typed fast: « ABSENCE D'EPANCHEMENT », « absence d’épanchement » and
« absence d'épanchement » must all match the same trigger. Everything that compares words therefore
works on a *folded* form (lower case, no accents, one kind of apostrophe, œ → oe), while every token
keeps offsets into the *original* string so that spans handed back to the indexer are exact slices
of the text it gave us.

French elisions are expanded at token level (« d' » → ``de``, « l' » → ``le``...) so one trigger
« pas de » covers « pas de fracture » and « pas d'épanchement », and one lexicon term
« embolie pulmonaire » is found inside « d'embolie pulmonaire ».
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from indexer.text.ligatures import LIGATURES
from indexer.text.signs import SIGN_NORMS, SPECIAL, may_hold_special

# Characters whose folded form is not "the base letter of its NFD decomposition".
_SPECIAL_FOLDS = {
    "œ": "oe",
    "Œ": "oe",
    "æ": "ae",
    "Æ": "ae",
    "ß": "ss",
    "’": "'",
    "‘": "'",
    "ʼ": "'",
    "`": "'",
    "´": "'",
    "«": '"',
    "»": '"',
    "“": '"',
    "”": '"',
    "–": "-",
    "—": "-",
    "‐": "-",
    "\u2212": "-",  # minus sign: « ST− » is « ST- »
    **LIGATURES,  # « ﬁ » → fi: NFD leaves compatibility characters whole
    "\u00a0": " ",
    "\u202f": " ",
}

# Elided French function words → their full form, so triggers are written once.
_ELISIONS = {
    "d": "de",
    "l": "le",
    "n": "ne",
    "s": "se",
    "j": "je",
    "c": "ce",
    "m": "me",
    "t": "te",
    "qu": "que",
    "jusqu": "jusque",
    "lorsqu": "lorsque",
    "puisqu": "puisque",
}

_TOKEN_RE = re.compile(
    r"(?P<elision>(?<![^\W_])(?:jusqu|lorsqu|puisqu|qu|[dlnsjcmt])'(?=[^\W_]))"
    r"|(?P<number>\d+(?:[.,]\d+)*)"
    r"|(?P<word>[^\W_]+)"
    r"|(?P<punct>[.,;:!?()\[\]/\"+])"
)

PUNCTUATION = frozenset('.,;:!?()[]/"+')


@dataclass(frozen=True, slots=True)
class Token:
    """One folded token and where it sits in the original text (``text[start:end]``)."""

    norm: str
    start: int
    end: int

    @property
    def is_punct(self) -> bool:
        return self.norm in PUNCTUATION


@lru_cache(maxsize=8192)
def fold_char(char: str) -> str:
    """Fold one character: lower case, accents removed, typographic variants unified."""
    special = _SPECIAL_FOLDS.get(char)
    if special is not None:
        return special
    decomposed = unicodedata.normalize("NFD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """Fold ``text`` and return, for every folded character, the index of its source character.

    The map is needed because folding can change the length (« œ » → ``oe``), and spans must be
    reported in the caller's coordinates. ASCII text (most English) takes a fast path.
    """
    if text.isascii():
        return text.lower().replace("`", "'"), list(range(len(text)))
    pieces = [fold_char(c) for c in text]
    folded = "".join(pieces)
    if len(folded) == len(text):
        return folded, list(range(len(text)))
    offsets: list[int] = []
    for index, piece in enumerate(pieces):
        offsets.extend([index] * len(piece))
    return folded, offsets


def fold(text: str) -> str:
    """Folded form of ``text`` (see module docstring); used for dictionary keys."""
    return fold_with_offsets(text)[0]


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into folded tokens with original offsets.

    Words are runs of letters/digits (hyphens split words, so « peut-être » and « peut être »
    tokenise alike) except signed and « non- » abbreviations, one token each (« ST+ » → ``st+``,
    « ST- » → ``st-``, "non-ST" → ``nonst``: :mod:`indexer.text.signs`), decimals stay whole (« 3,5 »), French elisions are expanded, and the
    punctuation that matters for scope (``. , ; : ? ! ( ) / "``) is kept as tokens.
    """
    folded, offsets = fold_with_offsets(text)
    special = _special_tokens(text)
    if not special:  # most texts: the plain loop, no per-token check
        return [_token(match, offsets) for match in _TOKEN_RE.finditer(folded)]
    tokens: list[Token] = []
    skip_to = -1
    for match in _TOKEN_RE.finditer(folded):
        start = offsets[match.start()]
        if start < skip_to:
            continue  # inside a special token (« - » of "non-ST", « + » of « ST+ »)
        if start in special:
            token = special[start]
            tokens.append(token)
            skip_to = token.end
            continue
        tokens.append(_token(match, offsets))
    return tokens


def _token(match: re.Match[str], offsets: list[int]) -> Token:
    value = match.group()
    if match.lastgroup == "elision":
        value = _ELISIONS[value[:-1]]
    return Token(value, offsets[match.start()], offsets[match.end() - 1] + 1)


def _special_tokens(text: str) -> dict[int, Token]:
    """Start offset → the one token of each signed or « non- » abbreviation of *text*
    (:mod:`indexer.text.signs`): « ST+ » → ``st+``, « ST− » → ``st-``, "non-ST" → ``nonst``."""
    if not may_hold_special(text):
        return {}
    found = {}
    for match in SPECIAL.finditer(text):
        if match["nabbr"]:
            norm = "non" + match["nabbr"].lower()
        else:
            norm = match["abbr"].lower() + SIGN_NORMS[match["sign"]]
        found[match.start()] = Token(norm, match.start(), match.end())
    return found


@lru_cache(maxsize=4096)
def token_key(phrase: str) -> tuple[str, ...]:
    """The folded token sequence of a dictionary phrase (trigger, lexicon term)."""
    return tuple(token.norm for token in tokenize(phrase))


_FR_MARKERS = frozenset(
    "le la les des du de un une et est sans pas avec pour dans sur au aux ne il elle "
    "absence droit droite gauche patiente examen".split()
)
_EN_MARKERS = frozenset(
    "the of and is are was with without for in on no not right left there this that which history".split()
)


def detect_language(text: str, default: str = "fr") -> str:
    """Guess 'fr' or 'en' from function words; the hospital's default is French.

    Cheap on purpose: it only chooses which trigger list applies when the caller does not know the
    document language, and a wrong guess on a two-word text costs little.
    """
    return language_of_tokens(tokenize(text[:5000]), default)


def language_of_tokens(tokens: list[Token], default: str = "fr") -> str:
    """:func:`detect_language` from the text's tokens, for a caller that has them already (a query
    is tokenized once for its language, its clauses and its negation cues)."""
    fr = en = 0
    for token in tokens:
        if token.norm in _FR_MARKERS:
            fr += 1
        if token.norm in _EN_MARKERS:
            en += 1
    if fr == en:
        return default
    return "fr" if fr > en else "en"


def stem(norm: str) -> str:
    """Light, symmetric French/English plural and gender folding for lexicon matching.

    « épanchements pleuraux », « épanchement pleural » and « pleurale » must match the same entry,
    and "biopsies" must match "biopsy". The rules are crude on purpose: they run on the dictionary
    and on the text alike, so over-stemming is harmless as long as it is consistent. Tokens of four
    characters or fewer (abbreviations: IRM, BPCO) and tokens with digits are left alone.
    """
    if len(norm) <= 4 or not norm.isalpha():
        return norm
    if norm.endswith("aux"):
        norm = norm[:-3] + "al"
    elif norm.endswith("x") or (norm.endswith("s") and norm[-2] not in "sui"):
        norm = norm[:-1]
    if norm.endswith("e") and len(norm) > 4:
        norm = norm[:-1]
    if norm.endswith("y"):
        norm = norm[:-1] + "i"
    return norm


@lru_cache(maxsize=65536)
def lexicon_key(phrase: str) -> tuple[str, ...]:
    """Folded, stemmed token sequence: the key under which the lexicon stores and looks up a phrase."""
    return tuple(stem(token.norm) for token in tokenize(phrase))
