"""Document identity: ids that are unique across kinds and stable across runs, folders and machines.

An id is ``<kind>:<key>``. The key is the source's own identifier when it has one (a report's
accession number, the FHIR Patient id of a record, an article's id or ``PMID-<pmid>``, a DICOM
SeriesInstanceUID) and otherwise the file's path relative to the indexed root (``a/CR.txt``), never
the file stem alone: two ``CR.txt`` in different folders are two documents, and a report file named
``P000023.txt`` cannot take the id of the FHIR patient ``P000023`` (``report:`` vs ``record:``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from indexer.schema import DocumentKind


def document_id(kind: DocumentKind, key: str) -> str:
    """The corpus-wide id of a document of *kind* whose own identifier (or relative path) is *key*."""
    key = key.strip()
    if not key:
        raise ValueError("empty document key")
    return f"{kind.value}:{key}"


def id_key(doc_id: str) -> str:
    """The part of an id after its kind prefix (the source identifier or relative path)."""
    kind, sep, key = doc_id.partition(":")
    return key if sep and kind in {k.value for k in DocumentKind} else doc_id


@dataclass(frozen=True)
class SourceFile:
    """A file to index and the root it was found under (both resolved, absolute)."""

    path: Path
    root: Path
    #: an extensionless file that discovery found to be DICOM Part 10 (True), or None: not sniffed, so
    #: :func:`indexer.sources.parse_file` does not read its 132-byte preamble a second time
    dicom: bool | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """The path relative to the indexed root, with ``/`` separators on every platform."""
        try:
            return self.path.relative_to(self.root).as_posix()
        except ValueError:
            return self.path.name
