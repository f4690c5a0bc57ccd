"""Storage backends: one interface for reading and writing the index, two engines behind it."""

from indexer.backend.filters import DocumentFilter, normalise_key

__all__ = ["DocumentFilter", "normalise_key"]
