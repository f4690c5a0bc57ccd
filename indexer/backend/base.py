"""The storage interface: everything retrieval, image search, the indexing pipeline, the CLI, eval and
bench may ask of an index, whatever engine holds it.

Why one seam: the embedded stores (Tantivy + FAISS + SQLite, :mod:`indexer.backend.embedded`) suit one
machine; a hospital group that runs Elasticsearch needs the same search on its cluster
(:mod:`indexer.backend.elasticsearch`). Fusion, query planning, clinical language, snippets and the
API stay in medsearch and only see this module's types.

Two halves:

* :class:`IndexBackend` (read side, long-lived, thread-safe): lexical BM25 search with the clinical
  context fields, dense passage search, image vector search, documents and passages by id, filters
  (:class:`~indexer.backend.filters.DocumentFilter`, always applied *inside* the engine), stats, and
  :meth:`IndexBackend.refresh` to switch to the newest published generation between requests.
* :class:`IndexWriter` (write side, one per indexing run, from :meth:`IndexBackend.writer`): known
  content hashes, remove documents, add documents with their passages, contexts and vectors (passage
  ids are allocated by the backend), image vectors, then :meth:`IndexWriter.publish`: one atomic step
  that makes the whole run visible (a new embedded generation, or an Elasticsearch alias swap). Until
  then readers keep serving the previous generation; a run that dies before publishing leaves it intact.
  ``add_documents`` may be called in many batches before one publish; ``commit`` makes the batches
  written so far durable (inside the unpublished generation) without publishing them.
"""

from __future__ import annotations

import datetime as dt
import math
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, nullcontext
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, NamedTuple

import numpy as np

from indexer.backend.filters import DocumentFilter
from indexer.schema import Document, Passage
from indexer.text.analyzers import LANGUAGES, terms

#: clinical context status → lexical field prefix (each status is its own text field)
CONTEXT_FIELDS: dict[str, str] = {"affirmed": "body", "hypothetical": "hyp", "negated": "neg", "family": "fam"}
#: what a default query searches: affirmed and hypothetical mentions (« absence de fracture » is not "fracture")
DEFAULT_STATUSES: tuple[str, ...] = ("affirmed", "hypothetical")
ALL_STATUSES: tuple[str, ...] = tuple(CONTEXT_FIELDS)

# -- family mentions per relative ------------------------------------------------------------------
# A query naming a relative (« cancer du sein chez la mère ») asks about that relative's mentions only.
# Why fields, not a check of the matched passages afterwards: a restriction must be inside retrieval, so
# that ``total``, ``total_patients``, pages and facets count what is shown. So each family mention's text
# is indexed a second time, in the field of each relative it names (« Mère : cancer du sein » in
# ``famrel_mother``; the ``fam`` field keeps every family mention, as before, for « antécédents familiaux
# de … »), and a family mention naming nobody (« antécédents familiaux de diabète ») in ``famrel_unnamed``.
# A query's status ``family:mother`` searches the fields of the relatives
# :func:`~indexer.clinical.context.relatives_match` accepts for it (mother, parents) and, with a lower
# weight, the unnamed mentions: whose they are is not said, so they cannot be excluded, but a physician
# asking about the mother wants the mentions that say « mère » first: the named relative's tier below
# (:func:`named_relative_tier`) puts them first on both backends, whatever the idf.

#: the relatives of ``context_triggers.yaml`` with a field of their own (the schema is fixed: a relative
#: added to the triggers later is searched through ``fam``, unrestricted, until it is listed here)
INDEXED_RELATIVES: tuple[str, ...] = (
    "mother", "father", "parents", "brother", "sister", "siblings", "twin", "son", "daughter", "children",
    "grandmother", "grandfather", "grandparents", "great-grandmother", "great-grandfather", "aunt", "uncle",
    "cousin", "maternal side", "paternal side",
)
#: a family mention that names no relative (key of :func:`relative_context_key`)
UNNAMED_RELATIVE = "unnamed"
#: relative → lexical field prefix of the family text about them
RELATIVE_FIELDS: dict[str, str] = {
    r: "famrel_" + r.replace(" ", "_").replace("-", "_") for r in (*INDEXED_RELATIVES, UNNAMED_RELATIVE)
}
#: weight of an unnamed family mention in a search about named relatives (the tier, not this weight, ranks
#: it after theirs: :func:`named_relative_tier`)
UNNAMED_RELATIVE_BOOST = 0.5
FAMILY = "family"


def family_status(relatives: Sequence[str]) -> str:
    """The status a plan searches for family mentions about *relatives* (``family:mother,father``);
    ``family`` (every family mention) when it names none."""
    return f"{FAMILY}:{','.join(relatives)}" if relatives else FAMILY


def status_relatives(status: str) -> tuple[str, ...]:
    """The relatives of a :func:`family_status` (() for any other status)."""
    head, _, tail = status.partition(":")
    return tuple(r for r in tail.split(",") if r) if head == FAMILY else ()


def relative_context_key(relatives: Sequence[str]) -> str:
    """Key of a passage's contexts (``indexer.pipeline.passage_contexts``) holding its family text about
    *relatives* (one mention's): ``family:mother,sister``, ``family:unnamed`` for a mention naming nobody."""
    return f"{FAMILY}:{','.join(relatives) if relatives else UNNAMED_RELATIVE}"


def context_prefixes(key: str) -> tuple[str, ...]:
    """The lexical field prefixes a passage's context *key* is indexed in: ``affirmed`` → ``body``;
    ``family:mother,sister`` → the two relatives' fields; a relative without a field: none (its text is in
    ``fam`` already)."""
    if key in CONTEXT_FIELDS:
        return (CONTEXT_FIELDS[key],)
    head, _, tail = key.partition(":")
    if head != FAMILY:
        raise KeyError(key)
    return tuple(RELATIVE_FIELDS[r] for r in tail.split(",") if r in RELATIVE_FIELDS)


def status_fields(status: str, boosts: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    """(field prefix, weight) searched for a query *status*: its own field (weight from *boosts*), or for
    ``family:<relatives>`` the fields of the relatives who answer it and the unnamed mentions', at
    :data:`UNNAMED_RELATIVE_BOOST`; ``fam`` (unrestricted) when a relative asked has no field."""
    if status in CONTEXT_FIELDS:
        prefix = CONTEXT_FIELDS[status]
        return ((prefix, boosts.get(prefix, 1.0)),)
    asked = status_relatives(status)
    fam = CONTEXT_FIELDS[FAMILY]
    if not asked or any(r not in INDEXED_RELATIVES for r in asked):
        return ((fam, boosts.get(fam, 1.0)),)
    from indexer.clinical.context import relatives_match  # the one matching rule (snippets use it too)

    named = tuple((RELATIVE_FIELDS[r], boosts.get(fam, 1.0)) for r in INDEXED_RELATIVES if relatives_match(asked, (r,)))
    return (*named, (RELATIVE_FIELDS[UNNAMED_RELATIVE], boosts.get(fam, 1.0) * UNNAMED_RELATIVE_BOOST))


def named_relative_fields(statuses: Iterable[str]) -> tuple[str, ...]:
    """Field prefixes of the *named* relatives the ``family:<relatives>`` statuses among *statuses* search
    (:func:`status_fields`, without ``famrel_unnamed``); () when none names a relative with a field."""
    unnamed, fam = RELATIVE_FIELDS[UNNAMED_RELATIVE], CONTEXT_FIELDS[FAMILY]
    found = (prefix for status in statuses if status_relatives(status) for prefix, _ in status_fields(status, {}))
    return tuple(dict.fromkeys(p for p in found if p not in (unnamed, fam)))


# -- the named relative's tier ---------------------------------------------------------------------
# Why a tier, not a weight: the unnamed mentions' weight (UNNAMED_RELATIVE_BOOST) scales a BM25 score
# whose idf and length norm are per field. Elasticsearch's idf counts documents per field (docCount): a
# relative's field holds few documents, so « cancer » is common there and rare in ``famrel_unnamed``;
# Tantivy's idf counts every passage but its length norm is per field. Either way an unnamed mention
# could outscore a named one, by luck of the corpus, and no weight fixes that for every corpus (the
# contract test has one corpus per backend that inverts 0.5). So a passage where one of the query's
# words or forms is in a *named* relative's mention gets a constant bonus larger than any score the rest
# of the query can give (:func:`named_relative_bonus`): tier first, BM25 within the tier. The bonus is an
# optional clause: which passages match, and so every count, is unchanged. Rejected: Elasticsearch's
# ``combined_fields`` (blends idf but not the length norms, only boosts ≥ 1, Elasticsearch only) and a
# per-field similarity (a mapping change, and Tantivy has none): neither would make both backends agree.

#: the most one analysed word can add to a BM25 score in one field, before boosts: Tantivy's per-term
#: score is idf · (k1 + 1) · tf / (tf + k1 · norm) ≤ 2.2 · idf (Lucene's, since 8.0, ≤ idf), and
#: idf = ln(1 + (N − n + 0.5) / (n + 0.5)) ≤ ln(1 + N / 1.5) for a word found (n ≥ 1), N < 2³² passages
WORD_SCORE_BOUND = 2.2 * math.log(1 + 2**32 / 1.5)
#: the tie-breaker of the disjunction-max over a word's fields and analyses (both backends)
DISMAX_TIE_BREAKER = 0.1


@dataclass(frozen=True)
class NamedRelativeTier:
    """What lifts a passage into the named relative's tier: any of *phrases* (each a query word, a
    concept form, an expansion word; a one-word phrase is a term) in any field of *fields* (prefixes,
    every analysis), for a constant *bonus* that no passage outside the tier can reach by BM25."""

    fields: tuple[str, ...]
    phrases: tuple[str, ...]
    bonus: float


def named_relative_bonus(units: Iterable[str], alternatives: int, weight: float = 1.0) -> float:
    """An upper bound of the BM25 score of a query whose clauses are *units* (each word of the free
    text, each concept form, each expansion word: their scores add up), each unit the disjunction-max
    of at most *alternatives* fields × analyses, boosted at most by *weight*; rounded up to a power of
    two (exact in float32, so a tier's scores keep as many bits as they can). Twice the analysed word
    count: a field's analyzer may split a word the shared analysis keeps whole.

    The price of a sound bound: « cancer du sein chez la mère » (14 forms) gets 8192, so inside the tier
    BM25 differences under 2⁻¹⁰ (float32 spacing there) tie. Only ranks are read downstream (RRF, a
    document's best passage), and a query naming no relative has no tier and keeps its scores exactly."""
    words = sum(max((len(terms(u, lang)) for lang in LANGUAGES), default=0) for u in units)
    per_word = WORD_SCORE_BOUND * max(weight, 1.0) * (1 + DISMAX_TIE_BREAKER * max(alternatives - 1, 0))
    return float(2.0 ** math.ceil(math.log2(max(2 * words, 1) * per_word)))


def named_relative_tier(
    text: str,
    statuses: Sequence[str],
    concepts: Sequence[Sequence[str]] | None,
    required: Sequence[tuple[Sequence[str], Sequence[str]]] | None,
    expansion: Sequence[tuple[str, float]] = (),
) -> NamedRelativeTier | None:
    """The named relative's tier of a lexical query (its arguments as :meth:`IndexBackend.lexical_search`
    takes them), or None when it names no relative with a field (no tier: the query is unchanged).

    The tier's phrases are those searched in a ``family:<relatives>`` status: the free words, concept
    forms and expansion words when *statuses* has one, a required concept's forms when its statuses do
    (a negated part is searched in negated text, so only the head counts). The bonus bounds the whole
    query (every unit, in every status): a passage matching only outside the tier, through the unnamed
    mentions or another status, scores below it."""
    main_fields = named_relative_fields(statuses)
    required = list(required or [])
    fields = dict.fromkeys(main_fields)
    phrases: list[str] = []
    if main_fields:
        phrases += text.split() + [f for forms in concepts or [] for f in forms] + [w for w, wt in expansion if wt > 0]
    for forms, forms_statuses in required:
        if extra := named_relative_fields(forms_statuses):
            fields.update(dict.fromkeys(extra))
            phrases += list(forms)
    if not fields:
        return None
    heads = tuple(dict.fromkeys(part[0] if (part := split_negated_form(p)) else p for p in phrases))
    units = [*text.split(), *(f for forms in concepts or [] for f in forms), *(f for forms, _ in required for f in forms),
             *(w for w, _ in expansion)]
    searched = {*statuses, *(s for _, st in required for s in st), "negated"}
    alternatives = len(LANGUAGES) * (sum(len(status_fields(s, {})) for s in searched) + 1)  # + the title
    weight = max((wt for _, wt in expansion), default=1.0)
    return NamedRelativeTier(tuple(fields), tuple(h for h in heads if h.strip()),
                             named_relative_bonus(units, alternatives, weight))


def reading_searched(reading: str, statuses: Iterable[str]) -> bool:
    """Whether a stored mention's reading (« affirmed », « family:mother ») is one a search of *statuses*
    asked for: its status is one of them, or it is a family mention about a relative a ``family:…``
    status names (or about nobody named)."""
    status, _, found = reading.partition(":")
    wanted = tuple(statuses)
    if status in wanted:
        return True
    if status != FAMILY:
        return False
    from indexer.clinical.context import relatives_match

    have = tuple(r for r in found.split(",") if r)
    return any(relatives_match(status_relatives(s), have) for s in wanted if s.startswith(FAMILY + ":"))


def all_text_prefixes() -> tuple[str, ...]:
    """Every lexical text field prefix but the title's: one per status, one per relative."""
    return (*CONTEXT_FIELDS.values(), *RELATIVE_FIELDS.values())

#: image vector spaces: the pixel descriptor (always) and CLIP (when a CLIP model is configured)
ImageSpace = Literal["descriptor", "clip"]
IMAGE_SPACES: tuple[str, ...] = ("descriptor", "clip")

class Forms(list[str]):
    """A concept's surface forms, the typed one first (each matched as a phrase; one must match); the first
    :attr:`primary` score as typed, the others as synonyms (``EXPANSION_BOOST``). A plain list is one
    primary form. Why more than one: a French query typing a concept's French name also searches its
    English name as typed (search.typed_translations): in English reports it stands for what was typed."""

    def __init__(self, forms: Iterable[str] = (), primary: int = 1) -> None:
        super().__init__(forms)
        self.primary = primary


def primary_forms(forms: list[str]) -> int:
    """How many of *forms* (a :class:`Forms` or a plain list: one) score as the typed form."""
    return getattr(forms, "primary", 1)


#: in a form, what follows this marker must match in *negated* text of the same passage: a concept whose
#: name holds a negation (« infarctus sans sus-décalage du segment ST ») is indexed as « infarctus »
#: affirmed and « sus-décalage du segment ST » negated, so it is searched as
#: ``"infarctus NOT:sus-décalage du segment ST"`` (the query syntax's ``NOT:``), never as one phrase
NEGATED_PART = " NOT:"


def split_negated_form(form: str) -> tuple[str, str] | None:
    """(the part matched in the searched contexts, the part matched in negated text) of a form built
    with :data:`NEGATED_PART`; None for a plain form (one phrase)."""
    head, marker, negated = form.partition(NEGATED_PART)
    return (head, negated) if marker else None
#: a passage's text split by clinical context: status → text with that status
PassageContexts = Mapping[str, str]


#: a query holding more than this many content terms (recognised concepts + free words) is *long*: a pasted
#: clinical summary (« Patient de 67 ans, HTA, diabète de type 2, douleur thoracique… »), not a question
LONG_QUERY_TERMS = 6
#: the share of a long query's concepts one passage must hold, rounded down, at least one: Elasticsearch's
#: ``"minimum_should_match": "50%"``
LONG_QUERY_SHARE = 0.5


def free_word_count(text: str) -> int:
    """How many free-word clauses *text* makes (the most analysed terms any language gives it)."""
    return max((len(terms(text, lang)) for lang in LANGUAGES), default=0) if text.strip() else 0


def concepts_to_match(concepts: int, free_words: int) -> int:
    """How many of a query's *concepts* one passage must match (each whole, as one of its forms).

    A short query (at most :data:`LONG_QUERY_TERMS` concepts and free words together) needs all of them, as
    it always did: « pneumothorax sans épanchement pleural » is one precise question. A long one needs
    :data:`LONG_QUERY_SHARE` of them, rounded down (at least one): a passage (a section of a letter) holding
    every concept of a pasted 30-word summary hardly exists (the demo corpus has none for the 5 concepts of
    « Patient de 67 ans, HTA, diabète de type 2, douleur thoracique…, sus-décalage du segment ST…, troponine
    élevée », nor any holding 3 of them: the history, the pain and the ECG are separate sections), so
    requiring all of them found nothing (total 0, every result « sémantique seulement »); the passages
    holding most of them rank first (each concept matched adds its BM25 score) and count in the total. Both backends apply this same rule (Elasticsearch's and
    Tantivy's ``minimum_should_match`` over the concept clauses); the required clauses (a negated
    finding, a relative's disease) stay required."""
    if concepts + free_words <= LONG_QUERY_TERMS:
        return concepts
    return min(concepts, max(1, math.floor(LONG_QUERY_SHARE * concepts)))


class IndexNotFoundError(RuntimeError):
    """Nothing has been published yet (or the index cannot be read by this version)."""


def backend_unreachable(exc: BaseException) -> bool:
    """Whether *exc* says the index's server cannot answer now (Elasticsearch down, unreachable, timing
    out, overloaded: a connection error, a timeout, a 429/502/503/504): a 503 for the API's caller and a
    one-line message for the command line, not a 500 with a stack trace. False for the embedded backend's
    errors and for Elasticsearch's other answers (a 400 is a bug to see)."""
    try:
        from elastic_transport import ApiError, TransportError
    except ImportError:  # pragma: no cover - the client is a dependency
        return False
    if isinstance(exc, TransportError):  # ConnectionError, ConnectionTimeout, TLS errors...
        return True
    return isinstance(exc, ApiError) and getattr(exc.meta, "status", None) in (429, 502, 503, 504)


class IndexMismatchError(RuntimeError):
    """The index was built with another encoder / dimension / format: re-index with ``--rebuild``."""


class PassageHit(NamedTuple):
    """A passage and its score. A named tuple, not a dataclass: a lexical call makes one per head
    passage (100–400 per request) and a frozen dataclass costs ~4× more to build; as a tuple it is
    also the ``(pid, score)`` pair retrieval works with, with no copy."""

    pid: int
    score: float


@dataclass(frozen=True)
class LexicalMatches:
    """One lexical query's ranked head and its exact, depth-independent counts.

    Why one result: a search page shows the top passages *and* « 57 documents · 12 patients »
    (every document containing the query's terms, whatever the page). Asking for both at once lets
    a backend answer from a single pass over the matches instead of a ranked search, a second
    full-depth search and a fetch of every matching document's summary (#14 item 3).
    """

    #: the top *limit* passages, best first (what :meth:`IndexBackend.lexical_search` returns)
    hits: list[PassageHit]
    #: distinct documents having at least one matching passage (any depth)
    documents: int
    #: distinct patients (normalised keys, :class:`~indexer.backend.filters.DocumentKeys`) among them
    patients: int
    #: with ``affirmed=True`` and « hypothetical » among the statuses: the documents (and their distinct
    #: patients) matching the same query without its hypothetical mentions (statuses less
    #: « hypothetical »), what a one-criterion cohort of the query holds; None otherwise (every match is one)
    affirmed_documents: int | None = None
    affirmed_patients: int | None = None
    #: the matching documents that match only through a hypothetical mention (the difference of the two sets)
    hypothetical_only: frozenset[str] = frozenset()
    #: the top *depth* passages for a depth past *limit*, cut from the same ranking with no new search, when
    #: the backend ranked every match (the embedded one); None: ask :meth:`IndexBackend.lexical_search`
    deeper: Callable[[int], list[PassageHit]] | None = field(default=None, compare=False, repr=False)


def affirmed_statuses(statuses: Sequence[str]) -> tuple[str, ...]:
    """*statuses* without « hypothetical »: what a one-criterion cohort of a query searches."""
    return tuple(s for s in statuses if s != "hypothetical")


def splits_hypothetical(statuses: Sequence[str]) -> bool:
    """Whether a search of *statuses* has an affirmed-only subset to count apart (« hypothetical » is asked)."""
    return "hypothetical" in statuses


@dataclass(frozen=True)
class ImageHit:
    doc_id: str
    score: float


@dataclass(frozen=True)
class StoredPassage:
    pid: int
    doc_id: str
    ordinal: int
    section: str
    text: str
    #: the passage's sentences and non-affirmed spans (:func:`indexer.clinical.mentions.mention_index`),
    #: written by the backend at index time so a snippet needs no text analysis; None for passages
    #: indexed before it existed (the snippet then analyses the text)
    mentions: str | None = None


@dataclass(frozen=True)
class DocumentSummary:
    """The filterable fields of a document, without its text: cheap for thousands of ids (counts,
    patient totals, timelines). ``patient_id`` / ``department`` / ``modality`` are as indexed (raw)."""

    id: str
    kind: str
    title: str
    date: dt.date | None
    patient_id: str | None
    language: str
    modality: str | None
    department: str | None


@dataclass(frozen=True)
class IndexInfo:
    """What the live (published) generation was built with, and when."""

    encoder: str
    dim: int
    created_at: str
    updated_at: str
    #: +1 on every publish; readers reload when it changes
    generation: int


@dataclass(frozen=True)
class IndexStats:
    info: IndexInfo
    documents: int
    passages: int
    by_kind: dict[str, int]
    #: image vectors per space present (``{"descriptor": 12, "clip": 12}``)
    image_vectors: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AddedDocument:
    """One document for :meth:`IndexWriter.add_documents`: passages in order, their contexts
    (``contexts[i]`` for ``passages[i]``; None = each passage wholly affirmed) and their vectors
    (``vectors[i]`` for ``passages[i]``, L2-normalised, shape (len(passages), dim))."""

    document: Document
    passages: Sequence[Passage]
    contexts: Sequence[PassageContexts] | None
    vectors: np.ndarray
    #: what :meth:`IndexWriter.content_hashes` returns for it on the next run (the pipeline stamps the
    #: document's hash with how it was analysed: :func:`indexer.pipeline.analysis_fingerprint`);
    #: None: ``document.content_hash()``
    content_hash: str | None = None

    def stored_hash(self) -> str:
        """The hash a backend stores with the document (the one place the default is applied)."""
        return self.content_hash or self.document.content_hash()


class IndexBackend(ABC):
    """Read side of an index (plus :meth:`writer` for the write side). Safe to share between threads."""

    #: ``embedded`` or ``elasticsearch``
    kind: str = ""

    # -- lifecycle -------------------------------------------------------------------------------
    @abstractmethod
    def exists(self) -> bool:
        """Whether a generation has been published (searches raise :class:`IndexNotFoundError` otherwise)."""

    @abstractmethod
    def info(self) -> IndexInfo:
        """The generation being served."""

    @abstractmethod
    def refresh(self) -> bool:
        """Switch to the newest published generation if there is one (loaded fully, then swapped in:
        a request in flight finishes on the one it started with). True when it switched."""

    @abstractmethod
    def close(self) -> None:
        """Release files/connections (the object is unusable afterwards)."""

    def ping(self, timeout_s: float) -> None:
        """Raise if the index's server does not answer within *timeout_s*, without retries (the readiness
        probe: a load balancer waits seconds, not the retries of a search). Embedded: nothing to reach."""
        return None

    def pinned(self) -> AbstractContextManager[None]:
        """Within the block, every read in this context (``contextvars``: the thread, and work submitted
        with ``contextvars.copy_context().run``) sees the generation served when it was entered, even if
        another request refreshes meanwhile: one request's passage ids and documents never mix two
        generations. The default does nothing (a backend whose reads are already pinned)."""
        return nullcontext()

    @abstractmethod
    def writer(self, encoder: str, dim: int, *, rebuild: bool = False) -> IndexWriter:
        """A write session for one indexing run, starting from the live generation (or empty with
        *rebuild*, or when none exists). Raises :class:`IndexMismatchError` when the live generation
        was built with another encoder/dimension/format and *rebuild* is False."""

    # -- text retrieval -------------------------------------------------------------------------
    @abstractmethod
    def lexical_search(
        self,
        text: str,
        limit: int,
        where: DocumentFilter | None = None,
        statuses: tuple[str, ...] = DEFAULT_STATUSES,
        concepts: list[Forms] | None = None,
        required: list[tuple[Forms, tuple[str, ...]]] | None = None,
    ) -> list[PassageHit]:
        """BM25 top-*limit* passages within *where*, best first.

        *text* is free text matched token by token (any token may match), French and English
        analysis (disjunction-max), title boosted 0.5. Each entry of *concepts* is one concept, as
        its surface forms (typed first, then synonyms at weight 0.7); one form must match, as a
        phrase, in the context fields of *statuses* (a long query: :func:`concepts_to_match` of them, not
        all). Each ``(forms, statuses)`` of *required* must also match, in its own statuses. Filters do
        not score. No clause at all → no hit.
        """

    @abstractmethod
    def lexical_matching_documents(
        self,
        text: str,
        where: DocumentFilter | None = None,
        statuses: tuple[str, ...] = DEFAULT_STATUSES,
        concepts: list[Forms] | None = None,
        required: list[tuple[Forms, tuple[str, ...]]] | None = None,
    ) -> set[str]:
        """The exact set of document ids having at least one passage that :meth:`lexical_search` with
        the same arguments would match, at any depth (for exact totals and patient counts)."""

    def lexical_search_counted(
        self,
        text: str,
        limit: int,
        where: DocumentFilter | None = None,
        statuses: tuple[str, ...] = DEFAULT_STATUSES,
        concepts: list[Forms] | None = None,
        required: list[tuple[Forms, tuple[str, ...]]] | None = None,
        affirmed: bool = False,
    ) -> LexicalMatches:
        """:meth:`lexical_search`'s top *limit* (0: counts only) plus the exact number of documents
        :meth:`lexical_matching_documents` would return and of distinct patients among them.

        With *affirmed* and « hypothetical » among *statuses*, also the counts of the same query searched
        without hypothetical mentions (:attr:`LexicalMatches.affirmed_documents`, what a cohort of the
        query counts) and the documents that match only through one: a search page shows both counts,
        and asking here lets a backend derive them from the same pass (#14 item 3).

        This default composes the other primitives (correct, not fast); both shipped backends
        answer it in one pass over the matches."""
        hits = self.lexical_search(text, limit, where, statuses, concepts, required) if limit > 0 else []
        doc_ids = self.lexical_matching_documents(text, where, statuses, concepts, required)
        counted = LexicalMatches(hits, len(doc_ids), count_patients(self.document_summaries(sorted(doc_ids)).values()))
        if not (affirmed and splits_hypothetical(statuses) and doc_ids):
            return counted
        kept = affirmed_statuses(statuses)
        affirmed_ids = self.lexical_matching_documents(text, where, kept, concepts, required) if kept else set()
        return replace(counted, affirmed_documents=len(affirmed_ids), hypothetical_only=frozenset(doc_ids - affirmed_ids),
                       affirmed_patients=count_patients(self.document_summaries(sorted(affirmed_ids)).values()))

    def lexical_search_expanded(
        self,
        text: str,
        expansion: Sequence[tuple[str, float]],
        limit: int,
        where: DocumentFilter | None = None,
        statuses: tuple[str, ...] = DEFAULT_STATUSES,
        concepts: list[Forms] | None = None,
        required: list[tuple[Forms, tuple[str, ...]]] | None = None,
    ) -> list[PassageHit]:
        """:meth:`lexical_search` with extra weighted free words: each ``(word, weight)`` of *expansion*
        is one more optional clause of the free text, its score multiplied by *weight* (< 1: a
        pseudo-relevance-feedback term counts less than a word the user typed). Like the free words, an
        expansion word can make a passage match on its own when the query has no concept.

        Why: pseudo-relevance feedback (:mod:`search_api.feedback`) re-runs the lexical leg with the
        words of the first pass's best results. This default appends the words unweighted (correct
        matching, approximate scores); both shipped backends weight them."""
        words = " ".join(word for word, weight in expansion if weight > 0)
        return self.lexical_search(f"{text} {words}".strip(), limit, where, statuses, concepts, required)

    def passage_vectors(self, pids: Sequence[int]) -> np.ndarray | None:
        """The stored dense vectors of *pids* (one row each, in order; unknown ids left out), or None
        when this backend cannot read them back. Why: vector pseudo-relevance feedback (Rocchio) moves
        the query vector towards its first results' vectors. The default: None (feedback skipped)."""
        return None

    @abstractmethod
    def term_passage_counts(self, words: Sequence[str], language: str) -> dict[str, int]:
        """For each of *words*, how many passages of documents in *language* contain it, in any context
        field, analysed in that language (a multi-token word: as a phrase; a stop word: 0).

        Why: a French query word the lexicon does not know is given English cognates only when the
        index's English documents use them (:mod:`indexer.clinical.cognates`); a vocabulary look-up,
        not a search, so it is cheap and memoised by the caller."""

    def iter_documents(self, where: DocumentFilter, batch: int = 500) -> Iterator[Document]:
        """Every document within *where* (the live generation), read *batch* at a time: a pass over a
        whole index without holding all its documents in memory. This default composes
        :meth:`document_ids_where` and :meth:`get_documents`, so every backend has it."""
        doc_ids = self.document_ids_where(where)
        for start in range(0, len(doc_ids), batch):
            yield from self.get_documents(doc_ids[start:start + batch]).values()

    def document_texts(self, language: str, batch: int = 500) -> Iterator[str]:
        """The text of every document in *language* (the live generation), in batches of *batch*.

        Why: the encoder-induced translations (:mod:`indexer.clinical.induced`) embed the words the
        index's English documents use, once per generation."""
        return (document.text for document in self.iter_documents(DocumentFilter(language=language), batch))

    @abstractmethod
    def dense_search(self, vector: np.ndarray, limit: int, where: DocumentFilter | None = None) -> list[PassageHit]:
        """Top-*limit* passages by cosine with *vector* (the query embedding), within *where*."""

    @abstractmethod
    def image_search(
        self,
        space: ImageSpace,
        vector: np.ndarray,
        limit: int,
        where: DocumentFilter | None = None,
        model: str | None = None,
    ) -> list[ImageHit]:
        """Top-*limit* image documents by cosine in *space*, within *where* (``kinds`` is ignored:
        only images have image vectors). An absent space, one of another dimension, or (with *model*)
        one built by another model gives []."""

    @abstractmethod
    def image_vector(self, space: ImageSpace, doc_id: str) -> np.ndarray | None:
        """The stored vector of an indexed image (to search "images like this one")."""

    # -- documents and passages -----------------------------------------------------------------
    @abstractmethod
    def get_documents(self, doc_ids: Sequence[str]) -> dict[str, Document]:
        """Documents by id (unknown ids are left out)."""

    def get_document(self, doc_id: str) -> Document | None:
        return self.get_documents([doc_id]).get(doc_id)

    @abstractmethod
    def get_passages(self, pids: Sequence[int]) -> dict[int, StoredPassage]:
        """Passages by id (unknown ids are left out)."""

    @abstractmethod
    def documents_of(self, pids: Iterable[int]) -> dict[int, str]:
        """Passage id → document id, without reading passage text (collapsing hits to documents)."""

    def first_passages(self, pids: Sequence[int]) -> tuple[list[str], list[int]]:
        """Collapse a ranked list of passage ids to documents: (each document once, in the order of
        its first passage in *pids*; the position in *pids* of that passage). Passages of no known
        document are skipped.

        This default goes through :meth:`documents_of`; the embedded backend answers from its
        in-memory passage table without a Python step per passage (a lexical head is 100–400)."""
        doc_of = self.documents_of(pids)
        documents: list[str] = []
        positions: list[int] = []
        seen: set[str] = set()
        for position, pid in enumerate(pids):
            doc_id = doc_of.get(pid)
            if doc_id is not None and doc_id not in seen:
                seen.add(doc_id)
                documents.append(doc_id)
                positions.append(position)
        return documents, positions

    @abstractmethod
    def document_ids_where(self, where: DocumentFilter) -> list[str]:
        """Ids of every document matching *where*, sorted."""

    @abstractmethod
    def document_summaries(self, doc_ids: Sequence[str]) -> dict[str, DocumentSummary]:
        """Filterable fields of documents by id, without their text (unknown ids are left out)."""

    @abstractmethod
    def stats(self) -> IndexStats:
        """Counts of the generation being served."""

    @abstractmethod
    def passage_language_counts(self) -> dict[str, int]:
        """Passages of the generation being served, counted by their document's language (``{"fr": 812,
        "en": 3950, "und": 4}``; languages with no passage are left out). Passages, not documents: what the
        dense leg searches is passages, and a long French record weighs more than an English caption.
        One cheap pass per generation (``search.dense_english_vector: auto`` reads it once per generation)."""


def count_patients(summaries: Iterable[DocumentSummary]) -> int:
    """Distinct patients among *summaries*, compared as filters compare them (normalised keys; a
    blank patient id is no patient)."""
    from indexer.backend.filters import normalise_key

    return len({key for key in (normalise_key(s.patient_id) for s in summaries if s.patient_id) if key})


class IndexWriter(ABC):
    """One indexing run's writes, invisible to readers until :meth:`publish`. Not thread-safe.

    Use as a context manager: leaving the block without publishing discards the run (:meth:`abort`).
    """

    @abstractmethod
    def content_hashes(self) -> dict[str, str]:
        """Document id → the hash stored with it (:attr:`AddedDocument.content_hash`: the pipeline's stamped
        hash; else ``Document.content_hash()``) of every document in this run's generation."""

    @abstractmethod
    def source_paths(self) -> dict[str, str]:
        """Document id → source path as stored."""

    @abstractmethod
    def remove_documents(self, doc_ids: Iterable[str]) -> int:
        """Remove documents and their passages (unknown ids ignored); returns how many were removed.

        Image vectors are *not* removed: they belong to the document id and stay valid while the
        pixels are unchanged (an image document re-added with a new linked report keeps its vector).
        Call :meth:`remove_image_vectors` for documents that are gone."""

    @abstractmethod
    def move_sources(self, paths: Mapping[str, str]) -> int:
        """Store a new source path for documents whose content is unchanged (document id → new path;
        unknown ids ignored); returns how many were updated. Passages, passage ids, vectors, lexical
        fields and content hashes stay as they are: only :meth:`source_paths` and the stored
        document's ``source_path`` change, inside this run's generation (durable at :meth:`commit`).

        Why not remove and re-add: a report moved to another folder, or an export share remounted at
        a new path, has the same text; re-analysing and re-embedding it cost weeks of CPU on a 10M
        report corpus for nothing, and churned passage ids. The path must still follow the file, or
        ``--prune`` deletes a document whose file exists."""

    @abstractmethod
    def add_documents(self, items: Sequence[AddedDocument]) -> list[list[int]]:
        """Add documents (ids not present: remove replaced ones first) with their passages, contexts
        and vectors; returns each document's allocated passage ids, in passage order."""

    @abstractmethod
    def ensure_image_space(self, space: ImageSpace, dim: int, model: str) -> None:
        """Declare the model and dimension of an image space before writing to it; a space whose
        stored vectors came from another model starts empty (every vector is recomputed)."""

    @abstractmethod
    def image_vector_key(self, space: ImageSpace, doc_id: str) -> str | None:
        """The version key (source file size + mtime) the stored vector of *doc_id* was computed from."""

    @abstractmethod
    def put_image_vectors(self, space: ImageSpace, items: Sequence[tuple[str, str, np.ndarray]]) -> None:
        """Store (or replace) ``(doc id, version key, vector)`` image vectors in *space*."""

    @abstractmethod
    def remove_image_vectors(self, doc_ids: Iterable[str]) -> int:
        """Remove these documents' vectors from every image space; returns how many documents had one."""

    @abstractmethod
    def commit(self) -> None:
        """Make what was written so far durable in this run's (unpublished) generation."""

    @abstractmethod
    def publish(self) -> IndexInfo:
        """Commit, then make this run's generation the live one in one atomic step."""

    @abstractmethod
    def abort(self) -> None:
        """Discard this run's unpublished writes (the live generation is untouched)."""

    def __enter__(self) -> IndexWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        if not getattr(self, "published", False):
            self.abort()
