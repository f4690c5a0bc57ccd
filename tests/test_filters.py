"""Every field of DocumentFilter works inside each retrieval leg (lexical, dense, image vectors), with the
same semantics as the reference (``DocumentFilter.admits`` and the SQL translation), case-insensitively,
including the access restriction (only patient documents are restricted; a patient document without a
department is hidden from a department-restricted user)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace

import numpy as np
import pytest

from indexer.backend.filters import DocumentFilter, DocumentKeys
from search_api.models import SearchRequest
from conftest import ART_T01, FIG_T01, IMG_T001, PMID_T02, RPT_T001, RPT_T002, RPT_T003, RPT_T004


FILTERS: list[tuple[DocumentFilter, set[str] | None]] = [
    # one unit under its French and English names (indexer/departments.py): the English report of
    # "Department : Radiology" is in « Radiologie » (it was not: a filter found half of the unit)
    (DocumentFilter(departments=("radiologie",)), {RPT_T001, IMG_T001, RPT_T004}),
    (DocumentFilter(departments=("RADIOLOGY", " Urgences ")), {RPT_T004, RPT_T002, RPT_T001, IMG_T001}),
    # a report carries its linked study's modality (RPT_T001 reads IMG_T001's CT), else the one its exam title
    # names (RPT_T004 « Brain MRI », RPT_T002 « Radiographie du bassin… »); a discharge letter none
    (DocumentFilter(modalities=("ct",)), {IMG_T001, RPT_T001}),
    # the names a physician types for the DICOM codes (« TDM », « scanner » for CT; « IRM » for MR)
    (DocumentFilter(modalities=("TDM",)), {IMG_T001, RPT_T001}),
    (DocumentFilter(modalities=("IRM", " Scanner ")), {IMG_T001, RPT_T001, RPT_T004}),
    (DocumentFilter(modalities=("IRM",)), {RPT_T004}),
    (DocumentFilter(kinds=("report",), modalities=("radiographie",)), {RPT_T002}),
    (DocumentFilter(patient_id="p900001"), {RPT_T001, IMG_T001}),
    (DocumentFilter(allowed_patients=("P900002",)), {RPT_T002, ART_T01, PMID_T02, FIG_T01}),
    (DocumentFilter(allowed_patients=()), {ART_T01, PMID_T02, FIG_T01}),
    (DocumentFilter(allowed_departments=("radiologie",)), {RPT_T001, IMG_T001, RPT_T004, ART_T01, PMID_T02, FIG_T01}),
    # the record of P900003 has no department: hidden from a department-restricted user
    (DocumentFilter(allowed_patients=("p900003",), allowed_departments=("CARDIOLOGIE",)),
     {RPT_T003, ART_T01, PMID_T02, FIG_T01}),
    (DocumentFilter(kinds=("image",), allowed_departments=("urgences",)), {FIG_T01}),
    (DocumentFilter(kinds=("report",), departments=("cardiologie", "radiologie"), allowed_patients=("P900001",)), {RPT_T001}),
]

BROAD_QUERY = "épanchement pleural thorax patient fracture infarctus effusion chest radiograph brain MRI"


@pytest.fixture(scope="module")
def store(indexed):
    from indexer.backend.embedded.generations import live_layout
    from indexer.backend.embedded.metadata import MetadataStore

    return MetadataStore(live_layout(indexed[0].index.dir).metadata, readonly=True)


@pytest.fixture(scope="module")
def documents(store):
    return store.get_documents(store.document_ids())


@pytest.fixture(scope="module")
def engine(indexed, encoder):
    from search_api.engine_factory import build_engine

    return build_engine(indexed[0], encoder)


def _admitted(documents, where: DocumentFilter) -> set[str]:
    return {doc_id for doc_id, doc in documents.items() if where.admits(doc)}


@pytest.mark.parametrize(("where", "expected"), FILTERS)
def test_reference_semantics(documents, where: DocumentFilter, expected: set[str]) -> None:
    assert _admitted(documents, where) == expected


@pytest.mark.parametrize(("where", "expected"), FILTERS)
def test_sql_selects_the_admitted_documents(store, where: DocumentFilter, expected: set[str]) -> None:
    assert set(store.document_ids_where(where)) == expected


@pytest.mark.parametrize(("where", "expected"), FILTERS)
def test_dense_leg_applies_the_filter(engine, where: DocumentFilter, expected: set[str]) -> None:
    # dense ranks every passage: with a deep page the filtered result is exactly the admitted set
    response = engine.search(SearchRequest(q=BROAD_QUERY, mode="dense", limit=100), where)
    assert {r.id for r in response.results} == expected


@pytest.mark.parametrize(("where", "expected"), FILTERS)
def test_lexical_leg_applies_the_filter(engine, documents, where: DocumentFilter, expected: set[str]) -> None:
    request = SearchRequest(q=BROAD_QUERY, mode="lexical", limit=100, expand=False)
    unfiltered = {r.id for r in engine.search(request).results}
    filtered = {r.id for r in engine.search(request, where).results}
    assert filtered == unfiltered & expected
    assert filtered or not (unfiltered & expected)


def test_lexical_filter_does_not_change_the_ranking(engine) -> None:
    request = SearchRequest(q="épanchement pleural", mode="lexical", limit=100)
    everyone = [r.id for r in engine.search(request).results]
    restricted = [r.id for r in engine.search(request, DocumentFilter(allowed_patients=("P900001", "P900002"))).results]
    assert restricted == [d for d in everyone if d in set(restricted)] and restricted


@pytest.mark.parametrize(("where", "expected"), FILTERS)
def test_image_search_applies_the_filter(indexed, engine, documents, where: DocumentFilter, expected: set[str]) -> None:
    from indexer.imaging.loader import load_image
    from search_api.image_search import ImageSearch

    settings = indexed[0]
    search = ImageSearch(engine.backend, settings.images)
    frame = load_image(engine.backend.get_document(IMG_T001).source_path)
    response = search.search(frame, engine.search, where, limit=50)
    images = _admitted(documents, replace(where, kinds=("image",)))  # image search ignores kinds
    assert images == {d for d in expected if d in (IMG_T001, FIG_T01)} or where.kinds
    assert {r.id for r in response.results} == images
    with_text = search.search(frame, engine.search, where, q="thorax", limit=50)
    assert {r.id for r in with_text.results} <= images


def test_document_keys_are_normalised(documents) -> None:
    keys = DocumentKeys.of(documents[IMG_T001])
    assert keys == DocumentKeys(patient="p900001", department="radiologie", modality="ct")
    assert DocumentKeys.of(documents[ART_T01]).patient is None


def _random_filter(rng: random.Random) -> DocumentFilter:
    def some(pool: list[str]) -> tuple[str, ...]:
        return tuple(rng.sample(pool, rng.randint(0, 2)))

    patients = ["P900001", "p900002", "P900003", "P900004", "P404"]
    departments = ["Radiologie", "URGENCES", "cardiologie", "Radiology", "Nowhere"]
    return DocumentFilter(
        kinds=some(["report", "image", "record", "article"]),
        patient_id=rng.choice([None, None, *patients]),
        language=rng.choice([None, None, "fr", "en"]),
        date_from=rng.choice([None, dt.date(2024, 3, 1)]),
        date_to=rng.choice([None, dt.date(2024, 6, 30)]),
        departments=some(departments),
        modalities=some(["CT", "mr", "OT"]),
        allowed_patients=rng.choice([None, None, some(patients)]),
        allowed_departments=rng.choice([None, None, some(departments)]),
    )


def test_passage_table_mask_equals_sql_for_random_filters(engine, store, documents) -> None:
    rng = random.Random(7)
    table = engine.backend.snapshot().table
    passages = store.get_passages(list(range(len(table.present))))
    for _ in range(300):
        where = _random_filter(rng)
        selected = np.flatnonzero(table.mask(where)).tolist()
        assert selected == sorted(store.passage_ids(where)), where
        assert set(selected) == {pid for pid, p in passages.items() if where.admits(documents[p.doc_id])}, where


def test_modality_filter_finds_reports(engine) -> None:
    """« IRM » with reports only found nothing (reports carried no modality): now the MRI report is found, by
    the lexical leg (a term match, counted in the total), and the CT report through the study it reads."""
    mri = engine.search(SearchRequest(q="ischemic stroke", kinds=["report"], modalities=["IRM"], limit=20))
    assert [r.id for r in mri.results] == [RPT_T004] and mri.total == 1 and not mri.semantic_only
    ct = engine.search(SearchRequest(q="épanchement pleural", kinds=["report"], modalities=["scanner"], limit=20))
    assert [r.id for r in ct.results] == [RPT_T001] and ct.total == 1


def test_one_modality_table() -> None:
    """The filter's names and the images' French words are one table (indexer.modalities)."""
    from indexer.backend.filters import MODALITY_NAMES
    from indexer.modalities import MODALITIES, french_words, modality_named_in

    assert MODALITY_NAMES["irm"] == ("mr",) and MODALITY_NAMES["radiographie"] == ("cr", "dx")
    assert french_words("CT") == "scanner TDM tomodensitométrie" and french_words("ZZ") == ""
    assert all(code.lower() in {c for n in m.names for c in MODALITY_NAMES[n]} for code, m in MODALITIES.items())
    titles = {"IRM cérébrale": "MR", "Scanner thoracique injecté": "CT", "CT chest": "CT", "Contrast-enhanced chest CT": "CT",
              "Chest X-ray": "CR", "Radiographie de l'épaule": "CR", "Échographie cardiaque transthoracique": "US",
              "Lettre de sortie - Neuroradiologie": None, "TEP-scanner": None, "Prothèse totale de genou": None,
              "Compte rendu d'hospitalisation - Pneumologie": None, None: None}
    assert {title: modality_named_in(title) for title in titles} == titles
