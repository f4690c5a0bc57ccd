"""The Elasticsearch storage backend (official 8.x client): index templates with French and English
analysis, BM25 and kNN queries with filters inside the engine, bulk writes with back-off, and index
generations published by an atomic alias swap. See README "Scaling out".

Modules: :mod:`.mapping` (templates), :mod:`.queries` (query translation), :mod:`.documents`
(sources), :mod:`.bulk` (bulk writer), :mod:`.generations` (aliases), :mod:`.client`,
:mod:`.writer` (write side), :mod:`.backend` (read side).
"""

from indexer.backend.elasticsearch.backend import ElasticsearchBackend
from indexer.backend.elasticsearch.writer import ElasticsearchWriter

__all__ = ["ElasticsearchBackend", "ElasticsearchWriter"]
