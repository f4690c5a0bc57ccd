"""Per-passage fields held in memory as numpy columns: the dense leg's allow-list and passage → document.

A filtered dense search needs the set of passages whose document matches the filter. Asking
SQLite for it on every request cost ~40 ms for a one-year date window at 100k passages (10k ids
read through a join, then turned into a FAISS selector). Here the fields every filter uses (kind,
patient, language, date) are read once when the API opens the index, one small column per field
indexed by passage id, and a filter becomes a vectorised comparison that yields the boolean mask
FAISS's bitmap selector wants directly: ~1 ms at 1M passages, ~15 bytes per passage of memory.
The table also maps each passage to its document, so collapsing both legs' ~200 candidate passages
to documents needs no database round trip; only the page's passages are read from SQLite.

The table mirrors :func:`indexer.backend.embedded.metadata._filter_sql` (same fields, same semantics: a
document without a date never passes a date bound), and is rebuilt whenever the API reopens a
newer index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice

import numpy as np

from indexer.backend.filters import DocumentFilter, normalise_key
from indexer.backend.embedded.metadata import MetadataStore

_EPOCH = dt.date(1970, 1, 1)
_NO_CODE = -1
_CHUNK_ROWS = 50_000
#: (pid, doc id, kind, language, patient key, ISO date[, department key, modality key]); keys are
#: :func:`~indexer.backend.filters.normalise_key` forms (the last two may be left out: None)
FilterRow = tuple


def _day_number(value: dt.date) -> int:
    return (value - _EPOCH).days


@dataclass
class PassageTable:
    """Columns indexed by passage id (``present`` is False for ids not in use)."""

    present: np.ndarray  # bool
    doc: np.ndarray  # int32 index into doc_ids
    kind: np.ndarray  # int16 codes into kind_codes
    language: np.ndarray  # int16 codes into language_codes
    patient: np.ndarray  # int32 codes into patient_codes, -1 = no patient
    day: np.ndarray  # int32 days since 1970-01-01
    has_date: np.ndarray  # bool
    department: np.ndarray  # int32 codes into department_codes, -1 = none
    modality: np.ndarray  # int16 codes into modality_codes, -1 = none
    kind_codes: dict[str, int]
    language_codes: dict[str, int]
    patient_codes: dict[str, int]
    department_codes: dict[str, int]
    modality_codes: dict[str, int]
    doc_ids: list[str]

    @classmethod
    def from_store(cls, store: MetadataStore) -> PassageTable:
        """Read every passage's fields from SQLite in one streamed pass (≈ 2 s per million passages)."""
        return cls.from_rows(store.passage_filter_rows(), size=store.next_pid())

    @classmethod
    def from_rows(cls, rows: Iterable[FilterRow], size: int | None = None) -> PassageTable:
        """Build from (pid, doc id, kind, language, patient id, ISO date) rows; *size* > every pid.

        Rows are consumed in chunks, so a million-passage index never holds a million row tuples
        (~400 bytes each) at once: the API's peak memory stays that of the columns.
        """
        if size is None:
            rows = list(rows)
            size = max((row[0] for row in rows), default=-1) + 1
        table = cls(
            present=np.zeros(size, dtype=bool),
            doc=np.full(size, _NO_CODE, dtype=np.int32),
            kind=np.full(size, _NO_CODE, dtype=np.int16),
            language=np.full(size, _NO_CODE, dtype=np.int16),
            patient=np.full(size, _NO_CODE, dtype=np.int32),
            day=np.zeros(size, dtype=np.int32),
            has_date=np.zeros(size, dtype=bool),
            department=np.full(size, _NO_CODE, dtype=np.int32),
            modality=np.full(size, _NO_CODE, dtype=np.int16),
            kind_codes={},
            language_codes={},
            patient_codes={},
            department_codes={},
            modality_codes={},
            doc_ids=[],
        )
        doc_codes: dict[str, int] = {}
        days: dict[str, int] = {}
        aliases: dict[str, dict[str, int]] = {"patient": {}, "department": {}, "modality": {}}  # raw → code
        remaining = iter(rows)
        while chunk := list(islice(remaining, _CHUNK_ROWS)):
            chunk = [tuple(row) + (None,) * (8 - len(row)) for row in chunk]
            pids, docs, kinds, languages, patients, dates, departments, modalities = zip(*chunk)
            index = np.fromiter(pids, dtype=np.int64, count=len(chunk))
            table.present[index] = True
            table.doc[index] = _encode(docs, doc_codes)
            table.kind[index] = _encode(kinds, table.kind_codes)
            table.language[index] = _encode(languages, table.language_codes)
            table.patient[index] = _encode(patients, table.patient_codes, aliases["patient"])
            table.department[index] = _encode(departments, table.department_codes, aliases["department"])
            table.modality[index] = _encode(modalities, table.modality_codes, aliases["modality"])
            for text in set(dates) - days.keys():
                days[text] = _day_number(dt.date.fromisoformat(text)) if text else 0
            table.day[index] = [days[text] for text in dates]
            table.has_date[index] = [bool(text) for text in dates]
        table.doc_ids = list(doc_codes)  # dicts keep insertion order: position = code
        return table

    def __len__(self) -> int:
        return int(self.present.sum())

    def language_counts(self) -> dict[str, int]:
        """Present passages by language (their document's), languages with none left out."""
        codes = self.language[self.present]
        counts = np.bincount(codes[codes >= 0], minlength=len(self.language_codes))
        return {language: int(counts[code]) for language, code in self.language_codes.items() if counts[code]}

    def doc_of(self, pids: Iterable[int]) -> dict[int, str]:
        """Document id of each known passage id (unknown ids, e.g. removed since, are left out)."""
        # numpy for the checks and the lookups, one Python step per passage (a page of 100 results
        # asks for ~400 passage ids: numpy scalar indexing per id was 0.3 ms of it)
        wanted = np.fromiter(pids, dtype=np.int64)
        inside = wanted[(wanted >= 0) & (wanted < len(self.present))]
        known = inside[self.present[inside]]
        doc_ids = self.doc_ids
        return {pid: doc_ids[code] for pid, code in zip(known.tolist(), self.doc[known].tolist())}

    def document_ids(self, pids: Iterable[int] | np.ndarray) -> set[str]:
        """The documents of the known passages among *pids*: ``set(doc_of(pids).values())`` without a
        Python step per passage (an exact match set is hundreds to thousands of passages): a bitmap over the document codes, then one string per document."""
        wanted = self._in_range(np.asarray(pids if isinstance(pids, np.ndarray) else list(pids), dtype=np.int64))
        if wanted.size == 0:
            return set()
        return set(map(self.doc_ids.__getitem__, np.flatnonzero(self._documents_seen(wanted)).tolist()))

    def _in_range(self, pids: np.ndarray) -> np.ndarray:
        """*pids* without the ids outside the table (a search may know passages newer than it)."""
        if pids.size and (pids.min() < 0 or pids.max() >= len(self.doc)):
            return pids[(pids >= 0) & (pids < len(self.doc))]
        return pids

    def _documents_seen(self, pids: np.ndarray) -> np.ndarray:
        """Boolean per document code: True where one of *pids* (in range) belongs to it. A bitmap:
        O(matches + documents), no sort (np.unique sorts: 4× slower at 6k matches). A passage not in
        use has code -1: the extra last slot, dropped."""
        seen = np.zeros(len(self.doc_ids) + 1, dtype=bool)
        seen[self.doc[pids]] = True
        return seen[:-1]

    def first_passages(self, pids: Sequence[int] | np.ndarray) -> tuple[list[str], list[int]]:
        """(each document of *pids* once, in the order of its first passage; that passage's position
        in *pids*): a ranked leg collapsed to documents, unknown ids skipped.

        Why this shape: a lexical head is 100–400 passages and a Python step per passage costs
        ~0.3 µs here; the document codes come from the column in one numpy step, and the first
        position of each code from a dict built in C over the reversed list (a later write of the
        same key keeps the smaller position)."""
        wanted = np.asarray(pids, dtype=np.int64)
        if wanted.size == 0:
            return [], []
        if wanted.min() < 0 or wanted.max() >= len(self.doc):
            inside = (wanted >= 0) & (wanted < len(self.doc))
            column = np.full(wanted.size, _NO_CODE, dtype=np.int64)
            column[inside] = self.doc[wanted[inside]]
            codes = column.tolist()
        else:
            codes = self.doc[wanted].tolist()  # a deleted passage's code is _NO_CODE
        first = dict(zip(reversed(codes), range(len(codes) - 1, -1, -1)))
        first.pop(_NO_CODE, None)
        positions = sorted(first.values())
        return list(map(self.doc_ids.__getitem__, map(codes.__getitem__, positions))), positions

    def count_documents_and_patients(self, pids: np.ndarray) -> tuple[int, int]:
        """(distinct documents, distinct patients) of the known passages among *pids*: the exact
        « N documents · M patients » of a query from its matching passages, as two ``np.unique``
        over columns instead of reading every matching document's summary from SQLite. Patients
        are compared by normalised key, as filters compare them; documents without one don't count."""
        pids = self._in_range(np.asarray(pids, dtype=np.int64))
        if pids.size == 0:
            return 0, 0
        # a bitmap per column, as _documents_seen (a passage not in use has both codes -1)
        patients = np.zeros(len(self.patient_codes) + 1, dtype=bool)  # slot -1 (no patient) is the last one
        patients[self.patient[pids]] = True
        return int(np.count_nonzero(self._documents_seen(pids))), int(np.count_nonzero(patients[:-1]))

    def documents_only_in(self, pids: np.ndarray, subset: np.ndarray) -> frozenset[str]:
        """The documents of *pids* that have no passage among *subset*: the matches of a query that
        match only through its hypothetical mentions (*subset*: its affirmed matches)."""
        pids = self._in_range(np.asarray(pids, dtype=np.int64))
        if pids.size == 0:
            return frozenset()
        only = self._documents_seen(pids) & ~self._documents_seen(self._in_range(np.asarray(subset, dtype=np.int64)))
        return frozenset(map(self.doc_ids.__getitem__, np.flatnonzero(only).tolist()))

    def mask(self, where: DocumentFilter) -> np.ndarray:
        """Boolean mask over passage ids: True where the passage's document matches *where*."""
        keep = self.present.copy()
        if where.kinds:
            keep &= np.isin(self.kind, _codes(where.kinds, self.kind_codes))
        if where.patient_id:
            keep &= self.patient == self.patient_codes.get(where.patient_key or "", -2)
        if where.departments:
            keep &= np.isin(self.department, _codes(where.department_keys, self.department_codes))
        if where.modalities:
            keep &= np.isin(self.modality, _codes(where.modality_keys, self.modality_codes))
        # access restrictions only concern patient documents (no patient: visible to everyone), and not the
        # patients of a break-the-glass grant (filters.DocumentFilter.granted_patients)
        if where.allowed_patient_keys is not None or where.allowed_department_keys is not None:
            access = self.patient == _NO_CODE
            rule = np.ones_like(access)
            if (allowed := where.allowed_patient_keys) is not None:
                rule &= np.isin(self.patient, _codes(allowed, self.patient_codes))
            if (allowed := where.allowed_department_keys) is not None:
                rule &= np.isin(self.department, _codes(allowed, self.department_codes))
            access |= rule
            if granted := where.granted_patient_keys:
                access |= np.isin(self.patient, _codes(granted, self.patient_codes))
            keep &= access
        if where.language:
            keep &= self.language == self.language_codes.get(where.language, -2)
        if where.date_from:
            keep &= self.has_date & (self.day >= _day_number(where.date_from))
        if where.date_to:
            keep &= self.has_date & (self.day <= _day_number(where.date_to))
        return keep


def _codes(values: Iterable[str], codes: dict[str, int]) -> np.ndarray:
    """The codes of the *values* present in *codes* (absent values match nothing)."""
    return np.array([codes[v] for v in values if v in codes], dtype=np.int64)


def _encode(values: tuple, codes: dict[str, int], aliases: dict[str, int] | None = None) -> list[int]:
    """Small integer codes for repeated strings (None → -1), filling *codes* as new values appear.

    With *aliases* (raw value → code), values are keyword fields coded by their
    :func:`~indexer.backend.filters.normalise_key` form (rows read from SQLite already are).
    """
    out = []
    for value in values:
        if value is None:
            out.append(_NO_CODE)
            continue
        code = (aliases if aliases is not None else codes).get(value)
        if code is None:
            key = normalise_key(value) if aliases is not None else value
            code = codes.get(key)
            if code is None:
                code = codes[key] = len(codes)
            if aliases is not None:
                aliases[value] = code
        out.append(code)
    return out
