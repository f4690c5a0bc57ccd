"""From what the physician typed to what each retrieval leg searches.

« pneumothorax sans épanchement pleural » becomes: lexical leg = the concept *pneumothorax* in
affirmed text AND the concept *pleural effusion* in negated text; dense leg = "pneumothorax". A
concept recognised by the bilingual lexicon is searched through all its forms, each as a phrase:
« IDM » also finds « infarctus du myocarde » and "myocardial infarction" (shown back to the user as
``expanded_terms``); an ambiguous abbreviation (« IR ») expands to every sense, flagged. Words that
are not part of a concept are matched one by one, as plain BM25.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache

from indexer.clinical import ExpandedTerm, Lexicon, QueryExpansion, load_default_lexicon, parse_clinical_query
from indexer.clinical.query import family_parts, family_relatives
from indexer.clinical.cognates import query_words
from indexer.clinical.text import detect_language, fold, lexicon_key, token_key, tokenize
from indexer.text.analyzers import terms
from indexer.backend.base import ALL_STATUSES, DEFAULT_STATUSES, NEGATED_PART, Forms as WeightedForms, family_status
from search_api.models import QueryInterpretation, SearchRequest
from search_api.snippets import is_phrase
from search_api.value_comparison import ValueComparison
from search_api.value_comparison import parse as parse_comparison

Forms = list[str]  # a concept's surface forms, the typed one first


@dataclass(frozen=True)
class QueryPlan:
    lexical_text: str  # free words, matched token by token
    lexical_statuses: tuple[str, ...]
    concepts: list[Forms]  # each must match (one of its forms, as a phrase) in lexical_statuses
    required: list[tuple[Forms, tuple[str, ...]]]  # each must match in its own statuses
    dense_text: str | None  # None: the dense leg cannot answer this query (it asks for absent findings)
    highlight_text: str
    expanded_terms: list[ExpandedTerm] = field(default_factory=list)
    interpretation: QueryInterpretation | None = None
    language: str | None = None  # the query's language ("fr" / "en"), None when it cannot be told
    cognates: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (free word, its English cognates)
    #: a French query's dense text rendered in English (search.dense_english_vector), when it differs from
    #: ``dense_text``: the dense leg searches with both vectors; None: one vector
    dense_english: str | None = None
    #: the relatives a query about family history names (« cancer du sein chez la mère » → ``("mother",)``:
    #: :func:`~indexer.clinical.query.family_relatives`); its family statuses are then ``family:mother``
    #: (:func:`~indexer.backend.base.family_status`), searched in those relatives' fields only
    family_relatives: tuple[str, ...] = ()
    #: « FEVG < 40 % »: the value the query compares (its label is what the legs search); a document
    #: matches only when its text gives the label a satisfying value (:mod:`search_api.value_comparison`)
    comparison: ValueComparison | None = None


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    return load_default_lexicon()


@lru_cache(maxsize=8192)
def searchable_form(form: str) -> str:
    """*form* as the backends must match it. A concept name that holds a negation (« infarctus sans
    sus-décalage du segment ST », « migraine sans aura ») is indexed as an affirmed part and a negated
    part, so as one phrase it would never match: it becomes ``"infarctus NOT:sus-décalage du segment
    ST"`` (:data:`~indexer.backend.base.NEGATED_PART`: both parts, in one passage). Why: « NSTEMI »,
    and « IDM » through its narrower concepts, must find « infarctus sans sus-décalage du segment ST ».
    A name that is only a negation (« sans anomalie ») is left as it is. Cached: forms recur."""
    parsed = parse_clinical_query(form)
    affirmed, negated = parsed.affirmed_terms, parsed.negated_terms
    if len(parsed.clauses) == 2 and len(affirmed) == 1 and len(negated) == 1 and parsed.clauses[0].polarity == "affirmed":
        return f"{affirmed[0]}{NEGATED_PART}{negated[0]}"
    return form


def measured_label(text: str, lexicon: Lexicon) -> str:
    """The words of *text* (what a comparison query holds before its operator) the value belongs to: those
    after the last concept the lexicon recognises (« insuffisance cardiaque FEVG » → « FEVG »), or that
    concept when *text* ends with it (« diabète HbA1c » → « HbA1c »); all of *text* when it names none
    (« FEVG », « fraction d'éjection »).

    Why: in « insuffisance cardiaque FEVG < 40 % » the whole text as the label asked for « insuffisance
    cardiaque FEVG 35 % » written in a row, which no letter does. The other words are still searched (the
    plan is the whole text's). The label is always a suffix of *text*: every document the whole text's
    check kept, this keeps. Limit: a qualifier after a recognised label (« créatinine plasmatique > 150 »)
    becomes the label (« plasmatique 160 »)."""
    found = lexicon.expand_query(text, fuzzy=False).expanded_terms
    if not found:
        return text
    last = max(found, key=lambda term: term.end)
    rest = text[last.end:].strip(" ,;:")
    return rest or text[last.start:last.end].strip() or text


def with_comparison(plan: QueryPlan, comparison: ValueComparison) -> QueryPlan:
    """*plan* (its label's) asking for *comparison*, and saying so on the portal's interpretation line
    (« valeur comparée : FEVG < 40 % »): a physician sees that the number is compared, not searched as a word."""
    interpretation = plan.interpretation or QueryInterpretation(polarity="affirmed", affirmed_terms=[comparison.label])
    return replace(plan, comparison=comparison,
                   interpretation=interpretation.model_copy(update={"compared_value": str(comparison)}))


def narrower_named_by_negation(affirmed: str, negated: str, lexicon: Lexicon) -> str | None:
    """The concept a query « A sans B » names, if one does: one of its names is a form of A's concept, a
    negation, then B (B may stop early). « IDM sans sus-décalage » → *nstemi* (« infarctus sans
    sus-décalage du segment ST »: « infarctus » is a form of IDM's concept, « sus-décalage » starts the
    negated part); « SCA sans sus-décalage » → *nstemi* too (« syndrome coronarien aigu sans
    sus-décalage »). None when *affirmed* is not one whole concept or no name fits, or two concepts do.

    Why: read as « IDM » affirmed AND « sus-décalage » negated, in one passage, the query only found
    letters saying both in one sentence (« infarctus du myocarde sans sus-décalage du segment ST »), not
    those that say « IDM ST- » or « NSTEMI », nor those whose ECG paragraph holds the negation."""
    return _named_by_qualifier(affirmed, negated, "without", lexicon)


def narrower_named_by_attribute(query: str, lexicon: Lexicon) -> str | None:
    """The concept a query « A avec B » / "A with B" names, if one does: one of its names is a form of A's
    concept, « avec » / "with", then B (B may stop early), or B alone is a concept narrower than A's.
    « IDM avec sus-décalage » and « SCA avec sus-décalage » → *stemi* (« infarctus avec sus-décalage du
    segment ST », « syndrome coronarien aigu avec sus-décalage »), "MI with ST elevation" → *stemi* ("ST
    elevation" is one of its names). None when the query holds no single « avec » / "with", A is not
    one whole concept, or no concept or two fit.

    Why: « avec » ends a clause (a context termination), so the query was IDM AND the loose word
    « sus-décalage », which the NSTEMI letters' « sous-décalage » and « sans sus-décalage » outscored."""
    connectives = [t for t in tokenize(query) if t.norm in _WITH_WORDS]
    if len(connectives) != 1:
        return None
    head, attribute = query[: connectives[0].start].strip(" ,;"), query[connectives[0].end :].strip(" ,;.")
    if not head or not attribute:
        return None
    return _named_by_qualifier(head, attribute, "with", lexicon)


_WITH_WORDS = frozenset({"avec", "with"})


def _whole_concepts(text: str, lexicon: Lexicon) -> set[str]:
    """The unambiguous concepts recognised in all of *text* (« infarctus », not « infarctus aigu »)."""
    expansion = lexicon.expand_query(text, fuzzy=False)
    return {t.concept_id for t in expansion.expanded_terms
            if not t.ambiguous and lexicon_key(t.source_text) == lexicon_key(text)}


def _named_by_qualifier(head: str, qualifier: str, kind: str, lexicon: Lexicon) -> str | None:
    """The one concept with a name « head' <kind> rest » whose head' is a form of *head*'s concept and
    whose rest starts with *qualifier*; for "with", also *qualifier* alone naming a concept narrower
    than *head*'s. None when none or several fit."""
    parents = _whole_concepts(head, lexicon)
    if not parents:
        return None
    wanted = lexicon_key(qualifier)
    found = {concept for heads, rest, concept in _qualified_names(lexicon)[kind]
             if heads & parents and rest[: len(wanted)] == wanted and concept not in parents}
    if kind == "with":
        narrower = {child for parent in parents for child in lexicon.narrower(parent)}
        found |= _whole_concepts(qualifier, lexicon) & narrower
    return found.pop() if len(found) == 1 else None


@lru_cache(maxsize=4)
def _qualified_names(lexicon: Lexicon) -> dict[str, list[tuple[frozenset[str], tuple[str, ...], str]]]:
    """kind ("without" / "with") → (concepts of the name's head, lexicon key of what follows the
    negation or « avec » / "with", the concept) for every name of that shape: « infarctus sans
    sus-décalage du segment ST », « syndrome coronarien aigu avec sus-décalage ». A dozen names of
    the ~8,000; found once per lexicon (~0.05 s)."""
    cues = {"sans", "without", "avec", "with"}
    names: dict[str, list[tuple[frozenset[str], tuple[str, ...], str]]] = {"without": [], "with": []}
    for concept in lexicon.concepts.values():
        for name in dict.fromkeys((concept.fr.preferred, *concept.fr.synonyms, concept.en.preferred, *concept.en.synonyms)):
            if not cues & set(token_key(name)[1:-1]):
                continue
            parts = searchable_form(name).split(NEGATED_PART)
            if len(parts) == 2:
                kind, head, rest = "without", parts[0], parts[1]
            else:
                connectives = [t for t in tokenize(name) if t.norm in _WITH_WORDS]
                if len(connectives) != 1:
                    continue
                kind, head, rest = "with", name[: connectives[0].start], name[connectives[0].end :]
            heads = frozenset(_whole_concepts(head.strip(), lexicon))
            if heads:
                names[kind].append((heads, lexicon_key(rest), concept.id))
    return names


def _concepts(expansion: QueryExpansion) -> tuple[list[Forms], str]:
    """(one forms list per recognised span, the query text left once those spans are removed)."""
    by_span: dict[tuple[int, int], Forms] = {}
    for term in expansion.expanded_terms:
        forms = by_span.setdefault((term.start, term.end), [term.source_text])
        forms += [form for t in term.terms if (form := searchable_form(t)) not in forms]
    residual, cursor = [], 0
    for start, end in sorted(by_span):
        residual.append(expansion.query[cursor:start])
        cursor = max(cursor, end)
    residual.append(expansion.query[cursor:])
    return list(by_span.values()), " ".join(part.strip() for part in residual if part.strip())


def _split(text: str, lexicon: Lexicon, expand: bool) -> tuple[list[Forms], str, list[ExpandedTerm]]:
    if not expand or not text.strip():
        return [], text, []
    expansion = lexicon.expand_query(text)
    concepts, residual = _concepts(expansion)
    return concepts, residual, expansion.expanded_terms


_FRENCH_LETTERS = frozenset("éèêëàâçîïôûùœæ")


def query_language(query: str, expanded: list[ExpandedTerm], lexicon: Lexicon) -> str | None:
    """"fr" or "en": the side of the lexicon the recognised concepts were typed in, else French letters
    or function words; None when nothing tells (a lone unknown word such as "density").

    Why not :func:`detect_language` alone: it needs function words and defaults to French, and most
    queries are one or two medical terms ("pleural effusion" has no function word)."""
    votes = {"fr": 0, "en": 0}
    for term in expanded:
        concept = lexicon.concepts.get(term.concept_id)
        if concept is None:
            continue
        key = lexicon_key(term.source_text)
        sides = [lang for lang in ("fr", "en")
                 if key in {lexicon_key(f) for f in [getattr(concept, lang).preferred, *getattr(concept, lang).synonyms, *getattr(concept, lang).abbreviations]}]
        if len(sides) == 1:
            votes[sides[0]] += 1
    if votes["fr"] != votes["en"]:
        return "fr" if votes["fr"] > votes["en"] else "en"
    if _FRENCH_LETTERS & set(query.lower()):
        return "fr"
    guess = detect_language(query, default="")
    return guess or None


def translated_dense_text(text: str, expanded: list[ExpandedTerm], lexicon: Lexicon, cognates: list[str] | None = None) -> str:
    """*text* followed by the English preferred name of each concept recognised in it that is not already
    written in the query (an English query is left as typed), then the free words' English *cognates*."""
    present = f" {' '.join(fold(text).split())} "
    extra: list[str] = []
    for term in expanded:
        if term.ambiguous or term.concept_id not in lexicon.concepts:
            continue  # « IR »: do not embed two diseases the physician did not choose between
        english = lexicon.concepts[term.concept_id].en.preferred
        if f" {' '.join(fold(english).split())} " in present or english in extra:
            continue  # already typed (accents and case aside): "pleural effusion" stays as it is
        extra.append(english)
    extra += [c for c in cognates or [] if c not in extra]
    return " ".join([text, *extra]) if extra else text


def _typed_in_english(source: str, concept) -> bool:  # noqa: ANN001 - lexicon_model.Concept
    """Whether *source* is one of *concept*'s English forms: exactly (« cardiomégalie » is not
    "cardiomegaly" although they share a lexicon key), else by lexicon key on the English side only."""
    forms = {side: [s.preferred, *s.synonyms, *s.abbreviations] for side, s in (("en", concept.en), ("fr", concept.fr))}
    if source.strip().lower() in {f.lower() for f in forms["en"]}:
        return True
    if fold(source) in {fold(f) for f in forms["fr"]}:
        return False
    key = lexicon_key(source)
    return key in {lexicon_key(f) for f in forms["en"]} and key not in {lexicon_key(f) for f in forms["fr"]}


def english_dense_text(
    text: str, expanded: list[ExpandedTerm], lexicon: Lexicon, cognates: list[tuple[str, tuple[str, ...]]] | None = None
) -> str:
    """*text* rendered in English as far as the lexicon and the cognates know it: each recognised concept
    replaced by its English preferred name, each free word by its first cognate, French stop words
    dropped, unknown words kept as typed (« rachis dégénératif » → "rachis degenerative"). *text* as
    typed when nothing in it is translated (an ambiguous abbreviation, or a concept already typed in one
    of its English forms, stays as typed)."""
    names: dict[tuple[int, int], str | None] = {}
    for term in expanded:
        concept = lexicon.concepts.get(term.concept_id)
        english = None
        if concept is not None and not term.ambiguous:
            english = None if _typed_in_english(term.source_text, concept) else concept.en.preferred
        names.setdefault((term.start, term.end), english)
    forms = {word.lower(): found[0] for word, found in cognates or [] if found}
    if not forms and not any(names.values()):
        return text

    def free(chunk: str) -> list[str]:
        words = re.findall(r"[^\W_]+", chunk)
        return [forms.get(w.lower(), w) for w in words if not w.isalpha() or terms(w, "fr")]  # stop words out

    pieces: list[str] = []
    cursor = 0
    for (start, end), english in sorted(names.items()):
        if start < cursor:
            continue
        pieces += free(text[cursor:start]) + [english or text[start:end]]
        cursor = end
    pieces += free(text[cursor:])
    return " ".join(pieces) or text


#: a free query word → its validated English cognates (:class:`indexer.clinical.cognates.CognateTranslator`)
Cognates = Callable[[str], tuple[str, ...]]


def free_word_cognates(residual: str, cognates: Cognates) -> list[tuple[str, tuple[str, ...]]]:
    """(word, English cognates) for the free words (not part of a recognised concept) that have some."""
    return [(word, forms) for word in query_words(residual) if (forms := cognates(word))]


def typed_translation(forms: Forms, expanded: list[ExpandedTerm], lexicon: Lexicon) -> Forms:
    """*forms* with the concept's English preferred name second and scored as typed (a
    :class:`~indexer.backend.base.Forms` with two primary forms) when the typed form (first) is the
    concept's French preferred name; *forms* as they are otherwise. Why: the typed « cardiomégalie » matches
    English reports through their English analysis only, and the English forms then weighed alike ("enlarged
    cardiac silhouette" as much as "cardiomegaly"), where an English query typing "cardiomegaly" weighs it first.
    Only the preferred names are each other's translation: a French synonym typed (« silhouette cardiaque
    élargie ») has no aligned English form, and is left alone. The English name is added when the lexicon's
    expansion left it out as the same key as the French one (« cardiomégalie » / "cardiomegaly" share a
    folded stem, but the index's French analysis of the English reports has "cardiomegaly", not « cardiomegal »)."""
    for term in expanded:
        concept = lexicon.concepts.get(term.concept_id)
        if term.source_text != forms[0] or term.ambiguous or concept is None:
            continue
        if lexicon_key(term.source_text) != lexicon_key(concept.fr.preferred):
            return forms
        english = searchable_form(concept.en.preferred)
        if fold(english) == fold(forms[0]):  # "pneumothorax": the same word
            return forms
        return WeightedForms([forms[0], english, *(f for f in forms[1:] if f != english)], primary=2)
    return forms


def without_stop_words(residual: str, language: str | None) -> str:
    """*residual* without the words that are stop words in the query's *language* (those its analyzer drops).

    Why: the free words are matched in every language's fields, and the other language's analyzer keeps
    them: « épanchement de la plèvre » matched « de » and « la » in the English fields, so it counted 763
    documents of the demo corpus where « épanchement plèvre » counts 93. Unchanged when the language is not
    known, or when every word is a stop word (« le la les »: nothing better to search)."""
    if language not in ("fr", "en") or not residual.strip():
        return residual
    kept = [word for word in residual.split() if not (word.isalpha() and not terms(word, language))]
    return " ".join(kept) if kept else residual


_QUOTED = re.compile(r'"[^"]*"|“[^”]*”|«[^»]*»')


def without_single_letters(residual: str, query: str) -> tuple[str, list[str]]:
    """(*residual* without its one-letter words, those words): a lone letter typed among the free words
    (« x » of « 2 x 3 cm », the English "a", the « D » of an unrecognised « vitamine D ») is not searched,
    unless the physician quoted it (« "vitamine D" »: the quoted words are kept as typed). A letter the
    lexicon knows (an abbreviation) is a recognised concept, not a free word, and is searched as such.

    Why: as a free word a letter matches any passage holding it as a token: the query « x » matched 75
    documents of the demo corpus (« 2 x 3 cm »), « a » 347 (English "a", French « il a »), and « vitamine D »
    counted every passage with a « d » (« d'un ») beside the ones about vitamin D. Digits are kept (« type 2 »)."""
    quoted = {token_key(word) for span in _QUOTED.findall(query) for word in span.strip('"“”«»').split()}
    kept, dropped = [], []
    for word in residual.split():
        bare = word.strip('"“”«».,;:!?()[]')
        if len(bare) == 1 and bare.isalpha() and token_key(bare) not in quoted:
            dropped.append(bare)
            if bare != word:  # keep the punctuation around it (a quote that opens or closes a span)
                kept.append(word.replace(bare, " ").strip())
            continue
        kept.append(word)
    return " ".join(part for part in kept if part), list(dict.fromkeys(dropped))


def highlight_text(free: list[str], concepts: list[Forms]) -> str:
    """What snippets mark (:func:`search_api.snippets.split_highlight`): the *free* words, each on its
    own, and each form of the *concepts* as the lexical leg matched it: a one-word form as a word, a
    multi-word one as a quoted phrase (a negated form's two parts, two phrases). Why: « pleural » of
    « décollement pleural » is no match of *pneumothorax* in « épanchement pleural »."""
    parts = [text.replace('"', " ") for text in free]
    for forms in concepts:
        for form in forms:
            for part in form.split(NEGATED_PART):
                part = part.replace('"', " ").strip()
                parts.append(f'"{part}"' if is_phrase(part) else part)
    return " ".join(dict.fromkeys(part for part in parts if part.strip()))


def plan_query(
    request: SearchRequest, lexicon: Lexicon | None = None, dense_translation: bool = False, cognates: Cognates | None = None,
    dense_style: str = "append", english_vector: bool = False, typed_translations: bool = False,
    family_cues: bool = True, family_dense: str = "off",
) -> QueryPlan:
    """Parse polarity (« sans », "without", ``NOT:``), recognise concepts, and decide each leg's query.

    *dense_translation*: the dense leg embeds the query plus the English names of its recognised
    concepts (:func:`translated_dense_text`). *cognates*: a query that is not English also searches
    its free words' English cognates (« densité » → density), lexical leg, and dense leg when translating.
    *dense_style*: ``append`` (the query, then the English names and cognates) or ``english`` (the query
    rendered in English: :func:`english_dense_text`). *english_vector*: a French query (``language ==
    "fr"``) also gets that English rendering as ``dense_english``, a second vector for the dense leg
    (``search.dense_english_vector``), whatever *dense_translation* and *dense_style* say of the first.
    *typed_translations*: a French query's concepts typed by
    their French preferred name also score their English preferred name as typed (:func:`typed_translation`).

    *family_cues*: a query that itself asks about relatives (« antécédents familiaux de cancer du sein »,
    « ATCD familiaux de … », « mère atteinte de … », "family history of …", "mother with …": the family
    triggers of ``context_triggers.yaml``, the same phrases that put a document's text in its family field;
    :func:`~indexer.clinical.query.family_parts`) searches what the cue qualifies in the family field only,
    the cue words not searched. Family field only, not family + affirmed: a physician asking for the family
    history of breast cancer wants the patients whose mother had it, not the patients who have it (the
    labelled ``family`` queries of ``eval/queries.yaml`` grade exactly those; the patient's own mentions are
    their ``below``). A query about relatives only: ``lexical_statuses`` is ``("family",)``; mixed
    (« diabète, mère atteinte de cancer du sein »): the patient's part as usual and the relatives' concepts
    required in the family field. ``include_family`` set by the request wins: False searches the query as if
    it had no cue (no family mention); True or None let the cue decide. *family_dense*: what the dense leg
    embeds for a query about relatives only: ``off`` nothing (passages are embedded without their family
    text, so the dense leg can only bring patients who have the disease themselves), ``typed`` the query as
    typed, ``stripped`` the qualified words alone (BENCHMARKS.md "Family-history queries"). A query that names
    relatives (« cancer du sein chez la mère », « Père : infarctus »: ``family_relatives``) searches
    ``family:mother`` instead of ``family``, the family mentions about them (and those naming nobody, lower:
    :func:`indexer.backend.base.status_fields`), inside the lexical query so counts stay exact; about
    relatives only, it has no dense leg whatever *family_dense* says (a vector cannot tell whose mention it is)."""
    if not request.clinical:  # the plain baseline: the words as typed, in every context
        return QueryPlan(request.q, ALL_STATUSES, [], [], request.q, highlight_text([request.q], []))
    comparison = parse_comparison(request.q)
    if comparison is not None:  # « FEVG < 40 % »: the label planned as a query of its own, the value checked after
        labelled = request.model_copy(update={"q": comparison.label})
        comparison = replace(comparison, label=measured_label(comparison.label, lexicon or default_lexicon()))
        return with_comparison(plan_query(labelled, lexicon, dense_translation, cognates, dense_style, english_vector,
                                          typed_translations, family_cues, family_dense), comparison)
    lexicon = lexicon or default_lexicon()
    parsed = parse_clinical_query(request.q)
    affirmed = " ".join(parsed.affirmed_terms) if parsed.clauses else parsed.text
    negated = parsed.negated_terms
    interpretation = QueryInterpretation(
        polarity=parsed.polarity,
        affirmed_terms=parsed.affirmed_terms or ([affirmed] if affirmed else []),
        negated_terms=negated,
    )
    own, relatives = family_parts(parsed) if family_cues and request.include_family is not False else ([], [])
    family_only = bool(relatives) and not own
    # the relatives it names (« chez la mère »): its family mentions are searched in theirs only, inside
    # retrieval (fields per relative, base.status_fields), so totals and facets count what answers it
    kin = family_relatives(parsed) if relatives else ()
    family_searched = family_status(kin)
    if relatives:  # the query asks about relatives: their part is searched in the family field, cue words out
        affirmed = " ".join(relatives if family_only else own)
        interpretation = interpretation.model_copy(update={"affirmed_terms": [] if family_only else own,
                                                           "family_terms": relatives})
    named = None
    if relatives:
        pass  # « IDM sans / avec sus-décalage » names the patient's infarction, not a relative's
    elif request.expand and len(parsed.clauses) == 2 and [c.polarity for c in parsed.clauses] == ["affirmed", "negated"]:
        named = narrower_named_by_negation(parsed.clauses[0].text, parsed.clauses[1].text, lexicon)
    elif request.expand and not negated and parsed.clauses:
        named = narrower_named_by_attribute(request.q, lexicon)
    if named is not None:  # « IDM sans / avec sus-décalage » is the NSTEMI / STEMI: one concept, typed form first
        term = ExpandedTerm(source_text=request.q.strip(), concept_id=named, terms=lexicon.expansion_terms(named),
                            narrower=lexicon.narrower(named), start=0, end=len(request.q), matched_by="synonym")
        forms = [searchable_form(request.q.strip())]
        forms += [form for t in term.terms if (form := searchable_form(t)) not in forms]
        negated = []  # no required negated clause: the concept's forms carry it (the dense leg keeps « IDM »)
        # and the portal's « Recherche des mentions affirmées de … » says so: not « IDM, sus-décalage nié »
        interpretation = QueryInterpretation(polarity="affirmed", affirmed_terms=[request.q.strip()], negated_terms=[])
        concepts, residual, expanded = [forms], "", [term]
    else:
        concepts, residual, expanded = _split(affirmed, lexicon, request.expand)
    affirmed_expanded = list(expanded)  # the negated clauses' concepts are added below
    family_required: list[Forms] = []  # a mixed query's relatives' part: required in the family field
    if relatives and not family_only:
        family_concepts, family_residual, family_expanded = _split(" ".join(relatives), lexicon, request.expand)
        family_required = family_concepts or ([[family_residual]] if family_residual else [])
        expanded += family_expanded
    negated_forms: list[Forms] = []
    negated_free: list[Forms] = []  # the negated clauses' free words (« sans densité »), one phrase each
    for term in negated:
        term_concepts, term_residual, term_expanded = _split(term, lexicon, request.expand)
        negated_forms += term_concepts + ([[term_residual]] if term_residual else [])
        negated_free += negated_forms[-1:] if term_residual else []
        expanded += term_expanded
    language = query_language(request.q, expanded, lexicon)
    residual = without_stop_words(residual, language)
    residual, ignored = without_single_letters(residual, request.q)
    if ignored:
        interpretation = interpretation.model_copy(update={"ignored_terms": ignored})
    # nothing left to search but the letters (« x »): no leg searches it, the response says why
    nothing_left = bool(ignored) and not residual.strip(" \"“”«»") and not (concepts or negated_forms or family_required)
    if typed_translations and language == "fr" and named is None:
        concepts = [typed_translation(forms, expanded, lexicon) for forms in concepts]
        negated_forms = [typed_translation(forms, expanded, lexicon) for forms in negated_forms]
        family_required = [typed_translation(forms, expanded, lexicon) for forms in family_required]
    found: list[tuple[str, tuple[str, ...]]] = []  # (free word, its English cognates), affirmed part first
    negated_found: list[tuple[str, tuple[str, ...]]] = []
    translator = cognates
    if cognates is not None and language != "en":
        if language not in getattr(cognates, "induced_languages", {language}):
            cognates = functools.partial(cognates, induced=False)  # the encoder's words: French queries only
        found = free_word_cognates(residual, cognates)
        for forms in negated_free:  # « sans densité » also finds "no density": the phrase with each word's cognate
            if pairs := free_word_cognates(forms[0], cognates):
                first = {word.lower(): english[0] for word, english in pairs}
                forms.append(re.sub(r"[^\W_]+", lambda m: first.get(m.group().lower(), m.group()), forms[0]))
                negated_found += pairs
    if found or negated_found:
        interpretation = interpretation.model_copy(
            update={"cognates": {word: list(forms) for word, forms in [*found, *negated_found]}})
    highlight = highlight_text([residual], [*concepts, *negated_forms, *family_required])
    if parsed.polarity == "negated":
        # "patients without pleural effusion": match only where the finding is negated.
        return QueryPlan("", ("negated",), negated_forms, [], None, highlight, expanded, interpretation, language,
                         negated_found)
    family = request.include_negated if request.include_family is None else request.include_family
    statuses = (*DEFAULT_STATUSES, *(["negated"] if request.include_negated else []), *([family_searched] if family else []))
    if family_only:
        statuses = (family_searched,)
    required = [(forms, ("negated",)) for forms in negated_forms] + [(forms, (family_searched,)) for forms in family_required]
    english = list(dict.fromkeys(form for _, forms in found for form in forms))
    loose = getattr(translator, "lexical_only", None)  # a noun for an adjective: lexical leg only
    dense_english = [form for form in dict.fromkeys(form for word, forms in found if not (loose and loose(word)) for form in forms)]
    if found:
        residual, highlight = " ".join([residual, *english]), " ".join([highlight, *english])
    translate = dense_translation and affirmed and language != "en"  # an English query is embedded as typed
    if not translate:
        dense = affirmed
    elif dense_style == "english":
        dense = english_dense_text(affirmed, affirmed_expanded, lexicon, [(w, f) for w, f in found if not (loose and loose(w))])
    else:
        dense = translated_dense_text(affirmed, affirmed_expanded, lexicon, dense_english)
    if family_only and family_dense != "stripped":  # "typed": the affirmed clauses as typed, cue words in
        dense = None if family_dense == "off" else " ".join(c.text for c in parsed.clauses if c.polarity == "affirmed")
    if nothing_left or (family_only and kin):
        # a vector cannot tell whose mention a passage holds (« Père : cancer du sein » would come back for
        # « cancer du sein chez la mère » as if it answered): the lexical fields per relative answer alone
        dense = None
    second = None
    if english_vector and language == "fr" and affirmed and dense is not None and not (family_only and family_dense == "typed"):
        second = english_dense_text(affirmed, affirmed_expanded, lexicon, [(w, f) for w, f in found if not (loose and loose(w))])
        second = second if second != dense else None
    return QueryPlan(residual, statuses, concepts, required, dense, highlight, expanded, interpretation, language,
                     [*found, *negated_found], second, kin)
