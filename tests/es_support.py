"""Access to an Elasticsearch (or ES-compatible test server) for the tests, when one is given.

``MEDSEARCH_ES_URL`` points at it; ``make test`` starts the noida-db test server and sets it
(scripts/es_test_server.sh). Without it, Elasticsearch tests skip and say so.
"""

from __future__ import annotations

import os
import uuid

import pytest

ES_URL = os.environ.get("MEDSEARCH_ES_URL", "").strip()
SKIP_REASON = (
    "MEDSEARCH_ES_URL is not set: no Elasticsearch to test against "
    "(make test starts the noida-db test server; or: scripts/es_test_server.sh run pytest ...)"
)
requires_es = pytest.mark.skipif(not ES_URL, reason=SKIP_REASON)

#: noida-db, the CI test server, reports itself as Elasticsearch; its node name gives it away
def is_noida(client) -> bool:  # noqa: ANN001
    try:
        return client.info().body.get("name") == "noida-db"
    except Exception:  # noqa: BLE001
        return False


def unique_prefix() -> str:
    """Index-name prefix of one test: tests never see each other's indices on a shared server."""
    return f"mstest-{uuid.uuid4().hex[:10]}"


def drop_prefix(client, prefix: str) -> None:  # noqa: ANN001
    """Delete every index a test created (listed by name: wildcard deletes may be refused)."""
    names = client.indices.get(index=f"{prefix}-*", allow_no_indices=True, expand_wildcards="all").body
    for name in names:
        client.indices.delete(index=name, ignore_unavailable=True)
