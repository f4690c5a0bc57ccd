"""The Elasticsearch index: every read and write medsearch makes, in Elasticsearch's terms.

Reads go through the aliases (see :mod:`.generations`), so they only ever see a published and
refreshed generation; writes go to the physical indices of the generation being written. Passage
ids are integers allocated like the embedded backend's (one more than the largest in use), so a
search returns the same (passage id, document id) pairs on both engines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from elasticsearch import Elasticsearch

from indexer.backend.elasticsearch import mapping, queries
from indexer.backend.elasticsearch.bulk import bulk_write
from indexer.backend.elasticsearch.documents import document_from_source, document_source, filter_fields, passage_source
from indexer.backend.elasticsearch.generations import Generations
from indexer.backend.filters import DocumentFilter
from indexer.schema import Document, Passage
from indexer.store.lexical import DEFAULT_STATUSES

#: image vector families (one index each: their models and dimensions differ)
IMAGE_FAMILIES = {"descriptor": "images-descriptor", "clip": "images-clip"}
_FLUSH_ACTIONS = 1000
_MGET_CHUNK = 1000


@dataclass(frozen=True)
class PassageHit:
    pid: int
    doc_id: str
    score: float


@dataclass(frozen=True)
class StoredPassageRow:
    pid: int
    doc_id: str
    ordinal: int
    section: str
    text: str


class ElasticsearchIndex:
    """One medsearch index in an Elasticsearch cluster, named by *prefix*."""

    def __init__(
        self,
        client: Elasticsearch,
        prefix: str = "medsearch",
        *,
        shards: int = 1,
        replicas: int = 0,
        num_candidates: int = 200,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.shards = shards
        self.replicas = replicas
        self.num_candidates = num_candidates
        self.generations = Generations(client, prefix)
        self._target: str | None = None  # generation being written
        self._new_generation = False
        self._pending: list[dict[str, Any]] = []

    # -- templates ------------------------------------------------------------------------------
    def _template(self, family: str, mappings: dict[str, Any]) -> None:
        body = mapping.index_body(mappings, self.shards, self.replicas)
        self.client.indices.put_index_template(
            name=f"{self.prefix}-{family}",
            index_patterns=[f"{self.prefix}-{family}-*"],
            template=body,
            priority=200,
            meta={"managed_by": "medsearch"},
        )

    def ensure_templates(self, dims: int) -> None:
        """Index templates of the text families (image families get theirs with their first vector)."""
        self._template("passages", mapping.passages_mappings(dims))
        self._template("documents", mapping.documents_mappings())

    # -- write session --------------------------------------------------------------------------
    def begin(self, dims: int, rebuild: bool = False) -> str:
        """Start writing: into a new generation (rebuild, or nothing published yet) or the live one.
        Returns the generation written."""
        self.ensure_templates(dims)
        live = self.generations.live()
        if rebuild or live is None:
            self._target = self.generations.new_id()
            self._new_generation = True
            for family in ("passages", "documents"):
                self.client.indices.create(index=self.generations.index(family, self._target))
        else:
            self._target = live
            self._new_generation = False
        return self._target

    def _index(self, family: str) -> str:
        if self._target is None:
            raise RuntimeError("no write session: call begin() first")
        return self.generations.index(family, self._target)

    def _flush(self) -> None:
        if self._pending:
            actions, self._pending = self._pending, []
            bulk_write(self.client, actions)

    def _queue(self, action: dict[str, Any]) -> None:
        self._pending.append(action)
        if len(self._pending) >= _FLUSH_ACTIONS:
            self._flush()

    def _written_docs(self, doc_ids: Sequence[str], fields: list[str]) -> dict[str, dict[str, Any]]:
        """Sources of documents in the generation being written, realtime (sees this run's writes)."""
        self._flush()
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(doc_ids), _MGET_CHUNK):
            chunk = list(doc_ids[start : start + _MGET_CHUNK])
            response = self.client.mget(index=self._index("documents"), ids=chunk, source_includes=fields, realtime=True)
            out.update({d["_id"]: d["_source"] for d in response["docs"] if d.get("found")})
        return out

    def _scan(self, index: str, fields: list[str], query: dict[str, Any] | None = None) -> Iterable[dict[str, Any]]:
        from elasticsearch.helpers import scan

        body = {"query": query or {"match_all": {}}, "_source": fields}
        return scan(self.client, index=index, query=body, size=1000, preserve_order=False)

    def content_hashes(self) -> dict[str, str]:
        """Document id → content hash of everything in the generation being written."""
        self._flush()
        index = self._index("documents")
        self.client.indices.refresh(index=index)
        return {hit["_id"]: hit["_source"]["content_hash"] for hit in self._scan(index, ["content_hash"])}

    def source_paths(self) -> dict[str, str]:
        self._flush()
        index = self._index("documents")
        self.client.indices.refresh(index=index)
        return {hit["_id"]: hit["_source"].get("source_path", "") for hit in self._scan(index, ["source_path"])}

    def next_pid(self) -> int:
        """One more than the largest passage id written (passage ids are never reused within a run)."""
        self._flush()
        index = self._index("passages")
        self.client.indices.refresh(index=index)
        response = self.client.search(index=index, size=0, aggs={"top": {"max": {"field": "pid"}}})
        value = response["aggregations"]["top"]["value"]
        return 0 if value is None else int(value) + 1

    def remove_documents(self, doc_ids: Iterable[str]) -> list[int]:
        """Delete documents, their passages and image vectors; return the passage ids removed."""
        doc_ids = list(dict.fromkeys(doc_ids))
        if not doc_ids:
            return []
        known = self._written_docs(doc_ids, ["pids"])
        removed: list[int] = []
        for doc_id, source in known.items():
            for pid in source.get("pids", []):
                removed.append(int(pid))
                self._queue({"_op_type": "delete", "_index": self._index("passages"), "_id": str(pid)})
            self._queue({"_op_type": "delete", "_index": self._index("documents"), "_id": doc_id})
        for family in IMAGE_FAMILIES.values():
            if self.generations.exists(family, self._target or ""):
                for doc_id in doc_ids:
                    self._queue({"_op_type": "delete", "_index": self._index(family), "_id": doc_id})
        self._flush()
        return removed

    def add_document(
        self,
        document: Document,
        passages: Sequence[tuple[int, Passage]],
        contexts: Sequence[Mapping[str, str]] | None = None,
        vectors: np.ndarray | Sequence[Sequence[float]] | None = None,
    ) -> None:
        """Queue a document, its passages (with context texts and vectors) for the next bulk request."""
        base = filter_fields(document)
        for i, (pid, passage) in enumerate(passages):
            source = passage_source(
                document,
                pid,
                passage,
                contexts[i] if contexts is not None else None,
                vectors[i] if vectors is not None else None,
                base=base,
            )
            self._queue({"_op_type": "index", "_index": self._index("passages"), "_id": str(pid), "_source": source})
        source = document_source(document, [pid for pid, _ in passages])
        self._queue({"_op_type": "index", "_index": self._index("documents"), "_id": document.id, "_source": source})

    # -- image vectors --------------------------------------------------------------------------
    def _ensure_image_index(self, family: str, dims: int) -> str:
        index = self._index(family)
        if not self.client.indices.exists(index=index):
            self._template(family, mapping.images_mappings(dims))
            self.client.indices.create(index=index)
        return index

    def image_keys(self, kind: str) -> dict[str, tuple[str, str]]:
        """Document id → (model, key) of the stored image vectors of *kind* in the generation written."""
        family = IMAGE_FAMILIES[kind]
        index = self._index(family)
        self._flush()
        if not self.client.indices.exists(index=index):
            return {}
        self.client.indices.refresh(index=index)
        return {h["_id"]: (h["_source"].get("model", ""), h["_source"].get("key", "")) for h in self._scan(index, ["model", "key"])}

    def put_image_vector(self, kind: str, document: Document, key: str, model: str, vector: Sequence[float]) -> None:
        values = [float(x) for x in np.asarray(vector, dtype=np.float32).ravel()]
        index = self._ensure_image_index(IMAGE_FAMILIES[kind], len(values))
        source = {**filter_fields(document), "key": key, "model": model, "vector": values}
        self._queue({"_op_type": "index", "_index": index, "_id": document.id, "_source": source})

    def remove_image_vectors(self, kind: str, doc_ids: Iterable[str]) -> None:
        index = self._index(IMAGE_FAMILIES[kind])
        if not self.client.indices.exists(index=index):
            return
        for doc_id in doc_ids:
            self._queue({"_op_type": "delete", "_index": index, "_id": doc_id})
        self._flush()

    def commit(self) -> None:
        """Send what is queued and make it visible: refresh the generation written, and publish it
        (one atomic alias swap) when it is a new one."""
        self._flush()
        if self._target is None:
            return
        names = [self.generations.index(f, self._target) for f in ("passages", "documents", *IMAGE_FAMILIES.values())]
        existing = [n for n in names if self.client.indices.exists(index=n)]
        self.client.indices.refresh(index=",".join(existing))
        # a new generation swaps every alias; the live one may have gained an image index to alias
        self.generations.publish(self._target)
        self._new_generation = False

    def abort(self) -> None:
        """Drop an unpublished new generation (a failed rebuild leaves the live one untouched)."""
        self._pending = []
        if self._target is not None and self._new_generation:
            self.generations.drop(self._target)
        self._target = None
        self._new_generation = False

    # -- reading (aliases only) -----------------------------------------------------------------
    def _alias(self, family: str) -> str:
        return self.generations.alias(family)

    def published(self) -> str | None:
        """The live generation (None: nothing published): readers reload when it changes."""
        return self.generations.live()

    def lexical_search(
        self,
        text: str,
        limit: int,
        where: DocumentFilter | None = None,
        statuses: tuple[str, ...] = DEFAULT_STATUSES,
        concepts: list[list[str]] | None = None,
        required: list[tuple[list[str], tuple[str, ...]]] | None = None,
    ) -> list[PassageHit]:
        query = queries.lexical_query(text, where, statuses, concepts, required)
        if query is None or limit <= 0:
            return []
        response = self.client.search(
            index=self._alias("passages"), query=query, size=limit, _source=["doc_id"], track_total_hits=False
        )
        return [PassageHit(int(h["_id"]), h["_source"]["doc_id"], float(h["_score"])) for h in response["hits"]["hits"]]

    def dense_search(self, vector: Sequence[float], limit: int, where: DocumentFilter | None = None) -> list[PassageHit]:
        if limit <= 0:
            return []
        values = [float(x) for x in np.asarray(vector, dtype=np.float32).ravel()]
        knn = queries.knn_query(values, limit, where, self.num_candidates)
        response = self.client.search(index=self._alias("passages"), knn=knn, size=limit, _source=["doc_id"])
        return [
            PassageHit(int(h["_id"]), h["_source"]["doc_id"], queries.cosine_from_score(h["_score"]))
            for h in response["hits"]["hits"]
        ]

    def image_search(
        self, kind: str, vector: Sequence[float], limit: int, where: DocumentFilter | None = None
    ) -> list[tuple[str, float]]:
        alias = self._alias(IMAGE_FAMILIES[kind])
        if limit <= 0 or not self.client.indices.exists(index=alias):
            return []
        values = [float(x) for x in np.asarray(vector, dtype=np.float32).ravel()]
        knn = queries.knn_query(values, limit, where, self.num_candidates)
        response = self.client.search(index=alias, knn=knn, size=limit, _source=False)
        return [(h["_id"], queries.cosine_from_score(h["_score"])) for h in response["hits"]["hits"]]

    def image_vector(self, kind: str, doc_id: str) -> np.ndarray | None:
        alias = self._alias(IMAGE_FAMILIES[kind])
        if not self.client.indices.exists(index=alias):
            return None
        response = self.client.mget(index=alias, ids=[doc_id], source_includes=["vector"], realtime=False)
        docs = [d for d in response["docs"] if d.get("found")]
        return np.asarray(docs[0]["_source"]["vector"], dtype=np.float32) if docs else None

    def image_count(self, kind: str) -> int:
        alias = self._alias(IMAGE_FAMILIES[kind])
        if not self.client.indices.exists(index=alias):
            return 0
        return int(self.client.count(index=alias)["count"])

    def _mget(self, family: str, ids: Sequence[str], fields: list[str] | None = None) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        alias = self._alias(family)
        if not ids or not self.client.indices.exists(index=alias):
            return out
        for start in range(0, len(ids), _MGET_CHUNK):
            chunk = list(ids[start : start + _MGET_CHUNK])
            kwargs: dict[str, Any] = {"source_includes": fields} if fields else {}
            response = self.client.mget(index=alias, ids=chunk, realtime=False, **kwargs)
            out.update({d["_id"]: d["_source"] for d in response["docs"] if d.get("found")})
        return out

    def get_documents(self, doc_ids: Sequence[str]) -> dict[str, Document]:
        sources = self._mget("documents", list(dict.fromkeys(doc_ids)), ["body"])
        return {doc_id: document_from_source(source) for doc_id, source in sources.items()}

    def get_passages(self, pids: Sequence[int]) -> dict[int, StoredPassageRow]:
        fields = ["doc_id", "ordinal", "section", "text"]
        sources = self._mget("passages", [str(p) for p in dict.fromkeys(pids)], fields)
        return {
            int(pid): StoredPassageRow(int(pid), s["doc_id"], int(s.get("ordinal", 0)), s.get("section", ""), s.get("text", ""))
            for pid, s in sources.items()
        }

    def document_ids_where(self, where: DocumentFilter) -> list[str]:
        alias = self._alias("documents")
        if not self.client.indices.exists(index=alias):
            return []
        query = {"bool": {"filter": queries.filter_clauses(where)}}
        return sorted(hit["_id"] for hit in self._scan(alias, [], query))

    def counts_by_kind(self) -> dict[str, int]:
        alias = self._alias("documents")
        if not self.client.indices.exists(index=alias):
            return {}
        response = self.client.search(index=alias, size=0, aggs={"kinds": {"terms": {"field": "kind", "size": 100}}})
        return dict(sorted((b["key"], int(b["doc_count"])) for b in response["aggregations"]["kinds"]["buckets"]))

    def passage_count(self) -> int:
        alias = self._alias("passages")
        if not self.client.indices.exists(index=alias):
            return 0
        return int(self.client.count(index=alias)["count"])

    def drop_everything(self) -> None:
        """Delete every generation and template of this prefix (tests, and `--rebuild` clean-ups)."""
        for generation in self.generations.all():
            self.generations.drop(generation)
        for family in ("passages", "documents", *IMAGE_FAMILIES.values()):
            try:
                self.client.indices.delete_index_template(name=f"{self.prefix}-{family}")
            except Exception:  # noqa: BLE001  (absent template)
                pass
