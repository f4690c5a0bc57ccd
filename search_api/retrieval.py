"""Hybrid retrieval over the storage backend: BM25 + dense passage search, fused with RRF.

Everything index-side goes through :class:`~indexer.backend.base.IndexBackend` (embedded files or
Elasticsearch); this module owns what stays in medsearch: query planning, fusion, snippets.

Both legs return passages; each leg's passages are collapsed to a document ranking (a document's rank
is that of its best passage), the two rankings are fused, and each result keeps its best passage for
the snippet. Filters are applied inside both legs (Tantivy boolean clauses, FAISS id selectors), so
a filtered query still gets a full page of results.
"""

from __future__ import annotations

import contextvars
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import itemgetter
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import TypeAdapter

from indexer.backend.base import (DocumentSummary, IndexBackend, IndexNotFoundError, LexicalMatches, PassageHit, affirmed_statuses,
                                  splits_hypothetical)
from indexer.backend.filters import DocumentFilter, normalise_key
from indexer.clinical.cognates import CognateTranslator, query_words
from indexer.clinical.dictionary import DictionaryTranslator
from indexer.clinical.induced import InducedTranslator
from indexer.encoders import Encoder
from indexer.text.analyzers import LANGUAGES, terms
from indexer.schema import Document, DocumentKind
from indexer.settings import SearchSettings
from search_api.feedback import TermStatistics, expansion_terms, query_stems, rocchio, searched_text
from search_api.fusion import reciprocal_rank_fusion
from search_api.image_results import image_fields, text_match_sections
from search_api.matching import DocumentMatches, compared_matches
from search_api.negating import NEGATED, ConceptDocuments, negating_documents
from search_api.models import MAX_LIMIT, MAX_OFFSET, SearchRequest, SearchResponse, SearchResult, StatsResponse
from search_api.query_alignment import QueryAlignment, load_alignment
from search_api.query_plan import QueryPlan, default_lexicon, plan_query
from search_api.snippets import query_matcher
from search_api.spelling import MIN_LENGTH as SPELLING_MIN_LENGTH, Speller, replace_word


__all__ = ["IndexNotFoundError", "QueryEmbeddingCache", "SearchEngine", "TextToImageLeg"]

#: An extra leg ranking image documents for a text query (CLIP text tower): (q, backend, filter, depth)
#: → [(doc id, score)]; its ``weight`` attribute, if any, is its RRF weight.
TextToImageLeg = Callable[[str, IndexBackend, DocumentFilter, int], list[tuple[str, float]]]

#: where a spelling suggestion may come from (:mod:`search_api.spelling`): the lexicon's words only (a
#: de-identified caller: an index word may be a name), or the index's words too; None: no suggestion
SpellingSource = Literal["lexicon", "index"] | None
_QUERY_WORD = re.compile(rf"[^\W\d_]{{{SPELLING_MIN_LENGTH},}}")


@dataclass
class _LegRanking:
    """A leg's document ranking and, per document, its best passage id and score."""

    doc_ids: list[str]
    best_pid: Mapping[str, int]
    best_score: Mapping[str, float]
    #: 1-based rank of each document (filled by :func:`_collapse`): no ``doc_ids.index`` per result
    rank: Mapping[str, int] = field(default_factory=dict)


class _DocumentView(Mapping):
    """A read-only mapping over a leg's document → position index; subclasses say what a document maps to."""

    __slots__ = ("_index",)
    _index: dict[str, int]

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


class _Column(_DocumentView):
    """One field of each document's best passage, read on demand: document → ``hits[positions[i]][field]``.

    Why not a dict: a leg ranks 100–400 documents but a page reads 10–100 of them; three dicts per
    leg cost a Python step per document, this costs one per document *read*."""

    __slots__ = ("_positions", "_hits", "_field")

    def __init__(self, index: dict[str, int], positions: list[int], hits: Sequence[tuple[int, float]], field_: int) -> None:
        self._index, self._positions, self._hits, self._field = index, positions, hits, field_

    def __getitem__(self, doc_id: str):  # noqa: ANN204 - int | float
        return self._hits[self._positions[self._index[doc_id]]][self._field]

    def get(self, doc_id: str, default=None):  # noqa: ANN001, ANN204 - one frame, not Mapping.get's two and a try
        at = self._index.get(doc_id)
        return default if at is None else self._hits[self._positions[at]][self._field]

    def present(self, doc_ids: Iterable[str]) -> list:
        """The values of those of *doc_ids* this leg ranks (others skipped), in C: a page's best
        passages are read with no Python step per result."""
        index = self._index
        rows = map(self._hits.__getitem__, map(self._positions.__getitem__, map(index.__getitem__, filter(index.__contains__, doc_ids))))
        return list(map(itemgetter(self._field), rows))

    def values(self) -> list:  # type: ignore[override] - in C, in document order (image results take the max)
        return list(map(itemgetter(self._field), map(self._hits.__getitem__, self._positions)))


class _Ranks(_DocumentView):
    """Document → 1-based rank in its leg, from the leg's position index (see :class:`_Column`)."""

    __slots__ = ()

    def __init__(self, index: dict[str, int]) -> None:
        self._index = index

    def __getitem__(self, doc_id: str) -> int:
        return self._index[doc_id] + 1

    def get(self, doc_id: str, default=None):  # noqa: ANN001, ANN204 - see _Column.get
        at = self._index.get(doc_id)
        return default if at is None else at + 1


def _collapse(hits: Sequence[tuple[int, float]], backend: IndexBackend) -> _LegRanking:
    """A leg's passages, best first → its documents, each ranked by its best passage.

    The backend finds each document's first passage (:meth:`IndexBackend.first_passages`); one dict
    (document → position, built in C) then answers best passage, score and rank on demand."""
    doc_ids, positions = backend.first_passages(list(map(_PID, hits)))
    index = dict(zip(doc_ids, range(len(doc_ids))))
    return _LegRanking(doc_ids, _Column(index, positions, hits, 0), _Column(index, positions, hits, 1), _Ranks(index))


_PID = itemgetter(0)


def _fused_page(
    rankings: dict[str, _LegRanking], weights: dict[str, float], k: int, offset: int, end: int | None,
    first: Container[str] | None = None,
) -> tuple[list[tuple[str, float]], int]:
    """(the fused ranking's entries offset..end, its length).

    One leg (lexical or dense mode) with a weight ≥ 0: its collapsed ranking is already the fused
    order (each document once, score weight / (k + rank), as :func:`reciprocal_rank_fusion` gives),
    so only the page is scored, not the whole list. *first*: documents fused as a first tier (each
    tier in fused order, scores kept): ``search.all_findings_first``."""
    if first is not None:
        fused = reciprocal_rank_fusion([r.doc_ids for r in rankings.values()], [weights[n] for n in rankings], k=k)
        fused = [e for e in fused if e[0] in first] + [e for e in fused if e[0] not in first]
        return fused[offset:end], len(fused)
    if len(rankings) == 1:
        [(name, ranking)] = rankings.items()
        weight = weights[name]
        if weight >= 0 and k >= 0 and len(set(ranking.doc_ids)) == len(ranking.doc_ids):
            page = ranking.doc_ids[offset:end]
            return [(doc_id, 0.0 + weight / (k + rank)) for rank, doc_id in enumerate(page, start=offset + 1)], len(ranking.doc_ids)
    fused = reciprocal_rank_fusion([r.doc_ids for r in rankings.values()], [weights[n] for n in rankings], k=k)
    return fused[offset:end], len(fused)


def _two_vector_hits(first: Sequence[PassageHit], second: Sequence[PassageHit], mode: str, weight: float, k: int,
                     depth: int) -> list[PassageHit]:
    """One passage ranking from a dense search with two query vectors (``search.dense_english_vector``):
    ``max``, each passage's best cosine; ``rrf``, the two passage rankings fused (the second weighted
    *weight*), each passage keeping its best cosine as its score. The top *depth*, best first."""
    best: dict[int, float] = {}
    for pid, score in (*first, *second):
        if score > best.get(pid, float("-inf")):
            best[pid] = score
    if mode == "max":
        order = sorted(best, key=lambda pid: (-best[pid], pid))
    else:  # the fusion the legs use (ties: the first vector's passages first)
        order = [pid for pid, _ in reciprocal_rank_fusion([[p for p, _ in first], [p for p, _ in second]], [1.0, weight], k=k)]
    return [PassageHit(pid, best[pid]) for pid in order[:depth]]


def _demote(ranking: _LegRanking, demoted: set[str], backend: IndexBackend) -> _LegRanking:
    """*ranking* with the documents of *demoted* moved to its end, in their order (best passages kept)."""
    order = [d for d in ranking.doc_ids if d not in demoted] + [d for d in ranking.doc_ids if d in demoted]
    return _collapse([(ranking.best_pid[d], ranking.best_score[d]) for d in order], backend)


def _page_pids(rankings: dict[str, _LegRanking], doc_ids: list[str]) -> list[int]:
    """The passages a page shows, sorted: each of its documents' best passage in each leg."""
    pids: set[int] = set()
    for ranking in rankings.values():
        best = ranking.best_pid
        pids.update(best.present(doc_ids) if isinstance(best, _Column) else [best[d] for d in doc_ids if d in best])
    return sorted(pids)


#: the deepest a leg is searched (the deepest page's old depth, 4 passages a document): the last window tier
_DEEPEST_PAGE_DEPTH = 4 * (MAX_OFFSET + MAX_LIMIT)


@dataclass
class _Tier:
    """One window tier of a query: its legs' document rankings and how they fuse; called with
    (offset, end), its fused entries offset..end (end None: to the end) and the fused ranking's length."""

    rankings: dict[str, _LegRanking]
    weights: dict[str, float]
    k: int
    first: Container[str] | None

    def __call__(self, offset: int, end: int | None) -> tuple[list[tuple[str, float]], int]:
        return _fused_page(self.rankings, self.weights, self.k, offset, end, self.first)


class QueryEmbeddingCache:
    """LRU cache of query vectors: physicians re-run and page through the same queries."""

    def __init__(self, encoder: Encoder, size: int = 1024) -> None:
        self._encoder = encoder
        self._size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def many(self, texts: Sequence[str]) -> list[np.ndarray]:
        """The vectors of *texts*, those not cached encoded in one call (one batch, not one per text)."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vector in zip(missing, self._encoder.encode_queries(missing)):
                with self._lock:
                    self._cache[text] = vector
                    if len(self._cache) > self._size:
                        self._cache.popitem(last=False)
        return [self(text) for text in texts]

    def __call__(self, text: str) -> np.ndarray:
        with self._lock:
            if text in self._cache:
                self._cache.move_to_end(text)
                return self._cache[text]
        vector = self._encoder.encode_queries([text])[0]
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return vector


_RESULTS = TypeAdapter(list[SearchResult])
_IMAGE = DocumentKind.IMAGE.value


def _kept_ranking(doc_ids: list[str], best_pid: Mapping[str, int], best_score: Mapping[str, float]) -> _LegRanking:
    """A leg's ranking of *doc_ids* alone (best first), each with its best passage and score."""
    return _LegRanking(doc_ids, {d: best_pid[d] for d in doc_ids}, {d: best_score[d] for d in doc_ids},
                       {d: rank for rank, d in enumerate(doc_ids, start=1)})


def _label_hypothetical_only(rows: list[dict], hypothetical_only: Container[str]) -> None:
    """A shown result that matches the query's terms only through a hypothetical mention (among
    *hypothetical_only*, :attr:`LexicalMatches.hypothetical_only`): its context says so, whatever its
    snippet's first highlighted word reads. « IRM cérébrale Aspect pouvant faire évoquer un AVC
    ischémique » was labelled *affirmed* by its affirmed « IRM » although the finding it was found for
    is only suspected (a cohort leaves it out). Semantic-only results (no term match) keep their label."""
    for row in rows:
        if row["id"] in hypothetical_only and row["explanation"]["lexical_rank"] is not None and row.get("context") == "affirmed":
            row["context"] = "hypothetical"


def _validated_results(rows: list[dict]) -> list[SearchResult]:
    """A page's :class:`SearchResult` models, validated once, in one call into pydantic-core (the
    API's response model then takes the instances as they are: FastAPI does not revalidate them)."""
    return _RESULTS.validate_python(rows)


class SearchEngine:
    """Searches the published index of a backend; follows newer generations between requests.

    Build it with :func:`search_api.engine_factory.build_engine` (settings → backend, encoder, CLIP leg).
    """

    def __init__(
        self,
        backend: IndexBackend,
        encoder: Encoder,
        settings: SearchSettings,
        text_to_image: TextToImageLeg | None = None,
    ) -> None:
        self.backend = backend
        self.encoder = encoder
        self.settings = settings
        self._embed = QueryEmbeddingCache(encoder)
        # English cognates of free French query words, validated against this index's English vocabulary
        self.cognates = CognateTranslator(lambda words: self.backend.term_passage_counts(words, "en"),
                                          min_passages=settings.cognate_min_passages,
                                          word_translations=settings.word_translations,
                                          french_counts=lambda words: self.backend.term_passage_counts(words, "fr"))
        # words nothing else translates: the encoder's nearest English entry of this index's vocabulary
        self.induced = InducedTranslator(lambda texts: self.encoder.encode_queries(texts), lambda: self.backend.document_texts("en"),
                                         min_csls=settings.induced_min_csls, min_documents=settings.induced_min_documents)
        self.cognates.induced = self.induced if settings.induced_translations else None
        # words nothing else translates: an installed French → English dictionary (absent: translates nothing)
        self.cognates.dictionary = DictionaryTranslator(settings.dictionary_path) if settings.dictionary_translations else None
        self.cognates.relational = settings.relational_adjectives
        self.cognates.dictionary_unknown_only = settings.dictionary_unknown_only
        # pseudo-relevance feedback: idf of the first pass's words, from this index's passage counts
        self.feedback_statistics = TermStatistics(lambda words, language: self.backend.term_passage_counts(words, language),
                                                  lambda: self.backend.stats().passages)
        # search.demote_negating_dense: which documents negate / affirm a concept, per generation
        self.concept_documents = ConceptDocuments(
            lambda forms, status: self.backend.lexical_matching_documents("", None, (status,), [forms]))
        # « Essayez avec l'orthographe … »: the lexicon's and this index's words, for query words it lacks
        self.speller = Speller(default_lexicon, lambda language: self.backend.document_texts(language))
        self.text_to_image = text_to_image
        self._legs_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lexical-leg")
        self._english_share: float | None = None  # per generation (english_share)
        # search.query_alignment: the French → English map, read on first use (query_alignment)
        self._alignment: QueryAlignment | None = None
        self._alignment_path: Path | None = None
        self._alignment_lock = threading.Lock()
        self._check(backend.info())  # IndexNotFoundError when nothing is published yet

    def _check(self, info) -> None:  # noqa: ANN001 - IndexInfo
        if info.encoder != self.encoder.name:
            raise IndexNotFoundError(f"index built with encoder {info.encoder}, API configured with {self.encoder.name}")

    def refresh_if_changed(self) -> None:
        """Pick up a newer generation published by a (scheduled) indexing run, without restarting the API."""
        if self.backend.refresh():
            self._check(self.backend.info())
            self.cognates.clear()  # another generation, another vocabulary
            self.feedback_statistics.clear()
            self.concept_documents.clear()
            self._english_share = None  # search.dense_english_vector: auto reads the new generation's languages
            self.speller.renew()  # read again in the background; the previous vocabulary serves meanwhile
            self.induced.renew()  # rebuilt in the background; the previous vocabulary serves meanwhile

    def english_share(self) -> float:
        """Share of English among the served generation's French and English passages (0 when it has
        neither), read once per generation through :meth:`IndexBackend.passage_language_counts`."""
        share = self._english_share
        if share is None:
            counts = self.backend.passage_language_counts()
            french, english = counts.get("fr", 0), counts.get("en", 0)
            share = self._english_share = english / (french + english) if french + english else 0.0
        return share

    def english_majority(self) -> bool:
        """Whether the served generation is overwhelmingly English (:meth:`english_share` ≥
        ``dense_english_auto_min_share``): the gate of every ``auto`` French → English lever
        (:meth:`english_vector_mode`, :meth:`alignment_mode`)."""
        return self.english_share() >= self.settings.dense_english_auto_min_share

    def english_vector_mode(self) -> str:
        """``search.dense_english_vector`` as this index applies it: ``auto`` is ``rrf`` on an overwhelmingly
        English index (:meth:`english_majority`), else ``off``."""
        mode = self.settings.dense_english_vector
        if mode != "auto":
            return mode
        return "rrf" if self.english_majority() else "off"

    def alignment_mode(self) -> str:
        """``search.query_alignment`` as this index applies it: ``auto`` is ``text`` on an overwhelmingly English
        index (:meth:`english_majority`, the gate of ``dense_english_vector: auto``), else ``off``."""
        mode = self.settings.query_alignment
        if mode != "auto":
            return mode
        return "text" if self.english_majority() else "off"

    def warm_up(self) -> None:
        """Run the encoder once: the first call of some runtimes is much slower than the next ones; and
        learn the ICD-10 word table now (0.5 s) rather than in the first French query that needs it, and the
        lexicon's spelling vocabulary (:mod:`search_api.spelling`)."""
        self._embed("warm-up")
        if self.settings.cognates and self.settings.word_translations:
            from indexer.clinical.word_alignment import word_translations

            word_translations("warm-up")
        if self.settings.cognates and self.cognates.dictionary is not None:
            self.cognates.dictionary("warm-up")  # read the dictionary's files now (0.3 s), not in a query
        if self.settings.cognates and self.settings.induced_translations:
            self.induced.vocabulary()  # embed the index's English vocabulary now, not in a query
        self.speller.vocabulary(from_index=False)  # the lexicon's spellings now (0.2 s), not in a query
        if self.alignment_mode() != "off":
            self.query_alignment()  # read the map and check its encoder (one probe embedding) now, not in a query
        # (the index's words are read from the first misspelled query on, in the background: reading them
        # at start-up would compete with the first searches for the GIL, on an API that may never need them)

    # -- search --------------------------------------------------------------------------------
    def _lexical_leg(self, plan: QueryPlan, where: DocumentFilter, depth: int, first: LexicalMatches | None = None
                     ) -> LexicalMatches:
        """The lexical leg's top *depth* passages and the query's exact document and patient counts,
        from one backend call (one pass over the matches: #14 item 3).

        With *first* (the window's answer; this is a deeper tier), the head alone, counts 0: the totals
        are *first*'s, and a counted full-depth search again cost ~2× the head alone. The head is cut
        from *first*'s ranking of every match when the backend kept it (:attr:`LexicalMatches.deeper`:
        no search at all), else asked of a pruned top-*depth* search."""
        if first is not None:
            if depth <= 0:
                return LexicalMatches([], 0, 0)
            if first.deeper is not None:
                return LexicalMatches(first.deeper(depth), 0, 0)
            return LexicalMatches(self.backend.lexical_search(plan.lexical_text, depth, where, plan.lexical_statuses,
                                                              plan.concepts, plan.required), 0, 0)
        return self.backend.lexical_search_counted(
            plan.lexical_text, depth, where, plan.lexical_statuses, plan.concepts, plan.required,
            affirmed=self._counts_affirmed(plan),
        )

    def _dense_leg(self, plan: QueryPlan, where: DocumentFilter, depth: int) -> list[PassageHit]:
        if not plan.dense_text:
            return []
        selector = None if where.is_empty() else where
        mode = self.english_vector_mode()
        if plan.dense_english is None or mode in ("off", "legs"):
            return self.backend.dense_search(self._aligned(self._embed(plan.dense_text), plan, "text"), depth, selector)
        first, second = self._embed.many([plan.dense_text, plan.dense_english])
        first, second = self._aligned(first, plan, "text"), self._aligned(second, plan, "english")
        if mode == "mean":
            mean = first + second
            return self.backend.dense_search(mean / (np.linalg.norm(mean) or 1.0), depth, selector)
        return _two_vector_hits(self.backend.dense_search(first, depth, selector), self.backend.dense_search(second, depth, selector),
                                mode, self.settings.dense_english_weight, self.settings.rrf_k, depth)

    def _dense_english_leg(self, plan: QueryPlan, where: DocumentFilter, depth: int) -> list[PassageHit]:
        """``search.dense_english_vector: legs``: the English rendering's own dense leg (fused with the others)."""
        vector = self._aligned(self._embed(plan.dense_english or ""), plan, "english")
        return self.backend.dense_search(vector, depth, None if where.is_empty() else where)

    def _aligned(self, vector: np.ndarray, plan: QueryPlan, which: str) -> np.ndarray:
        """*vector* (the plan's dense text's, *which* ``text``, or its English rendering's, ``english``) moved
        toward English by ``search.query_alignment`` (as :meth:`alignment_mode` applies it) when the query is
        French and the setting covers *which*; as it is otherwise (English queries, queries of no told language,
        the lever off or its artifact unusable)."""
        if plan.language != "fr":
            return vector
        setting = self.alignment_mode()
        if setting == "off" or setting not in (which, "both"):
            return vector
        alignment = self.query_alignment()
        return vector if alignment is None else alignment(vector)

    def query_alignment(self) -> QueryAlignment | None:
        """The French → English map at ``search.query_alignment_path``, read on first use (and again when the
        path changes); None when it is absent or does not fit this engine's encoder (the lever stays off)."""
        path = self.settings.query_alignment_path
        with self._alignment_lock:
            if self._alignment_path != path:
                self._alignment, self._alignment_path = load_alignment(path, self.encoder), path
            return self._alignment

    def plan(self, request: SearchRequest) -> QueryPlan:
        """The request's query plan with this engine's settings and index (dense translation, cognates
        validated by its vocabulary): every endpoint that matches a query's documents plans it here, so
        /search, results by patient, cohorts and highlighting agree on what matches."""
        return plan_query(request, dense_translation=self.settings.dense_translation,
                          cognates=self.cognates if self.settings.cognates else None,
                          dense_style=self.settings.dense_translation_style,
                          english_vector=self.english_vector_mode() != "off",
                          typed_translations=self.settings.typed_translations,
                          family_cues=self.settings.family_cues, family_dense=self.settings.family_dense)

    @staticmethod
    def filter_for(request: SearchRequest) -> DocumentFilter:
        """The filter a request's own fields ask for (no access restriction)."""
        return DocumentFilter(
            kinds=tuple(k.value for k in request.kinds),
            patient_id=request.patient_id,
            language=request.language,
            date_from=request.date_from,
            date_to=request.date_to,
            departments=tuple(request.departments),
            modalities=tuple(request.modalities),
        )

    @classmethod
    def request_filter(cls, request: SearchRequest, scope: DocumentFilter | None = None) -> DocumentFilter:
        """The request's filters, narrowed by the caller's access *scope* when one is given."""
        where = cls.filter_for(request)
        if scope is None:
            return where
        from search_api.scope import within_scope

        return within_scope(where, scope)

    def search(self, request: SearchRequest, where: DocumentFilter | None = None, spelling: SpellingSource = None) -> SearchResponse:
        """Hybrid search; *where* (default: :meth:`filter_for` the request) is applied inside every leg,
        so the access layer passes ``request_filter(request, scope)``. *spelling*: propose a corrected
        query when a word is unknown (:meth:`spelling_suggestion`; the API asks, internal callers don't)."""
        started = time.perf_counter()
        self.refresh_if_changed()
        where = where if where is not None else self.filter_for(request)
        with self.backend.pinned():  # one generation for the whole request, whatever other requests reload
            return self._search(request, where, started, spelling)

    def _search(self, request: SearchRequest, where: DocumentFilter, started: float, spelling: SpellingSource = None) -> SearchResponse:
        # Every page is cut from one ranking of the query: the fused ranking of the rank window
        # (``search.rank_window`` passages per leg, whatever the page), then, for a page past its end, the
        # documents each deeper window tier (x4) adds, in that tier's fused order. A depth following the
        # page (max(candidates, 4 x (offset + limit))) fused each page from other leg depths: paging 10 by
        # 10 through « épanchement pleural » (demo index) showed 3 documents twice and 3 of 87 never.
        offset, wanted_docs = request.offset, request.offset + request.limit
        plan = self.plan(request)
        if plan.comparison is not None:  # « FEVG < 40 % »: the value is checked on every label match
            return self._compared_search(request, plan, where, started, spelling)
        window = self.settings.rank_window
        deepest = max(window, _DEEPEST_PAGE_DEPTH)
        depth, ranked = window, 0
        seen: set[str] = set()
        segments: list[tuple[dict[str, _LegRanking], list[tuple[str, float]]]] = []  # the page's parts, by tier
        matches: LexicalMatches | None = None
        while True:
            tier, tier_matches, exhausted = self._tier(request, plan, where, depth, first=matches)
            matches = tier_matches if matches is None else matches  # the exact totals: the same at every depth
            if depth == window:  # the window's fused ranking, as it is
                page, length = tier(offset, wanted_docs)
                if wanted_docs <= length or exhausted or depth >= deepest:  # the page lies within the window
                    segments.append((tier.rankings, page))
                    ranked = length
                    break
                entries = tier(0, length)[0]
            else:
                entries = [e for e in tier(0, None)[0] if e[0] not in seen]
            part = entries[max(0, offset - ranked): max(0, wanted_docs - ranked)]
            if part:
                segments.append((tier.rankings, part))
            ranked += len(entries)
            seen.update(doc_id for doc_id, _ in entries)
            if ranked >= wanted_docs or exhausted or depth >= deepest:
                break
            depth = min(4 * depth, deepest)
        results: list[SearchResult] = []
        for rankings, part in segments:
            documents = self._page_documents([doc_id for doc_id, _ in part], rankings)
            passages = self.backend.get_passages(_page_pids(rankings, [doc_id for doc_id, _ in part]))
            rows = self._results(part, documents, rankings, passages, plan.highlight_text, plan.lexical_statuses)
            if matches.hypothetical_only:
                _label_hypothetical_only(rows, matches.hypothetical_only)
            results += _validated_results(rows)
        suggestion = self.spelling_suggestion(request, plan, where, matches.documents, spelling) if spelling else None
        took = (time.perf_counter() - started) * 1000
        return SearchResponse(
            query=request.q,
            mode=request.mode,
            interpretation=plan.interpretation,
            expanded_terms=plan.expanded_terms,
            # exact and page-independent: every document containing the query's terms (the ranked
            # list may go on with documents only the dense leg found)
            total=matches.documents,
            total_patients=matches.patients,
            # what a one-criterion cohort of the query counts (search_api.cohort_engine.affirmed_only):
            # the documents matching through an affirmed mention, not only through a suspicion
            # (the lexical leg's backend call counts them from the same matches: _counts_affirmed)
            total_affirmed=matches.documents if matches.affirmed_documents is None else matches.affirmed_documents,
            total_patients_affirmed=matches.patients if matches.affirmed_patients is None else matches.affirmed_patients,
            term_match=matches.documents > 0,
            ranked=ranked,
            took_ms=round(took, 2),
            results=results,
            suggestion=suggestion,
        )

    def _leg_weights(self, plan: QueryPlan) -> dict[str, float]:
        """Each leg's fusion weight for *plan*: the query language's lexical/dense weights when configured
        (``search.language_weights``), the English-vector leg in proportion to the dense one, CLIP's own."""
        by_language = self.settings.language_weights.get(plan.language or "")
        weights = {
            "lexical": by_language.lexical if by_language else self.settings.lexical_weight,
            "dense": by_language.dense if by_language else self.settings.dense_weight,
            "clip": getattr(self.text_to_image, "weight", 1.0),
        }
        weights["dense_english"] = weights["dense"] * self.settings.dense_english_weight
        return weights

    def _compared_search(self, request: SearchRequest, plan: QueryPlan, where: DocumentFilter, started: float,
                         spelling: SpellingSource = None) -> SearchResponse:
        """A comparison query (« FEVG < 40 % », ``plan.comparison``): only the label's matches whose text
        gives it a satisfying value are results, ranked, paged and counted (totals, patients, affirmed).

        Why not the usual legs then a filter: the totals are the lexical leg's exact counts, which cannot
        check a number; here the exact set itself is checked (:func:`~search_api.matching.compared_matches`,
        the cohorts' check), so « N documents · M patients » is what a cohort of the query holds. The
        lexical ranking is that set in BM25 order (every match, no window); the dense leg cannot read a
        value, so it only reorders documents of the set: a document it alone finds is not a result."""
        compared = compared_matches(self, plan, where)
        matches = compared.matches
        rankings: dict[str, _LegRanking] = {}
        if request.mode != "dense":
            rankings["lexical"] = _kept_ranking(matches.doc_ids, matches.best_pid, matches.best_score)
        if request.mode in ("hybrid", "dense") and plan.dense_text is not None and matches.doc_ids:
            dense = _collapse(self._dense_leg(plan, where, self.settings.rank_window), self.backend)
            rankings["dense"] = _kept_ranking([d for d in dense.doc_ids if d in matches], dense.best_pid, dense.best_score)
        weights = self._leg_weights(plan)
        fused = reciprocal_rank_fusion([r.doc_ids for r in rankings.values()], [weights[n] for n in rankings], k=self.settings.rrf_k)
        reached = {doc_id for doc_id, _ in fused}
        fused += [(doc_id, 0.0) for doc_id in matches.doc_ids if doc_id not in reached]  # dense mode: beyond its depth
        page = fused[request.offset: request.offset + request.limit]
        ids = [doc_id for doc_id, _ in page]
        documents = self._page_documents(ids, rankings)
        passages = self.backend.get_passages(_page_pids(rankings, ids))
        rows = self._results(page, documents, rankings, passages, plan.highlight_text, plan.lexical_statuses)
        for row in rows:  # the sentence giving the value, value highlighted (the label's best passage may not)
            row["snippet"] = compared.evidence.get(row["id"], row["snippet"])
        affirmed = self._compared_affirmed(plan, where, matches)
        _label_hypothetical_only(rows, frozenset(matches.best_pid.keys() - affirmed))
        suggestion = self.spelling_suggestion(request, plan, where, len(matches), spelling) if spelling else None
        return SearchResponse(
            query=request.q, mode=request.mode, interpretation=plan.interpretation, expanded_terms=plan.expanded_terms,
            total=len(matches), total_patients=self._patients(matches.doc_ids),
            total_affirmed=len(affirmed), total_patients_affirmed=self._patients([d for d in matches.doc_ids if d in affirmed]),
            term_match=len(matches) > 0, ranked=len(fused), took_ms=round((time.perf_counter() - started) * 1000, 2),
            results=_validated_results(rows), suggestion=suggestion,
        )

    def _compared_affirmed(self, plan: QueryPlan, where: DocumentFilter, matches: DocumentMatches) -> set[str]:
        """Those of a comparison query's *matches* that match through an affirmed mention (what a cohort
        of the query holds, :meth:`_counts_affirmed`): all of them when the search asks for no hypothetical one."""
        if not self._counts_affirmed(plan):
            return set(matches.best_pid)
        kept = affirmed_statuses(plan.lexical_statuses)
        found = self.backend.lexical_matching_documents(plan.lexical_text, where, kept, plan.concepts, plan.required) if kept else set()
        return {doc_id for doc_id in found if doc_id in matches}

    def _patients(self, doc_ids: list[str]) -> int:
        """Distinct patients of *doc_ids* (normalised keys, as the backends count them)."""
        summaries = self.backend.document_summaries(doc_ids) if doc_ids else {}
        return len({normalise_key(s.patient_id) for s in summaries.values() if s.patient_id})

    @staticmethod
    def _counts_affirmed(plan: QueryPlan) -> bool:
        """Whether the search also counts its matches without hypothetical mentions (the set a
        one-criterion cohort of the query holds): when it asks for hypothetical mentions at all.

        Why: a default search also ranks « suspicion d'AVC ischémique » (at a quarter of an affirmed
        mention's weight) and its « N documents · M patients » counts it, while a cohort of the same
        query keeps affirmed findings only: on the demo index « IRM cérébrale AVC ischémique » read 33
        documents · 12 patients against a cohort of 7 patients, with nothing saying why. The backend
        derives these counts from the lexical leg's own matches (``lexical_search_counted(affirmed=True)``),
        not from a second full-depth search (+22 % per search, #14 item 3)."""
        return splits_hypothetical(plan.lexical_statuses)

    def _tier(self, request: SearchRequest, plan: QueryPlan, where: DocumentFilter, depth: int,
              first: LexicalMatches | None = None) -> tuple[_Tier, LexicalMatches, bool]:
        """The query's legs searched *depth* passages deep, fused: (the fused ranking, the lexical leg's
        exact totals (zeros for a deeper tier: *first*, the window tier's answer, has them), whether every
        leg returned fewer than *depth* hits: a deeper tier would add nothing)."""
        legs: dict[str, list[PassageHit]] = {}
        # The two legs run side by side: Tantivy, FAISS and the encoder all release the GIL, so on
        # two cores a hybrid query costs about its slower leg, not the sum of both.
        # The lexical call also counts every document containing the query's terms (the exact,
        # page-independent total), so it runs in dense mode too, with no ranked head.
        context = contextvars.copy_context()  # the leg's thread reads the same pinned generation
        lexical_depth = depth if request.mode != "dense" else 0
        if request.mode == "lexical":  # nothing to overlap with: no thread hop
            matches = self._lexical_leg(plan, where, lexical_depth, first)
        else:
            future = self._legs_pool.submit(context.run, self._lexical_leg, plan, where, lexical_depth, first)
            if request.mode in ("hybrid", "dense") and plan.dense_text is not None:
                legs["dense"] = self._dense_leg(plan, where, depth)
                if plan.dense_english is not None and self.english_vector_mode() == "legs":
                    legs["dense_english"] = self._dense_english_leg(plan, where, depth)
            matches = future.result()
        if request.mode != "dense":
            legs = {"lexical": matches.hits, **legs}  # PassageHit is a (pid, score) tuple
        exhausted = all(len(hits) < depth for hits in legs.values())

        rankings = {name: _collapse(hits, self.backend) for name, hits in legs.items()}
        weights = self._leg_weights(plan)
        if request.mode == "hybrid" and self.feedback_applies(plan):
            rankings = self._with_feedback(plan, where, depth, rankings, weights)
        if "dense" in rankings and self.settings.demote_negating_dense:
            # the dense-only documents of the whole tier (not of the page: the page must not change the ranking)
            lexical = rankings["lexical"].rank if "lexical" in rankings else {}
            demoted = self._negating_documents(plan, [d for d in rankings["dense"].doc_ids if d not in lexical])
            if demoted:
                rankings["dense"] = _demote(rankings["dense"], demoted, self.backend)
        if self.text_to_image is not None and request.mode == "hybrid":  # CLIP: query text → image vectors
            clip_hits = self.text_to_image(request.q, self.backend, where, depth)
            rankings["clip"] = _LegRanking([d for d, _ in clip_hits], {}, dict(clip_hits))
            exhausted = exhausted and len(clip_hits) < depth
        first = self._all_findings_first(plan, rankings) if request.mode == "hybrid" else None
        return _Tier(rankings, weights, self.settings.rrf_k, first), matches, exhausted

    # -- spelling suggestions (search_api.spelling) --------------------------------------------------
    def misspelled_words(self, request: SearchRequest, plan: QueryPlan, where: DocumentFilter, documents: int) -> list[str]:
        """The free words of *plan* (no concept, no cognate, no stop word, ≥ 4 letters) the caller's search
        cannot match: in no French or English passage of the index (memoised counts: a normal query pays two
        dict look-ups) and in no document within *where*; or, when the whole query matched nothing within a
        restricted *where*, in no document within it (a word only hidden documents contain must look unknown,
        not known, to a restricted caller)."""
        translated = {word.lower() for word, _ in plan.cognates} | {f.lower() for _, forms in plan.cognates for f in forms}
        free = [w for w in dict.fromkeys(_QUERY_WORD.findall(plan.lexical_text))
                if w.lower() not in translated and terms(w, "fr") and terms(w, "en")]
        if not free:
            return []
        english, french = self.feedback_statistics.passages(free, "en"), self.feedback_statistics.passages(free, "fr")
        # in no French or English passage; then confirmed by the caller's own search (a short report of no
        # analysed language may have it): both rare, the second only for the first's words
        candidates = [w for w in free if english.get(w, 0) + french.get(w, 0) == 0]
        if documents == 0 and not where.is_empty():
            candidates += [w for w in free if w not in candidates]
        return [w for w in candidates if self._scoped_documents(request, w, where) == 0]

    def spelling_suggestion(self, request: SearchRequest, plan: QueryPlan, where: DocumentFilter, documents: int,
                            source: SpellingSource = "index") -> str | None:
        """The query with each misspelled word (:meth:`misspelled_words`) replaced by its closest known
        spelling (:class:`~search_api.spelling.Speller`) that the caller's own filtered search matches, or
        None (no misspelled word, no candidate, or the corrected query matches nothing within *where*).
        Candidates failing that check are never shown: no word of a document outside the caller's scope."""
        if source is None:
            return None
        unknown = self.misspelled_words(request, plan, where, documents)
        if not unknown:
            return None
        corrected = request.q
        lexicon = self.speller.vocabulary(from_index=False, wait=False)
        for word in unknown:
            for candidate in self.speller.candidates(word, from_index=source == "index"):
                # an index word must itself occur within *where* (read literally: not through a concept or a
                # cognate it would be planned as); a lexicon word is public, its concept's match is enough
                if self._scoped_documents(request, candidate, where, literal=candidate not in lexicon) > 0:
                    corrected = replace_word(corrected, word, candidate)
                    break
        if corrected == request.q or self._scoped_documents(request, corrected, where) == 0:
            return None
        return corrected

    def _scoped_documents(self, request: SearchRequest, q: str, where: DocumentFilter, literal: bool = False) -> int:
        """How many documents within *where* the lexical leg of *request* with the query *q* matches (a count,
        no ranked head); *literal*: *q*'s words as typed, in every context (no concept, no cognate)."""
        plan = self.plan(request.model_copy(update={"q": q, **({"clinical": False} if literal else {})}))
        return self.backend.lexical_search_counted(plan.lexical_text, 0, where, plan.lexical_statuses, plan.concepts,
                                                   plan.required).documents

    def _negating_documents(self, plan: QueryPlan, ranked: Sequence[str]) -> set[str]:
        """Those of *ranked* (the dense leg's documents) whose text negates one of an affirmative query's
        concepts and nowhere affirms it (:func:`search_api.negating.negating_documents`). The dense leg
        reads meaning, not polarity (a negated mention is left out of the embedded text, but the rest of
        the report still looks like the query), so without this such reports came before documents that
        affirm the finding. Nothing for a query without concepts or one that asks for a negation (« pas de X »)."""
        if not plan.concepts or not ranked or NEGATED in plan.lexical_statuses:
            return set()
        return negating_documents(plan.concepts, ranked, self.concept_documents)

    def _all_findings_first(self, plan: QueryPlan, rankings: dict[str, _LegRanking]) -> Container[str] | None:
        """``search.all_findings_first``: the documents to fuse first, or None (plain RRF).

        For a query with two or more concepts, every concept is a required clause of the lexical leg,
        in the query's statuses, within one passage (:meth:`IndexBackend.lexical_search`): its documents
        are exactly those that state every finding typed, and nothing has to be looked up. A physician
        typing "pneumothorax after central line" expects those before the documents only the dense leg
        found (by meaning, or matching part of the query), however high that leg ranks them. Documents
        the lexical leg matched beyond its depth are not known here and stay in the second tier."""
        if not self.settings.all_findings_first or len(plan.concepts) < 2 or "lexical" not in rankings or len(rankings) < 2:
            return None
        return rankings["lexical"].rank

    # -- pseudo-relevance feedback (search_api.feedback) ---------------------------------------------
    def feedback_applies(self, plan: QueryPlan) -> bool:
        """Whether a hybrid search of *plan* gets a feedback pass (a lever on, the query's language listed)."""
        settings = self.settings
        if not (settings.feedback_lexical or settings.feedback_dense) or settings.feedback_documents <= 0:
            return False
        if settings.feedback_languages and plan.language not in settings.feedback_languages:
            return False
        return settings.feedback_when == "always" or bool(self.unknown_words(plan))

    def unknown_words(self, plan: QueryPlan) -> list[str]:
        """The free words of *plan* (no concept, no validated cognate or translation) that fewer than
        ``cognate_min_passages`` passages of the index contain (its English and French documents, each
        analysed in its language): what the lexical leg cannot match, and feedback words may stand in for.
        A French word of a French corpus is known (the demo corpus); « coupole » on English reports is not."""
        translated = {word.lower() for word, forms in plan.cognates} | {f.lower() for _, forms in plan.cognates for f in forms}
        free = [w for w in query_words(plan.lexical_text) if w.lower() not in translated]
        if not free:
            return []
        english, french = self.feedback_statistics.passages(free, "en"), self.feedback_statistics.passages(free, "fr")
        return [w for w in free if english.get(w, 0) + french.get(w, 0) < self.settings.cognate_min_passages]

    def _feedback_pids(self, rankings: dict[str, _LegRanking], weights: dict[str, float]) -> list[int]:
        """The first pass's top ``feedback_documents`` documents (fused, or the dense leg's), each as its
        best passage (the lexical leg's when it has one, as the snippet)."""
        k = self.settings.feedback_documents
        source = rankings if self.settings.feedback_source == "hybrid" else {n: r for n, r in rankings.items() if n == "dense"}
        if not source:
            return []
        page, _ = _fused_page(source, weights, self.settings.rrf_k, 0, k)
        lexical, dense = rankings.get("lexical"), rankings.get("dense")
        pids = []
        for doc_id, _ in page:
            pid = lexical.best_pid.get(doc_id) if lexical is not None and source is rankings else None
            pid = pid if pid is not None else (dense.best_pid.get(doc_id) if dense is not None else None)
            if pid is not None:
                pids.append(pid)
        return pids

    def feedback_expansion(self, plan: QueryPlan, pids: Sequence[int]) -> list[tuple[str, float]]:
        """The weighted feedback words of these passages for *plan* (its own words left out)."""
        passages = self.backend.get_passages(pids)
        # a document of no analysed language ("und": too short to tell) is read as English, the index's default
        languages = {d: s.language if s.language in LANGUAGES else "en"
                     for d, s in self.backend.document_summaries(sorted({p.doc_id for p in passages.values()})).items()}
        texts = [(searched_text(passages[pid].text, passages[pid].mentions, plan.lexical_statuses), languages.get(passages[pid].doc_id, "en"))
                 for pid in pids if pid in passages]
        own = query_stems([plan.highlight_text, plan.lexical_text, *(form for forms in plan.concepts for form in forms),
                           *(form for _, forms in plan.cognates for form in forms)])
        settings = self.settings
        return expansion_terms(texts, own, self.feedback_statistics, settings.feedback_terms, settings.feedback_weight)

    def _with_feedback(self, plan: QueryPlan, where: DocumentFilter, depth: int, rankings: dict[str, _LegRanking],
                       weights: dict[str, float]) -> dict[str, _LegRanking]:
        """The legs of a second pass built from the first pass's best results (lexical expansion and/or
        Rocchio); the exact totals stay the first pass's (the query's own terms)."""
        pids = self._feedback_pids(rankings, weights)
        if not pids:
            return rankings
        out = dict(rankings)
        if self.settings.feedback_lexical and "lexical" in rankings:
            expansion = self.feedback_expansion(plan, pids)
            if expansion:
                hits = self.backend.lexical_search_expanded(plan.lexical_text, expansion, depth, where, plan.lexical_statuses,
                                                            plan.concepts, plan.required)
                out["lexical"] = _collapse(hits, self.backend)
        if self.settings.feedback_dense and "dense" in rankings and plan.dense_text:
            vectors = self.backend.passage_vectors(pids)
            if vectors is not None and len(vectors):
                start = self._aligned(self._embed(plan.dense_text), plan, "text")
                moved = rocchio(start, vectors, self.settings.feedback_dense_weight)
                out["dense"] = _collapse(self.backend.dense_search(moved, depth, None if where.is_empty() else where), self.backend)
        return out

    def _page_documents(self, doc_ids: list[str], rankings: dict[str, _LegRanking]) -> dict[str, Document | DocumentSummary]:
        """What each shown result needs of its document: the summary's columns (no text, no JSON
        body to parse: 2.5× cheaper for a page of 100), and the full document only for images (their
        linked reports, methods) and for results without a text passage (snippet from the text)."""
        summaries = self.backend.document_summaries(doc_ids)
        with_passage = set().union(*(r.best_pid.keys() for name, r in rankings.items() if name in ("lexical", "dense")))
        full = [doc_id for doc_id, summary in summaries.items() if summary.kind == _IMAGE or doc_id not in with_passage]
        return {**summaries, **(self.backend.get_documents(full) if full else {})}

    def _results(self, page: list[tuple[str, float]], documents: dict, rankings: dict[str, _LegRanking], passages, query: str,  # noqa: ANN001
                 statuses: tuple[str, ...] | None = None) -> list[dict]:
        """Each shown result's fields (what :class:`SearchResult` validates), with its snippet.

        Plain dicts, validated in one call by :func:`_validated_results`: a model built per result
        cost twice as much (two ``__init__`` calls, the explanation's and the result's, each crossing
        into pydantic-core), and a page's snippets are computed together (one pass over its words)."""
        lexical, dense, clip = rankings.get("lexical"), rankings.get("dense"), rankings.get("clip")
        lexical_pid = lexical.best_pid if lexical else {}
        dense_pid = dense.best_pid if dense else {}
        shown = [(documents[doc_id], score) for doc_id, score in page if doc_id in documents]
        # Prefer the lexical leg's passage for the snippet: it is the one that contains the words.
        best = [lexical_pid.get(document.id, dense_pid.get(document.id)) for document, _ in shown]
        shown_passages = [passages[pid] if pid is not None else None for pid in best]  # None: found by CLIP only
        snippets = query_matcher(query).snippets([
            (passage.text, document.language, passage.mentions) if passage else (document.text, document.language, None)
            for (document, _), passage in zip(shown, shown_passages)
        ], statuses=statuses)
        lexical_rank = lexical.rank if lexical else None
        dense_rank = dense.rank if dense else None
        dense_score = dense.best_score if dense else None
        rows = []
        for (document, score), passage, (snippet, context) in zip(shown, shown_passages, snippets):
            doc_id = document.id
            row = {
                "id": doc_id,
                "kind": document.kind,
                "title": document.title,
                "date": document.date,
                "patient_id": document.patient_id,
                "language": document.language,
                "modality": document.modality,
                "score": round(score, 6),
                "snippet": snippet,
                "context": context,
                "section": passage.section if passage else "",
                "url": f"/documents/{doc_id}",
                "explanation": {
                    "lexical_rank": lexical_rank.get(doc_id) if lexical_rank is not None else None,
                    "dense_rank": dense_rank.get(doc_id) if dense_rank is not None else None,
                    "dense_similarity": round(dense_score[doc_id], 4) if dense_score is not None and doc_id in dense_score else None,
                },
            }
            if document.kind == DocumentKind.IMAGE:
                row.update(self._image_fields(document, lexical, dense, clip, passages))
            rows.append(row)
        return rows

    def _image_fields(self, document: Document, lexical, dense, clip, passages) -> dict:  # noqa: ANN001
        """Image results: which of their texts matched (report, caption, header), CLIP, linked reports."""
        matched, ranked = text_match_sections(document.id, lexical, dense, passages)
        extra = ["clip"] if clip and document.id in clip.best_score else []
        return image_fields(document, self.backend, matched, extra, fallback_sections=ranked)

    # -- documents and stats -------------------------------------------------------------------
    def document(self, doc_id: str) -> Document | None:
        self.refresh_if_changed()
        return self.backend.get_document(doc_id)

    def stats(self) -> StatsResponse:
        self.refresh_if_changed()
        stats = self.backend.stats()
        updated = datetime.fromisoformat(stats.info.updated_at)
        return StatsResponse(
            documents=stats.documents,
            passages=stats.passages,
            by_kind=stats.by_kind,
            encoder=stats.info.encoder,
            indexed_at=stats.info.updated_at,
            index_age_seconds=round((datetime.now(timezone.utc) - updated).total_seconds(), 1),
        )
