"""The indexing pipeline: sources → documents → passages → vectors → the three stores.

Runs once or incrementally: documents whose content hash is unchanged are skipped, changed ones are
replaced, and (with ``prune``) documents whose source file disappeared are removed. Files that cannot
be read are skipped and reported; a file that *was* indexed and is now unreadable keeps its old entry,
so a bad export never loses data. Everything goes through the storage interface
(:mod:`indexer.backend.base`): one writer per run, published in one atomic step at the end, so an
interrupted run leaves the served index exactly as it was.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.backend.base import AddedDocument, IndexBackend, IndexMismatchError, IndexWriter, relative_context_key
from indexer.backend.factory import open_backend
from indexer.clinical import split_by_context
from indexer.clinical.config import DEFAULT_TRIGGERS_PATH, ContextStatus
from indexer.crashpoints import crash_point
from indexer.encoders import Encoder
from indexer.imaging.sync import sync_image_indexes
from indexer.imaging.thumbnails import thumbnails_dir
from indexer.linking import group_series, link_documents
from indexer.schema import Document, Passage
from indexer.settings import Settings
from indexer.sources import SourceError, discover_sources, parse_file
from indexer.sources.duplicates import Candidate, select_copies
from indexer.streaming import LinkTable, iter_batches, scan
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
    #: (path, « duplicate of <kept file> (<id>) … »): copies of a document indexed once from another file
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


#: the index was built with another encoder or format: ``--rebuild`` (kept under its historical name)
EncoderMismatchError = IndexMismatchError


PassageContexts = dict[str, str]  # context status → the passage's text with that status

#: a document with this many passages (~0.8 MB of text at the default 120 words a passage) gets progress
#: bars of its own while its passages are analysed and encoded: a 20 MB report otherwise held the
#: « Indexation par lots » bar still for minutes
BIG_DOCUMENT_PASSAGES = 1_000


#: bump when the code that turns a document into passages, contexts or stored mentions changes its output
#: (the trigger lists and the passage settings are hashed as they are).
#: 2: signed and « non- » abbreviations (« ST+ », « ST- », "non-ST") are tokens of their own
#: (indexer/text/signs.py): lexical fields and stored mentions of older runs read them as « ST »
#: 4: « st » with a sign in any case (« idm st- ») is the signed token too
#: 5: stored mentions name a family mention's relatives (« family:mother »); departments are canonical
#: 6: family mentions are also indexed per relative (``family:mother`` contexts, ``famrel_*`` fields)
ANALYSIS_VERSION = 6


def analysis_fingerprint(settings: Settings) -> str:
    """How documents are analysed: the negation/hypothesis/family trigger lists, the passage settings and
    :data:`ANALYSIS_VERSION`. Stamped on each stored document's hash, so that an incremental run
    re-analyses (and re-embeds: passages are embedded without their negated mentions) the documents an
    updated rule list would read differently, instead of keeping the old reading until a ``--rebuild``
    (« clear of » became a negation cue: unchanged reports kept "clear of pneumothorax" as affirmed)."""
    digest = hashlib.sha256(DEFAULT_TRIGGERS_PATH.read_bytes())
    digest.update(f"{settings.passages.max_words}/{settings.passages.overlap_words}/{ANALYSIS_VERSION}".encode())
    return digest.hexdigest()[:16]


def stamped_hash(document: Document, fingerprint: str) -> str:
    """What the index stores for *document* analysed under *fingerprint* (:func:`analysis_fingerprint`)."""
    return f"{document.content_hash()}:{fingerprint}"


def passage_contexts(document: Document, passage: Passage) -> PassageContexts:
    """Split a passage by clinical context (affirmed, negated, hypothetical, family), the family text also
    per relative named (``family:mother``, ``family:unnamed``: :func:`indexer.backend.base.relative_context_key`).

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
            if span.status == ContextStatus.FAMILY:  # and under its relatives (« family:mother »): base.status_fields
                parts.setdefault(relative_context_key(span.relatives), []).append(text)
    return {status: "\n".join(texts) for status, texts in parts.items()}


def _embedding_text(document: Document, passage: Passage, contexts: PassageContexts) -> str:
    """What the dense encoder sees: title and section for context, then only the affirmed text: a
    vector cannot tell « pas d'épanchement » from « épanchement », nor « suspicion de pneumopathie »
    from « pneumopathie », so negated, family-history and hypothetical mentions are left to the
    lexical index's own fields (where a hypothetical match counts less: #14 item 6)."""
    header = " — ".join(part for part in (document.title, passage.section) if part)
    body = contexts.get("affirmed", "")
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
    before duplicates are looked for; a document found in several files is kept once, its other files
    listed in its ``duplicate_sources`` (:mod:`indexer.sources.duplicates`), and an id given by two
    files with different content is reported with both files.
    """
    files, skipped = discover_sources(paths, ignore)
    skipped += [(str(p), "path does not exist") for p in paths if not p.exists()]
    parsed: list[Document] = []
    where: dict[int, tuple[int, str]] = {}  # id(document) → (position in its file, its file's key)
    for source in progress(files, "Lecture des sources", len(files)):
        try:
            found = parse_file(source.path, max_bytes=max_bytes, root=source.root, warnings=warnings, dicom=source.dicom)
        except SourceError as exc:
            skipped.append((exc.path, exc.reason))
            continue
        for position, document in enumerate(found):
            where[id(document)] = (position, source.key)
        parsed += found
    candidates: dict[tuple[str, int], Document] = {}
    for document in group_series(parsed):
        position, key = where[id(document)]
        position = 0 if document.metadata.get("format") == "dicom" and document.metadata.get("series_uid") else position
        candidates[(document.source_path, position)] = document
    selection = select_copies([Candidate.of(d, position, where[id(d)][1]) for (_, position), d in candidates.items()])
    ordered = [candidates[(c.path, c.position)] for c in selection.accepted.values()]
    for document in ordered:
        if document.id in selection.duplicate_sources:
            document.metadata["duplicate_sources"] = list(selection.duplicate_sources[document.id])
    skipped += selection.skipped
    if warnings is not None:
        warnings += selection.warnings
    link_documents(ordered, warnings)
    return ordered, skipped, len(files)


class SourceUnavailableError(RuntimeError):
    """A source path is missing or an empty folder while the run would prune (or found nothing at all):
    the run fails before writing anything, so the live generation stays as it was."""


def _refuse_unavailable_sources(paths: list[Path], *, prune: bool, found: bool) -> None:
    """An export share not mounted at 2 a.m. is a missing path, or an empty mount-point folder: with
    ``prune`` (a source's default) the run used to delete every document of the source, publish the
    emptied index and record the job ``succeeded`` (exit 0). Such a path now fails the run, nothing
    indexed and nothing pruned; without ``prune`` it is skipped as before, unless nothing at all was found."""
    unavailable = []
    for path in paths:
        if not path.exists():
            unavailable.append(f"{path} does not exist")
        elif path.is_dir() and not any(path.iterdir()):
            unavailable.append(f"{path} is an empty folder")
    if unavailable and (prune or not found):
        why = "; ".join(unavailable)
        raise SourceUnavailableError(
            f"source path unavailable ({why}): an unmounted share? Nothing was indexed"
            + (" and nothing pruned (prune would have removed every document from it)" if prune else "")
        )


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

    Streaming (issue #11 item 2): a first pass keeps only a compact link table
    (:func:`indexer.streaming.scan`); then files are parsed, split, encoded and written
    ``index.batch_files`` at a time, and each batch is committed inside the unpublished generation
    (a checkpoint: a killed run resumes from its last committed batch, see
    :mod:`indexer.backend.embedded.resume`). Memory holds one batch, the link table and the known
    content hashes, whatever the corpus size. Nothing is visible to searches until the run publishes;
    a run that fails or is killed leaves the live generation as it was.
    """
    report = IndexReport()
    started = time.perf_counter()
    max_bytes = int(settings.index.max_file_mb * 1e6)
    files, report.skipped = discover_sources(paths, settings.index.ignore)
    report.skipped += [(str(p), "path does not exist") for p in paths if not p.exists()]
    _refuse_unavailable_sources(paths, prune=prune, found=bool(files))
    table = scan(list(progress(files, "Lecture des sources", len(files))), max_bytes)
    report.skipped += table.skipped
    report.warnings += table.warnings
    report.duplicates += table.duplicates
    report.files_seen = table.files_seen
    report.seconds["parse"] = time.perf_counter() - started

    owned = backend is None
    backend = backend or open_backend(settings)
    try:
        with backend.writer(encoder.name, encoder.dim, rebuild=rebuild) as writer:
            _write(writer, files, table, max_bytes, settings, encoder, prune, progress, report)
    finally:
        if owned:
            backend.close()
    report.seconds["total"] = time.perf_counter() - started
    return report


def _remove_superseded(
    writer: IndexWriter,
    produced: dict[str, set[str]],
    baseline_sources: dict[str, str],
    settings: Settings,
    thumbnails: Path | None,
    report: IndexReport,
) -> None:
    """Remove the documents a file read in this run no longer gives: one file, one set of documents.

    A document without an identifier of its own is keyed by its path relative to the indexed folder,
    so indexing ``/exports`` and later ``/exports/radiology`` indexed every report of that folder a
    second time (``report:radiology/CR.txt`` and ``report:CR.txt``): results and totals counted it
    twice. A report whose accession number was corrected kept its old document too. The ids the file
    gives now replace the others; a file unreadable in this run gave none and keeps its documents.
    """
    superseded = {
        doc_id: source for doc_id, source in writer.source_paths().items()
        if source in produced and doc_id not in produced[source]
    }
    if not superseded:
        return
    writer.remove_documents(list(superseded))
    sync_image_indexes(writer, [], list(superseded), settings.images, thumbnails=thumbnails)
    report.documents_removed += sum(1 for doc_id in superseded if doc_id in baseline_sources)
    for doc_id, source in superseded.items():
        now = ", ".join(sorted(produced[source]))
        report.warnings.append((source, f"now indexed as {now}: its previous document {doc_id} was removed"))


def _note_produced(produced: dict[str, set[str]], documents: list[Document]) -> None:
    """Record which ids each file gives in this run (:func:`_remove_superseded`). A file found to be a
    copy of a document kept from another file gives that document: what it was indexed as before (its
    own path-keyed id, when it was the only copy or the copy kept) is superseded, not left as a twin."""
    for document in documents:
        produced.setdefault(document.source_path, set()).add(document.id)
        for path in document.metadata.get("duplicate_sources", ()):
            produced.setdefault(path, set()).add(document.id)


def _moved(document: Document, stored_sources: dict[str, str]) -> bool:
    """Whether *document* is stored under another file than the one that gives it now.

    Its content hash leaves the path out, so a report moved to another folder (same accession number),
    or the copy left when the kept duplicate's file was deleted, counted as unchanged: the stored path
    went on naming the deleted file, and ``--prune`` then removed a document whose file is there.
    Such a document gets its new path only (:meth:`IndexWriter.move_sources`): re-encoding it would
    re-embed a whole corpus whose export share was remounted at a new path."""
    stored = stored_sources.get(document.id)
    return stored is not None and stored != document.source_path


def _add_timing(report: IndexReport, name: str, since: float) -> None:
    report.seconds[name] = report.seconds.get(name, 0.0) + time.perf_counter() - since


def _write(
    writer: IndexWriter,
    files: list,
    table: LinkTable,
    max_bytes: int,
    settings: Settings,
    encoder: Encoder,
    prune: bool,
    progress: ProgressFactory,
    report: IndexReport,
) -> None:
    known = writer.content_hashes()  # what is in this run's generation (a resumed run: its batches too)
    known_sources = writer.source_paths()
    # what the run changes, counted against the generation it started from
    baseline, baseline_sources = writer.baseline() if hasattr(writer, "baseline") else (known, writer.source_paths())
    batches = iter_batches(files, table, max_bytes, max(1, settings.index.batch_files))
    total = -(-len(files) // max(1, settings.index.batch_files))
    encode_batch = max(1, settings.encoder.batch_size) * 4
    thumbnails = thumbnails_dir(settings)
    t_write = 0.0
    produced: dict[str, set[str]] = {}  # source file -> the ids it gave in this run
    fingerprint = analysis_fingerprint(settings)
    for documents in progress(batches, "Indexation par lots", total):
        t0 = time.perf_counter()
        _note_produced(produced, documents)
        hashes = {d.id: stamped_hash(d, fingerprint) for d in documents}
        changed = [d for d in documents if known.get(d.id) != hashes[d.id]]
        moved = {d.id: d.source_path for d in documents if known.get(d.id) == hashes[d.id] and _moved(d, known_sources)}
        updated = [d.id for d in changed if d.id in known]
        for document in documents:
            before = baseline.get(document.id)
            if before is None:
                report.documents_added += 1
            elif before != hashes[document.id] or baseline_sources.get(document.id) != document.source_path:
                report.documents_updated += 1
            else:
                report.documents_unchanged += 1
        writer.remove_documents(updated)
        writer.move_sources(moved)  # same content, another file: the path only, nothing re-encoded
        known_sources.update(moved)
        work = []
        big: list[str] = []  # the batch's big files, named on the encoding bar
        for document in changed:
            passages = split_passages(document, settings.passages.max_words, settings.passages.overlap_words)
            analysed: Iterable[Passage] = passages
            if len(passages) >= BIG_DOCUMENT_PASSAGES:
                big.append(Path(document.source_path or document.id).name)
                analysed = progress(passages, f"Analyse : {big[-1]}", len(passages))
            work.append((document, passages, [passage_contexts(document, p) for p in analysed]))
        _add_timing(report, "analyse", t0)

        t0 = time.perf_counter()
        texts = [_embedding_text(doc, p, ctx) for doc, passages, contexts in work for p, ctx in zip(passages, contexts)]
        starts: Iterable[int] = range(0, len(texts), encode_batch)
        if big:  # one step per encoder call (a few hundred passages)
            starts = progress(starts, f"Encodage : {', '.join(big[:3])}{' …' if len(big) > 3 else ''}", len(starts))  # type: ignore[arg-type]
        vectors = [encoder.encode_passages(texts[i : i + encode_batch]) for i in starts]
        matrix = np.concatenate(vectors) if vectors else np.zeros((0, encoder.dim), dtype=np.float32)
        _add_timing(report, "encode", t0)

        t0 = time.perf_counter()
        offset, items = 0, []
        for document, passages, contexts in work:
            items.append(AddedDocument(document, passages, contexts, matrix[offset : offset + len(passages)], hashes[document.id]))
            offset += len(passages)
        writer.add_documents(items)
        crash_point("pipeline.added")
        report.passages_added += len(texts)
        images = sync_image_indexes(writer, documents, [], settings.images, thumbnails=thumbnails)
        report.images_described += images.described
        report.seconds["images"] = report.seconds.get("images", 0.0) + images.seconds
        report.skipped += images.skipped
        writer.commit()  # a checkpoint: a run killed after this resumes from here
        crash_point("pipeline.batch_committed")
        t_write += time.perf_counter() - t0

    t0 = time.perf_counter()
    _remove_superseded(writer, produced, baseline_sources, settings, thumbnails, report)
    # A file indexed before and unreadable now keeps its previous documents: say so, or the engineer
    # reading « skipped: binary content » believes the report left the index.
    # Only where a document of that file is still stored: a file whose id another file now gives (the
    # same accession number, another text, at a smaller path) had its version replaced, not kept.
    # Nor where the file gave documents in this run: a FHIR bundle whose record conflicts with another
    # bundle's but whose letters were indexed is skipped for that record only, nothing « previous » is kept.
    kept_before = (set(baseline_sources.values()) & set(writer.source_paths().values())) - set(produced)
    report.skipped = [
        (path, f"{reason}; its previously indexed version is kept" if path in kept_before else reason)
        for path, reason in report.skipped
    ]
    if prune:
        gone = [doc_id for doc_id, source in writer.source_paths().items() if not Path(source).exists()]
        writer.remove_documents(gone)
        report.documents_removed += sum(1 for doc_id in gone if doc_id in baseline_sources)
        sync_image_indexes(writer, [], gone, settings.images, thumbnails=thumbnails)
    crash_point("pipeline.before_publish")
    writer.publish()
    report.seconds["write"] = t_write + time.perf_counter() - t0
