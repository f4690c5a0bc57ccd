"""The embedded backend's write side: one indexing run = one new generation, published atomically.

The run works in a staging folder that starts as a copy-on-write copy of the live generation (or
empty with ``rebuild``); readers never see it until :meth:`EmbeddedWriter.publish`. Inside it the
write order no longer matters for crash safety (nothing is visible before publish), so each store is
simply written, committed, and the whole folder published. Passage ids are allocated here, from the
manifest's ``next_pid``: never reused within a generation's lineage (a ``--rebuild`` starts again from 0).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from indexer.backend.base import (
    IMAGE_SPACES,
    AddedDocument,
    ImageSpace,
    IndexInfo,
    IndexMismatchError,
    IndexWriter,
)
from indexer.backend.embedded.dense import DenseIndex
from indexer.backend.embedded.generations import Generations
from indexer.backend.embedded.image_vectors import ImageVectorIndex
from indexer.backend.embedded.layout import FORMAT_VERSION, IndexLayout, Manifest
from indexer.backend.embedded.lexical import LexicalIndex
from indexer.backend.embedded.resume import MARKER, adopt, find_resumable, repair, write_marker
from indexer.backend.embedded.metadata import MetadataStore
from indexer.crashpoints import crash_point

if TYPE_CHECKING:
    from indexer.settings import Settings


class EmbeddedWriter(IndexWriter):
    def __init__(self, generations: Generations, settings: Settings, encoder: str, dim: int, *, rebuild: bool) -> None:
        self.generations = generations
        self.settings = settings
        self.rebuild = rebuild
        self.published = False
        generations.root.mkdir(parents=True, exist_ok=True)
        live = generations.current()
        live_manifest = generations.layout(live).read_manifest() if live is not None else None
        if live_manifest is not None and not rebuild:
            if live_manifest.format_version != FORMAT_VERSION:
                raise IndexMismatchError(
                    f"index at {generations.root} has format {live_manifest.format_version}, this version writes "
                    f"{FORMAT_VERSION}. Re-run with --rebuild."
                )
            if live_manifest.encoder != encoder or live_manifest.dim != dim:
                raise IndexMismatchError(
                    f"index at {generations.root} was built with encoder {live_manifest.encoder} ({live_manifest.dim}-d); "
                    f"configured encoder is {encoder} ({dim}-d). Re-run with --rebuild."
                )
        self._legacy = generations.is_legacy()
        base = None if rebuild else live
        # a killed run that started from the same point is resumed from its last committed batch
        resumable = find_resumable(generations, base, rebuild, encoder, dim)
        if resumable is not None:
            try:
                self.staging = adopt(resumable)
            except OSError:  # another run adopted it first: start afresh
                resumable = None
        if resumable is not None:
            generations.discard_leftovers(keep=self.staging)
            self.resumed_from: list[str] | None = repair(IndexLayout(self.staging), dim)
        else:
            generations.discard_leftovers()
            self.staging = generations.stage(base)
            write_marker(self.staging, base, rebuild, encoder, dim)
            self.resumed_from = None
        self.layout = IndexLayout(self.staging)
        self.metadata = MetadataStore(self.layout.metadata)
        # what the run changes is counted against the generation it started from: a resumed run's
        # staging already holds the killed run's batches, the live generation does not
        if self.resumed_from is not None and base is not None:
            live_store = MetadataStore(generations.layout(base).metadata, readonly=True)
            self._baseline = (live_store.content_hashes(), live_store.source_paths())
            live_store.close()
        elif self.resumed_from is not None:
            self._baseline = ({}, {})
        else:
            self._baseline = (self.metadata.content_hashes(), self.metadata.source_paths())
        self.lexical = LexicalIndex(self.layout.lexical)
        self.dense = DenseIndex.load(self.layout.dense, dim, settings.dense)
        base = live_manifest if live_manifest is not None and not rebuild else Manifest.new(encoder, dim)
        # ids continue after every id this generation ever used (a removed document's ids are not reused);
        # a rebuild starts again from 0: readers pin one generation per request (IndexBackend.pinned)
        self._next_pid = max(base.next_pid, self.metadata.next_pid(), self.dense.max_id() + 1)
        self.manifest = base
        self._images: dict[str, ImageVectorIndex] = {}
        self._images_changed: set[str] = set()
        crash_point("writer.staged")

    # -- reading what is there ------------------------------------------------------------------
    def content_hashes(self) -> dict[str, str]:
        return self.metadata.content_hashes()

    def source_paths(self) -> dict[str, str]:
        return self.metadata.source_paths()

    def baseline(self) -> tuple[dict[str, str], dict[str, str]]:
        """(content hashes, source paths) of the generation this run started from, for the run's
        counts: equal to :meth:`content_hashes` at the start, except in a resumed run."""
        return self._baseline

    # -- text stores ---------------------------------------------------------------------------
    def remove_documents(self, doc_ids: Iterable[str]) -> int:
        doc_ids = list(dict.fromkeys(doc_ids))
        known = self.metadata.content_hashes()
        present = [d for d in doc_ids if d in known]
        removed_pids = self.metadata.delete_documents(present)
        self.lexical.delete_documents(present)
        self.dense.remove(removed_pids)
        return len(present)

    def move_sources(self, paths: Mapping[str, str]) -> int:
        # only SQLite holds source paths: Tantivy, FAISS and the passage table key on ids
        return self.metadata.move_sources(paths)

    def add_documents(self, items: Sequence[AddedDocument]) -> list[list[int]]:
        allocated: list[list[int]] = []
        for item in items:
            if len(item.vectors) != len(item.passages):
                raise ValueError(f"{item.document.id}: one vector per passage is required")
            pids = list(range(self._next_pid, self._next_pid + len(item.passages)))
            self._next_pid += len(pids)
            numbered = list(zip(pids, item.passages))
            if pids:
                self.dense.add(pids, np.asarray(item.vectors, dtype=np.float32))
            self.lexical.add(item.document, numbered, list(item.contexts) if item.contexts is not None else None)
            self.metadata.add_document(item.document, numbered, item.stored_hash())
            allocated.append(pids)
        return allocated

    # -- image spaces ----------------------------------------------------------------------------
    def _space(self, space: str) -> ImageVectorIndex | None:
        if space not in self._images:
            stored = ImageVectorIndex.open_stored(self.layout.image_vectors(space))
            if stored is None:
                return None
            self._images[space] = stored
        return self._images[space]

    def ensure_image_space(self, space: ImageSpace, dim: int, model: str) -> None:
        current = self._images.get(space)
        if current is not None and current.model == model and current.dim == dim:
            return
        self._images[space] = ImageVectorIndex.load(self.layout.image_vectors(space), dim, model)
        self._images_changed.add(space)  # a model change empties the space: save it even if nothing is added

    def image_vector_key(self, space: ImageSpace, doc_id: str) -> str | None:
        index = self._images.get(space)
        return index.key_of(doc_id) if index is not None else None

    def put_image_vectors(self, space: ImageSpace, items: Sequence[tuple[str, str, np.ndarray]]) -> None:
        index = self._images.get(space)
        if index is None:
            raise ValueError(f"image space {space!r} not declared: call ensure_image_space first")
        for doc_id, key, vector in items:
            index.put(doc_id, key, vector)
        if items:
            self._images_changed.add(space)

    def remove_image_vectors(self, doc_ids: Iterable[str]) -> int:
        doc_ids = list(doc_ids)
        removed = 0
        for space in IMAGE_SPACES:
            index = self._space(space)
            if index is None:
                continue
            count = index.remove(doc_ids)
            if count:
                self._images_changed.add(space)
            removed = max(removed, count)
        return removed

    # -- commit / publish ------------------------------------------------------------------------
    def commit(self) -> None:
        self.lexical.commit()
        crash_point("commit.after_lexical")
        self.dense.save(self.layout.dense)
        crash_point("commit.after_dense")
        self.metadata.commit()
        crash_point("commit.after_metadata")
        for space in sorted(self._images_changed):
            self._images[space].save(self.layout.image_vectors(space))
        self._images_changed.clear()
        crash_point("commit.done")

    def publish(self) -> IndexInfo:
        from indexer.backend.embedded.backend import info_of

        self.commit()
        self.metadata.finalise()
        (self.staging / MARKER).unlink(missing_ok=True)  # a published generation is not resumable
        number = self.generations.next_number()
        manifest = self.manifest.touched().model_copy(update={"generation": number, "next_pid": self._next_pid})
        self.layout.write_manifest(manifest)
        self.generations.publish(self.staging, number)
        self.published = True
        backend = self.settings.backend
        self.generations.collect(backend.keep_generations, backend.grace_seconds)
        if self._legacy:
            self.generations.remove_legacy()
        return info_of(manifest)

    def abort(self) -> None:
        if self.published:
            return
        try:
            self.metadata.close()
        except Exception:  # noqa: BLE001 - already closed
            pass
        shutil.rmtree(self.staging, ignore_errors=True)
