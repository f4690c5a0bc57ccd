"""Embedded lexical index (Tantivy, BM25) of passages, with French and English analysis.

Each passage is indexed twice, once per analyzer (``body_fr``/``body_en``), and a query term matches
through whichever analysis fits best (disjunction-max), so a French report and an English article are
both reachable whatever language the physician types in. Filter fields (kind, patient, language,
date) are indexed raw so filters are applied inside the engine, not after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import tantivy

from indexer.schema import Document, Passage
from indexer.store.analyzers import LANGUAGES, analyzer, terms, tokenizer_name
from indexer.store.metadata import DocumentFilter

TITLE_BOOST = 0.5


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("pid", stored=True, indexed=True, fast=True)
    for name in ("doc_id", "kind", "patient_id", "language"):
        builder.add_text_field(name, stored=name == "doc_id", tokenizer_name="raw")
    builder.add_date_field("date", indexed=True, fast=True)
    for lang in LANGUAGES:
        builder.add_text_field(f"body_{lang}", tokenizer_name=tokenizer_name(lang))
        builder.add_text_field(f"title_{lang}", tokenizer_name=tokenizer_name(lang))
    return builder.build()


@dataclass(frozen=True)
class LexicalHit:
    pid: int
    score: float


class LexicalIndex:
    """Open (or create) the Tantivy index in *path*."""

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.schema = _schema()
        self._index = tantivy.Index(self.schema, path=str(path), reuse=True)
        for lang in LANGUAGES:
            self._index.register_tokenizer(tokenizer_name(lang), analyzer(lang))
        self._writer: tantivy.IndexWriter | None = None

    # -- writing -------------------------------------------------------------------------------
    def _w(self) -> tantivy.IndexWriter:
        if self._writer is None:
            self._writer = self._index.writer(heap_size=64_000_000, num_threads=1)
        return self._writer

    def add(self, document: Document, passages: list[tuple[int, Passage]]) -> None:
        writer = self._w()
        for pid, passage in passages:
            doc = tantivy.Document()
            doc.add_unsigned("pid", pid)
            doc.add_text("doc_id", document.id)
            doc.add_text("kind", document.kind.value)
            doc.add_text("language", document.language)
            if document.patient_id:
                doc.add_text("patient_id", document.patient_id)
            if document.date:
                doc.add_date("date", datetime(document.date.year, document.date.month, document.date.day, tzinfo=timezone.utc))
            for lang in LANGUAGES:
                doc.add_text(f"body_{lang}", passage.text)
                doc.add_text(f"title_{lang}", document.title)
            writer.add_document(doc)

    def delete_documents(self, doc_ids: list[str]) -> None:
        writer = self._w()
        for doc_id in doc_ids:
            writer.delete_documents_by_term("doc_id", doc_id)

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.commit()
            self._writer.wait_merging_threads()
            self._writer = None
        self._index.reload()

    # -- reading -------------------------------------------------------------------------------
    def reload(self) -> None:
        self._index.reload()

    def num_passages(self) -> int:
        return self._index.searcher().num_docs

    def _text_query(self, text: str, extra_phrases: list[str] | None = None) -> tantivy.Query | None:
        """One disjunction-max clause per query token across both analyses and the title."""
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for phrase in [text, *(extra_phrases or [])]:
            per_lang = {lang: terms(phrase, lang) for lang in LANGUAGES}
            width = max((len(t) for t in per_lang.values()), default=0)
            for i in range(width):
                alternatives = []
                for lang, lang_terms in per_lang.items():
                    if i < len(lang_terms):
                        term = lang_terms[i]
                        alternatives.append(tantivy.Query.term_query(self.schema, f"body_{lang}", term))
                        title = tantivy.Query.term_query(self.schema, f"title_{lang}", term)
                        alternatives.append(tantivy.Query.boost_query(title, TITLE_BOOST))
                clauses.append((tantivy.Occur.Should, tantivy.Query.disjunction_max_query(alternatives, 0.1)))
        if not clauses:
            return None
        return tantivy.Query.boolean_query(clauses)

    def _filter_clauses(self, where: DocumentFilter) -> list[tuple[tantivy.Occur, tantivy.Query]]:
        must = tantivy.Occur.Must
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        if where.kinds:
            kinds = [(tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "kind", k)) for k in where.kinds]
            clauses.append((must, tantivy.Query.boolean_query(kinds)))
        if where.patient_id:
            clauses.append((must, tantivy.Query.term_query(self.schema, "patient_id", where.patient_id)))
        if where.language:
            clauses.append((must, tantivy.Query.term_query(self.schema, "language", where.language)))
        if where.date_from or where.date_to:
            as_dt = lambda d: datetime(d.year, d.month, d.day, tzinfo=timezone.utc) if d else None  # noqa: E731
            clauses.append(
                (must, tantivy.Query.range_query(self.schema, "date", tantivy.FieldType.Date, as_dt(where.date_from), as_dt(where.date_to)))
            )
        return clauses

    def search(
        self,
        text: str,
        limit: int,
        where: DocumentFilter | None = None,
        extra_phrases: list[str] | None = None,
    ) -> list[LexicalHit]:
        """BM25 top-*limit* passages for *text* within the filter."""
        text_query = self._text_query(text, extra_phrases)
        if text_query is None:
            return []
        clauses = [(tantivy.Occur.Must, text_query), *self._filter_clauses(where or DocumentFilter())]
        query = tantivy.Query.boolean_query(clauses)
        searcher = self._index.searcher()
        hits = searcher.search(query, limit).hits
        return [LexicalHit(pid=int(searcher.doc(address)["pid"][0]), score=float(score)) for score, address in hits]
