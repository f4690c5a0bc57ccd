"""Storage backends: one interface for reading and writing the index, two engines behind it."""

from indexer.backend.filters import DocumentFilter, DocumentKeys, normalise_key

__all__ = ["DocumentFilter", "DocumentKeys", "normalise_key"]
