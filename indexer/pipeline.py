"""The indexing pipeline: sources → documents → passages → vectors → the three stores.

Runs once or incrementally: documents whose content hash is unchanged are skipped, changed ones are
replaced, and (with ``prune``) documents whose source file disappeared are removed. Files that cannot
be read are skipped and reported; a file that *was* indexed and is now unreadable keeps its old entry,
so a bad export never loses data. Everything goes through the storage interface
(:mod:`indexer.backend.base`): one writer per run, published in one atomic step at the end, so an
interrupted run leaves the served index exactly as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.backend.base import AddedDocument, IndexBackend, IndexMismatchError, IndexWriter
from indexer.backend.factory import open_backend
from indexer.clinical import split_by_context
from indexer.crashpoints import crash_point
from indexer.encoders import Encoder
from indexer.imaging.sync import sync_image_indexes
from indexer.imaging.thumbnails import thumbnails_dir
from indexer.linking import group_series, link_documents
from indexer.schema import Document, Passage
from indexer.settings import Settings
from indexer.sources import SourceError, discover_sources, parse_file
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
    #: (path, message): problems in files that were still indexed (a date dropped, a resource left out)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


#: the index was built with another encoder or format: ``--rebuild`` (kept under its historical name)
EncoderMismatchError = IndexMismatchError


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
    warnings: list[tuple[str, str]] | None = None,
) -> tuple[list[Document], list[tuple[str, str]], int]:
    """Parse every supported file under *paths*; return (documents, skipped (path, reason), files seen).

    The instances of a DICOM series share one id and become one document (:func:`group_series`)
    before duplicates are looked for; any other id seen twice is reported with both files.
    """
    files, skipped = discover_sources(paths, ignore)
    skipped += [(str(p), "path does not exist") for p in paths if not p.exists()]
    parsed: list[Document] = []
    for source in progress(files, "Lecture des sources", len(files)):
        try:
            parsed += parse_file(source.path, max_bytes=max_bytes, root=source.root, warnings=warnings)
        except SourceError as exc:
            skipped.append((exc.path, exc.reason))
    documents: dict[str, Document] = {}
    for document in group_series(parsed):
        first = documents.get(document.id)
        if first is not None:
            skipped.append((document.source_path, f"duplicate document id {document.id!r} (first: {first.source_path})"))
            continue
        documents[document.id] = document
    ordered = list(documents.values())
    link_documents(ordered)
    return ordered, skipped, len(files)


def index_paths(
    paths: list[Path],
    settings: Settings,
    encoder: Encoder,
    *,
    rebuild: bool = False,
    prune: bool = False,
    progress: ProgressFactory = _no_progress,
    backend: IndexBackend | None = None,
) -> IndexReport:
    """Index every supported file under *paths* into the configured backend, as one published generation.

    Nothing is visible to searches until the run publishes; a run that fails or is killed leaves the
    live generation as it was. *backend* defaults to :func:`~indexer.backend.factory.open_backend`.
    """
    report = IndexReport()
    started = time.perf_counter()
    max_bytes = int(settings.index.max_file_mb * 1e6)
    documents, report.skipped, report.files_seen = parse_sources(
        paths, max_bytes, progress, settings.index.ignore, report.warnings
    )
    report.seconds["parse"] = time.perf_counter() - started

    owned = backend is None
    backend = backend or open_backend(settings)
    try:
        with backend.writer(encoder.name, encoder.dim, rebuild=rebuild) as writer:
            _write(writer, documents, settings, encoder, prune, progress, report)
    finally:
        if owned:
            backend.close()
    report.seconds["total"] = time.perf_counter() - started
    return report


def _write(
    writer: IndexWriter,
    documents: list[Document],
    settings: Settings,
    encoder: Encoder,
    prune: bool,
    progress: ProgressFactory,
    report: IndexReport,
) -> None:
    known = writer.content_hashes()
    changed = [d for d in documents if known.get(d.id) != d.content_hash()]
    report.documents_unchanged = len(documents) - len(changed)
    report.documents_updated = sum(d.id in known for d in changed)
    report.documents_added = len(changed) - report.documents_updated

    to_remove = [d.id for d in changed if d.id in known]
    if prune:
        gone = [doc_id for doc_id, source in writer.source_paths().items() if not Path(source).exists()]
        report.documents_removed = len(gone)
        to_remove += gone
    writer.remove_documents(to_remove)

    t0 = time.perf_counter()
    work: list[tuple[Document, list[Passage], list[PassageContexts]]] = []
    for document in changed:
        passages = split_passages(document, settings.passages.max_words, settings.passages.overlap_words)
        work.append((document, passages, [passage_contexts(document, p) for p in passages]))
    report.seconds["analyse"] = time.perf_counter() - t0

    texts = [_embedding_text(doc, p, ctx) for doc, passages, contexts in work for p, ctx in zip(passages, contexts)]
    t0 = time.perf_counter()
    batch = max(1, settings.encoder.batch_size) * 4
    vectors = [
        encoder.encode_passages(texts[start : start + batch])
        for start in progress(range(0, len(texts), batch), "Encodage des passages", -(-len(texts) // batch))
    ]
    matrix = np.concatenate(vectors) if vectors else np.zeros((0, encoder.dim), dtype=np.float32)
    report.seconds["encode"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    offset = 0
    items = []
    for document, passages, contexts in work:
        items.append(AddedDocument(document, passages, contexts, matrix[offset : offset + len(passages)]))
        offset += len(passages)
    writer.add_documents(items)
    crash_point("pipeline.added")
    report.passages_added = len(texts)
    current = {d.id for d in documents}
    images = sync_image_indexes(  # descriptors, CLIP, thumbnails
        writer, documents, [doc_id for doc_id in to_remove if doc_id not in current], settings.images,
        thumbnails=thumbnails_dir(settings),
    )
    report.images_described, report.seconds["images"] = images.described, images.seconds
    report.skipped += images.skipped
    writer.publish()
    report.seconds["write"] = time.perf_counter() - t0
