"""SQLite metadata store: documents, their passages, and the content hashes used for incremental runs.

SQLite is the source of truth for text and fields: the lexical and dense indices only hold passage
ids and what they need to match. The API's dense-side filters run on an in-memory copy of the filter
fields (:mod:`indexer.backend.embedded.passage_table`), read from here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path

from indexer.backend.base import DocumentSummary, StoredPassage
from indexer.backend.filters import DocumentFilter, DocumentKeys
from indexer.clinical.mentions import mention_index
from indexer.schema import Document, Passage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    patient_id TEXT,
    date TEXT,
    language TEXT NOT NULL,
    modality TEXT,
    source_path TEXT NOT NULL,
    body TEXT NOT NULL,           -- the full Document as JSON
    content_hash TEXT NOT NULL,
    patient_key TEXT,             -- normalise_key(patient_id): what filters compare
    department_key TEXT,          -- normalise_key(metadata['department'])
    modality_key TEXT,            -- normalise_key(modality)
    department TEXT               -- metadata['department'] as written in the source
);
CREATE INDEX IF NOT EXISTS documents_patient ON documents(patient_key);
CREATE INDEX IF NOT EXISTS documents_kind ON documents(kind);
CREATE TABLE IF NOT EXISTS passages (
    pid INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    section TEXT NOT NULL,
    text TEXT NOT NULL,
    mentions TEXT                 -- indexer.clinical.mentions.mention_index(text): snippets without analysis
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id);
"""


class MetadataStore:
    def __init__(self, path: Path, readonly: bool = False, immutable: bool = False) -> None:
        """*immutable*: the file never changes while open (a published generation): no locking."""
        uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
        if readonly and immutable:
            uri += "&immutable=1"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._db.execute("PRAGMA foreign_keys = ON")
        if not readonly:
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(passages)")}
        if not readonly and columns and "mentions" not in columns:  # a generation written before it existed
            self._db.execute("ALTER TABLE passages ADD COLUMN mentions TEXT")
            columns.add("mentions")
        self._mentions_column = "mentions" if "mentions" in columns else "NULL"

    def close(self) -> None:
        self._db.close()

    def commit(self) -> None:
        self._db.commit()

    def finalise(self) -> None:
        """Commit and fold the write-ahead log into the database file, leaving one self-contained
        file (what a published generation holds), then close."""
        self._db.commit()
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.execute("PRAGMA journal_mode = DELETE")
        self._db.close()

    # -- writing -------------------------------------------------------------------------------
    def content_hashes(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT id, content_hash FROM documents"))

    def next_pid(self) -> int:
        (value,) = self._db.execute("SELECT COALESCE(MAX(pid), -1) + 1 FROM passages").fetchone()
        return int(value)

    def delete_documents(self, doc_ids: Iterable[str]) -> list[int]:
        """Delete documents and their passages; return the passage ids removed (for the other stores)."""
        removed: list[int] = []
        for doc_id in doc_ids:
            removed += [pid for (pid,) in self._db.execute("SELECT pid FROM passages WHERE doc_id = ?", (doc_id,))]
            self._db.execute("DELETE FROM passages WHERE doc_id = ?", (doc_id,))
            self._db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        return removed

    def move_sources(self, paths: Mapping[str, str]) -> int:
        """Set the source path of documents by id (the column and the JSON body, which reads return),
        leaving passages and hashes alone; returns how many documents were found."""
        moved = 0
        for doc_id, path in paths.items():
            row = self._db.execute("SELECT body FROM documents WHERE id = ?", (doc_id,)).fetchone()
            if row is None:
                continue
            body = Document.model_validate_json(row[0]).model_copy(update={"source_path": path}).model_dump_json()
            self._db.execute("UPDATE documents SET source_path = ?, body = ? WHERE id = ?", (path, body, doc_id))
            moved += 1
        return moved

    def add_document(self, document: Document, passages: list[tuple[int, Passage]], content_hash: str) -> None:
        """*content_hash*: what the next run compares (:meth:`AddedDocument.stored_hash`)."""
        keys = DocumentKeys.of(document)
        self._db.execute(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                document.id,
                document.kind.value,
                document.title,
                document.text,
                document.patient_id,
                document.date.isoformat() if document.date else None,
                document.language,
                document.modality,
                document.source_path,
                document.model_dump_json(),
                content_hash,
                keys.patient,
                keys.department,
                keys.modality,
                (document.metadata or {}).get("department"),
            ),
        )
        language = document.language
        self._db.executemany(
            "INSERT INTO passages (pid, doc_id, ordinal, section, text, mentions) VALUES (?,?,?,?,?,?)",
            [(pid, p.doc_id, p.ordinal, p.section, p.text, mention_index(p.text, language)) for pid, p in passages],
        )

    # -- reading -------------------------------------------------------------------------------
    def get_document(self, doc_id: str) -> Document | None:
        row = self._db.execute("SELECT body FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return Document.model_validate_json(row[0]) if row else None

    def get_documents(self, doc_ids: list[str]) -> dict[str, Document]:
        out: dict[str, Document] = {}
        doc_ids = list(doc_ids)
        for start in range(0, len(doc_ids), 900):
            chunk = doc_ids[start : start + 900]
            rows = self._db.execute(f"SELECT id, body FROM documents WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            out.update({doc_id: Document.model_validate_json(body) for doc_id, body in rows})
        return out

    def get_passages(self, pids: list[int]) -> dict[int, StoredPassage]:
        out: dict[int, StoredPassage] = {}
        pids = [int(p) for p in pids]
        for start in range(0, len(pids), 900):
            chunk = pids[start : start + 900]
            rows = self._db.execute(
                f"SELECT pid, doc_id, ordinal, section, text, {self._mentions_column} FROM passages"
                f" WHERE pid IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            out.update({row[0]: StoredPassage(*row) for row in rows})
        return out

    def passage_ids(self, where: DocumentFilter) -> list[int]:
        """Passage ids of documents matching *where*, in SQL: the reference the in-memory
        :class:`~indexer.backend.embedded.passage_table.PassageTable` is tested against."""
        clauses, params = _filter_sql(where)
        sql = "SELECT p.pid FROM passages p JOIN documents d ON d.id = p.doc_id"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return [pid for (pid,) in self._db.execute(sql, params)]

    def passage_filter_rows(self) -> Iterator[tuple[int, str, str, str, str | None, str | None, str | None, str | None]]:
        """(pid, doc id, kind, language, patient key, ISO date, department key, modality key) of every
        passage, streamed: the API's in-memory :class:`~indexer.backend.embedded.passage_table.PassageTable`."""
        return self._db.execute(
            "SELECT p.pid, p.doc_id, d.kind, d.language, d.patient_key, d.date, d.department_key, d.modality_key"
            " FROM passages p JOIN documents d ON d.id = p.doc_id"
        )

    def document_ids_where(self, where: DocumentFilter) -> list[str]:
        """Ids of documents matching *where*, sorted: also the allow-list for image vectors."""
        clauses, params = _filter_sql(where)
        sql = "SELECT d.id FROM documents d" + (" WHERE " + " AND ".join(clauses) if clauses else "") + " ORDER BY d.id"
        return [doc_id for (doc_id,) in self._db.execute(sql, params)]

    def document_summaries(self, doc_ids: list[str]) -> dict[str, DocumentSummary]:
        out: dict[str, DocumentSummary] = {}
        for start in range(0, len(doc_ids), 900):
            chunk = doc_ids[start : start + 900]
            rows = self._db.execute(
                "SELECT id, kind, title, date, patient_id, language, modality, department FROM documents"
                f" WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for doc_id, kind, title, day, patient, language, modality, department in rows:
                out[doc_id] = DocumentSummary(
                    doc_id, kind, title, date.fromisoformat(day) if day else None, patient, language, modality, department
                )
        return out

    def counts_by_kind(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT kind, COUNT(*) FROM documents GROUP BY kind ORDER BY kind"))

    def passage_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM passages").fetchone()[0])

    def document_ids(self) -> list[str]:
        return [doc_id for (doc_id,) in self._db.execute("SELECT id FROM documents ORDER BY id")]

    def source_paths(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT id, source_path FROM documents"))


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join('?' * len(values))})" if values else "0"


def _filter_sql(where: DocumentFilter) -> tuple[list[str], list[object]]:
    """SQL clauses (over ``documents d``) of *where*: the reference semantics of
    :class:`~indexer.backend.filters.DocumentFilter` the other translations are tested against."""
    clauses: list[str] = []
    params: list[object] = []
    if where.kinds:
        clauses.append(_in("d.kind", where.kinds))
        params += list(where.kinds)
    if where.patient_id:
        clauses.append("d.patient_key = ?")
        params.append(where.patient_key)
    if where.departments:
        clauses.append(_in("d.department_key", where.department_keys))
        params += list(where.department_keys)
    if where.modalities:
        clauses.append(_in("d.modality_key", where.modality_keys))
        params += list(where.modality_keys)
    # access restrictions only concern patient documents (no patient: visible to everyone), and not the
    # patients of a break-the-glass grant: no patient OR granted OR (allowed patient AND allowed department)
    rules: list[str] = []
    rule_params: list[object] = []
    if (allowed := where.allowed_patient_keys) is not None:
        rules.append(_in("d.patient_key", allowed))
        rule_params += list(allowed)
    if (allowed := where.allowed_department_keys) is not None:
        rules.append(_in("d.department_key", allowed))
        rule_params += list(allowed)
    if rules:
        granted = where.granted_patient_keys
        exception = f" OR {_in('d.patient_key', granted)}" if granted else ""
        clauses.append(f"(d.patient_key IS NULL{exception} OR ({' AND '.join(rules)}))")
        params += [*granted, *rule_params]
    if where.language:
        clauses.append("d.language = ?")
        params.append(where.language)
    if where.date_from:
        clauses.append("d.date >= ?")
        params.append(where.date_from.isoformat())
    if where.date_to:
        clauses.append("d.date <= ?")
        params.append(where.date_to.isoformat())
    return clauses, params

