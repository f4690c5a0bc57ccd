"""The embedded backend: Tantivy (BM25) + FAISS (passage and image vectors) + SQLite (documents,
passages) files under ``index.dir``, published as atomic generations
(:mod:`indexer.backend.embedded.generations`). Nothing to run besides medsearch itself."""

from indexer.backend.embedded.backend import EmbeddedBackend

__all__ = ["EmbeddedBackend"]
