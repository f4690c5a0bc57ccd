"""One contract, every storage backend: the embedded index always, Elasticsearch when
``MEDSEARCH_ES_URL`` points at one (``make test`` starts the noida-db test server for it).

Each test writes a small corpus through :class:`~indexer.backend.base.IndexWriter`, publishes it, and
checks what :class:`~indexer.backend.base.IndexBackend` returns: ids, texts, counts and filter
semantics, with :meth:`DocumentFilter.admits` as the reference for every filter field. Where the
noida-db test server departs from Elasticsearch a test is marked (xfail with the reason) rather
than the backend bent to it; README "Scaling out" lists those differences.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from indexer.backend import AddedDocument, DocumentFilter, IndexBackend, IndexNotFoundError, open_backend
from indexer.schema import Document, Passage
from indexer.settings import Settings
from es_support import ES_URL, SKIP_REASON, unique_prefix

DIM = 8
ENCODER = "contract-test"


def _unit(*weights: float) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[: len(weights)] = weights
    return v / np.linalg.norm(v)


def _doc(doc_id: str, kind: str, text: str, **fields) -> Document:  # noqa: ANN003
    return Document(id=doc_id, kind=kind, text=text, source_path=f"/src/{doc_id}.txt", **fields)


#: (document, [(passage text, contexts or None, vector)]): every filter field varies somewhere
CORPUS: list[tuple[Document, list[tuple[str, dict[str, str] | None, np.ndarray]]]] = [
    (
        _doc("R1", "report", "x", title="Radio thorax", patient_id="P000023", date=dt.date(2024, 3, 14), language="fr",
             metadata={"department": "Radiologie"}),
        [
            ("Épanchement pleural gauche de moyenne abondance.", None, _unit(1, 0, 0)),
            ("Absence de pneumothorax. Suspicion de pneumopathie.",
             {"negated": "Absence de pneumothorax.", "hypothetical": "Suspicion de pneumopathie."}, _unit(0, 1, 0)),
        ],
    ),
    (
        _doc("R2", "report", "x", title="Scanner abdominal", patient_id="P000042", date=dt.date(2023, 6, 1), language="fr",
             metadata={"department": "Urgences"}),
        [("Pneumothorax droit complet. Mère : diabète.", {"affirmed": "Pneumothorax droit complet.", "family": "Mère : diabète."},
          _unit(0, 0, 1))],
    ),
    (
        _doc("C1", "record", "x", title="Hospital stay", patient_id="p000023", date=dt.date(2022, 1, 10), language="en"),
        [("Left pleural effusion treated by drainage. The patient's fever resolved.", None, _unit(1, 0.2, 0))],
    ),
    (
        _doc("A1", "article", "x", title="Pleural effusion in adults", date=dt.date(2020, 5, 5), language="en"),
        [("Pleural effusion is an abnormal collection of fluid. Pneumothorax is air.", None, _unit(0.5, 0, 0.5))],
    ),
    (
        _doc("I1", "image", "x", title="TDM THORAX", patient_id="P000023", date=dt.date(2024, 3, 14), language="fr",
             modality="CT", metadata={"department": "RADIOLOGIE"}),
        [("Modalité CT, thorax, épanchement pleural.", None, _unit(0.9, 0, 0, 0.3))],
    ),
    (
        _doc("I2", "image", "x", title="IRM cérébrale", patient_id="P000042", language="fr", modality="MR"),
        [("Modalité MR, crâne.", None, _unit(0, 0, 0, 1))],
    ),
]
DOCS = {doc.id: doc for doc, _ in CORPUS}
IMAGE_VECTORS = {"I1": _unit(1, 0, 0), "I2": _unit(0, 1, 0)}  # a 3-d "descriptor" space: first 3 dims


def _added(doc_ids: list[str] | None = None) -> list[AddedDocument]:
    items = []
    for doc, parts in CORPUS:
        if doc_ids is not None and doc.id not in doc_ids:
            continue
        passages = [Passage(doc_id=doc.id, ordinal=i, text=text) for i, (text, _, _) in enumerate(parts)]
        contexts = [ctx if ctx is not None else {"affirmed": text} for text, ctx, _ in parts]
        items.append(AddedDocument(doc, passages, contexts, np.stack([v for _, _, v in parts])))
    return items


# -- backends ------------------------------------------------------------------------------------
BACKENDS = ["embedded", pytest.param("elasticsearch", marks=pytest.mark.skipif(not ES_URL, reason=SKIP_REASON))]


def _settings(kind: str, tmp_path) -> Settings:  # noqa: ANN001
    if kind == "embedded":
        return Settings(index={"dir": str(tmp_path / "index")}, backend={"kind": "embedded"})
    return Settings(index={"dir": str(tmp_path / "index")},
                    backend={"kind": "elasticsearch", "url": ES_URL, "index_prefix": unique_prefix()})


@pytest.fixture(params=BACKENDS)
def empty_backend(request, tmp_path):  # noqa: ANN001
    backend = open_backend(_settings(request.param, tmp_path))
    yield backend
    if backend.kind == "elasticsearch":
        backend.drop_everything()
    backend.close()


def _publish(backend, doc_ids=None, rebuild=False):  # noqa: ANN001, ANN202
    with backend.writer(ENCODER, DIM, rebuild=rebuild) as writer:
        allocated = writer.add_documents(_added(doc_ids))
        writer.ensure_image_space("descriptor", 3, "descriptor-test")
        writer.put_image_vectors(
            "descriptor", [(d, f"key-{d}", v[:3]) for d, v in IMAGE_VECTORS.items() if doc_ids is None or d in doc_ids]
        )
        info = writer.publish()
    backend.refresh()
    return allocated, info


@pytest.fixture
def backend(empty_backend):  # noqa: ANN001
    _publish(empty_backend)
    return empty_backend


def _docs_of(backend, hits) -> list[str]:  # noqa: ANN001
    """Hit passages collapsed to their documents, best first."""
    doc_of = backend.documents_of([h.pid for h in hits])
    return list(dict.fromkeys(doc_of[h.pid] for h in hits))


# -- lifecycle -----------------------------------------------------------------------------------
def test_nothing_published_yet(empty_backend) -> None:
    assert not empty_backend.exists()
    with pytest.raises(IndexNotFoundError):
        empty_backend.lexical_search("pneumothorax", 10)


def test_publish_returns_info_and_ids(empty_backend) -> None:
    allocated, info = _publish(empty_backend)
    assert empty_backend.exists()
    assert [len(pids) for pids in allocated] == [len(parts) for _, parts in CORPUS]
    flat = [pid for pids in allocated for pid in pids]
    assert len(set(flat)) == len(flat)
    assert (info.encoder, info.dim) == (ENCODER, DIM)
    assert empty_backend.info().generation == info.generation


# -- write side ----------------------------------------------------------------------------------
def test_content_hashes_and_source_paths(backend) -> None:
    with backend.writer(ENCODER, DIM) as writer:
        assert writer.content_hashes() == {doc_id: doc.content_hash() for doc_id, doc in DOCS.items()}
        assert writer.source_paths() == {doc_id: doc.source_path for doc_id, doc in DOCS.items()}


def test_remove_documents(backend) -> None:
    before = backend.stats()
    with backend.writer(ENCODER, DIM) as writer:
        assert writer.remove_documents(["R2", "NOPE"]) == 1
        assert "R2" not in writer.content_hashes()
        writer.publish()
    backend.refresh()
    assert backend.get_documents(["R2"]) == {}
    assert "R2" not in _docs_of(backend, backend.lexical_search("pneumothorax droit", 10))
    after = backend.stats()
    assert (after.documents, after.passages) == (before.documents - 1, before.passages - 1)


def test_readded_document_gets_new_passages(backend) -> None:
    changed = DOCS["A1"].model_copy(update={"title": "Pneumothorax in adults"})
    with backend.writer(ENCODER, DIM) as writer:
        writer.remove_documents(["A1"])
        [pids] = writer.add_documents([AddedDocument(changed, [Passage(doc_id="A1", ordinal=0, text="Tension pneumothorax.")],
                                                     None, _unit(0, 0, 1)[None, :])])
        assert writer.content_hashes()["A1"] == changed.content_hash()
        writer.publish()
    backend.refresh()
    assert backend.get_document("A1") == changed
    assert backend.get_passages(pids)[pids[0]].text == "Tension pneumothorax."
    assert _docs_of(backend, backend.lexical_search("tension", 10)) == ["A1"]


def test_move_sources_changes_the_path_only(backend) -> None:
    """A document whose file moved (same content) gets its new path, read back by the writer and the
    reader; its passages, passage ids, vectors, lexical fields and content hash stay as they were."""
    pids = sorted(h.pid for h in backend.dense_search(_unit(1, 0, 0), 100) if backend.documents_of([h.pid])[h.pid] == "R1")
    passages = backend.get_passages(pids)
    before_hits = backend.dense_search(_unit(1, 0, 0), 100)
    with backend.writer(ENCODER, DIM) as writer:
        hashes = writer.content_hashes()
        assert writer.move_sources({"R1": "/moved/R1.txt", "NOPE": "/moved/NOPE.txt"}) == 1
        assert writer.source_paths()["R1"] == "/moved/R1.txt"
        assert writer.content_hashes() == hashes
        writer.publish()
    backend.refresh()
    assert backend.get_document("R1") == DOCS["R1"].model_copy(update={"source_path": "/moved/R1.txt"})
    assert backend.get_document("R2") == DOCS["R2"]
    assert backend.get_passages(pids) == passages
    assert [(h.pid, round(h.score, 5)) for h in backend.dense_search(_unit(1, 0, 0), 100)] == [
        (h.pid, round(h.score, 5)) for h in before_hits]
    assert "R1" in _docs_of(backend, backend.lexical_search("épanchement pleural", 10))
    assert backend.stats().passages == sum(len(parts) for _, parts in CORPUS)
    with backend.writer(ENCODER, DIM) as writer:
        assert writer.source_paths()["R1"] == "/moved/R1.txt"


# -- lexical -------------------------------------------------------------------------------------
def test_lexical_context_statuses(backend) -> None:
    # R1 only says « absence de pneumothorax »: not a hit by default, a hit for negated mentions
    assert set(_docs_of(backend, backend.lexical_search("pneumothorax", 10))) == {"R2", "A1"}
    assert _docs_of(backend, backend.lexical_search("pneumothorax", 10, statuses=("negated",))) == ["R1"]
    assert _docs_of(backend, backend.lexical_search("diabète", 10)) == []
    assert _docs_of(backend, backend.lexical_search("diabète", 10, statuses=("family",))) == ["R2"]
    # hypothetical mentions are searched by default (at a lower weight)
    assert _docs_of(backend, backend.lexical_search("pneumopathie", 10)) == ["R1"]


def test_lexical_analysis_folds_accents_and_plurals(backend) -> None:
    found = set(_docs_of(backend, backend.lexical_search("epanchements", 10)))
    assert {"R1", "I1"} <= found
    assert "C1" in _docs_of(backend, backend.lexical_search("effusions", 10))


def test_lexical_concepts_are_phrases_and_required(backend) -> None:
    concept = [["épanchement pleural", "pleural effusion"]]
    assert set(_docs_of(backend, backend.lexical_search("", 10, concepts=concept))) == {"R1", "C1", "A1", "I1"}
    # the free text only scores: a document without the concept never matches
    def c1_score(text: str) -> float:
        hits = backend.lexical_search(text, 10, concepts=concept)
        assert "R2" not in _docs_of(backend, hits)
        return next(h.score for h in hits if backend.documents_of([h.pid])[h.pid] == "C1")

    assert c1_score("drainage") > c1_score("")
    # a phrase, not a bag of words: « pleural ... épanchement » in another order does not match
    assert _docs_of(backend, backend.lexical_search("", 10, concepts=[["pleural épanchement"]])) == []
    # required clauses in their own statuses: pneumopathie (hypothetical) and pneumothorax negated
    required = [(["pneumothorax"], ("negated",))]
    assert _docs_of(backend, backend.lexical_search("", 10, concepts=[["pneumopathie"]], required=required)) == ["R1"]
    assert backend.lexical_search("", 10) == []


def test_long_query_needs_most_of_its_concepts(backend) -> None:
    """A long query (base.concepts_to_match: more than LONG_QUERY_TERMS concepts and free words) needs half
    its concepts in one passage, not all of them; the passages holding most rank first and count. A short
    one still needs every concept. Same rule on both backends."""
    from indexer.backend.base import LONG_QUERY_TERMS, concepts_to_match

    concepts = [["épanchement pleural", "pleural effusion"], ["pneumothorax"], ["drainage"], ["fièvre", "fever"]]
    assert concepts_to_match(4, 0) == 4 and concepts_to_match(4, LONG_QUERY_TERMS) == 2 and concepts_to_match(5, 3) == 2
    assert backend.lexical_search("", 10, concepts=concepts) == []  # short: all four in one passage, none has them
    free = "gauche moyenne abondance"  # 3 free words: 7 terms, a long query
    ranked = _docs_of(backend, backend.lexical_search(free, 10, concepts=concepts))
    # C1 holds three of the four concepts, A1 two; R2 and I1 only one (their order is each engine's BM25:
    # Tantivy puts C1 first, the noida-db stand-in A1, whose title says « pleural effusion » too)
    assert sorted(ranked) == ["A1", "C1"]
    counted = backend.lexical_search_counted(free, 10, concepts=concepts)
    assert counted.documents == 2 and backend.lexical_matching_documents(free, concepts=concepts) == {"C1", "A1"}
    # a required clause (a negated finding) stays required in a long query
    required = [(["pneumothorax"], ("negated",))]
    assert backend.lexical_matching_documents(free, concepts=concepts, required=required) == set()


def test_lexical_concept_form_with_a_negated_part(backend) -> None:
    """A concept name that holds a negation (« infarctus sans sus-décalage du segment ST », indexed as an
    affirmed and a negated part) is searched as its head in the searched contexts AND its negated part in
    negated text, within ONE passage (``base.NEGATED_PART``), on both backends."""
    from indexer.backend.base import NEGATED_PART

    def docs(*forms: str) -> list[str]:
        return sorted(_docs_of(backend, backend.lexical_search("", 10, concepts=[list(forms)])))

    assert docs(f"pneumopathie{NEGATED_PART}pneumothorax") == ["R1"]  # suspected + « absence de pneumothorax »
    # R1 says « épanchement pleural » and « absence de pneumothorax », but in two passages
    assert docs(f"épanchement pleural{NEGATED_PART}pneumothorax") == []
    assert docs(f"pneumothorax{NEGATED_PART}diabète") == []  # R2's diabète is family history, not negated
    assert docs("pleural effusion", f"pneumopathie{NEGATED_PART}pneumothorax") == ["A1", "C1", "R1"]  # one form of several
    counted = backend.lexical_search_counted("", 10, concepts=[[f"pneumopathie{NEGATED_PART}pneumothorax"]])
    assert (counted.documents, counted.patients) == (1, 1)


def test_signed_abbreviations_are_words_of_their_own(empty_backend) -> None:
    """« ST+ », « ST- », « ST− » and "non-ST" are one token each (indexer/text/signs.py), on both backends:
    the embedded one is given rewritten text, Elasticsearch rewrites it in its analyzers' character filters."""
    texts = {
        "N1": "Conclusion : IDM ST- inférieur.", "N2": "Conclusion : SCA ST\u2212 antérieur.",
        "N3": "Impression: non-ST-elevation myocardial infarction.", "S1": "Conclusion : SCA ST+ antérieur.",
        "S2": "Impression: ST-elevation myocardial infarction.", "E": "Conclusion : SCA ST+/- à préciser, +/- 2 mm.",
        # « st » in lower case, typed quickly; « St-Étienne » and suspended hyphens are not signs
        "N4": "Observation : idm st- latéral.", "P": "Suites post- et pré-opératoires à St-Étienne.",
    }
    with empty_backend.writer(ENCODER, DIM) as writer:
        writer.add_documents([
            AddedDocument(_doc(doc_id, "report", text, language="fr"), [Passage(doc_id=doc_id, ordinal=0, text=text)],
                          [{"affirmed": text}], np.stack([_unit(1, 0, 0)]))
            for doc_id, text in texts.items()
        ])
        writer.publish()
    empty_backend.refresh()

    def docs(form: str) -> list[str]:
        return sorted(_docs_of(empty_backend, empty_backend.lexical_search("", 10, concepts=[[form]])))

    assert docs("IDM ST-") == docs("idm st-") == ["N1", "N4"]
    assert "P" in docs("St")  # « St-Étienne »: the plain word, as « ST+/- » and "ST-elevation"
    assert docs("SCA ST-") == docs("SCA ST\u2212") == ["N2"]
    assert docs("SCA ST+") == ["S1"]
    assert docs("SCA ST") == ["E"]  # « ST+/- »: either sign, the plain word
    assert docs("ST elevation myocardial infarction") == ["S2"]  # not inside "non-ST-elevation"
    assert docs("non-ST-elevation myocardial infarction") == ["N3"]
    assert sorted(empty_backend.lexical_matching_documents("2 mm")) == ["E"]  # « +/- 2 mm » as before
    assert sorted(_docs_of(empty_backend, empty_backend.lexical_search("ST-", 10))) == ["N1", "N2", "N4"]  # free words too


def test_lexical_matching_documents(backend) -> None:
    assert backend.lexical_matching_documents("pneumothorax") == {"R2", "A1"}
    assert backend.lexical_matching_documents("pneumothorax", statuses=("negated",)) == {"R1"}
    assert backend.lexical_matching_documents("pneumothorax", DocumentFilter(kinds=("article",))) == {"A1"}
    # a concept alone, in the negated field (search.demote_negating_dense asks this of both backends)
    assert backend.lexical_matching_documents("", statuses=("negated",), concepts=[["pneumothorax"]]) == {"R1"}


COUNTED_QUERIES = [
    # (text, statuses, where, concepts, required, expected documents, expected patients)
    ("pneumothorax", ("affirmed", "hypothetical"), None, None, None, 2, 1),  # R2 (P000042), A1 (no patient)
    ("pneumothorax", ("negated",), None, None, None, 1, 1),
    # P000023 and p000023 are one patient (normalised keys): R1, C1, I1 → 1 patient, plus A1 → 4 documents
    ("épanchement pleural effusion", ("affirmed", "hypothetical"), None, None, None, 4, 1),
    ("épanchement pleural effusion", ("affirmed", "hypothetical"), DocumentFilter(kinds=("report", "record")), None, None, 2, 1),
    ("épanchement pleural effusion", ("affirmed", "hypothetical"), DocumentFilter(allowed_patients=("P000042",)), None, None, 1, 0),
    ("pneumothorax diabète", ("affirmed", "family"), None, None, None, 2, 1),
    ("modalité", ("affirmed",), None, None, None, 2, 2),  # I1 (P000023) and I2 (P000042)
    ("", ("affirmed", "hypothetical"), None, [["épanchement pleural", "pleural effusion"]], None, 4, 1),
    ("", ("affirmed", "hypothetical"), None, [["pneumopathie"]], [(["pneumothorax"], ("negated",))], 1, 1),
    ("", ("affirmed", "hypothetical"), None, None, None, 0, 0),  # no clause at all
    ("zzzunknown", ("affirmed", "hypothetical"), None, None, None, 0, 0),
]


@pytest.mark.parametrize("text,statuses,where,concepts,required,documents,patients", COUNTED_QUERIES)
def test_lexical_search_counted_is_exact(backend, text, statuses, where, concepts, required, documents, patients) -> None:
    """The ranked head and the exact counts of one call equal what the separate primitives give:
    ``lexical_search``'s hits, ``lexical_matching_documents``' size and its documents' distinct
    (normalised) patients; with limit 0, counts only."""
    args = (where, statuses, concepts, required)
    for limit in (1, 10, 0):
        counted = backend.lexical_search_counted(text, limit, *args)
        reference = IndexBackend.lexical_search_counted(backend, text, limit, *args)  # the interface's composition
        assert (counted.documents, counted.patients) == (documents, patients) == (reference.documents, reference.patients)
        assert [h.pid for h in counted.hits] == [h.pid for h in backend.lexical_search(text, limit, *args)]
        assert [h.pid for h in counted.hits] == [h.pid for h in reference.hits]
        assert counted.hits == [] if limit == 0 else len(counted.hits) == min(limit, _passage_matches(backend, text, *args))
        if counted.deeper is not None:  # a deeper head cut from the same ranking: what a deeper search returns
            for depth in (limit, limit + 1, 100):
                assert counted.deeper(depth) == backend.lexical_search(text, depth, *args), depth
    assert len(backend.lexical_matching_documents(text, *args)) == documents


def _passage_matches(backend, text, *args) -> int:  # noqa: ANN001, ANN002
    return len(backend.lexical_search(text, 100, *args))


FILTERS = [
    DocumentFilter(kinds=("report", "record")),
    DocumentFilter(patient_id="p000023"),
    DocumentFilter(patient_id=" P000042 "),
    DocumentFilter(language="en"),
    DocumentFilter(date_from=dt.date(2023, 1, 1)),
    DocumentFilter(date_to=dt.date(2023, 6, 1)),
    DocumentFilter(date_from=dt.date(2022, 1, 1), date_to=dt.date(2023, 12, 31)),
    DocumentFilter(departments=("radiologie",)),
    DocumentFilter(modalities=("ct", "US")),
    DocumentFilter(allowed_patients=("P000042",)),
    DocumentFilter(allowed_patients=()),
    DocumentFilter(allowed_departments=("Radiologie",)),
    DocumentFilter(allowed_patients=("p000023",), allowed_departments=("RADIOLOGIE",)),
    DocumentFilter(kinds=("image",), patient_id="P000023", modalities=("CT",)),
    # break-the-glass grants: every document of a granted patient passes the restriction (I2, R2 have
    # no allowed department), and a grant without a restriction changes nothing
    DocumentFilter(allowed_departments=("Radiologie",), granted_patients=("p000042",)),
    DocumentFilter(allowed_patients=(), granted_patients=(" P000042 ",)),
    DocumentFilter(allowed_patients=("p000023",), allowed_departments=("RADIOLOGIE",), granted_patients=("P000042",)),
    DocumentFilter(granted_patients=("P000042",)),
]


def test_a_grant_admits_its_patients_documents_whatever_the_restriction() -> None:
    """The reference semantics the backends are checked against above (break-the-glass grants)."""
    restricted = DocumentFilter(allowed_departments=("Radiologie",))
    granted = DocumentFilter(allowed_departments=("Radiologie",), granted_patients=("p000042",))
    assert not restricted.admits(DOCS["R2"]) and not restricted.admits(DOCS["I2"])
    assert granted.admits(DOCS["R2"]) and granted.admits(DOCS["I2"])
    assert not granted.admits(DOCS["C1"])  # another patient: still restricted


def _fid(where: DocumentFilter) -> str:
    return ",".join(f"{k}={v}" for k, v in where.__dict__.items() if v not in ((), None))


@pytest.mark.parametrize("where", FILTERS, ids=_fid)
def test_every_filter_field_in_lexical_search(backend, where: DocumentFilter) -> None:
    # a concept every document mentions somewhere (text or title) would need a shared word: use the
    # union of three queries that together match the whole corpus
    found: set[str] = set()
    for text in ("pleural", "pneumothorax", "modalité"):
        found |= set(_docs_of(backend, backend.lexical_search(text, 50, where)))
    everything: set[str] = set()
    for text in ("pleural", "pneumothorax", "modalité"):
        everything |= set(_docs_of(backend, backend.lexical_search(text, 50)))
    assert everything == set(DOCS)  # the three queries cover the corpus
    assert found == {d for d in everything if where.admits(DOCS[d])}


@pytest.mark.parametrize("where", FILTERS, ids=_fid)
def test_every_filter_field_in_dense_search(backend, where: DocumentFilter) -> None:
    hits = backend.dense_search(_unit(1, 0, 0), 50, where)
    assert set(_docs_of(backend, hits)) == {d for d in DOCS if where.admits(DOCS[d])}
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("where", FILTERS, ids=_fid)
def test_every_filter_field_in_image_search(backend, where: DocumentFilter) -> None:
    hits = backend.image_search("descriptor", _unit(1, 0, 0)[:3], 10, where)
    imageless = DocumentFilter(**{**where.__dict__, "kinds": ()})  # kinds is ignored by image search
    assert {h.doc_id for h in hits} == {d for d in IMAGE_VECTORS if imageless.admits(DOCS[d])}


def test_dense_ranking_and_scores(backend) -> None:
    hits = backend.dense_search(_unit(1, 0, 0), 3)
    top = backend.documents_of([hits[0].pid])[hits[0].pid]
    assert top == "R1"
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)  # the exact cosine, not a transformed engine score


def test_image_search_and_vectors(backend) -> None:
    hits = backend.image_search("descriptor", _unit(0, 1, 0)[:3], 10)
    assert [h.doc_id for h in hits] == ["I2", "I1"]
    assert [h.score for h in hits] == pytest.approx([1.0, 0.0], abs=1e-5)
    assert backend.image_search("clip", _unit(0, 1, 0)[:3], 10) == []
    assert backend.image_search("descriptor", _unit(0, 1, 0)[:3], 10, model="descriptor-test") == hits
    assert backend.image_search("descriptor", _unit(0, 1, 0)[:3], 10, model="descriptor-v0") == []  # another model
    assert backend.image_search("descriptor", _unit(0, 1, 0, 0), 10) == []  # another dimension
    np.testing.assert_allclose(backend.image_vector("descriptor", "I1"), IMAGE_VECTORS["I1"][:3], atol=1e-6)
    assert backend.image_vector("descriptor", "R1") is None


def test_image_vector_keys_models_and_removal(backend) -> None:
    with backend.writer(ENCODER, DIM) as writer:
        writer.ensure_image_space("descriptor", 3, "descriptor-test")
        assert writer.image_vector_key("descriptor", "I1") == "key-I1"
        assert writer.remove_documents(["I2"]) == 1
        assert writer.image_vector_key("descriptor", "I2") == "key-I2"  # vectors outlive their text entry
        assert writer.remove_image_vectors(["I2", "R1"]) == 1
        writer.publish()
    backend.refresh()
    assert [h.doc_id for h in backend.image_search("descriptor", _unit(0, 1, 0)[:3], 10)] == ["I1"]
    with backend.writer(ENCODER, DIM) as writer:
        writer.ensure_image_space("descriptor", 3, "another-model")  # another model: recomputed from scratch
        assert writer.image_vector_key("descriptor", "I1") is None


def test_kept_image_vector_follows_its_document(backend) -> None:
    moved = DOCS["I1"].model_copy(update={"patient_id": "P000099"})
    with backend.writer(ENCODER, DIM) as writer:
        writer.remove_documents(["I1"])
        writer.add_documents([AddedDocument(moved, [Passage(doc_id="I1", ordinal=0, text="CT")], None, _unit(1)[None, :])])
        writer.publish()
    backend.refresh()
    assert [h.doc_id for h in backend.image_search("descriptor", _unit(1)[:3], 10, DocumentFilter(patient_id="P000099"))] == ["I1"]
    assert backend.image_search("descriptor", _unit(1)[:3], 10, DocumentFilter(patient_id="P000023")) == []


def test_term_passage_counts_per_language(backend) -> None:
    """Passages of that language's documents containing each word in any context field (the negated
    « pneumothorax » of R1 counts), analysed in that language; stop words and absent words give 0."""
    english = backend.term_passage_counts(["effusion", "effusions", "pneumothorax", "fever", "épanchement", "the", "osteopathy"], "en")
    assert english == {"effusion": 2, "effusions": 2, "pneumothorax": 1, "fever": 1, "épanchement": 0, "the": 0, "osteopathy": 0}
    french = backend.term_passage_counts(["épanchement", "pneumothorax", "diabète", "effusion"], "fr")
    assert french == {"épanchement": 2, "pneumothorax": 2, "diabète": 1, "effusion": 0}
    assert backend.term_passage_counts([], "en") == {}



def test_lexical_search_expanded_weights_the_extra_words(backend) -> None:
    """Pseudo-relevance feedback's second pass: each expansion word is one more optional clause of the
    free text, scored times its weight; alone it can match (a query whose own words match nothing)."""
    assert backend.lexical_search("zorglub", 10) == []
    assert _docs_of(backend, backend.lexical_search_expanded("zorglub", [("fever", 0.3)], 10)) == ["C1"]
    # C1 has "drainage", A1 "collection": the heavier word ranks its document first
    assert _docs_of(backend, backend.lexical_search_expanded("", [("drainage", 1.0), ("collection", 0.1)], 10)) == ["C1", "A1"]
    assert _docs_of(backend, backend.lexical_search_expanded("", [("drainage", 0.1), ("collection", 1.0)], 10)) == ["A1", "C1"]
    # the typed words keep their weight: a word at 0 changes nothing
    plain = backend.lexical_search("pleural effusion", 10)
    assert backend.lexical_search_expanded("pleural effusion", [("fever", 0.0)], 10) == plain
    # concepts still decide what matches (the expansion only scores within them)
    concept = [["pneumothorax"]]
    assert set(_docs_of(backend, backend.lexical_search_expanded("", [("fluid", 1.0)], 10, concepts=concept))) == {"R2", "A1"}


def test_passage_vectors_read_back_or_none(backend) -> None:
    """The stored vectors by passage id (vector feedback, Rocchio); unknown ids left out; a backend that
    cannot read them back (Elasticsearch keeps them out of _source) says None."""
    pids = [h.pid for h in backend.dense_search(_unit(1, 0, 0), 100)]
    vectors = backend.passage_vectors([pids[0], 10_000, pids[1]])
    if backend.kind == "elasticsearch":
        assert vectors is None
        return
    assert vectors.shape == (2, DIM)
    # the best passage for (1, 0, 0) is R1's first, stored as exactly that vector
    assert vectors[0] == pytest.approx(_unit(1, 0, 0), abs=1e-6)
    assert float(vectors[1] @ _unit(1, 0, 0)) == pytest.approx(backend.dense_search(_unit(1, 0, 0), 2)[1].score, abs=1e-5)


def test_document_texts_per_language(backend) -> None:
    """The stored text of every document of one language, each once, in batches of any size (the
    induced-words vocabulary is read through it: indexer/clinical/induced.py)."""
    english = sorted(backend.document_ids_where(DocumentFilter(language="en")))
    assert len(english) == 2
    assert sorted(backend.document_texts("en")) == sorted(backend.get_document(d).text for d in english)
    assert sorted(backend.document_texts("en", batch=1)) == sorted(backend.document_texts("en"))
    assert len(list(backend.document_texts("fr"))) == len(backend.document_ids_where(DocumentFilter(language="fr"))) == 4
    assert list(backend.document_texts("de")) == []


# -- by id, stats ----------------------------------------------------------------------------------
def test_first_passages_collapse_a_ranking_in_rank_order(backend) -> None:
    """Every passage, ranked (dense, so all of them), plus an unknown id: each document once, at its
    first passage's position, the order of first appearance; the same answer as collapsing by hand."""
    pids = [h.pid for h in backend.dense_search(_unit(1, 1, 1), 100)]
    pids = [10_000, *pids[:2], *pids]  # a repeat of the first two is never a new document
    doc_of = backend.documents_of(pids)
    documents, positions = backend.first_passages(pids)
    seen: set[str] = set()
    expected = []
    for position, pid in enumerate(pids):
        if pid in doc_of and doc_of[pid] not in seen:
            seen.add(doc_of[pid])
            expected.append((doc_of[pid], position))
    assert list(zip(documents, positions)) == expected
    assert len(documents) == len(set(documents)) > 2 and positions[0] == 1
    assert backend.first_passages([]) == ([], [])


def test_documents_and_passages_by_id(backend) -> None:
    assert backend.get_documents(["R1", "A1", "NOPE"]) == {"R1": DOCS["R1"], "A1": DOCS["A1"]}
    hits = backend.lexical_search("fièvre fever", 10)
    [pid] = [h.pid for h in hits]
    passage = backend.get_passages([pid, 10_000])[pid]
    assert (passage.doc_id, passage.ordinal, passage.text) == ("C1", 0, CORPUS[2][1][0][0])
    assert backend.documents_of([pid, 10_000]) == {pid: "C1"}
    summary = backend.document_summaries(["I1", "NOPE"])
    assert list(summary) == ["I1"]
    s = summary["I1"]
    assert (s.kind, s.title, s.date, s.patient_id, s.language, s.modality, s.department) == (
        "image", "TDM THORAX", dt.date(2024, 3, 14), "P000023", "fr", "CT", "RADIOLOGIE")
    assert backend.document_ids_where(DocumentFilter(patient_id="P000023")) == ["C1", "I1", "R1"]
    assert backend.document_ids_where(DocumentFilter()) == sorted(DOCS)


def test_stats(backend) -> None:
    stats = backend.stats()
    assert stats.documents == len(DOCS)
    assert stats.passages == sum(len(parts) for _, parts in CORPUS)
    assert stats.by_kind == {"article": 1, "image": 2, "record": 1, "report": 2}
    assert stats.image_vectors.get("descriptor") == 2
    assert stats.info.encoder == ENCODER


def test_passage_language_counts(backend) -> None:
    """Passages by their document's language (R1 2, R2, I1, I2 French; C1, A1 English), per generation."""
    assert backend.passage_language_counts() == {"fr": 5, "en": 2}
    with backend.writer(ENCODER, DIM) as writer:
        writer.remove_documents(["R1", "C1"])
        writer.publish()
    assert backend.passage_language_counts() == {"fr": 5, "en": 2}  # the served generation until refresh
    backend.refresh()
    assert backend.passage_language_counts() == {"fr": 3, "en": 1}


# -- generations -----------------------------------------------------------------------------------
def test_reader_sees_old_generation_until_publish(backend) -> None:
    generation = backend.info().generation
    writer = backend.writer(ENCODER, DIM)
    writer.remove_documents(["A1"])
    writer.add_documents([AddedDocument(_doc("N1", "article", "x", title="Nouveau"), [Passage(doc_id="N1", ordinal=0, text="Hémothorax.")],
                                        None, _unit(0, 1)[None, :])])
    writer.commit()
    backend.refresh()
    assert backend.info().generation == generation
    assert "A1" in backend.get_documents(["A1"]) and backend.get_documents(["N1"]) == {}
    assert _docs_of(backend, backend.lexical_search("hémothorax", 10)) == []
    writer.publish()
    assert backend.refresh() is True
    assert backend.info().generation > generation
    assert backend.get_documents(["A1"]) == {} and "N1" in backend.get_documents(["N1"])
    assert _docs_of(backend, backend.lexical_search("hémothorax", 10)) == ["N1"]


def test_aborted_run_leaves_live_generation(backend) -> None:
    generation = backend.info().generation
    with backend.writer(ENCODER, DIM, rebuild=True) as writer:
        writer.add_documents(_added(["A1"]))  # leaves the block without publishing
    assert backend.refresh() is False
    assert backend.info().generation == generation
    assert backend.stats().documents == len(DOCS)


def test_rebuild_replaces_everything(backend) -> None:
    _publish(backend, ["A1", "I2"], rebuild=True)
    assert backend.document_ids_where(DocumentFilter()) == ["A1", "I2"]
    assert [h.doc_id for h in backend.image_search("descriptor", _unit(1)[:3], 10)] == ["I2"]


# -- both engines side by side --------------------------------------------------------------------
@pytest.mark.skipif(not ES_URL, reason=SKIP_REASON)
def test_same_ids_on_both_backends(tmp_path) -> None:
    """Same corpus, same calls: the same passage ids, documents, match sets and dense rankings.
    (BM25 scores differ: Elasticsearch's light stemmers are not Tantivy's Snowball; ranks of the
    lexical leg are compared as sets, the dense leg — same vectors, cosine — in order.)"""
    embedded = open_backend(_settings("embedded", tmp_path))
    elastic = open_backend(_settings("elasticsearch", tmp_path))
    try:
        allocated = [_publish(b)[0] for b in (embedded, elastic)]
        assert allocated[0] == allocated[1]
        pids = [pid for pids in allocated[0] for pid in pids]
        assert embedded.get_passages(pids) == elastic.get_passages(pids)
        assert embedded.get_documents(list(DOCS)) == elastic.get_documents(list(DOCS))
        for text, statuses in [("pneumothorax", ("affirmed", "hypothetical")), ("pneumothorax", ("negated",)),
                               ("pleural effusion", ("affirmed",)), ("épanchement thorax", ("affirmed", "hypothetical"))]:
            assert embedded.lexical_matching_documents(text, statuses=statuses) == elastic.lexical_matching_documents(
                text, statuses=statuses), text
        for query in (_unit(1, 0, 0), _unit(0, 1, 1), _unit(0, 0, 0, 1)):
            e_scores = {h.pid: h.score for h in embedded.dense_search(query, 10)}
            s_hits = elastic.dense_search(query, 10)
            assert set(e_scores) == {h.pid for h in s_hits}
            # exact cosines (the quantised kNN is rescored), so the same order up to exact ties
            for rank, hit in enumerate(s_hits):
                assert hit.score == pytest.approx(e_scores[hit.pid], abs=1e-5)
                assert all(e_scores[hit.pid] >= e_scores[later.pid] - 1e-5 for later in s_hits[rank:])
        assert embedded.stats().by_kind == elastic.stats().by_kind
    finally:
        elastic.drop_everything()
        embedded.close()
        elastic.close()


def test_pinned_request_keeps_its_generation(backend) -> None:
    with backend.pinned():  # a request in flight
        with backend.writer(ENCODER, DIM) as writer:
            writer.remove_documents(["A1"])
            writer.publish()
        backend.refresh()  # another request picks the new generation up
        assert "A1" in backend.get_documents(["A1"])  # ... this one still reads its own
        assert "A1" in backend.document_ids_where(DocumentFilter())
    assert backend.get_documents(["A1"]) == {}


def test_passage_ids_never_reused_until_rebuild(backend) -> None:
    last_doc, last_pid = max(((d, p) for d, pids in zip(DOCS, _allocated(backend)) for p in pids), key=lambda x: x[1])
    with backend.writer(ENCODER, DIM) as writer:
        writer.remove_documents([last_doc])
        writer.publish()
    with backend.writer(ENCODER, DIM) as writer:
        [pids] = writer.add_documents(_added([last_doc]))
        writer.publish()
    assert min(pids) > last_pid
    allocated, _ = _publish(backend, ["A1"], rebuild=True)
    assert allocated == [[0]]


def _allocated(backend) -> list[list[int]]:  # noqa: ANN001
    """Passage ids of each CORPUS document, in corpus order, read back through the backend."""
    out = []
    for doc_id in DOCS:
        pids = [h.pid for h in backend.dense_search(_unit(1), 100, DocumentFilter(kinds=(DOCS[doc_id].kind.value,)))]
        out.append(sorted(p for p, d in backend.documents_of(pids).items() if d == doc_id))
    return out


# -- family mentions per relative ----------------------------------------------------------------
#: « cancer du sein » in the family history of four patients (whose: the mother, the father, a sister,
#: nobody named) and as the fifth patient's own disease
RELATIVE_LETTERS = {
    "F1": "Antécédents familiaux :\nMère : cancer du sein à 64 ans.",
    "F2": "Antécédents familiaux :\nPère : cancer du sein à 70 ans.",
    "F3": "Antécédents familiaux de cancer du sein.",
    "F4": "Sœur : cancer du sein à 50 ans.",
    "F5": "Cancer du sein opéré en 2019.",
}


def _publish_letters(backend, letters: dict[str, str] = RELATIVE_LETTERS) -> None:  # noqa: ANN001
    """*letters* (document id → text), one passage and one patient each, indexed as the pipeline does."""
    from indexer.pipeline import passage_contexts

    items = []
    for n, (doc_id, text) in enumerate(letters.items()):
        doc = _doc(doc_id, "report", text, title="Consultation", patient_id=f"P{n:06d}", language="fr")
        passage = Passage(doc_id=doc_id, ordinal=0, text=text)
        items.append(AddedDocument(doc, [passage], [passage_contexts(doc, passage)], np.stack([_unit(1, n)])))
    with backend.writer(ENCODER, DIM) as writer:
        writer.add_documents(items)
        writer.publish()
    backend.refresh()


@pytest.mark.parametrize(("query", "documents"), [
    # the relative named: that relative's mentions, then (lower) the one naming nobody; never the others'
    ("cancer du sein chez la mère", ["F1", "F3"]),
    ("cancer du sein chez le père", ["F2", "F3"]),
    ("Père : cancer du sein", ["F2", "F3"]),
    ("mother with breast cancer", ["F1", "F3"]),
    ("cancer du sein dans la fratrie", ["F4", "F3"]),  # siblings: a sister's mention answers
    ("antécédents familiaux de cancer du sein", None),  # no relative named: every family mention, as before
])
def test_a_query_naming_a_relative_searches_that_relatives_mentions(empty_backend, query, documents) -> None:
    """Restricted inside the lexical query (fields per relative), so the exact counts agree with the
    hits: 2 documents and 2 patients for « chez la mère », not the 4 family mentions of breast cancer."""
    from search_api.models import SearchRequest
    from search_api.query_plan import plan_query

    _publish_letters(empty_backend)
    plan = plan_query(SearchRequest(q=query))
    args = (None, plan.lexical_statuses, plan.concepts, plan.required)
    counted = empty_backend.lexical_search_counted(plan.lexical_text, 10, *args)
    found = _docs_of(empty_backend, counted.hits)
    if documents is None:
        assert plan.family_relatives == () and plan.lexical_statuses == ("family",)
        assert set(found) == {"F1", "F2", "F3", "F4"} and counted.documents == 4
        return
    assert plan.family_relatives and plan.dense_text is None  # a vector cannot tell whose mention it is
    assert found == documents  # the named relative's mention first, the unnamed one after (both backends)
    assert (counted.documents, counted.patients) == (len(documents), len(documents))
    assert empty_backend.lexical_matching_documents(plan.lexical_text, *args) == set(documents)


def test_only_a_query_naming_a_relative_has_a_tier() -> None:
    """Other queries keep their scores exactly (no tier); the tier searches the named relatives' fields,
    never the unnamed mentions' nor ``fam``, and its bonus is above the BM25 bound of every query word."""
    from indexer.backend.base import WORD_SCORE_BOUND, named_relative_tier

    forms = [["cancer du sein", "breast cancer"]]
    assert named_relative_tier("", ("affirmed", "hypothetical"), forms, None) is None
    assert named_relative_tier("", ("family",), forms, None) is None  # « antécédents familiaux de … »
    tier = named_relative_tier("", ("family:mother",), forms, None)
    assert tier is not None and tier.fields == ("famrel_mother", "famrel_parents")
    assert tier.phrases == ("cancer du sein", "breast cancer") and tier.bonus > 5 * WORD_SCORE_BOUND
    required = named_relative_tier("", ("affirmed", "hypothetical"), [["diabète"]], [(forms[0], ("family:sister",))])
    assert required is not None and required.fields == ("famrel_sister", "famrel_siblings")
    assert required.phrases == ("cancer du sein", "breast cancer")


#: Corpora where BM25's idf alone would rank an unnamed mention above the named ones (the weight 0.5 is not
#: enough): named « M… » letters say « Mère : cancer du sein », unnamed « U… » letters do not say whose.
#: Many mothers, one unnamed: the term is common in ``famrel_mother`` and rare in the index, so the unnamed
#: mention's idf is higher on both backends. One mother, many unnamed family mentions of other diseases:
#: Elasticsearch's idf is per field (``docCount``), rare in ``famrel_unnamed``, certain in ``famrel_mother``.
IDF_INVERTING_LETTERS = {
    "many mothers": {
        **{f"M{i}": f"Antécédents familiaux :\nMère : cancer du sein à {50 + i} ans, traitée par chirurgie." for i in range(8)},
        "U0": "Antécédents familiaux de cancer du sein.",
        **{f"X{i}": f"Hypertension artérielle traitée depuis {2000 + i}." for i in range(8)},
    },
    "many unnamed": {
        "M0": "Antécédents familiaux :\nMère : cancer du sein à 64 ans, traitée par chirurgie et radiothérapie.",
        "U0": "Antécédents familiaux de cancer du sein.",
        **{f"U{i}": f"Antécédents familiaux de diabète de type {i}." for i in range(1, 9)},
    },
}


@pytest.mark.parametrize("corpus", list(IDF_INVERTING_LETTERS))
@pytest.mark.parametrize("query", ["cancer du sein chez la mère", "mother with breast cancer"])
def test_named_relatives_mentions_rank_above_unnamed_ones_whatever_the_idf(empty_backend, corpus, query) -> None:
    """A physician asking about the mother sees every letter saying « Mère : cancer du sein » before those
    that do not say whose, on both backends, however BM25's idf weighs the two fields; counts unchanged."""
    from search_api.models import SearchRequest
    from search_api.query_plan import plan_query

    letters = IDF_INVERTING_LETTERS[corpus]
    _publish_letters(empty_backend, letters)
    plan = plan_query(SearchRequest(q=query))
    args = (None, plan.lexical_statuses, plan.concepts, plan.required)
    named = sorted(d for d in letters if d.startswith("M"))
    counted = empty_backend.lexical_search_counted(plan.lexical_text, 50, *args)
    found = _docs_of(empty_backend, counted.hits)
    assert sorted(found[: len(named)]) == named and found[len(named):] == ["U0"]
    assert (counted.documents, counted.patients) == (len(named) + 1, len(named) + 1)
    assert _docs_of(empty_backend, empty_backend.lexical_search(plan.lexical_text, 50, *args)) == found
    assert empty_backend.lexical_matching_documents(plan.lexical_text, *args) == {*named, "U0"}


#: « diabète, sœur atteinte de cancer du sein »: the patient's diabetes (affirmed) and a required family
#: clause about the sister; the « U… » letters say diabetes more often (a higher BM25 for that part) but
#: do not say whose breast cancer, the « S1 » letter names the sister; the « Z… » letters (sisters with breast
#: cancer, no diabetes) do not match but make the named field's idf low
SISTER_LETTERS = {
    "S1": "Diabète de type 2.\nSœur : cancer du sein à 50 ans.",
    **{f"U{i}": f"Diabète de type 2 ancien, diabète déséquilibré, diabète sous insuline depuis {2000 + i}.\n"
                "Antécédents familiaux de cancer du sein." for i in range(3)},
    "X0": "Diabète de type 2.",
    # sisters without diabetes (no match): « cancer du sein » common in the sister's field, a low idf there
    **{f"Z{i}": f"Sœur : cancer du sein à {40 + i} ans." for i in range(8)},
}


def test_named_relatives_tier_holds_for_a_required_family_clause(empty_backend) -> None:
    """The tier comes from the required family clause too, and bounds the whole query's score: the letter
    naming the sister first though the others match the patient's own part better; the same matches."""
    from search_api.models import SearchRequest
    from search_api.query_plan import plan_query

    _publish_letters(empty_backend, SISTER_LETTERS)
    plan = plan_query(SearchRequest(q="diabète, sœur atteinte de cancer du sein"))
    assert plan.required and plan.family_relatives == ("sister",)
    args = (None, plan.lexical_statuses, plan.concepts, plan.required)
    counted = empty_backend.lexical_search_counted(plan.lexical_text, 50, *args)
    found = _docs_of(empty_backend, counted.hits)
    assert found[0] == "S1" and sorted(found[1:]) == ["U0", "U1", "U2"]
    assert counted.documents == 4


# -- affirmed-only counts (lexical_search_counted(affirmed=True), #14 item 3) ---------------------------
def _affirmed_corpus() -> list[AddedDocument]:
    """Documents matching « pneumopathie » in every way the affirmed-only counts must tell apart."""
    suspected = {"hypothetical": "Suspicion de pneumopathie."}
    docs = [  # (id, kind, patient, [contexts of each passage])
        ("H1", "report", "P1", [suspected]),  # hypothetical only
        ("H2", "report", "P2", [suspected, {"affirmed": "Pneumopathie confirmée."}]),  # another passage affirms it
        # one passage, the word both affirmed and suspected: it has a hypothetical mention AND is an affirmed match
        ("H3", "report", "P3", [{"affirmed": "Pneumopathie droite.", "hypothetical": "Suspicion de pneumopathie gauche."}]),
        ("H4", "report", " p1 ", [{"affirmed": "Épanchement pleural.", **suspected}]),  # the same patient as H1 (normalised)
        ("H5", "article", None, [{"affirmed": "Pneumopathie et épanchement pleural."}]),
    ]
    items = []
    for doc_id, kind, patient, parts in docs:
        texts = [" ".join(ctx.values()) for ctx in parts]
        passages = [Passage(doc_id=doc_id, ordinal=i, text=text) for i, text in enumerate(texts)]
        doc = _doc(doc_id, kind, " ".join(texts), title="Compte rendu", patient_id=patient, language="fr")
        items.append(AddedDocument(doc, passages, parts, np.stack([_unit(1, i) for i in range(len(parts))])))
    return items


AFFIRMED_QUERIES = [
    # (text, statuses, where, concepts, (documents, patients), (affirmed documents, affirmed patients), hypothetical only)
    ("pneumopathie", ("affirmed", "hypothetical"), None, None, (5, 3), (3, 2), {"H1", "H4"}),
    # two concepts, one affirmed and one only suspected in H4's passage: not an affirmed match of both
    ("", ("affirmed", "hypothetical"), None, [["pneumopathie"], ["épanchement pleural"]], (2, 1), (1, 0), {"H4"}),
    ("pneumopathie", ("affirmed", "hypothetical"), DocumentFilter(patient_id="P1"), None, (2, 1), (0, 0), {"H1", "H4"}),
    ("pneumopathie", ("hypothetical",), None, None, (4, 3), (0, 0), {"H1", "H2", "H3", "H4"}),
    # no word of the query in a hypothetical field: the same counts, no document apart
    ("épanchement pleural", ("affirmed", "hypothetical"), None, None, (2, 1), (2, 1), set()),
    ("zzzunknown", ("affirmed", "hypothetical"), None, None, (0, 0), None, set()),  # nothing matches: nothing to split
    ("pneumopathie", ("affirmed",), None, None, (3, 2), None, set()),  # no hypothetical mention asked: nothing to split
]


@pytest.mark.parametrize("text,statuses,where,concepts,counts,affirmed,hypothetical_only", AFFIRMED_QUERIES)
def test_lexical_search_counted_affirmed(empty_backend, text, statuses, where, concepts, counts, affirmed, hypothetical_only) -> None:
    """The affirmed-only counts of one call are those of the query searched again without « hypothetical »
    (the interface's composition, what a cohort of the query counts), on both backends, whatever the
    ranked head's depth; and the documents matching only through a suspicion are named."""
    with empty_backend.writer(ENCODER, DIM) as writer:
        writer.add_documents(_affirmed_corpus())
        writer.publish()
    empty_backend.refresh()
    for limit in (10, 0):
        counted = empty_backend.lexical_search_counted(text, limit, where, statuses, concepts, affirmed=True)
        reference = IndexBackend.lexical_search_counted(empty_backend, text, limit, where, statuses, concepts, affirmed=True)
        split = None if counted.affirmed_documents is None else (counted.affirmed_documents, counted.affirmed_patients)
        assert (counted.documents, counted.patients) == counts
        assert split == affirmed == (None if reference.affirmed_documents is None
                                     else (reference.affirmed_documents, reference.affirmed_patients))
        assert counted.hypothetical_only == hypothetical_only == reference.hypothetical_only
        plain = empty_backend.lexical_search_counted(text, limit, where, statuses, concepts)  # not asked: not counted
        assert (plain.affirmed_documents, plain.hypothetical_only, plain.hits) == (None, frozenset(), counted.hits)
