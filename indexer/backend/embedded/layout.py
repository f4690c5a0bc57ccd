"""On-disk format of one index generation: a folder holding every store and a manifest.

    <index.dir>/generations/<n>/      (see :mod:`indexer.backend.embedded.generations`)
        manifest.json     encoder name and dimension, format version, timestamps, generation, next passage id
        metadata.sqlite   documents and passages (the source of truth for text and fields)
        dense.faiss       passage vectors, ids = passage ids
        lexical/          Tantivy index of passages (BM25, French and English analysis)
        images.faiss      pixel descriptors of image documents (+ images.ids.json: vector id → document id)
        images-clip.faiss CLIP image embeddings when a CLIP model is configured (+ images-clip.ids.json)

The manifest's encoder must match the one used to query; changing encoder means ``--rebuild``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel

#: 2: normalised keyword columns/fields (patient, department, modality) for filters and access restriction
#: 3: family text per relative (famrel_* fields, indexer.backend.base.RELATIVE_FIELDS)
FORMAT_VERSION = 3


class Manifest(BaseModel):
    format_version: int = FORMAT_VERSION
    encoder: str
    dim: int
    created_at: str
    updated_at: str
    #: the generation number (folder name): the API reloads when it changes
    generation: int = 0
    #: the next passage id to allocate: ids of removed passages are never reused by later runs
    #: (until ``--rebuild``), so an id always means one passage within a generation's lineage
    next_pid: int = 0

    @classmethod
    def new(cls, encoder: str, dim: int) -> Manifest:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return cls(encoder=encoder, dim=dim, created_at=now, updated_at=now)

    def touched(self) -> Manifest:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return self.model_copy(update={"updated_at": now, "generation": self.generation + 1})


@dataclass(frozen=True)
class IndexLayout:
    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def metadata(self) -> Path:
        return self.root / "metadata.sqlite"

    @property
    def dense(self) -> Path:
        return self.root / "dense.faiss"

    @property
    def lexical(self) -> Path:
        return self.root / "lexical"

    @property
    def images(self) -> Path:
        """Pixel-descriptor index of image documents (image→image search)."""
        return self.root / "images.faiss"

    @property
    def clip_images(self) -> Path:
        """CLIP image-embedding index, present only when a CLIP model is configured."""
        return self.root / "images-clip.faiss"

    def image_vectors(self, space: str) -> Path:
        """The FAISS file of an image space (``descriptor`` or ``clip``)."""
        return {"descriptor": self.images, "clip": self.clip_images}[space]

    def exists(self) -> bool:
        return self.manifest.is_file()

    def read_manifest(self) -> Manifest:
        return Manifest.model_validate_json(self.manifest.read_text(encoding="utf-8"))

    def write_manifest(self, manifest: Manifest) -> None:
        atomic_write_bytes(self.manifest, manifest.model_dump_json(indent=2).encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes, durable: bool = False) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file.

    The rename also matters for generations: a file hard-linked from the live generation is
    replaced (new inode), never rewritten in place. *durable*: fsync the file and its folder too.
    """
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(tmp, path)
    if durable:
        fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """fsync a folder, so the renames inside it survive a power loss."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
