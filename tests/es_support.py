"""Access to an Elasticsearch (or the ES-compatible noida-db test server) for the tests, when one is given.

``MEDSEARCH_ES_URL`` points at it; ``make test`` starts noida-db and sets it (scripts/es_test_server.sh).
Without it, Elasticsearch tests skip and say so.
"""

from __future__ import annotations

import os
import uuid

ES_URL = os.environ.get("MEDSEARCH_ES_URL", "").strip()
SKIP_REASON = (
    "MEDSEARCH_ES_URL is not set: no Elasticsearch to test against "
    "(make test starts the noida-db test server; or: scripts/es_test_server.sh run pytest ...)"
)


def unique_prefix() -> str:
    """Index-name prefix of one test: tests never see each other's indices on a shared server."""
    return f"mstest-{uuid.uuid4().hex[:10]}"
