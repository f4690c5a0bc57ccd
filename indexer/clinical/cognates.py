"""French → English cognates for query words the lexicon does not know, validated by the index.

Why: the lexicon translates the concepts it lists, but a physician's query often carries words it
does not (« densité », « ostéopathie métabolique », « rachis dégénératif »), and no offline
French → English translation model exists (docs: /work/shared/MODELS.md). Medical French and English
share Greek and Latin roots and differ by regular endings: « densité » / density, « métabolique » /
metabolic, « dégénératif » / degenerative, « bronchite » / bronchitis, « fibrose » / fibrosis,
« granulome » / granuloma, « artère » / artery, « bulleux » / bullous. :func:`english_candidates`
spells those endings out; most of what it produces is not English (« élevé » → "eleved"), so a
candidate is only used once the index says English documents contain it (:class:`CognateTranslator`,
fed by :meth:`~indexer.backend.base.IndexBackend.term_passage_counts`), and more often than the word
as typed (an English word typed in a French query is left alone).

False friends the rules would validate (« préservatif » is a condom, not a preservative; « actuel » is
current, not actual) are listed in :data:`FALSE_FRIENDS` and never transferred.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence

from indexer.clinical.text import fold
from indexer.text.analyzers import terms

__all__ = ["ADJECTIVE_RULES", "FALSE_FRIENDS", "CognateTranslator", "cognate_terms", "english_candidates", "query_words",
           "relational_nouns"]

#: (French ending, English endings), accented; every rule whose ending matches is applied (the index
#: decides which product is a word). Longest endings first only for readability.
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ique", ("ic", "ical")),      # métabolique → metabolic, pathologique → pathological
    ("aque", ("ac",)),             # cardiaque → cardiac, iliaque → iliac
    ("que", ("c",)),               # disque → disc
    ("ité", ("ity",)),             # densité → density, opacité → opacity
    ("ie", ("y", "ia")),           # ostéopathie → osteopathy, mastectomie → mastectomy, pneumonie → pneumonia
    ("if", ("ive",)),              # dégénératif → degenerative
    ("aire", ("ary", "ar")),       # pulmonaire → pulmonary, vasculaire → vascular
    ("ite", ("itis",)),            # bronchite → bronchitis
    ("ose", ("osis",)),            # fibrose → fibrosis, sténose → stenosis
    ("ome", ("oma",)),             # granulome → granuloma, hématome → hematoma
    ("ème", ("ema",)),             # emphysème → emphysema, œdème → edema
    ("ée", ("ea", "ed")),          # trachée → trachea, dilatée → dilated
    ("é", ("ed",)),                # calcifié → calcified, implanté → implanted
    ("eux", ("ous", "eous")),      # bulleux → bullous, fibreux → fibrous, osseux → osseous
    ("euse", ("ous", "eous")),     # granulomateuse → granulomatous, osseuse → osseous
    ("eur", ("or", "our")),        # postérieur → posterior, tumeur → tumor
    ("eure", ("or", "our")),       # postérieure → posterior
    ("ère", ("ery",)),             # artère → artery
    ("re", ("er",)),               # diamètre → diameter, centre → center
    ("el", ("al",)),               # interstitiel → interstitial, résiduel → residual
    ("elle", ("al",)),             # interstitielle → interstitial
    ("ale", ("al",)),              # vertébrale → vertebral, médiastinale → mediastinal
    ("ien", ("ian",)),             # médian, ... → -ian
    ("ienne", ("ian",)),
    ("e", ("", "a")),              # sigmoïde → sigmoid, embolisme → embolism, aorte → aorta, bulle → bulla
)

#: relational adjectives whose English counterpart takes another suffix (:attr:`CognateTranslator.relational`):
#: « épicardique » / epicardial, « bronchique » / bronchial, « péricardique » / pericardial
ADJECTIVE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ique", ("ial",)),
)
#: relational adjective ending → the ending of the noun it derives from, for an adjective whose own cognate
#: the index lacks (« diaphragmatique » → « diaphragme » → diaphragm: English says "elevated hemidiaphragm",
#: "diaphragm", rarely "diaphragmatic"); the noun's cognates are then proposed (:attr:`CognateTranslator.relational`)
NOUN_RULES: tuple[tuple[str, str], ...] = (
    ("atique", "e"), ("atique", "a"), ("ique", "ie"), ("ique", "e"), ("aire", "e"), ("aire", ""), ("al", "e"), ("al", ""),
    ("ien", "e"), ("ien", ""), ("eux", "e"), ("eux", ""),
)

#: French words whose regular English look-alike means something else (folded): never transferred
FALSE_FRIENDS: frozenset[str] = frozenset(fold(w) for w in (
    "actuel", "actuelle", "actuels", "actuelles",          # current, not actual
    "éventuel", "éventuelle", "éventuels", "éventuelles",  # possible, not eventual
    "préservatif", "préservatifs",                         # condom, not preservative
    "blessé", "blessée", "blessés", "blessées",            # injured, not blessed
    "résumé", "résumés",                                   # summary (a CV), not resumed
    "sensibilité",                                         # sensitivity, not sensibility
    "compréhensif", "compréhensive",                       # understanding, not comprehensive
    "injurieux", "injurieuse",                             # insulting, not injurious
    "librairie",                                           # bookshop, not library
    "achevé", "achevée",                                   # finished, not achieved
    "assisté", "assistée",                                 # attended by, not assisted
))

_CIRCUMFLEX_S = {"â": "as", "ê": "es", "î": "is", "ô": "os", "û": "us"}  # hôpital → hospital, arrêt → arrest
_WORD = re.compile(r"[^\W\d_]+")
MIN_LENGTH = 5  # shorter words are too often different words in the two languages


def _fold_ascii(text: str) -> str:
    return fold(text).replace("'", "")


def _forms(word: str) -> list[str]:
    """The word and its singular (« opacités » → « opacité », « pleuraux » → « pleural »)."""
    forms = [word]
    if word.endswith("aux"):
        forms.append(word[:-3] + "al")
    elif word.endswith(("s", "x")) and not word.endswith("eux") and len(word) > MIN_LENGTH:
        forms.append(word[:-1])
    return forms


def _with_circumflex_s(word: str) -> str:
    return "".join(_CIRCUMFLEX_S.get(c, c) for c in word)


def english_candidates(word: str, rules: tuple[tuple[str, tuple[str, ...]], ...] = RULES) -> tuple[str, ...]:
    """English spellings *word* may have by regular French → English morphology (unvalidated).

    Endings are matched with their accents (« densité » is -ité, « bronchite » is -ite); a word typed
    without any accent is matched on folded endings, so « densite » gets both readings. The result is
    folded (no accents, œ → oe, and also œ → e: « œdème » → "edema"), lower case, without the word itself.
    """
    lowered = word.strip().lower()
    if len(lowered) < MIN_LENGTH or not lowered.isalpha() or _fold_ascii(lowered) in FALSE_FRIENDS:
        return ()
    accented = not lowered.isascii()
    out: list[str] = []
    for form in _forms(lowered):
        variants = dict.fromkeys([form, _with_circumflex_s(form)])
        for variant in variants:
            if variant != form:
                out.append(_fold_ascii(variant))  # hôpital → hospital
            for ending, replacements in rules:
                matches = variant.endswith(ending) if accented else variant.endswith(_fold_ascii(ending))
                if not matches:
                    continue
                stem = variant[: -len(ending)] if accented else variant[: -len(_fold_ascii(ending))]
                if len(stem) < 3:
                    continue
                for replacement in replacements:
                    out.append(_fold_ascii(stem) + replacement)
                    if "œ" in stem:
                        out.append(_fold_ascii(stem.replace("œ", "e")) + replacement)
        if form != lowered:
            out.append(_fold_ascii(form))  # the singular / -aux → -al form itself
    typed = _fold_ascii(lowered)
    return tuple(c for c in dict.fromkeys(out) if c != typed and len(c) >= 3)


def relational_nouns(word: str) -> list[str]:
    """The nouns (accented as typed, masculine singular) a relational adjective *word* may derive from:
    « diaphragmatiques » → « diaphragme », « diaphragma »…; inflections undone first (« -ale(s) », « -ienne »)."""
    lowered = word.strip().lower()
    forms = []
    for form in _forms(lowered):
        forms.append(form)
        for feminine, masculine in (("ienne", "ien"), ("ale", "al"), ("euse", "eux"), ("aire", "aire")):
            if form.endswith(feminine) and feminine != masculine:
                forms.append(form[: -len(feminine)] + masculine)
    nouns = []
    for form in forms:
        for ending, replacement in NOUN_RULES:
            if form.endswith(ending) and len(form) - len(ending) >= 4:
                nouns.append(form[: -len(ending)] + replacement)
    return [noun for noun in dict.fromkeys(nouns) if noun != lowered]


def query_words(text: str) -> list[str]:
    """The words of *text* that may get a cognate: letters only, long enough, not a French stop word."""
    words = []
    for word in _WORD.findall(text):
        if len(word) >= MIN_LENGTH and terms(word, "fr"):  # the French analyser drops stop words
            words.append(word)
    return list(dict.fromkeys(words))


#: words → how many passages of English documents contain each (analysed as English); 0 if none
PassageCounts = Callable[[Sequence[str]], dict[str, int]]


class CognateTranslator:
    """Validated English cognates of query words, memoised per word (one index look-up per new word).

    A candidate is kept when at least *min_passages* passages of English documents contain it and
    more than contain the word as typed; at most *max_forms* per word, most frequent first. Call
    :meth:`clear` when the index changes (another generation has another vocabulary), or after changing
    :attr:`word_translations`, :attr:`dictionary` or :attr:`induced`.
    """

    def __init__(
        self,
        counts: PassageCounts,
        min_passages: int = 3,
        max_forms: int = 2,
        word_translations: bool = False,
        french_counts: PassageCounts | None = None,
    ) -> None:
        self._counts = counts
        #: passages of French documents containing each word *analysed as French*: the lexical leg
        #: searches a cognate in every language's fields, so "bone" (« osseuse ») would also match
        #: French « bonnes » (both stem to "bon"); such a candidate is dropped (see :meth:`_collides`)
        self._french_counts = french_counts
        self.min_passages = min_passages
        self.max_forms = max_forms
        #: also propose the English word the ICD-10 label pairs align with it (:mod:`indexer.clinical.word_alignment`)
        self.word_translations = word_translations
        #: for a word left with no validated cognate or ICD-10 translation: English words proposed by the
        #: encoder's nearest neighbours (:class:`indexer.clinical.induced.InducedTranslator`), validated the same way
        self.induced: Callable[[str], tuple[str, ...]] | None = None
        #: for a word left with no validated cognate or ICD-10 translation: its translations in an installed
        #: French → English dictionary (:class:`indexer.clinical.dictionary.DictionaryTranslator`), validated
        #: the same way; tried before :attr:`induced`
        self.dictionary: Callable[[str], tuple[str, ...]] | None = None
        #: the query languages :attr:`induced` serves (``None``: a query whose language cannot be told, such
        #: as a lone "cavitation"): a French → English translation, so French queries only by default
        self.induced_languages: frozenset[str | None] = frozenset({"fr"})
        #: relational adjectives (search.relational_adjectives): the rules of :data:`ADJECTIVE_RULES` too, and for
        #: an adjective left untranslated, the cognates of the noun it derives from (:func:`relational_nouns`)
        self.relational = False
        #: the dictionary only for a word fewer than ``min_passages`` passages contain as typed (search.dictionary_unknown_only):
        #: « place » (in « sonde en place ») is an English word the index knows, its dictionary sense "location" is not the one meant
        self.dictionary_unknown_only = False
        self._memo: dict[tuple[str, bool], tuple[str, ...]] = {}
        self._nouns: set[str] = set()  # words translated through the noun they derive from (:meth:`lexical_only`)
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._memo.clear()
            self._nouns.clear()

    def lexical_only(self, word: str) -> bool:
        """Whether *word*'s forms are its noun's (« diaphragmatique » → diaphragm): a looser translation, searched
        by the lexical leg but kept out of the dense leg's translated text (it would pull the query's embedding
        towards the bare noun). Known once *word* was translated."""
        return word.lower() in self._nouns

    def __call__(self, word: str, induced: bool = True) -> tuple[str, ...]:
        """*word*'s validated English forms; *induced* False: without :attr:`induced`'s proposals."""
        use = induced and self.induced is not None
        key = (word.lower(), use)
        found = self._memo.get(key)
        if found is None:
            found = self._validate(key[0], use)
            with self._lock:
                self._memo[key] = found
        return found

    def translate(self, text: str) -> list[tuple[str, tuple[str, ...]]]:
        """(word, its English cognates) for each word of *text* that has some."""
        return [(word, forms) for word in query_words(text) if (forms := self(word))]

    def _validate(self, word: str, induced: bool) -> tuple[str, ...]:
        proposed = list(english_candidates(word, RULES + ADJECTIVE_RULES if self.relational else RULES))
        if self.word_translations:
            from indexer.clinical.word_alignment import word_translations

            proposed = [*word_translations(word), *proposed]
        found = self._validated(word, proposed)
        if not found and self.relational:  # « diaphragmatique »: "diaphragmatic" is rare, the noun's "diaphragm" is not
            # (shortest spelling first: "diaphragm", not "diaphragmed", names the English term they share)
            nouns = [candidate for noun in relational_nouns(word) for candidate in sorted(english_candidates(noun), key=len)]
            found = self._validated(word, nouns)
            if found:
                with self._lock:
                    self._nouns.add(word)
        if not found and self.dictionary is not None and not (
                self.dictionary_unknown_only and self._counts([word]).get(word, 0) >= self.min_passages):
            found = self._validated(word, list(self.dictionary(word)))
        if not found and induced and self.induced is not None:  # only what the rules and ICD-10 left untranslated
            found = self._validated(word, list(self.induced(word)))
        return found

    def _validated(self, word: str, proposed: list[str]) -> tuple[str, ...]:
        """The *proposed* English forms of *word* the index's English documents use (see the class)."""
        typed = terms(word, "en")
        by_term: dict[tuple[str, ...], str] = {}  # one candidate per English term (« opacit » → "opacity")
        for candidate in proposed:
            analysed = tuple(terms(candidate, "en"))
            if analysed and list(analysed) != typed:
                by_term.setdefault(analysed, candidate)
        candidates = list(by_term.values())
        if not candidates:
            return ()
        counts = self._counts([word, *candidates])
        floor = max(self.min_passages, counts.get(word, 0) + 1)
        kept = sorted((c for c in candidates if counts.get(c, 0) >= floor), key=lambda c: -counts[c])
        return tuple(c for c in kept if c not in self._collides(word, kept))[: self.max_forms]

    def _collides(self, word: str, candidates: list[str]) -> set[str]:
        """The candidates that, analysed as French, are another French word found in the index.

        « densité » → "density": French analysis leaves "density", no French passage has it: kept.
        « osseuse » → "bone": French analysis gives "bon", the stem of « bonne(s) », in French
        passages: a French report saying « bonne évolution » would match a bone query. An index with
        no French documents (Open-i) has no such passages, so nothing is dropped there."""
        if self._french_counts is None or not candidates:
            return set()
        typed = terms(word, "fr")
        other = [c for c in candidates if terms(c, "fr") and terms(c, "fr") != typed]
        counts = self._french_counts(other) if other else {}
        return {c for c in other if counts.get(c, 0) > 0}


def cognate_terms(pairs: Iterable[tuple[str, tuple[str, ...]]]) -> list[str]:
    """The English forms of :meth:`CognateTranslator.translate`'s pairs, flattened, first seen first."""
    return list(dict.fromkeys(form for _, forms in pairs for form in forms))
