"""The read side: :class:`ElasticsearchBackend`, the Elasticsearch implementation of
:class:`~indexer.backend.base.IndexBackend`.

It resolves the aliases to one generation's physical indices at :meth:`refresh` (and on first use)
and queries those, so every call of one request hits the same generation even if a publish happens
meanwhile; a generation deleted under it (older than ``keep_generations``) makes it re-resolve and
retry once. Fusion, snippets and the API stay in medsearch: this class returns passage ids and
scores, documents and passages, exactly the types the embedded backend returns.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
from elasticsearch import NotFoundError
from elasticsearch.helpers import scan

from indexer.backend.base import (
    DEFAULT_STATUSES,
    DocumentSummary,
    Forms,
    ImageHit,
    IndexBackend,
    IndexInfo,
    IndexNotFoundError,
    IndexStats,
    IndexWriter,
    LexicalMatches,
    PassageHit,
    StoredPassage,
    affirmed_statuses,
    splits_hypothetical,
)
from indexer.backend.elasticsearch import queries
from indexer.backend.elasticsearch.client import make_client
from indexer.backend.elasticsearch.documents import document_from_source
from indexer.backend.elasticsearch.generations import IMAGE_FAMILIES, Generations
from indexer.backend.elasticsearch.writer import ElasticsearchWriter, generation_meta, info_from_meta
from indexer.backend.filters import DocumentFilter
from indexer.schema import Document

T = TypeVar("T")
#: the generation a request pinned (IndexBackend.pinned): family → physical index
_REQUEST_INDICES: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("es_request_indices", default=None)
_MGET_CHUNK = 1000
_DOC_OF_CACHE = 100_000


class ElasticsearchBackend(IndexBackend):
    kind = "elasticsearch"

    def __init__(self, settings: Any, client: Any = None, *, interactive: bool = False) -> None:
        """*interactive*: the API's fail-fast client (:func:`make_client`), not the indexer's patient one."""
        backend = settings.backend
        self.settings = settings
        self.client = client if client is not None else make_client(backend, interactive=interactive)
        self.generations = Generations(self.client, backend.index_prefix)
        self.keep = int(getattr(backend, "keep_generations", 2))
        self.shards = int(getattr(backend, "shards", 1))
        self.replicas = int(getattr(backend, "replicas", 0))
        #: HNSW candidates per shard: the recall / latency knob of the kNN legs
        self.num_candidates = int(getattr(backend, "num_candidates", 200))
        self._lock = threading.Lock()
        self._indices: dict[str, str] | None = None  # family → physical index of the pinned generation
        self._info: IndexInfo | None = None
        self._doc_of: OrderedDict[int, str] = OrderedDict()  # passage → document, from hits (per generation)
        self._image_metas: dict[str, dict[str, Any]] = {}

    # -- lifecycle ------------------------------------------------------------------------------
    def _pin(self) -> bool:
        indices = self.generations.live_indices()
        if "passages" not in indices:
            with self._lock:
                changed = self._indices is not None
                self._indices, self._info = None, None
            return changed
        if indices == self._indices:
            return False  # the usual case: one alias request, nothing else
        info = info_from_meta(generation_meta(self.client, indices["passages"]))
        with self._lock:
            changed = self._indices != indices
            if changed:
                self._indices, self._info = indices, info
                self._doc_of.clear()
        return changed

    def _pinned(self) -> dict[str, str]:
        request = _REQUEST_INDICES.get()
        if request is not None:
            return request
        if self._indices is None:
            self._pin()
        if self._indices is None:
            raise IndexNotFoundError(
                f"no published medsearch index behind alias {self.generations.alias('passages')}: run `medsearch index DIR`"
            )
        return self._indices

    def _call(self, fn: Callable[[dict[str, str]], T]) -> T:
        """Run *fn* on the pinned generation; if it was deleted meanwhile, re-pin and retry once."""
        indices = self._pinned()
        try:
            return fn(indices)
        except NotFoundError:
            # the generation was deleted under us (older than keep_generations): the newest one
            self._pin()
            if self._indices is None:
                raise IndexNotFoundError(f"the medsearch index behind {self.generations.alias('passages')} is gone") from None
            return fn(self._indices)

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Every read in this context sees the generation served on entry (see the interface)."""
        try:
            indices = self._pinned()
        except IndexNotFoundError:
            indices = None
        token = _REQUEST_INDICES.set(indices)
        try:
            yield
        finally:
            _REQUEST_INDICES.reset(token)

    def exists(self) -> bool:
        try:
            self._pinned()
        except IndexNotFoundError:
            return False
        return True

    def ping(self, timeout_s: float) -> None:
        self.client.options(request_timeout=timeout_s, max_retries=0).info()

    def info(self) -> IndexInfo:
        self._pinned()
        assert self._info is not None
        return self._info

    def refresh(self) -> bool:
        return self._pin()

    def close(self) -> None:
        self.client.close()

    def writer(self, encoder: str, dim: int, *, rebuild: bool = False) -> IndexWriter:
        return ElasticsearchWriter(
            self.client, self.generations, encoder, dim, rebuild=rebuild, keep=self.keep,
            shards=self.shards, replicas=self.replicas,
        )

    # -- text retrieval -------------------------------------------------------------------------
    def _remember(self, pairs: Iterable[tuple[int, str]]) -> None:
        with self._lock:
            for pid, doc_id in pairs:
                self._doc_of[pid] = doc_id
            while len(self._doc_of) > _DOC_OF_CACHE:
                self._doc_of.popitem(last=False)

    def _passage_hits(self, response: Any, score: Callable[[float], float] = float) -> list[PassageHit]:
        hits = response["hits"]["hits"]
        self._remember((int(h["_id"]), h["_source"]["doc_id"]) for h in hits)
        return [PassageHit(int(h["_id"]), score(h["_score"])) for h in hits]

    def lexical_search(
        self,
        text: str,
        limit: int,
        where: DocumentFilter | None = None,
        statuses: tuple[str, ...] = DEFAULT_STATUSES,
        concepts: list[Forms] | None = None,
        required: list[tuple[Forms, tuple[str, ...]]] | None = None,
    ) -> list[PassageHit]:
        return self.lexical_search_expanded(text, (), limit, where, statuses, concepts, required)

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
        query = queries.lexical_query(text, where, statuses, concepts, required, expansion)
        if query is None or limit <= 0:
            self._pinned()
            return []
        return self._call(lambda ix: self._passage_hits(self.client.search(
            index=ix["passages"], query=query, size=limit, _source=["doc_id"], track_total_hits=False
        )))

    def lexical_matching_documents(
        self,
        text: str,
        where: DocumentFilter | None = None,
        statuses: tuple[str, ...] = DEFAULT_STATUSES,
        concepts: list[Forms] | None = None,
        required: list[tuple[Forms, tuple[str, ...]]] | None = None,
    ) -> set[str]:
        query = queries.lexical_query(text, where, statuses, concepts, required)
        if query is None:
            self._pinned()
            return set()
        return self._call(lambda ix: {source["doc_id"] for source in self._scan_matches(ix, query, ["doc_id"])})

    def _scan_matches(self, ix: dict[str, str], query: dict[str, Any], fields: list[str]) -> Iterator[dict[str, Any]]:
        """The *fields* of every passage *query* matches: a filter-context scan, unscored, however deep."""
        body = {"query": {"bool": {"filter": [query]}}, "_source": fields}
        return (h["_source"] for h in scan(self.client, index=ix["passages"], query=body, size=1000))

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
        """The ranked head, then one unscored scan of every match reading only ``doc_id`` and the
        normalised ``patient`` key each passage carries: exact (a ``cardinality`` aggregation is
        approximate) and no second round trip for document summaries. With *affirmed* (and
        « hypothetical » searched), a second scan of the query without hypothetical mentions."""
        query = queries.lexical_query(text, where, statuses, concepts, required)
        if query is None:
            self._pinned()
            return LexicalMatches([], 0, 0)
        hits = self.lexical_search(text, limit, where, statuses, concepts, required) if limit > 0 else []
        documents, patients = self._call(lambda ix: self._documents_and_patients(ix, query))
        counted = LexicalMatches(hits, len(documents), len(patients))
        if not (affirmed and splits_hypothetical(statuses) and documents):
            return counted
        kept = affirmed_statuses(statuses)
        kept_query = queries.lexical_query(text, where, kept, concepts, required) if kept else None
        kept_documents, kept_patients = (self._call(lambda ix: self._documents_and_patients(ix, kept_query))
                                         if kept_query is not None else (set(), set()))
        return dataclasses.replace(counted, affirmed_documents=len(kept_documents), affirmed_patients=len(kept_patients),
                       hypothetical_only=frozenset(documents - kept_documents))

    def _documents_and_patients(self, ix: dict[str, str], query: dict[str, Any]) -> tuple[set[str], set[str]]:
        """The ids of the documents *query* matches and their (normalised) patient keys, from one scan."""
        documents: set[str] = set()
        patients: set[str] = set()
        for source in self._scan_matches(ix, query, ["doc_id", "patient"]):
            documents.add(source["doc_id"])
            if source.get("patient"):
                patients.add(source["patient"])
        return documents, patients

    def term_passage_counts(self, words: Sequence[str], language: str) -> dict[str, int]:
        """One ``_count`` per word: a filter-context phrase match in the *language* analysis of every
        context field, within *language* documents."""
        def run(ix: dict[str, str]) -> dict[str, int]:
            return {word: int(self.client.count(index=ix["passages"], query=query)["count"]) if query else 0
                    for word, query in ((w, queries.term_count_query(w, language)) for w in words)}

        return self._call(run)

    def dense_search(self, vector: np.ndarray, limit: int, where: DocumentFilter | None = None) -> list[PassageHit]:
        if limit <= 0:
            self._pinned()
            return []
        values = [float(x) for x in np.asarray(vector, dtype=np.float32).ravel()]
        body = queries.knn_search(values, limit, where, self.num_candidates)
        return self._call(lambda ix: self._passage_hits(
            self.client.search(index=ix["passages"], _source=["doc_id"], **body), queries.cosine_from_rescore
        ))

    def _image_meta(self, index: str) -> dict[str, Any]:
        """``_meta`` (model, dim) of an image index; indices are immutable once published: cached."""
        meta = self._image_metas.get(index)
        if meta is None:
            meta = generation_meta(self.client, index)
            self._image_metas[index] = meta
        return meta

    def image_search(
        self,
        space: str,
        vector: np.ndarray,
        limit: int,
        where: DocumentFilter | None = None,
        model: str | None = None,
    ) -> list[ImageHit]:
        family = IMAGE_FAMILIES[space]
        values = [float(x) for x in np.asarray(vector, dtype=np.float32).ravel()]
        where = dataclasses.replace(where or DocumentFilter(), kinds=())  # only images have image vectors

        def run(ix: dict[str, str]) -> list[ImageHit]:
            if family not in ix or limit <= 0:
                return []
            meta = self._image_meta(ix[family])
            if int(meta.get("dim", 0)) != len(values) or (model is not None and meta.get("model") != model):
                return []  # another descriptor version or CLIP model: its vectors are not comparable
            body = queries.knn_search(values, limit, where, self.num_candidates)
            response = self.client.search(index=ix[family], _source=False, **body)
            return [ImageHit(h["_id"], queries.cosine_from_rescore(h["_score"])) for h in response["hits"]["hits"]]

        return self._call(run)

    def image_vector(self, space: str, doc_id: str) -> np.ndarray | None:
        family = IMAGE_FAMILIES[space]
        found = self._call(lambda ix: self._mget(ix, family, [doc_id], ["vector"]) if family in ix else {})
        return np.asarray(found[doc_id]["vector"], dtype=np.float32) if doc_id in found else None

    # -- documents and passages -----------------------------------------------------------------
    def _mget(self, ix: dict[str, str], family: str, ids: Sequence[str], fields: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), _MGET_CHUNK):
            response = self.client.mget(
                index=ix[family], ids=list(ids[start : start + _MGET_CHUNK]), source_includes=fields, realtime=False
            )
            out.update({d["_id"]: d.get("_source", {}) for d in response["docs"] if d.get("found")})
        return out

    def get_documents(self, doc_ids: Sequence[str]) -> dict[str, Document]:
        ids = list(dict.fromkeys(doc_ids))
        if not ids:
            return {}
        sources = self._call(lambda ix: self._mget(ix, "documents", ids, ["body"]))
        return {doc_id: document_from_source(source) for doc_id, source in sources.items()}

    def get_passages(self, pids: Sequence[int]) -> dict[int, StoredPassage]:
        ids = [str(int(p)) for p in dict.fromkeys(pids)]
        if not ids:
            return {}
        fields = ["doc_id", "ordinal", "section", "text", "mentions"]
        sources = self._call(lambda ix: self._mget(ix, "passages", ids, fields))
        return {
            int(pid): StoredPassage(
                int(pid), s["doc_id"], int(s.get("ordinal", 0)), s.get("section") or "", s.get("text") or "", s.get("mentions")
            )
            for pid, s in sources.items()
        }

    def documents_of(self, pids: Iterable[int]) -> dict[int, str]:
        pids = [int(p) for p in pids]
        with self._lock:
            out = {pid: self._doc_of[pid] for pid in pids if pid in self._doc_of}
        missing = [str(pid) for pid in pids if pid not in out]
        if missing:
            found = self._call(lambda ix: self._mget(ix, "passages", missing, ["doc_id"]))
            fetched = {int(pid): s["doc_id"] for pid, s in found.items()}
            self._remember(fetched.items())
            out.update(fetched)
        return out

    def _scan_documents(self, where: DocumentFilter, fields: list[str]) -> list[dict[str, Any]]:
        query = {"query": {"bool": {"filter": queries.filter_clauses(where)}}, "_source": fields}
        return self._call(lambda ix: list(scan(self.client, index=ix["documents"], query=query, size=1000)))

    def document_ids_where(self, where: DocumentFilter) -> list[str]:
        return sorted(h["_id"] for h in self._scan_documents(where, ["doc_id"]))

    def document_summaries(self, doc_ids: Sequence[str]) -> dict[str, DocumentSummary]:
        ids = list(dict.fromkeys(doc_ids))
        if not ids:
            return {}
        fields = ["kind", "title", "date", "patient_raw", "language", "modality_raw", "department_raw"]
        sources = self._call(lambda ix: self._mget(ix, "documents", ids, fields))
        return {
            doc_id: DocumentSummary(
                id=doc_id,
                kind=s["kind"],
                title=s.get("title") or "",
                date=dt.date.fromisoformat(s["date"]) if s.get("date") else None,
                patient_id=s.get("patient_raw"),
                language=s.get("language", "und"),
                modality=s.get("modality_raw"),
                department=s.get("department_raw"),
            )
            for doc_id, s in sources.items()
        }

    def stats(self) -> IndexStats:
        def run(ix: dict[str, str]) -> IndexStats:
            aggs = self.client.search(index=ix["documents"], size=0, aggs={"kinds": {"terms": {"field": "kind", "size": 100}}})
            by_kind = dict(sorted((b["key"], int(b["doc_count"])) for b in aggs["aggregations"]["kinds"]["buckets"]))
            images = {
                space: int(self.client.count(index=ix[family])["count"])
                for space, family in IMAGE_FAMILIES.items()
                if family in ix
            }
            return IndexStats(
                info=self.info(),
                documents=int(self.client.count(index=ix["documents"])["count"]),
                passages=int(self.client.count(index=ix["passages"])["count"]),
                by_kind=by_kind,
                image_vectors=images,
            )

        return self._call(run)

    def passage_language_counts(self) -> dict[str, int]:
        """A ``terms`` aggregation on the passages family's ``language`` keyword (each passage carries its
        document's filter fields): one ``size=0`` search, exact for the few languages an index holds."""
        def run(ix: dict[str, str]) -> dict[str, int]:
            aggs = self.client.search(index=ix["passages"], size=0, aggs={"languages": {"terms": {"field": "language", "size": 100}}})
            return {b["key"]: int(b["doc_count"]) for b in aggs["aggregations"]["languages"]["buckets"] if b["doc_count"]}

        return self._call(run)

    # -- maintenance ----------------------------------------------------------------------------
    def drop_everything(self) -> None:
        """Delete every generation, alias and template of this prefix (tests; a clean re-install)."""
        for generation in self.generations.all():
            self.generations.drop(generation)
        for family in ("passages", "documents", *IMAGE_FAMILIES.values()):
            try:
                self.client.indices.delete_index_template(name=f"{self.generations.prefix}-{family}")
            except NotFoundError:
                pass
        self._pin()
