"""The same document exported more than once: indexed once, the other copies named.

Hospital exports repeat themselves: the same report in ``export_2024/`` and ``rattrapage/``, a PDF
beside its ``.txt`` conversion, a FHIR bundle exported twice. A document without an identifier of its
own is keyed by its path (:mod:`indexer.sources.identity`), so each copy became a document of its
own: the physician saw the report twice, « N documents », cohorts and the patient timeline counted it
twice. Copies that give the *same* id (an accession number) kept the first one and listed the other
as « skipped », the same way whether the two files agreed or contradicted each other.

Two documents are **content duplicates** when they have the same :func:`content_key`: same kind, same
patient, same date and the same text once normalised (:func:`normalise_text`: Unicode NFKC, runs of
white space made one space, so a PDF's extracted text equals its ``.txt`` conversion; case and
punctuation are kept: « pas d'épanchement » and « Pas d'épanchement. » are not proved the same
document). Title, file name and metadata are left out: a title defaults to the file's name, which is
exactly what differs between two copies.

Which documents may be merged (:func:`may_merge_across_ids`), and why:

* never images: a DICOM series is already one document per SeriesInstanceUID, and two raster figures
  with the same caption are two figures;
* never two documents whose ids both come from the source's own identifiers (two accession numbers,
  two FHIR Patient ids): the source says they are two exams, even with the same template text;
* never a report or record without a patient: identical texts of unknown patients (« Radiographie
  thoracique normale », the de-identified Open-i exports) may be different patients. Reports of two
  patients with the same text are never merged either: the patient is part of the key;
* articles carry no patient: an article is merged on kind, date and text.

Which copy is kept is a function of the set of files alone, never of the order they were found in
nor of what an earlier run kept, so that a ``--rebuild`` and an incremental run agree: for one id,
the copy at the smallest path; across ids, a document with an identifier of its own before a
path-keyed one, then the smallest id. When the kept copy's file disappears, the next run keeps the
next copy: the document stays searchable.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

from indexer.schema import Document, DocumentKind
from indexer.sources.identity import document_id

_SPACES = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """*text* as compared for duplicates: NFKC (ligatures, non-breaking spaces), white space collapsed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def content_key(document: Document) -> str:
    """A digest of what makes two copies the same document (see the module docstring): kind, patient,
    date, normalised text. A digest, so the streaming scan keeps 64 bytes per document, not its text."""
    parts = (document.kind.value, document.patient_id or "", document.date.isoformat() if document.date else "",
             normalise_text(document.text))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def is_path_keyed(document: Document, source_key: str) -> bool:
    """Whether *document*'s id was made from its file's path (*source_key*: the path relative to the
    indexed root) because the file carries no identifier of its own."""
    try:
        return document.id == document_id(document.kind, source_key)
    except ValueError:
        return False


def may_merge_across_ids(document: Document) -> bool:
    """Whether *document* may be recognised as a copy of a document with another id (module docstring)."""
    if document.kind is DocumentKind.IMAGE:
        return False
    return document.kind is DocumentKind.ARTICLE or document.patient_id is not None


@dataclass(frozen=True)
class Candidate:
    """One document as found in one file, reduced to what the choice of copies needs."""

    id: str
    path: str
    position: int
    content: str
    own_id: bool
    mergeable: bool

    @classmethod
    def of(cls, document: Document, position: int, source_key: str) -> Candidate:
        """The candidate for *document*, the *position*-th document of its file found at *source_key*."""
        own = not is_path_keyed(document, source_key)
        return cls(document.id, document.source_path, position, content_key(document), own,
                   may_merge_across_ids(document))


@dataclass
class Selection:
    """The documents kept, the copies recognised, the contradictions found."""

    #: id → the candidate kept for it, in the order the kept candidates were first seen
    accepted: dict[str, Candidate] = field(default_factory=dict)
    #: kept id → the other files the same document was found in (sorted absolute paths)
    duplicate_sources: dict[str, list[str]] = field(default_factory=dict)
    #: (copy's path, « duplicate of <kept path> (<kept id>)… »), one line per copy not indexed
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    #: (path, reason) of files whose document shares an id with a *different* document: not indexed
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: (kept path, message): the same contradictions, said on the file that was kept
    warnings: list[tuple[str, str]] = field(default_factory=list)


def _add_source(selection: Selection, kept: Candidate, path: str) -> None:
    """List *path* among the other files of the document kept as *kept*."""
    paths = selection.duplicate_sources.setdefault(kept.id, [])
    if path != kept.path and path not in paths:
        paths.append(path)


def _record_copy(selection: Selection, kept: Candidate, copy: Candidate, why: str) -> None:
    """*copy* is not indexed: list its file on the kept document and say so in the run report."""
    _add_source(selection, kept, copy.path)
    selection.duplicates.append((copy.path, f"duplicate of {kept.path} ({kept.id}): {why}; not indexed again"))


def _one_per_id(candidates: list[Candidate], selection: Selection) -> list[Candidate]:
    """For each id, the copy at the smallest path; identical copies are recorded, contradicting ones
    skipped and warned about on both files (one is not indexed: the engineer must know which)."""
    by_id: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_id.setdefault(candidate.id, []).append(candidate)
    kept: list[Candidate] = []
    for doc_id, copies in by_id.items():
        first, *others = sorted(copies, key=lambda c: (c.path, c.position))
        kept.append(first)
        for other in others:
            if other.content == first.content:
                _record_copy(selection, first, other, "same id, same content")
                continue
            selection.skipped.append((other.path, f"duplicate document id {doc_id!r} with different content "
                                                  f"(indexed: {first.path}): this version is not indexed"))
            selection.warnings.append((first.path, f"document id {doc_id!r} is also given by {other.path} with "
                                                   "different content: that version is not indexed, check the export"))
    return kept


def select_copies(candidates: list[Candidate]) -> Selection:
    """Choose one copy per document among *candidates* (in discovery order); see the module docstring."""
    selection = Selection()
    per_id = _one_per_id(candidates, selection)
    groups: dict[str, list[Candidate]] = {}
    for candidate in per_id:
        if candidate.mergeable:
            groups.setdefault(candidate.content, []).append(candidate)
    merged: dict[str, Candidate] = {}  # id of a copy left out → the candidate kept in its place
    for group in groups.values():
        if len(group) < 2:
            continue
        ordered = sorted(group, key=lambda c: (not c.own_id, c.id))
        keeper = ordered[0]
        for other in ordered[1:]:
            if not other.own_id:  # two ids of the source's own are two documents, whatever their text
                merged[other.id] = keeper
    for candidate in per_id:
        keeper = merged.get(candidate.id)
        if keeper is None:
            selection.accepted[candidate.id] = candidate
            continue
        _record_copy(selection, keeper, candidate, f"same patient, date and text (its own id would be {candidate.id})")
        for path in selection.duplicate_sources.pop(candidate.id, []):  # the copy's own copies follow it
            _add_source(selection, keeper, path)
    selection.duplicate_sources = {k: sorted(v) for k, v in selection.duplicate_sources.items() if v}
    return selection
