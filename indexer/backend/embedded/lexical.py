"""Embedded lexical index (Tantivy, BM25) of passages, with French and English analysis and
clinical context fields.

Each passage's text is split by context (:mod:`indexer.clinical.context`) and every part goes to
the field of its status: ``body`` (affirmed), ``hyp`` (hypothetical: « suspicion de »), ``neg``
(negated: « absence de », "no") and ``fam`` (family history). A default query only searches
``body`` and ``hyp``, so « absence de fracture » is not a hit for "fracture"; asking for negated
mentions searches ``neg`` instead. Every field exists twice, once per analyzer (``body_fr``,
``body_en``...), and a query term matches through whichever analysis fits best (disjunction-max).
Filter fields (kind, patient, language, date, department, modality) are indexed raw so filters run
inside the engine; keyword fields hold their :func:`~indexer.backend.filters.normalise_key` form, and
a document without a patient carries ``access=open`` (access restrictions only concern patients).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from itertools import repeat
from operator import itemgetter
from pathlib import Path

import numpy as np
import tantivy

from indexer.crashpoints import crash_point

from indexer.schema import Document, Passage
from indexer.text.analyzers import LANGUAGES, analyzer, terms, tokenizer_name
from indexer.text.signs import analysis_text
from indexer.backend.base import (
    ALL_STATUSES, CONTEXT_FIELDS, DEFAULT_STATUSES, PassageHit, all_text_prefixes, concepts_to_match,
    DISMAX_TIE_BREAKER, NamedRelativeTier, context_prefixes, free_word_count, named_relative_tier, primary_forms,
    split_negated_form, status_fields,
)
from indexer.backend.filters import DocumentFilter, DocumentKeys

TITLE_BOOST = 0.5
EXPANSION_BOOST = 0.7  # a synonym or expanded abbreviation counts a little less than the words typed

#: context status → lexical field prefix
CONTEXT_FIELDS = {"affirmed": "body", "hypothetical": "hyp", "negated": "neg", "family": "fam"}
#: field prefix → weight when searched
FIELD_BOOSTS = {"body": 1.0, "hyp": 0.25, "neg": 1.0, "fam": 1.0}  # hyp: a suspected finding ranks below an affirmed one (#14)
DEFAULT_STATUSES: tuple[str, ...] = ("affirmed", "hypothetical")
#: ``access`` value of documents without a patient: visible whatever the access restriction
OPEN_ACCESS = "open"
ALL_STATUSES: tuple[str, ...] = tuple(CONTEXT_FIELDS)


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("pid", stored=True, indexed=True, fast=True)
    for name in ("doc_id", "kind", "patient_id", "language", "department", "modality", "access"):
        builder.add_text_field(name, stored=name == "doc_id", tokenizer_name="raw")
    builder.add_date_field("date", indexed=True, fast=True)
    for lang in LANGUAGES:
        for prefix in (*all_text_prefixes(), "title"):  # famrel_*: family text per relative (base.RELATIVE_FIELDS)
            builder.add_text_field(f"{prefix}_{lang}", tokenizer_name=tokenizer_name(lang))
    return builder.build()


LexicalHit = PassageHit
_FIRST, _SECOND = itemgetter(0), itemgetter(1)


def _passage_hits(pids: list[int], hits: list) -> list[PassageHit]:
    """``PassageHit(pid, score)`` of each Tantivy ``(score, address)`` hit and its pid, built in C
    (map, zip, ``tuple.__new__``): a Python step per hit costs ~0.3 µs, and a search may return
    thousands."""
    return list(map(tuple.__new__, repeat(PassageHit, len(hits)), zip(pids, map(_FIRST, hits))))


def _unscored_pids(searcher: tantivy.Searcher, query: tantivy.Query) -> list[int]:
    """The pid of every passage *query* matches, without BM25: ordering the collector by the ``pid``
    fast field makes Tantivy skip scoring, and each hit's order key is already the pid (no
    ``fast_field_values`` call). Why: a counts-only or exact-set search needs no ranking, and an
    unscored search costs ~0.26–0.28 ms vs ~0.5 ms scored at 10k passages (#14 item 3, BENCHMARKS.md).
    Order: pid descending (callers use the set)."""
    hits = searcher.search(query, searcher.num_docs, count=False, order_by_field="pid").hits
    return list(map(_FIRST, hits))


#: memoised one-term clauses per open index (see LexicalIndex._clause); cleared when full
_MAX_CACHED_CLAUSES = 50_000


class LexicalIndex:
    """Open (or create) the Tantivy index in *path*."""

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.schema = _schema()
        self._index = tantivy.Index(self.schema, path=str(path), reuse=True)
        for lang in LANGUAGES:
            self._index.register_tokenizer(tokenizer_name(lang), analyzer(lang))
        self._writer: tantivy.IndexWriter | None = None
        self._clauses: dict[tuple, tantivy.Query | None] = {}
        #: per one-term clause: whether any live passage has it in a hypothetical field (_hypothetical_present)
        self._hypothetical_seen: dict[tuple, bool] = {}

    # -- writing -------------------------------------------------------------------------------
    def _w(self) -> tantivy.IndexWriter:
        if self._writer is None:
            self._writer = self._index.writer(heap_size=64_000_000, num_threads=1)
        return self._writer

    def add(
        self,
        document: Document,
        passages: list[tuple[int, Passage]],
        contexts: list[Mapping[str, str]] | None = None,
    ) -> None:
        """Index *passages*; ``contexts[i]`` maps a status to passage i's text with that status
        (without it, the whole passage counts as affirmed)."""
        writer = self._w()
        keys = DocumentKeys.of(document)
        for i, (pid, passage) in enumerate(passages):
            doc = tantivy.Document()
            doc.add_unsigned("pid", pid)
            doc.add_text("doc_id", document.id)
            doc.add_text("kind", document.kind.value)
            doc.add_text("language", document.language)
            if keys.patient:
                doc.add_text("patient_id", keys.patient)
            else:
                doc.add_text("access", OPEN_ACCESS)
            if keys.department:
                doc.add_text("department", keys.department)
            if keys.modality:
                doc.add_text("modality", keys.modality)
            if document.date:
                doc.add_date("date", datetime(document.date.year, document.date.month, document.date.day, tzinfo=timezone.utc))
            parts = contexts[i] if contexts is not None else {"affirmed": passage.text}
            # « ST+ » / « ST- » / "non-ST" rewritten into words of their own, as queries are (terms())
            title = analysis_text(document.title)
            analysed = {status: analysis_text(text) for status, text in parts.items() if text}
            for lang in LANGUAGES:
                doc.add_text(f"title_{lang}", title)
                for status, text in analysed.items():
                    for prefix in context_prefixes(str(status)):  # « family:mother »: famrel_mother
                        doc.add_text(f"{prefix}_{lang}", text)
            writer.add_document(doc)

    def delete_documents(self, doc_ids: list[str]) -> None:
        writer = self._w()
        for doc_id in doc_ids:
            writer.delete_documents_by_term("doc_id", doc_id)

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.commit()
            crash_point("lexical.committed")  # before segment merges finish
            self._writer.wait_merging_threads()
            self._writer = None
        self._index.reload()
        self._hypothetical_seen.clear()  # depends on the passages, unlike the query clauses

    # -- reading -------------------------------------------------------------------------------
    def reload(self) -> None:
        self._index.reload()
        self._hypothetical_seen.clear()

    def num_passages(self) -> int:
        return self._index.searcher().num_docs

    def _field_query(self, field: str, phrase_terms: list[str]) -> tantivy.Query:
        if len(phrase_terms) == 1:
            return tantivy.Query.term_query(self.schema, field, phrase_terms[0])
        return tantivy.Query.phrase_query(self.schema, field, phrase_terms)

    def _clause(self, per_lang: dict[str, list[str]], statuses: Iterable[str], with_title: bool) -> tantivy.Query:
        """Best match of one term (or phrase) across analyses, context fields and the title.

        Memoised: a query's words and its concepts' surface forms recur from query to query, and
        building one clause is ~8 Tantivy objects (a third of a lexical search's Python time,
        #14 item 3). Query objects are immutable; a boolean query copies the ones it is given."""
        statuses = tuple(statuses)
        key = (tuple((lang, tuple(t)) for lang, t in per_lang.items()), statuses, with_title)
        clause = self._clauses.get(key)
        if clause is None:
            if len(self._clauses) > _MAX_CACHED_CLAUSES:
                self._clauses.clear()
            clause = self._clauses[key] = self._build_clause(per_lang, statuses, with_title)
        return clause

    def _build_clause(self, per_lang: dict[str, list[str]], statuses: tuple[str, ...], with_title: bool) -> tantivy.Query:
        alternatives = []
        for lang, lang_terms in per_lang.items():
            if not lang_terms:
                continue
            for status in statuses:  # « family:mother »: the fields of the relatives answering it (base.status_fields)
                for prefix, boost in status_fields(status, FIELD_BOOSTS):
                    query = self._field_query(f"{prefix}_{lang}", lang_terms)
                    alternatives.append(query if boost == 1.0 else tantivy.Query.boost_query(query, boost))
            if with_title:
                title = self._field_query(f"title_{lang}", lang_terms)
                alternatives.append(tantivy.Query.boost_query(title, TITLE_BOOST))
        return tantivy.Query.disjunction_max_query(alternatives, DISMAX_TIE_BREAKER)

    def _token_query(self, text: str, statuses: tuple[str, ...]) -> tantivy.Query | None:
        """One optional clause per typed token: plain BM25 over the words not recognised as a concept."""
        with_title = "affirmed" in statuses
        per_lang = {lang: terms(text, lang) for lang in LANGUAGES}
        clauses = [
            (tantivy.Occur.Should, self._clause({lang: t[i : i + 1] for lang, t in per_lang.items()}, statuses, with_title))
            for i in range(max((len(t) for t in per_lang.values()), default=0))
        ]
        return tantivy.Query.boolean_query(clauses) if clauses else None

    def _expanded(self, free: tantivy.Query | None, expansion: Sequence[tuple[str, float]], statuses: tuple[str, ...]) -> tantivy.Query | None:
        """The free-text query plus one optional clause per expansion word, its score times its weight
        (pseudo-relevance feedback: :meth:`IndexBackend.lexical_search_expanded`)."""
        with_title = "affirmed" in statuses
        clauses = [(tantivy.Occur.Should, free)] if free is not None else []
        for word, weight in expansion:
            per_lang = {lang: terms(word, lang) for lang in LANGUAGES}
            if weight > 0 and any(per_lang.values()):
                clauses.append((tantivy.Occur.Should, tantivy.Query.boost_query(self._clause(per_lang, statuses, with_title), float(weight))))
        return tantivy.Query.boolean_query(clauses) if clauses else None

    def _concept_query(self, phrases: list[str], statuses: tuple[str, ...]) -> tantivy.Query | None:
        """Any of a concept's surface forms, each matched as a phrase; the form typed scores highest.

        Memoised like :meth:`_clause` (same bounded dict): a concept's forms, in the same order,
        come back with every query naming it, and its query is a dozen clauses and boosts."""
        key = ("concept", tuple(phrases), tuple(statuses), primary_forms(phrases))
        if key in self._clauses:
            return self._clauses[key]
        query = self._build_concept_query(phrases, statuses)
        if len(self._clauses) > _MAX_CACHED_CLAUSES:
            self._clauses.clear()
        self._clauses[key] = query
        return query

    def _build_concept_query(self, phrases: list[str], statuses: tuple[str, ...]) -> tantivy.Query | None:
        with_title = "affirmed" in statuses
        primary = primary_forms(phrases)
        clauses = []
        for rank, phrase in enumerate(phrases):
            if parts := split_negated_form(phrase):  # both parts, in one passage (base.NEGATED_PART)
                head, negated = ({lang: terms(part, lang) for lang in LANGUAGES} for part in parts)
                if not any(head.values()) or not any(negated.values()):
                    continue
                clause = tantivy.Query.boolean_query([
                    (tantivy.Occur.Must, self._clause(head, statuses, with_title)),
                    (tantivy.Occur.Must, self._clause(negated, ("negated",), False)),
                ])
                clauses.append((tantivy.Occur.Should, clause if rank < primary else tantivy.Query.boost_query(clause, EXPANSION_BOOST)))
                continue
            per_lang = {lang: terms(phrase, lang) for lang in LANGUAGES}
            if not any(per_lang.values()):
                continue
            clause = self._clause(per_lang, statuses, with_title)
            clauses.append((tantivy.Occur.Should, clause if rank < primary else tantivy.Query.boost_query(clause, EXPANSION_BOOST)))
        return tantivy.Query.boolean_query(clauses) if clauses else None

    def _tier_query(self, tier: NamedRelativeTier) -> tantivy.Query:
        """A constant *tier.bonus* for a passage holding one of the tier's phrases in a named relative's
        field (any analysis): it outweighs any BM25 score of the rest of the query (base « the named
        relative's tier »)."""
        matches = [
            (tantivy.Occur.Should, self._field_query(f"{prefix}_{lang}", analysed))
            for phrase in tier.phrases for lang in LANGUAGES if (analysed := terms(phrase, lang)) for prefix in tier.fields
        ]
        if not matches:
            return tantivy.Query.empty_query()
        return tantivy.Query.const_score_query(tantivy.Query.boolean_query(matches), tier.bonus)

    def _any_of(self, field: str, values: Iterable[str]) -> tantivy.Query:
        """Matches documents whose raw *field* is one of *values* (none: matches nothing)."""
        values = list(values)
        if not values:
            return tantivy.Query.empty_query()
        return tantivy.Query.term_set_query(self.schema, field, values)

    def _open_or(self, field: str, allowed: tuple[str, ...]) -> tantivy.Query:
        """An access restriction: documents without a patient, or whose *field* is allowed."""
        should = tantivy.Occur.Should
        return tantivy.Query.boolean_query(
            [(should, tantivy.Query.term_query(self.schema, "access", OPEN_ACCESS)), (should, self._any_of(field, allowed))]
        )

    def _filter_clauses(self, where: DocumentFilter) -> list[tuple[tantivy.Occur, tantivy.Query]]:
        must = tantivy.Occur.Must
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        if where.kinds:
            clauses.append((must, self._any_of("kind", where.kinds)))
        if where.patient_id:
            clauses.append((must, tantivy.Query.term_query(self.schema, "patient_id", where.patient_key or "")))
        if where.departments:
            clauses.append((must, self._any_of("department", where.department_keys)))
        if where.modalities:
            clauses.append((must, self._any_of("modality", where.modality_keys)))
        rules: list[tuple[tantivy.Occur, tantivy.Query]] = []
        if (allowed := where.allowed_patient_keys) is not None:
            rules.append((must, self._open_or("patient_id", allowed)))
        if (allowed := where.allowed_department_keys) is not None:
            rules.append((must, self._open_or("department", allowed)))
        if rules and (granted := where.granted_patient_keys):  # a break-the-glass grant lifts the restriction
            should = tantivy.Occur.Should
            clauses.append((must, tantivy.Query.boolean_query(
                [(should, tantivy.Query.boolean_query(rules)), (should, self._any_of("patient_id", granted))])))
        else:
            clauses += rules
        if where.language:
            clauses.append((must, tantivy.Query.term_query(self.schema, "language", where.language)))
        if where.date_from or where.date_to:
            as_dt = lambda d: datetime(d.year, d.month, d.day, tzinfo=timezone.utc) if d else None  # noqa: E731
            clauses.append(
                (must, tantivy.Query.range_query(self.schema, "date", tantivy.FieldType.Date, as_dt(where.date_from), as_dt(where.date_to)))
            )
        return clauses

    def _query(
        self,
        text: str,
        where: DocumentFilter | None,
        statuses: tuple[str, ...],
        concepts: list[list[str]] | None,
        required: list[tuple[list[str], tuple[str, ...]]] | None,
        expansion: Sequence[tuple[str, float]] = (),
    ) -> tantivy.Query | None:
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        free = self._token_query(text, statuses) if text.strip() else None
        if expansion:
            free = self._expanded(free, expansion, statuses)
        wanted = [q for q in (self._concept_query(forms, statuses) for forms in concepts or []) if q is not None]
        must = [self._concept_query(forms, forms_statuses) for forms, forms_statuses in required or []]
        clauses += [(tantivy.Occur.Must, q) for q in must if q is not None]
        enough = concepts_to_match(len(wanted), free_word_count(text))
        if enough < len(wanted):  # a long query: most of its concepts, not all (base.concepts_to_match)
            some = tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in wanted], minimum_number_should_match=enough)
            clauses.append((tantivy.Occur.Must, some))
        else:
            clauses += [(tantivy.Occur.Must, q) for q in wanted]
        if free is not None:
            clauses.append((tantivy.Occur.Should if clauses else tantivy.Occur.Must, free))
        if not clauses:
            return None
        if (tier := named_relative_tier(text, statuses, concepts, required, expansion)) is not None:
            clauses.append((tantivy.Occur.Should, self._tier_query(tier)))  # optional: it ranks, never selects
        # filters select, they do not score: a constant 0 keeps BM25 ranking the same under any filter
        filters = [(occur, tantivy.Query.const_score_query(q, 0.0)) for occur, q in self._filter_clauses(where or DocumentFilter())]
        return tantivy.Query.boolean_query([*clauses, *filters])

    def search(
        self,
        text: str,
        limit: int,
        where: DocumentFilter | None = None,
        statuses: tuple[str, ...] = DEFAULT_STATUSES,
        concepts: list[list[str]] | None = None,
        required: list[tuple[list[str], tuple[str, ...]]] | None = None,
        expansion: Sequence[tuple[str, float]] = (),
    ) -> list[LexicalHit]:
        """BM25 top-*limit* passages within the filter.

        *text* is free text matched token by token (any token may match). Each entry of *concepts*
        is one concept recognised in the query, as its surface forms (the typed phrase first, then
        synonyms, translations, expanded abbreviations); one form must match, as a phrase. Both are
        matched in the context fields of *statuses* (default: affirmed and hypothetical mentions).
        Each ``(forms, statuses)`` in *required* must also match, in its own statuses: the negated
        « épanchement pleural » of « pneumothorax sans épanchement pleural ».
        """
        query = self._query(text, where, statuses, concepts, required, expansion)
        if query is None or limit <= 0:
            return []
        searcher = self._index.searcher()
        # count=False: no total is needed, and counting every match forbids Tantivy's top-k pruning
        # (block-max WAND); passage ids come from the pid fast field, not from 100 stored documents.
        hits = searcher.search(query, limit, count=False).hits
        pids = searcher.fast_field_values("pid", list(map(_SECOND, hits)))
        # exact_matches asks for every match (thousands): a Python step per hit was 40% of a
        # results-by-patient request at 100k passages
        return _passage_hits(pids, hits)

    def term_passage_counts(self, words: Iterable[str], language: str) -> dict[str, int]:
        """Passages of *language* documents whose *language*-analysed context fields contain each word
        (exact counts of live passages: a count query, not the term's doc_freq, which counts deleted
        passages until a merge)."""
        searcher = self._index.searcher()
        of_language = tantivy.Query.term_query(self.schema, "language", language)
        counts: dict[str, int] = {}
        for word in words:
            analysed = terms(word, language)
            if not analysed or language not in LANGUAGES:
                counts[word] = 0
                continue
            any_field = tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, self._field_query(f"{prefix}_{language}", analysed)) for prefix in CONTEXT_FIELDS.values()]
            )
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, any_field), (tantivy.Occur.Must, of_language)])
            counts[word] = int(searcher.search(query, 1, count=True).count)
        return counts

    def search_all(
        self,
        text: str,
        limit: int,
        where: DocumentFilter | None = None,
        statuses: tuple[str, ...] = DEFAULT_STATUSES,
        concepts: list[list[str]] | None = None,
        required: list[tuple[list[str], tuple[str, ...]]] | None = None,
    ) -> tuple[list[LexicalHit], np.ndarray]:
        """(:meth:`search`'s top *limit*, every matching passage id) from ONE full-depth search.

        Why: exact totals need every match anyway; ranking them all once and keeping the head as
        the lexical leg costs less than a pruned top-k search plus a second unranked one (measured:
        1.1 vs 1.9 ms at 10k passages; again with the second search unscored, ordered by ``pid``:
        0.735 vs 0.595 ms, ``bench.lexical_count_paths``). Passage ids come from the ``pid`` fast field in one call
        and go straight into a numpy array (no Python object per match beyond Tantivy's hit tuples).
        With *limit* ≤ 0 (counts only) the search is not scored at all (:func:`_unscored_pids`).
        """
        head, pids, _ = self.search_all_ranked(text, limit, where, statuses, concepts, required)
        return head, pids

    def search_all_ranked(
        self,
        text: str,
        limit: int,
        where: DocumentFilter | None = None,
        statuses: tuple[str, ...] = DEFAULT_STATUSES,
        concepts: list[list[str]] | None = None,
        required: list[tuple[list[str], tuple[str, ...]]] | None = None,
    ) -> tuple[list[LexicalHit], np.ndarray, Callable[[int], list[LexicalHit]] | None]:
        """:meth:`search_all`, plus the head at any greater depth cut from the same ranking of every match
        (None when nothing was ranked: *limit* ≤ 0). Why: a page past the rank window ranks the leg
        deeper (``search.rank_window`` × 4…); the full-depth search has ranked every match already, so
        the deeper head needs no second search (:attr:`~indexer.backend.base.LexicalMatches.deeper`)."""
        query = self._query(text, where, statuses, concepts, required)
        searcher = self._index.searcher()
        if query is None or searcher.num_docs == 0:
            return [], np.zeros(0, dtype=np.int64), None
        if limit <= 0:  # counts only (dense mode's exact totals): no ranking needed
            return [], np.array(_unscored_pids(searcher, query), dtype=np.int64), None
        hits = searcher.search(query, searcher.num_docs, count=False).hits
        # Every step below runs in C (map, itemgetter, zip, tuple.__new__): a Python step per hit
        # costs ~0.3 µs, and a query has hundreds to thousands of matches and a head of 100–400.
        pids = searcher.fast_field_values("pid", list(map(_SECOND, hits)))

        def head_at(depth: int) -> list[LexicalHit]:
            return _passage_hits(pids[:depth], hits[:depth])

        return head_at(min(limit, len(hits))), np.array(pids, dtype=np.int64), head_at

    def hypothetical_mentions(self, text: str, statuses: tuple[str, ...], concepts: list[list[str]] | None) -> bool:
        """Whether some live passage has a word or concept form of the query in a hypothetical field: one
        of the ``hyp_*`` alternatives of the clauses :meth:`_query` builds with *statuses* (free words,
        concept forms, the head of a form with a negated part) matches something.

        Why: the query without « hypothetical » (what a cohort of it counts) differs from the query only
        by these alternatives; when none of them matches any passage, both match the same passages and
        the affirmed-only counts are the counts, with no second search. Required clauses keep their own
        statuses in both queries and are left out. Each alternative is looked at once per index
        (:meth:`_hypothetical_present`); most words are never suspected."""
        if "hypothetical" not in statuses:
            return False
        if text.strip():
            per_lang = {lang: terms(text, lang) for lang in LANGUAGES}
            for i in range(max((len(t) for t in per_lang.values()), default=0)):
                if self._hypothetical_present({lang: t[i : i + 1] for lang, t in per_lang.items()}):
                    return True
        for forms in concepts or []:
            for phrase in forms:
                parts = split_negated_form(phrase)
                if self._hypothetical_present({lang: terms(parts[0] if parts else phrase, lang) for lang in LANGUAGES}):
                    return True
        return False

    def _hypothetical_present(self, per_lang: dict[str, list[str]]) -> bool:
        """Whether a live passage of this index matches one term's (or phrase's) ``hyp_*`` clause: one
        count search per clause, memoised until this index changes (:meth:`commit`, :meth:`reload`)."""
        if not any(per_lang.values()):
            return False
        key = tuple((lang, tuple(t)) for lang, t in per_lang.items())
        present = self._hypothetical_seen.get(key)
        if present is None:
            if len(self._hypothetical_seen) > _MAX_CACHED_CLAUSES:
                self._hypothetical_seen.clear()
            clause = self._clause(per_lang, ("hypothetical",), False)
            present = self._hypothetical_seen[key] = self._index.searcher().search(clause, 1, count=True).count > 0
        return present

    def matching_pids(
        self,
        text: str,
        where: DocumentFilter | None = None,
        statuses: tuple[str, ...] = DEFAULT_STATUSES,
        concepts: list[list[str]] | None = None,
        required: list[tuple[list[str], tuple[str, ...]]] | None = None,
    ) -> list[int]:
        """Every passage id :meth:`search` would match with these arguments, at any depth."""
        query = self._query(text, where, statuses, concepts, required)
        searcher = self._index.searcher()
        if query is None or searcher.num_docs == 0:
            return []
        return _unscored_pids(searcher, query)
