"""The write side: one indexing run = one new generation, published by an alias swap.

A run starts from a clone of the live generation (or empty indices with ``rebuild``), applies its
removals and additions with bulk requests, and :meth:`ElasticsearchWriter.publish` refreshes it,
write-blocks it and swaps every alias to it at once. The new generation is invisible to readers
until then, so it can be refreshed freely (content hashes, next passage id) without exposing
anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan

from indexer.backend.base import AddedDocument, IndexInfo, IndexMismatchError, IndexWriter
from indexer.backend.elasticsearch import mapping, resume
from indexer.backend.elasticsearch.bulk import bulk_write
from indexer.backend.elasticsearch.documents import (
    FILTER_FIELD_NAMES,
    document_source,
    filter_fields,
    image_filter_update,
    moved_source_update,
    passage_source,
)
from indexer.backend.elasticsearch.generations import IMAGE_FAMILIES, TEXT_FAMILIES, Generations

#: bump when the index layout changes incompatibly (an older index then needs --rebuild).
#: 2: the analyzers' signed-abbreviation character filters (« ST+ » / « ST- », mapping.py)
#: 3: those filters read « st » in any case (« idm st- »)
#: 4: family text per relative (``famrel_*`` fields, indexer.backend.base.RELATIVE_FIELDS; strict mapping)
FORMAT_VERSION = 4
_FLUSH_ACTIONS = 1000
_MGET_CHUNK = 1000


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def generation_meta(client: Elasticsearch, index: str) -> dict[str, Any]:
    """The ``_meta`` of a passages index: encoder, dim, format, created_at, updated_at, generation."""
    body = client.indices.get_mapping(index=index).body
    return next(iter(body.values()))["mappings"].get("_meta", {}) or {}


def info_from_meta(meta: dict[str, Any]) -> IndexInfo:
    return IndexInfo(
        encoder=str(meta.get("encoder", "")),
        dim=int(meta.get("dim", 0)),
        created_at=str(meta.get("created_at", "")),
        updated_at=str(meta.get("updated_at", "")),
        generation=int(meta.get("generation", 0)),
    )


class ElasticsearchWriter(IndexWriter):
    def __init__(
        self,
        client: Elasticsearch,
        generations: Generations,
        encoder: str,
        dim: int,
        *,
        rebuild: bool = False,
        keep: int = 2,
        shards: int = 1,
        replicas: int = 0,
    ) -> None:
        self.client = client
        self.generations = generations
        self.encoder, self.dim, self.keep = encoder, dim, keep
        self.shards, self.replicas = shards, replicas
        self.published = False
        self._pending: list[dict[str, Any]] = []
        self._image_keys: dict[str, dict[str, str]] = {}
        live = generations.live()
        live_meta = generation_meta(client, generations.index("passages", live)) if live is not None else {}
        if live is not None and not rebuild:
            if live_meta.get("encoder") != encoder or int(live_meta.get("dim", 0)) != dim or live_meta.get("format") != FORMAT_VERSION:
                raise IndexMismatchError(
                    f"Elasticsearch index {generations.alias('passages')} was built with encoder "
                    f"{live_meta.get('encoder')} ({live_meta.get('dim')}-d, format {live_meta.get('format')}); configured "
                    f"encoder is {encoder} ({dim}-d, format {FORMAT_VERSION}). Re-run with --rebuild."
                )
        # a killed run that started from the same point is resumed from its last committed batch
        # (resume.py); other abandoned runs (unpublished generations newer than the live one) are dropped
        base = None if rebuild else live
        wanted = resume.marker(base, rebuild, encoder, dim, FORMAT_VERSION)
        candidates = dict(resume.unpublished(client, generations, live))
        adopted = resume.find_resumable(list(candidates.items()), wanted)
        for stale, meta in candidates.items():
            if stale != adopted and not resume.owner_alive(meta):
                generations.drop(stale)
        self._ensure_templates()
        self._base, self._baseline = base, None
        #: documents a resumed run found half-written and removed (None: a fresh run)
        self.resumed_from: list[str] | None = None
        if adopted is not None:
            self.generation = adopted
            self.resumed_from = resume.repair(client, generations, adopted)
            self._meta = {**candidates[adopted], "owner": resume.owner()}
            lineage_next = int(candidates[adopted].get("next_pid", 0))
        else:
            self.generation = max([*generations.all(), live or 0, int(live_meta.get("generation", 0))]) + 1
            created_at = _now()
            if live is not None and not rebuild:
                created_at = str(live_meta.get("created_at", created_at))
                for family, source in generations.live_indices().items():
                    self._clone(source, self._index(family))
            else:
                for family in TEXT_FAMILIES:
                    client.indices.create(index=self._index(family))
            # the marker goes in last: a generation without one (killed while being created) is dropped
            self._meta = {"encoder": encoder, "dim": dim, "format": FORMAT_VERSION, "created_at": created_at,
                          "updated_at": created_at, "generation": self.generation,
                          resume.MARKER: wanted, "owner": resume.owner()}
            # passage ids are never reused within a lineage (a removed document's ids stay retired, as in
            # the embedded backend); a rebuild starts a new lineage at 0
            lineage_next = int(live_meta.get("next_pid", 0)) if live is not None and not rebuild else 0
        self._next_pid = max(lineage_next, self._max_pid() + 1)
        self._meta["next_pid"] = self._next_pid
        client.indices.put_mapping(index=self._index("passages"), meta=self._meta)

    # -- plumbing -------------------------------------------------------------------------------
    def _index(self, family: str) -> str:
        return self.generations.index(family, self.generation)

    def _template(self, family: str, mappings: dict[str, Any]) -> None:
        prefix = self.generations.prefix
        self.client.indices.put_index_template(
            name=f"{prefix}-{family}",
            index_patterns=[f"{prefix}-{family}-*"],
            template=mapping.index_body(mappings, self.shards, self.replicas),
            priority=200,
            meta={"managed_by": "medsearch"},
        )

    def _ensure_templates(self) -> None:
        self._template("passages", mapping.passages_mappings(self.dim))
        self._template("documents", mapping.documents_mappings())

    def _clone(self, source: str, target: str) -> None:
        """Copy a live (write-blocked) index into this run's generation, writable and unrefreshed."""
        self.client.indices.put_settings(index=source, settings={"index.blocks.write": True})
        self.client.indices.clone(
            index=source, target=target, settings={"index.blocks.write": False, "index.refresh_interval": "-1"}
        )

    def _flush(self) -> None:
        if self._pending:
            actions, self._pending = self._pending, []
            bulk_write(self.client, actions)

    def _queue(self, action: dict[str, Any]) -> None:
        self._pending.append(action)
        if len(self._pending) >= _FLUSH_ACTIONS:
            self._flush()

    def _refreshed(self, family: str) -> str:
        """This run's index of *family*, flushed and refreshed (invisible to readers: harmless)."""
        self._flush()
        index = self._index(family)
        self.client.indices.refresh(index=index)
        return index

    def _max_pid(self) -> int:
        index = self._refreshed("passages")
        response = self.client.search(index=index, size=0, aggs={"top": {"max": {"field": "pid"}}})
        value = response["aggregations"]["top"]["value"]
        return -1 if value is None else int(value)

    def _scan(self, index: str, fields: list[str]) -> Iterable[dict[str, Any]]:
        return scan(self.client, index=index, query={"query": {"match_all": {}}, "_source": fields}, size=1000)

    def _mget(self, family: str, ids: Sequence[str], fields: list[str]) -> dict[str, dict[str, Any]]:
        self._flush()
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), _MGET_CHUNK):
            response = self.client.mget(
                index=self._index(family), ids=list(ids[start : start + _MGET_CHUNK]), source_includes=fields, realtime=True
            )
            out.update({d["_id"]: d.get("_source", {}) for d in response["docs"] if d.get("found")})
        return out

    # -- documents ------------------------------------------------------------------------------
    def content_hashes(self) -> dict[str, str]:
        index = self._refreshed("documents")
        return {hit["_id"]: hit["_source"]["content_hash"] for hit in self._scan(index, ["content_hash"])}

    def source_paths(self) -> dict[str, str]:
        index = self._refreshed("documents")
        return {hit["_id"]: hit["_source"].get("source_path", "") for hit in self._scan(index, ["source_path"])}

    def baseline(self) -> tuple[dict[str, str], dict[str, str]]:
        """(content hashes, source paths) of the generation this run started from, for the run's counts:
        what :meth:`content_hashes` said at the start, except in a resumed run (then the live one's)."""
        if self._baseline is None:
            if self.resumed_from is None:
                self._baseline = (self.content_hashes(), self.source_paths())
            elif self._base is None:
                self._baseline = ({}, {})
            else:
                index = self.generations.index("documents", self._base)
                hits = list(self._scan(index, ["content_hash", "source_path"]))
                self._baseline = ({h["_id"]: h["_source"]["content_hash"] for h in hits},
                                  {h["_id"]: h["_source"].get("source_path", "") for h in hits})
        return self._baseline

    def remove_documents(self, doc_ids: Iterable[str]) -> int:
        doc_ids = list(dict.fromkeys(doc_ids))
        known = self._mget("documents", doc_ids, ["pids"]) if doc_ids else {}
        for doc_id, source in known.items():
            for pid in source.get("pids", []):
                self._queue({"_op_type": "delete", "_index": self._index("passages"), "_id": str(int(pid))})
            self._queue({"_op_type": "delete", "_index": self._index("documents"), "_id": doc_id})
        self._flush()
        return len(known)

    def move_sources(self, paths: Mapping[str, str]) -> int:
        """A partial update of each document's ``source_path`` and JSON ``body`` (what reads return) in this
        run's documents index; passages carry no path, so they and their vectors are not touched."""
        bodies = self._mget("documents", list(paths), ["body"]) if paths else {}
        for doc_id, source in bodies.items():
            self._queue({"_op_type": "update", "_index": self._index("documents"), "_id": doc_id,
                         "doc": moved_source_update(source["body"], paths[doc_id])})
        self._flush()
        return len(bodies)

    def add_documents(self, items: Sequence[AddedDocument]) -> list[list[int]]:
        allocated: list[list[int]] = []
        image_indices = [self._index(f) for s, f in IMAGE_FAMILIES.items() if s in self._image_keys or self._has(f)]
        for item in items:
            document = item.document
            pids = list(range(self._next_pid, self._next_pid + len(item.passages)))
            self._next_pid += len(pids)
            base = filter_fields(document)
            vectors = np.asarray(item.vectors, dtype=np.float32) if item.vectors is not None else None
            for i, (pid, passage) in enumerate(zip(pids, item.passages)):
                context = item.contexts[i] if item.contexts is not None else None
                vector = vectors[i] if vectors is not None and len(vectors) else None
                source = passage_source(document, pid, passage, context, vector, base=base)
                self._queue({"_op_type": "index", "_index": self._index("passages"), "_id": str(pid), "_source": source})
            self._queue({"_op_type": "index", "_index": self._index("documents"), "_id": document.id,
                         "_source": document_source(document, pids, item.stored_hash())})
            for index in image_indices:  # a kept image vector follows its document's new fields
                self._queue({"_op_type": "update", "_index": index, "_id": document.id, "doc": image_filter_update(document)})
            allocated.append(pids)
        return allocated

    # -- image vectors --------------------------------------------------------------------------
    def _has(self, family: str) -> bool:
        return bool(self.client.indices.exists(index=self._index(family)))

    def ensure_image_space(self, space: str, dim: int, model: str) -> None:
        family = IMAGE_FAMILIES[space]
        index = self._index(family)
        if self._has(family):
            meta = next(iter(self.client.indices.get_mapping(index=index).body.values()))["mappings"].get("_meta", {}) or {}
            if meta.get("model") != model or int(meta.get("dim", 0)) != dim:
                self.client.indices.delete(index=index)  # another model: every vector is recomputed
        if not self._has(family):
            self._template(family, mapping.images_mappings(dim, model))
            self.client.indices.create(index=index)
            self._image_keys[space] = {}
        else:
            self._refreshed(family)
            self._image_keys[space] = {h["_id"]: h["_source"].get("key", "") for h in self._scan(index, ["key"])}

    def image_vector_key(self, space: str, doc_id: str) -> str | None:
        return self._image_keys.get(space, {}).get(doc_id)

    def put_image_vectors(self, space: str, items: Sequence[tuple[str, str, np.ndarray]]) -> None:
        if space not in self._image_keys:
            raise RuntimeError(f"ensure_image_space({space!r}, ...) must be called before writing to it")
        fields = self._mget("documents", [doc_id for doc_id, _, _ in items], list(FILTER_FIELD_NAMES))
        index = self._index(IMAGE_FAMILIES[space])
        for doc_id, key, vector in items:
            values = [float(x) for x in np.asarray(vector, dtype=np.float32).ravel()]
            if not any(values):  # cosine rejects a zero vector: a blank image has nothing to compare
                continue
            source = {**fields.get(doc_id, {"doc_id": doc_id}), "key": key, "vector": values}
            self._queue({"_op_type": "index", "_index": index, "_id": doc_id, "_source": source})
            self._image_keys[space][doc_id] = key

    def remove_image_vectors(self, doc_ids: Iterable[str]) -> int:
        doc_ids = list(dict.fromkeys(doc_ids))
        had: set[str] = set()
        for space, keys in self._image_keys.items():
            index = self._index(IMAGE_FAMILIES[space])
            for doc_id in doc_ids:
                if keys.pop(doc_id, None) is not None:
                    had.add(doc_id)
                    self._queue({"_op_type": "delete", "_index": index, "_id": doc_id})
        for space, family in IMAGE_FAMILIES.items():  # spaces this run did not declare
            if space not in self._image_keys and self._has(family):
                found = self._mget(family, doc_ids, ["key"])
                had |= set(found)
                for doc_id in found:
                    self._queue({"_op_type": "delete", "_index": self._index(family), "_id": doc_id})
        self._flush()
        return len(had)

    # -- publishing -----------------------------------------------------------------------------
    def _indices(self) -> list[str]:
        families = [*TEXT_FAMILIES, *IMAGE_FAMILIES.values()]
        return [self._index(f) for f in families if self._has(f)]

    def commit(self) -> None:
        """A checkpoint: bulk flushed, indices refreshed, ``next_pid`` saved (a killed run resumes from here)."""
        self._flush()
        self.client.indices.refresh(index=",".join(self._indices()))
        if self._meta.get("next_pid") != self._next_pid:
            self._meta["next_pid"] = self._next_pid
            self.client.indices.put_mapping(index=self._index("passages"), meta=self._meta)

    def publish(self) -> IndexInfo:
        self.commit()
        self._meta["updated_at"] = _now()
        self._meta["next_pid"] = self._next_pid
        self._meta[resume.MARKER] = "published"  # never equal to a run's marker: not adoptable
        self.client.indices.put_mapping(index=self._index("passages"), meta=self._meta)
        indices = self._indices()
        self.client.indices.put_settings(index=",".join(indices), settings={"index.blocks.write": True})
        self.generations.publish(self.generation, keep=self.keep)
        self.published = True
        return info_from_meta(self._meta)

    def abort(self) -> None:
        self._pending = []
        if not self.published:
            self.generations.drop(self.generation)
