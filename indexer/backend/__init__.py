"""Storage backends: one interface for reading and writing the index, two engines behind it.

* :mod:`indexer.backend.filters`: :class:`DocumentFilter`, the one filter type every engine applies
  inside retrieval;
* :mod:`indexer.backend.base`: the interface (:class:`IndexBackend` read side, :class:`IndexWriter`
  write side) and the types crossing it;
* :mod:`indexer.backend.factory`: :func:`open_backend` picks the implementation from ``backend.kind``;
* :mod:`indexer.backend.embedded`: Tantivy + FAISS + SQLite files, atomic generations;
* :mod:`indexer.backend.elasticsearch`: an Elasticsearch 8 cluster.
"""

from indexer.backend.base import (
    AddedDocument,
    DocumentSummary,
    ImageHit,
    IndexBackend,
    IndexInfo,
    IndexMismatchError,
    IndexNotFoundError,
    IndexStats,
    IndexWriter,
    LexicalMatches,
    PassageHit,
    StoredPassage,
)
from indexer.backend.factory import open_backend
from indexer.backend.filters import DocumentFilter, DocumentKeys, normalise_key

__all__ = [
    "AddedDocument", "DocumentFilter", "DocumentKeys", "DocumentSummary", "ImageHit", "IndexBackend", "IndexInfo",
    "IndexMismatchError", "IndexNotFoundError", "IndexStats", "IndexWriter", "LexicalMatches", "PassageHit", "StoredPassage",
    "normalise_key", "open_backend",
]
