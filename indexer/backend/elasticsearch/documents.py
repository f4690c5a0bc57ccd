"""medsearch objects as Elasticsearch ``_source`` bodies (and back).

Passage ``_id`` is the passage id as a string and document / image ``_id`` the document id, so
reads by id are direct ``mget`` calls and a re-indexed document overwrites its old entries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from indexer.backend.elasticsearch.mapping import FILTER_FIELDS, OPEN_ACCESS
from indexer.backend.filters import DocumentKeys
from indexer.schema import Document, Passage
from indexer.clinical.mentions import mention_index
from indexer.backend.base import context_prefixes


FILTER_FIELD_NAMES: tuple[str, ...] = tuple(FILTER_FIELDS)


def filter_fields(document: Document) -> dict[str, Any]:
    """The keyword / date fields every index family carries for :class:`DocumentFilter`."""
    keys = DocumentKeys.of(document)
    fields: dict[str, Any] = {
        "doc_id": document.id,
        "kind": document.kind.value,
        "language": document.language,
    }
    if keys.patient:
        fields["patient"] = keys.patient
    else:
        fields["access"] = OPEN_ACCESS
    if keys.department:
        fields["department"] = keys.department
    if keys.modality:
        fields["modality"] = keys.modality
    if document.date:
        fields["date"] = document.date.isoformat()
    return fields


def passage_source(
    document: Document,
    pid: int,
    passage: Passage,
    contexts: Mapping[str, str] | None,
    vector: Sequence[float] | None,
    base: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One passage: filter fields, its text per context status and analysis, its raw text, its vector.
    *contexts* maps a status to the passage's text with that status (None: all affirmed), as for
    :meth:`indexer.backend.embedded.lexical.LexicalIndex.add`."""
    source = dict(base if base is not None else filter_fields(document))
    source.update(pid=pid, ordinal=passage.ordinal, section=passage.section, text=passage.text)
    source["mentions"] = mention_index(passage.text, document.language)  # snippets without analysis
    parts = contexts if contexts is not None else {"affirmed": passage.text}
    if document.title:
        source["title"] = document.title  # analysed in French and English (multi-field)
    for status, text in parts.items():
        if text:
            for prefix in context_prefixes(str(status)):  # « family:mother »: famrel_mother (base.status_fields)
                source[prefix] = f"{source[prefix]}\n{text}" if prefix in source else text
    values = [float(x) for x in vector] if vector is not None else []
    if any(values):  # cosine rejects a zero vector (the whole bulk item fails): such a passage has no
        source["vector"] = values  # direction to find it by, as in FAISS where it scores 0 with every query
    return source


def document_source(document: Document, pids: Sequence[int], content_hash: str) -> dict[str, Any]:
    """One document: its full JSON (returned as is by reads), content hash (*content_hash*: what the next
    run compares, :meth:`AddedDocument.stored_hash`), and its passage ids (what removing it deletes,
    without a search that could miss unrefreshed passages)."""
    return {
        **filter_fields(document),
        "content_hash": content_hash,
        "source_path": document.source_path,
        "pids": list(pids),
        "title": document.title,
        "patient_raw": document.patient_id,
        "department_raw": (document.metadata or {}).get("department"),
        "modality_raw": document.modality,
        "body": document.model_dump_json(),
    }


def moved_source_update(body: str, source_path: str) -> dict[str, Any]:
    """The partial update of a document whose file moved (:meth:`IndexWriter.move_sources`): its
    ``source_path`` field and the same path in its stored JSON *body*; nothing else changes."""
    moved = Document.model_validate_json(body).model_copy(update={"source_path": source_path})
    return {"source_path": source_path, "body": moved.model_dump_json()}


def image_filter_update(document: Document) -> dict[str, Any]:
    """Filter fields of an image vector after its document changed (its pixels did not): absent
    fields are set to null, which Elasticsearch treats as missing."""
    return {field: None for field in FILTER_FIELD_NAMES} | filter_fields(document)


def document_from_source(source: Mapping[str, Any]) -> Document:
    return Document.model_validate_json(source["body"])
