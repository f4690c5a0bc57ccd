"""Bulk writes with retries and back-off.

``elasticsearch.helpers.streaming_bulk`` sends actions in chunks and retries the items a busy
cluster rejected with 429 (``max_retries``, exponential back-off from ``initial_backoff`` up to
``max_backoff``); the client itself retries whole requests on timeouts and 502/503/504. Any item
that still fails (a mapping error, a rejected document) raises :class:`BulkError` with the first
failures: an indexing run must never report success with documents missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import streaming_bulk

CHUNK_SIZE = 500
CHUNK_BYTES = 20 * 1024 * 1024


class BulkError(RuntimeError):
    """Some bulk items failed after every retry."""

    def __init__(self, failures: list[dict[str, Any]], total: int) -> None:
        self.failures = failures
        super().__init__(f"{len(failures)} of {total} bulk actions failed; first: {failures[:3]}")


def bulk_write(
    client: Elasticsearch,
    actions: Iterable[dict[str, Any]],
    *,
    chunk_size: int = CHUNK_SIZE,
    max_retries: int = 5,
    initial_backoff: float = 1.0,
    max_backoff: float = 30.0,
) -> int:
    """Send *actions* (``helpers.bulk`` format); return how many succeeded, raise if any failed."""
    failures: list[dict[str, Any]] = []
    done = total = 0
    for ok, item in streaming_bulk(
        client,
        actions,
        chunk_size=chunk_size,
        max_chunk_bytes=CHUNK_BYTES,
        max_retries=max_retries,
        initial_backoff=initial_backoff,
        max_backoff=max_backoff,
        raise_on_error=False,
        raise_on_exception=True,
    ):
        total += 1
        if ok:
            done += 1
        else:
            op = next(iter(item.values()), {})
            if op.get("status") == 404 and ("delete" in item or "update" in item):
                done += 1  # deleting what is gone, or refreshing fields of an absent image vector
            else:
                failures.append(item)
    if failures:
        raise BulkError(failures, total)
    return done
