"""The Elasticsearch storage backend (official 8.x client): index templates with French and English
analysis, BM25 and kNN queries with filters inside the engine, bulk writes with back-off, and index
generations published by an atomic alias swap. See README "Scaling out"."""
