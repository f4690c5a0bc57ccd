"""The API's in-memory filter table must select exactly the passages SQLite's filter selects, and a
filtered dense search through its mask must return only allowed passages."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from indexer.backend.embedded.dense import DenseIndex
from indexer.backend.embedded.generations import live_layout
from indexer.backend.embedded.metadata import DocumentFilter, MetadataStore
from indexer.backend.embedded.passage_table import PassageTable

ROWS = [
    (0, "R1", "report", "fr", "P1", "2019-03-01"),
    (1, "R1", "report", "fr", "P1", "2019-03-01"),
    (2, "R2", "report", "en", "P2", "2020-01-15"),
    (5, "A1", "article", "en", None, None),  # pids 3-4 deleted by an incremental run
    (6, "I1", "image", "fr", "P2", "2019-12-31"),
]


def _selected(table: PassageTable, where: DocumentFilter) -> list[int]:
    return np.flatnonzero(table.mask(where)).tolist()


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (DocumentFilter(), [0, 1, 2, 5, 6]),
        (DocumentFilter(kinds=("report",)), [0, 1, 2]),
        (DocumentFilter(kinds=("report", "image")), [0, 1, 2, 6]),
        (DocumentFilter(kinds=("record",)), []),  # a kind absent from the index
        (DocumentFilter(patient_id="P2"), [2, 6]),
        (DocumentFilter(patient_id="P404"), []),
        (DocumentFilter(language="en"), [2, 5]),
        (DocumentFilter(date_from=dt.date(2019, 12, 31)), [2, 6]),  # bounds are inclusive; no date never passes
        (DocumentFilter(date_to=dt.date(2019, 12, 31)), [0, 1, 6]),
        (DocumentFilter(kinds=("report",), date_from=dt.date(2019, 1, 1), date_to=dt.date(2019, 12, 31)), [0, 1]),
    ],
)
def test_mask_applies_each_filter(where: DocumentFilter, expected: list[int]) -> None:
    assert _selected(PassageTable.from_rows(ROWS), where) == expected


def test_passages_map_to_their_documents() -> None:
    table = PassageTable.from_rows(ROWS)
    assert table.doc_of([6, 0, 1, 3, 99, -1]) == {6: "I1", 0: "R1", 1: "R1"}  # deleted / unknown ids left out


def test_empty_index_gives_an_empty_mask() -> None:
    table = PassageTable.from_rows([])
    assert len(table) == 0
    assert _selected(table, DocumentFilter(kinds=("report",))) == []


def test_table_agrees_with_sqlite_on_the_fixture_index(indexed) -> None:
    settings, _ = indexed
    store = MetadataStore(live_layout(settings.index.dir).metadata, readonly=True)
    table = PassageTable.from_store(store)
    assert len(table) == store.passage_count()
    filters = [
        DocumentFilter(patient_id="P900002"),
        DocumentFilter(kinds=("report", "image")),
        DocumentFilter(language="en"),
        DocumentFilter(date_from=dt.date(2024, 5, 1), date_to=dt.date(2024, 6, 30)),
        DocumentFilter(kinds=("article",), date_to=dt.date(2024, 1, 1)),
    ]
    for where in filters:
        assert _selected(table, where) == sorted(store.passage_ids(where)), where
    assert _selected(table, filters[0])  # the fixture does have P900002's passages
    pids = list(range(len(table.present)))
    assert table.doc_of(pids) == {pid: p.doc_id for pid, p in store.get_passages(pids).items()}


def test_dense_search_with_a_mask_returns_only_allowed_passages() -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(7, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = DenseIndex(8)
    index.add([0, 1, 2, 3, 4, 5, 6], vectors)
    mask = PassageTable.from_rows(ROWS).mask(DocumentFilter(patient_id="P2"))
    hits = index.search(vectors[0], 7, mask)
    assert sorted(h.pid for h in hits) == [2, 6]
    assert [h.pid for h in index.search(vectors[6], 1, mask)] == [6]
    assert index.search(vectors[0], 7, np.zeros(7, dtype=bool)) == []


def test_rows_streamed_in_chunks_give_the_same_table(monkeypatch: pytest.MonkeyPatch) -> None:
    import indexer.backend.embedded.passage_table as passage_table

    whole = PassageTable.from_rows(ROWS)
    monkeypatch.setattr(passage_table, "_CHUNK_ROWS", 2)
    chunked = PassageTable.from_rows(iter(ROWS), size=7)
    for column in ("present", "doc", "kind", "language", "patient", "day", "has_date"):
        assert np.array_equal(getattr(whole, column), getattr(chunked, column)), column
    assert chunked.doc_of(range(7)) == whole.doc_of(range(7))


@pytest.mark.parametrize(
    ("pids", "expected"),
    [
        ([], (0, 0)),
        ([0, 1], (1, 1)),  # two passages of one document
        ([0, 2, 6], (3, 2)),  # R1 (P1), R2 and I1 (both P2)
        ([5], (1, 0)),  # an article: no patient
        ([3, 4, 99, -1, 5, 1], (2, 1)),  # removed, unknown and negative ids are ignored
        ([0, 1, 2, 5, 6], (4, 2)),
    ],
)
def test_counts_documents_and_patients(pids: list[int], expected: tuple[int, int]) -> None:
    table = PassageTable.from_rows(ROWS + [(7, "R3", "report", "fr", " p1 ", "2021-01-01")], size=10)
    assert table.count_documents_and_patients(np.array(pids, dtype=np.int64)) == expected
    # « p1 » written another way is the same patient as « P1 »
    assert table.count_documents_and_patients(np.array([0, 7])) == (2, 1)


@pytest.mark.parametrize(
    ("pids", "expected"),
    [
        ([], ([], [])),
        ([2, 0, 1, 6], (["R2", "R1", "I1"], [0, 1, 3])),  # 1 is R1's second passage: not a new document
        ([1, 0, 2], (["R1", "R2"], [0, 2])),
        ([3, 9, -1, 5, 2, 6, 1], (["A1", "R2", "I1", "R1"], [3, 4, 5, 6])),  # deleted, out of range, negative
        ([4, 3], ([], [])),
    ],
)
def test_first_passages_collapse_a_ranking_to_documents(pids: list[int], expected: tuple[list[str], list[int]]) -> None:
    """(documents in order of their first passage, that passage's position): what the engine's
    per-leg collapse needs; and what the interface's generic composition over ``doc_of`` gives."""
    from indexer.backend.base import IndexBackend

    table = PassageTable.from_rows(ROWS, size=8)
    assert table.first_passages(pids) == expected
    assert table.first_passages(np.array(pids, dtype=np.int64)) == expected

    class _Generic:  # the interface's default, over the same table's documents_of
        documents_of = staticmethod(table.doc_of)

    assert IndexBackend.first_passages(_Generic(), pids) == expected  # type: ignore[arg-type]
    assert PassageTable.from_rows([], size=0).first_passages(pids) == ([], [])


def test_page_reads_from_the_generation_cache_equal_sqlite(indexed) -> None:  # noqa: ANN001
    """The embedded backend keeps the summaries and passages it has read for the live generation:
    the second read (from memory), and a mix of seen, unseen and absent ids, give what SQLite gives."""
    from indexer.backend.factory import open_backend

    backend = open_backend(indexed[0])
    store = backend.snapshot().metadata
    doc_ids = store.document_ids()
    pids = [pid for pid, *_ in store.passage_filter_rows()]
    assert len(doc_ids) > 3 and len(pids) > 3
    first_docs, first_pids = doc_ids[: len(doc_ids) // 2], pids[: len(pids) // 2]
    assert backend.document_summaries(first_docs) == store.document_summaries(first_docs)
    assert backend.get_passages(first_pids) == store.get_passages(first_pids)
    for _ in range(2):
        assert backend.document_summaries([*doc_ids, "absent"]) == store.document_summaries(doc_ids)
        assert backend.get_passages([*pids, 10**9]) == store.get_passages(pids)
    assert len(backend.snapshot().passages.rows) == len(pids)


def _old_get_many(rows: dict, keys: list, read) -> dict:  # noqa: ANN001
    """:meth:`_ReadCache.get_many` as it was (a Python step per key), without the bound."""
    out, missing = {}, []
    for key in keys:
        row = rows.get(key)
        if row is None:
            missing.append(key)
        else:
            out[key] = row
    if missing:
        fresh = read(missing)
        rows.update(fresh)
        out.update(fresh)
    return out


def test_read_cache_answers_as_the_per_key_loop() -> None:
    """The cache's all-seen path (a page read before: one C pass) gives the same rows in the same
    order as the per-key loop, and a page with unseen or absent keys still reads exactly those."""
    from indexer.backend.base import StoredPassage
    from indexer.backend.embedded.backend import _ReadCache

    store = {pid: StoredPassage(pid, f"D{pid % 4}", pid, "s", f"text {pid}") for pid in range(20)}
    reads: list[list[int]] = []

    def read(keys: list[int]) -> dict:
        reads.append(list(keys))
        return {k: store[k] for k in keys if k in store}

    cache, reference = _ReadCache(1_000), {}
    pages = [[3, 1, 2], [2, 3, 1], [1, 1, 3], [5, 3, 99, 1], [99, 3], [19, 0, 5, 3, 2], [2, 19, 0, 3, 5, 1], []]
    for keys in pages:
        reads.clear()
        got = cache.get_many(keys, read)
        missing = reads[:]
        reads.clear()
        expected = _old_get_many(reference, keys, read)
        assert list(got.items()) == list(expected.items()), keys
        assert missing == reads, keys  # the same keys went to the store, in the same order


@pytest.mark.parametrize("pids", [[], [0, 1], [0, 2, 6], [5], [3, 4, 99, -1, 5, 1], [0, 1, 2, 5, 6, 7, 7], list(range(-3, 12))])
def test_document_ids_equal_the_per_passage_lookup(pids: list[int]) -> None:
    table = PassageTable.from_rows(ROWS + [(7, "R3", "report", "fr", " p1 ", "2021-01-01")], size=10)
    expected = set(table.doc_of(pids).values())
    assert table.document_ids(pids) == expected
    assert table.document_ids(np.array(pids, dtype=np.int64)) == expected
    assert table.document_ids(iter(pids)) == expected
    if 0 in pids:
        assert "R1" in expected
