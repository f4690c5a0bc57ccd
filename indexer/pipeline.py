"""The indexing pipeline: sources → documents → passages → vectors → the three stores.

Runs once or incrementally: documents whose content hash is unchanged are skipped, changed ones are
replaced, and (with ``prune``) documents whose source file disappeared are removed. Files that cannot
be read are skipped and reported; a file that *was* indexed and is now unreadable keeps its old entry,
so a bad export never loses data. Write order (lexical, dense, then SQLite, then the manifest) means
an interrupted run leaves at worst orphan passages that retrieval ignores.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from indexer.clinical import split_by_context
from indexer.encoders import Encoder
from indexer.imaging.sync import sync_image_indexes
from indexer.linking import group_series, link_documents
from indexer.schema import Document, Passage
from indexer.settings import Settings
from indexer.sources import SourceError, discover_files, parse_file
from indexer.store.dense import DenseIndex
from indexer.store.layout import FORMAT_VERSION, IndexLayout, Manifest
from indexer.store.lexical import LexicalIndex
from indexer.store.metadata import MetadataStore
from indexer.text.passages import split_passages

ProgressFactory = Callable[[Iterable, str, int], Iterable]


def _no_progress(items: Iterable, description: str, total: int) -> Iterable:
    return items


@dataclass
class IndexReport:
    """What an indexing run did, printed by the CLI and returned to callers and tests."""

    files_seen: int = 0
    documents_added: int = 0
    documents_updated: int = 0
    documents_unchanged: int = 0
    documents_removed: int = 0
    passages_added: int = 0
    images_described: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


class EncoderMismatchError(RuntimeError):
    pass


PassageContexts = dict[str, str]  # context status → the passage's text with that status


def passage_contexts(document: Document, passage: Passage) -> PassageContexts:
    """Split a passage by clinical context (affirmed, negated, hypothetical, family).

    The section heading is analysed with the text (« Antécédents familiaux : » makes its whole
    section family history) but is not itself part of any field.
    """
    language = document.language if document.language in ("fr", "en") else None
    prefix = f"{passage.section} :\n" if passage.section else ""
    full = prefix + passage.text
    parts: dict[str, list[str]] = {}
    for span in split_by_context(full, language):
        start = max(span.start, len(prefix))
        text = full[start : span.end].strip()
        if text.strip(".,;:!?-– "):  # a lone full stop left between two negated sentences is not content
            parts.setdefault(span.status.value, []).append(text)
    return {status: "\n".join(texts) for status, texts in parts.items()}


def _embedding_text(document: Document, passage: Passage, contexts: PassageContexts) -> str:
    """What the dense encoder sees: title and section for context, then only the affirmed and
    hypothetical text: a vector cannot tell « pas d'épanchement » from « épanchement », so negated
    and family-history mentions are left to the lexical index's own fields."""
    header = " — ".join(part for part in (document.title, passage.section) if part)
    body = "\n".join(contexts[s] for s in ("affirmed", "hypothetical") if s in contexts)
    return f"{header}\n{body}".strip() if header else body


def parse_sources(
    paths: list[Path],
    max_bytes: int | None,
    progress: ProgressFactory = _no_progress,
    ignore: list[str] | tuple[str, ...] = (),
) -> tuple[list[Document], list[tuple[str, str]], int]:
    """Parse every supported file under *paths*; return (documents, skipped (path, reason), files seen)."""
    files = discover_files(paths, ignore)
    documents: dict[str, Document] = {}
    skipped: list[tuple[str, str]] = []
    missing = [str(p) for p in paths if not p.exists()]
    skipped += [(p, "path does not exist") for p in missing]
    for path in progress(files, "Lecture des sources", len(files)):
        try:
            parsed = parse_file(path, max_bytes=max_bytes)
        except SourceError as exc:
            skipped.append((exc.path, exc.reason))
            continue
        for document in parsed:
            if document.id in documents:
                skipped.append((str(path), f"duplicate document id {document.id!r} (first: {documents[document.id].source_path})"))
                continue
            documents[document.id] = document
    ordered = group_series(list(documents.values()))
    link_documents(ordered)
    return ordered, skipped, len(files)


def _open_layout(settings: Settings, encoder: Encoder, rebuild: bool) -> tuple[IndexLayout, Manifest]:
    layout = IndexLayout(settings.index.dir)
    if rebuild and layout.root.exists():
        shutil.rmtree(layout.root)
    layout.root.mkdir(parents=True, exist_ok=True)
    if layout.exists():
        manifest = layout.read_manifest()
        if manifest.format_version != FORMAT_VERSION:
            raise EncoderMismatchError(
                f"index at {layout.root} has format {manifest.format_version}, this version writes {FORMAT_VERSION}. "
                "Re-run with --rebuild."
            )
        if manifest.encoder != encoder.name or manifest.dim != encoder.dim:
            raise EncoderMismatchError(
                f"index at {layout.root} was built with encoder {manifest.encoder} ({manifest.dim}-d); "
                f"configured encoder is {encoder.name} ({encoder.dim}-d). Re-run with --rebuild."
            )
        return layout, manifest
    return layout, Manifest.new(encoder.name, encoder.dim)


def index_paths(
    paths: list[Path],
    settings: Settings,
    encoder: Encoder,
    *,
    rebuild: bool = False,
    prune: bool = False,
    progress: ProgressFactory = _no_progress,
) -> IndexReport:
    """Index every supported file under *paths* into ``settings.index.dir``."""
    report = IndexReport()
    started = time.perf_counter()
    max_bytes = int(settings.index.max_file_mb * 1e6)
    documents, report.skipped, report.files_seen = parse_sources(paths, max_bytes, progress, settings.index.ignore)
    report.seconds["parse"] = time.perf_counter() - started

    layout, manifest = _open_layout(settings, encoder, rebuild)
    metadata = MetadataStore(layout.metadata)
    lexical = LexicalIndex(layout.lexical)
    dense = DenseIndex.load(layout.dense, encoder.dim, settings.dense)
    try:
        known = metadata.content_hashes()
        changed = [d for d in documents if known.get(d.id) != d.content_hash()]
        report.documents_unchanged = len(documents) - len(changed)
        report.documents_updated = sum(d.id in known for d in changed)
        report.documents_added = len(changed) - report.documents_updated

        to_remove = [d.id for d in changed if d.id in known]
        if prune:
            gone = [doc_id for doc_id, source in metadata.source_paths().items() if not Path(source).exists()]
            report.documents_removed = len(gone)
            to_remove += gone
        removed_pids = metadata.delete_documents(to_remove)
        lexical.delete_documents(to_remove)
        dense.remove(removed_pids)

        t0 = time.perf_counter()
        next_pid = max(metadata.next_pid(), dense.max_id() + 1)
        work: list[tuple[Document, list[tuple[int, Passage]], list[PassageContexts]]] = []
        for document in changed:
            passages = split_passages(document, settings.passages.max_words, settings.passages.overlap_words)
            numbered = list(enumerate(passages, start=next_pid))
            next_pid += len(numbered)
            work.append((document, numbered, [passage_contexts(document, p) for p in passages]))
        report.seconds["analyse"] = time.perf_counter() - t0

        texts = [
            _embedding_text(doc, p, ctx) for doc, numbered, contexts in work for (_, p), ctx in zip(numbered, contexts)
        ]
        pids = [pid for _, numbered, _ in work for pid, _ in numbered]
        t0 = time.perf_counter()
        batch = max(1, settings.encoder.batch_size) * 4
        for start in progress(range(0, len(texts), batch), "Encodage des passages", -(-len(texts) // batch)):
            dense.add(pids[start : start + batch], encoder.encode_passages(texts[start : start + batch]))
        report.seconds["encode"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        for document, numbered, contexts in work:
            lexical.add(document, numbered, contexts)
            metadata.add_document(document, numbered)
        report.passages_added = len(pids)
        lexical.commit()
        dense.save(layout.dense)
        metadata.commit()
        images = sync_image_indexes(layout, documents, to_remove, settings.images)  # descriptors, CLIP, thumbnails
        report.images_described, report.seconds["images"] = images.described, images.seconds
        report.skipped += images.skipped
        layout.write_manifest(manifest.touched())
        report.seconds["write"] = time.perf_counter() - t0
    finally:
        metadata.close()
    report.seconds["total"] = time.perf_counter() - started
    return report
