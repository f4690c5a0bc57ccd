"""French/English language guess from stop-word frequencies.

The corpus is bilingual by design (French hospital, English literature); a stop-word vote is
deterministic, instant and right on anything longer than a few words, which is all the indexer needs
to pick stemmers and report a document's language. Short or neutral text returns ``"und"``.
"""

from __future__ import annotations

import re

_FRENCH = frozenset(
    "le la les un une des du de d l et est en au aux pour par sur sous dans avec sans pas ne ni que qui "
    "ce cette ces son sa ses il elle ils nous vous a été être ou où mais donc car chez lors selon "
    "absence présence droit droite gauche patient patiente examen".split()
)
_ENGLISH = frozenset(
    "the a an and is are was were of to in on for with without no not by from this that these "
    "those it its be been has have had at as or but which who right left patient study".split()
)
_FRENCH_LETTERS = frozenset("àâçéèêëîïôùûœæ")
_WORD = re.compile(r"[a-zA-Zàâäçéèêëîïôöùûüÿœæ]+")


def detect_language(text: str, minimum_hits: int = 2) -> str:
    """Return ``"fr"``, ``"en"`` or ``"und"`` for *text*."""
    words = [w.lower() for w in _WORD.findall(text[:5000])]
    french = sum(w in _FRENCH for w in words)
    english = sum(w in _ENGLISH for w in words)
    if max(french, english) < minimum_hits:
        # A short conclusion has few function words (« Appendicite aiguë. », « Embolie pulmonaire
        # bilatérale. Épanchement pleural gauche. »): it was « und », so a language=fr filter left it
        # out. Words with French-only letters decide when no English word says otherwise.
        accented = sum(bool(_FRENCH_LETTERS.intersection(w)) for w in words)
        return "fr" if english == 0 and accented and french + accented >= 1 else "und"
    return "fr" if french > english else "en"
