"""The embedded backend's read side: one published generation loaded as a snapshot, swapped whole.

A snapshot holds every store of one generation (SQLite, Tantivy, FAISS, the in-memory passage table
and the image vector indices): text and image indices reload through this one mechanism. A newer
generation is loaded completely before it replaces the old snapshot, so a request never sees a mix;
the old snapshot's files stay readable (open handles) until the last request holding it finishes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from indexer.backend.base import (
    DEFAULT_STATUSES,
    IMAGE_SPACES,
    DocumentSummary,
    Forms,
    ImageHit,
    ImageSpace,
    IndexBackend,
    IndexInfo,
    IndexMismatchError,
    IndexNotFoundError,
    IndexStats,
    LexicalMatches,
    PassageHit,
    StoredPassage,
    affirmed_statuses,
    splits_hypothetical,
)
from indexer.backend.embedded.dense import DenseIndex
from indexer.backend.embedded.generations import Generations
from indexer.backend.embedded.image_vectors import ImageVectorIndex
from indexer.backend.embedded.layout import FORMAT_VERSION, Manifest
from indexer.backend.embedded.lexical import LexicalIndex
from indexer.backend.embedded.metadata import MetadataStore
from indexer.backend.embedded.passage_table import PassageTable
from indexer.backend.filters import DocumentFilter
from indexer.schema import Document

if TYPE_CHECKING:
    from indexer.backend.embedded.writer import EmbeddedWriter
    from indexer.settings import Settings

IMAGE_KIND = "image"
#: a reader re-marks the generation it serves at most this often (see Generations.mark_reader)
_MARK_EVERY_S = 30.0


def info_of(manifest: Manifest) -> IndexInfo:
    return IndexInfo(manifest.encoder, manifest.dim, manifest.created_at, manifest.updated_at, manifest.generation)


class _ReadCache:
    """Rows of one generation already read (document summaries, passages), bounded.

    Why: a page of results reads its documents' summaries and its passages from SQLite and builds a
    Python object per row (~10 µs each: 2 ms for a page of 100); a generation never changes once
    published (its SQLite file is opened ``immutable``), so a row read once stays right until the
    next generation, which brings its own cache. Bounded by clearing when full (no LRU bookkeeping
    on the hot path); dict reads and writes are atomic under the GIL, so threads share it safely."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.rows: dict = {}

    def get_many(self, keys: list, read) -> dict:  # noqa: ANN001
        """``read(keys)`` for the keys not seen yet, the rest from memory (a key the store does not
        have stays absent, as from the store itself)."""
        rows = self.rows
        got = list(map(rows.get, keys))  # in C; ``get``: safe if another request clears the rows meanwhile
        if all(got):  # a page already read (rows are dataclass instances, always true): no Python step per key
            return dict(zip(keys, got))
        out = {}
        missing = []
        for key, row in zip(keys, got):
            if row is None:
                missing.append(key)
            else:
                out[key] = row
        if missing:
            fresh = read(missing)
            if len(rows) + len(fresh) > self.limit:
                rows.clear()
            rows.update(fresh)
            out.update(fresh)
        return out


@dataclass
class Snapshot:
    """Every store of one published generation, opened read-only."""

    number: int
    manifest: Manifest
    metadata: MetadataStore
    lexical: LexicalIndex
    dense: DenseIndex
    table: PassageTable
    images: dict[str, ImageVectorIndex]
    summaries: _ReadCache = field(default_factory=lambda: _ReadCache(200_000), repr=False, compare=False)
    passages: _ReadCache = field(default_factory=lambda: _ReadCache(50_000), repr=False, compare=False)

    @classmethod
    def load(cls, generations: Generations, number: int, settings: Settings) -> Snapshot:
        layout = generations.layout(number)
        manifest = layout.read_manifest()
        if manifest.format_version != FORMAT_VERSION:
            raise IndexNotFoundError(
                f"index at {generations.root} has format {manifest.format_version}, this version reads "
                f"{FORMAT_VERSION}: run `medsearch index PATH --rebuild`"
            )
        metadata = MetadataStore(layout.metadata, readonly=True, immutable=True)
        images = {}
        for space in IMAGE_SPACES:
            index = ImageVectorIndex.open_stored(layout.image_vectors(space))
            if index is not None:
                images[space] = index
        return cls(
            number=number,
            manifest=manifest,
            metadata=metadata,
            lexical=LexicalIndex(layout.lexical),
            dense=DenseIndex.load(layout.dense, manifest.dim, settings.dense),
            table=PassageTable.from_store(metadata),
            images=images,
        )


class EmbeddedBackend(IndexBackend):
    """Tantivy + FAISS + SQLite files under ``index.dir``, published as atomic generations."""

    kind = "embedded"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.generations = Generations(settings.index.dir)
        self._snapshot: Snapshot | None = None
        self._pin: ContextVar[Snapshot | None] = ContextVar(f"medsearch-pin-{id(self)}", default=None)
        self._lock = threading.Lock()
        self._marked_at = 0.0

    # -- lifecycle -------------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.generations.current() is not None

    def _missing(self) -> IndexNotFoundError:
        if self.generations.is_legacy():
            return IndexNotFoundError(
                f"index at {self.generations.root} was written by an older medsearch (one folder, no "
                "generations): run `medsearch index PATH --rebuild`"
            )
        return IndexNotFoundError(f"no index at {self.generations.root}: run `medsearch index PATH` first")

    def snapshot(self) -> Snapshot:
        """The generation being served (or pinned, see :meth:`pinned`), loading the live one on first use."""
        snapshot = self._pin.get() or self._snapshot
        if snapshot is None:
            self.refresh()
            snapshot = self._snapshot
            if snapshot is None:
                raise self._missing()
        return snapshot

    def refresh(self) -> bool:
        live = self.generations.current()
        current = self._snapshot
        if live is None or (current is not None and current.number == live):
            if current is not None and time.monotonic() - self._marked_at > _MARK_EVERY_S:
                self._mark(current.number)
            return False
        with self._lock:
            current = self._snapshot
            if current is not None and current.number == live:
                return False
            loaded = Snapshot.load(self.generations, live, self.settings)  # fully, before the swap
            self._snapshot = loaded
            self._mark(live)
        return True  # the old snapshot is closed by garbage collection once no request holds it

    @contextmanager
    def pinned(self) -> Iterator[None]:
        token = self._pin.set(self.snapshot())
        try:
            yield
        finally:
            self._pin.reset(token)

    def _mark(self, number: int) -> None:
        self.generations.mark_reader(number)
        self._marked_at = time.monotonic()

    def close(self) -> None:
        snapshot, self._snapshot = self._snapshot, None
        if snapshot is not None:
            snapshot.metadata.close()

    def info(self) -> IndexInfo:
        return info_of(self.snapshot().manifest)

    def writer(self, encoder: str, dim: int, *, rebuild: bool = False) -> EmbeddedWriter:
        from indexer.backend.embedded.writer import EmbeddedWriter

        if not rebuild and self.generations.is_legacy():
            raise IndexMismatchError(
                f"index at {self.generations.root} was written by an older medsearch (no generations). "
                "Re-run with --rebuild."
            )
        return EmbeddedWriter(self.generations, self.settings, encoder, dim, rebuild=rebuild)

    # -- text retrieval -------------------------------------------------------------------------
    def lexical_search(
        self,
        text: str,
        limit: int,
        where: DocumentFilter | None = None,
        statuses: tuple[str, ...] = DEFAULT_STATUSES,
        concepts: list[Forms] | None = None,
        required: list[tuple[Forms, tuple[str, ...]]] | None = None,
    ) -> list[PassageHit]:
        return self.snapshot().lexical.search(text, limit, where, statuses, concepts, required)

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
        """One full-depth Tantivy search; its head is the ranked leg, its pids (through the in-memory
        passage table's document and patient columns) give the exact counts. With *affirmed*, the
        affirmed-only counts come from the same pids (:meth:`_affirmed_pids`), not a second full search."""
        snapshot = self.snapshot()
        hits, pids, deeper = snapshot.lexical.search_all_ranked(text, limit, where, statuses, concepts, required)
        documents, patients = snapshot.table.count_documents_and_patients(pids)
        if not (affirmed and splits_hypothetical(statuses) and documents):
            return LexicalMatches(hits, documents, patients, deeper=deeper)
        kept = self._affirmed_pids(snapshot, pids, text, where, statuses, concepts, required)
        if kept is pids:  # no match through a hypothetical mention alone: the same counts
            return LexicalMatches(hits, documents, patients, documents, patients, deeper=deeper)
        affirmed_documents, affirmed_patients = snapshot.table.count_documents_and_patients(kept)
        return LexicalMatches(hits, documents, patients, affirmed_documents, affirmed_patients,
                              snapshot.table.documents_only_in(pids, kept), deeper)

    @staticmethod
    def _affirmed_pids(snapshot: Snapshot, pids: np.ndarray, text: str, where: DocumentFilter | None,
                       statuses: tuple[str, ...], concepts: list[Forms] | None,
                       required: list[tuple[Forms, tuple[str, ...]]] | None) -> np.ndarray:
        """The passages the query without « hypothetical » matches (*pids*, the query's matches in
        *statuses*, itself when they are the same).

        Why: that query differs from the query only by the ``hyp_*`` alternatives of its clauses; when no
        passage of the index has one of its words in a hypothetical field (most words: one memoised
        look-up each, :meth:`LexicalIndex.hypothetical_mentions`) it matches the same passages and needs
        no search. Otherwise one unscored search (~half the scored one); the counts then come from the
        passage table's columns, not from every matching document's summary read from SQLite."""
        kept = affirmed_statuses(statuses)
        if not kept:
            return np.zeros(0, dtype=np.int64)
        if not snapshot.lexical.hypothetical_mentions(text, statuses, concepts):
            return pids
        return np.asarray(snapshot.lexical.matching_pids(text, where, kept, concepts, required), dtype=np.int64)

    def lexical_matching_documents(
        self,
        text: str,
        where: DocumentFilter | None = None,
        statuses: tuple[str, ...] = DEFAULT_STATUSES,
        concepts: list[Forms] | None = None,
        required: list[tuple[Forms, tuple[str, ...]]] | None = None,
    ) -> set[str]:
        snapshot = self.snapshot()
        pids = snapshot.lexical.matching_pids(text, where, statuses, concepts, required)
        return snapshot.table.document_ids(pids)

    def term_passage_counts(self, words: Sequence[str], language: str) -> dict[str, int]:
        return self.snapshot().lexical.term_passage_counts(words, language)

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
        return self.snapshot().lexical.search(text, limit, where, statuses, concepts, required, expansion)

    def passage_vectors(self, pids: Sequence[int]) -> np.ndarray | None:
        return self.snapshot().dense.vectors(pids)

    def dense_search(self, vector: np.ndarray, limit: int, where: DocumentFilter | None = None) -> list[PassageHit]:
        snapshot = self.snapshot()
        allowed = None if where is None or where.is_empty() else snapshot.table.mask(where)
        return [PassageHit(h.pid, h.score) for h in snapshot.dense.search(vector, limit, allowed)]

    def image_search(
        self,
        space: ImageSpace,
        vector: np.ndarray,
        limit: int,
        where: DocumentFilter | None = None,
        model: str | None = None,
    ) -> list[ImageHit]:
        """See :meth:`IndexBackend.image_search`; *model*: a space built by another model gives []."""
        snapshot = self.snapshot()
        index = snapshot.images.get(space)
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        if index is None or index.dim != vector.size or (model is not None and index.model != model):
            return []
        allowed = None
        if where is not None:
            images_only = replace(where, kinds=())
            if not images_only.is_empty():
                allowed = snapshot.metadata.document_ids_where(replace(where, kinds=(IMAGE_KIND,)))
        return [ImageHit(h.doc_id, h.score) for h in index.search(vector, limit, allowed)]

    def image_vector(self, space: ImageSpace, doc_id: str) -> np.ndarray | None:
        index = self.snapshot().images.get(space)
        return index.vector(doc_id) if index is not None else None

    # -- documents and passages -----------------------------------------------------------------
    def get_documents(self, doc_ids: Sequence[str]) -> dict[str, Document]:
        return self.snapshot().metadata.get_documents(list(doc_ids))

    def get_passages(self, pids: Sequence[int]) -> dict[int, StoredPassage]:
        snapshot = self.snapshot()
        return snapshot.passages.get_many([int(p) for p in pids], snapshot.metadata.get_passages)

    def documents_of(self, pids: Iterable[int]) -> dict[int, str]:
        return self.snapshot().table.doc_of(pids)

    def first_passages(self, pids: Sequence[int]) -> tuple[list[str], list[int]]:
        return self.snapshot().table.first_passages(pids)

    def document_ids_where(self, where: DocumentFilter) -> list[str]:
        return self.snapshot().metadata.document_ids_where(where)

    def document_summaries(self, doc_ids: Sequence[str]) -> dict[str, DocumentSummary]:
        snapshot = self.snapshot()
        return snapshot.summaries.get_many(list(doc_ids), snapshot.metadata.document_summaries)

    def passage_language_counts(self) -> dict[str, int]:
        """From the in-memory passage table's language column (each passage carries its document's
        language): one ``bincount`` over the present passages, no SQLite query (~1 ms at 1M passages)."""
        return self.snapshot().table.language_counts()

    def stats(self) -> IndexStats:
        snapshot = self.snapshot()
        by_kind = snapshot.metadata.counts_by_kind()
        return IndexStats(
            info=info_of(snapshot.manifest),
            documents=sum(by_kind.values()),
            passages=snapshot.metadata.passage_count(),
            by_kind=by_kind,
            image_vectors={space: len(index) for space, index in snapshot.images.items()},
        )
