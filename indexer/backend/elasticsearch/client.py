"""The Elasticsearch client, built from settings and the environment.

Credentials never live in the settings file: ``MEDSEARCH_ES_API_KEY``, or ``MEDSEARCH_ES_USERNAME`` +
``MEDSEARCH_ES_PASSWORD`` (``ELASTIC_PASSWORD`` as in the official image, with user ``elastic``),
and ``MEDSEARCH_ES_CA_CERTS`` for a cluster with its own certificate authority.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from elasticsearch import Elasticsearch


def credentials(env: Mapping[str, str] | None = None) -> dict[str, object]:
    """Client keyword arguments for authentication and TLS, read from *env* (default ``os.environ``)."""
    env = os.environ if env is None else env
    out: dict[str, object] = {}
    if env.get("MEDSEARCH_ES_API_KEY"):
        out["api_key"] = env["MEDSEARCH_ES_API_KEY"]
    else:
        password = env.get("MEDSEARCH_ES_PASSWORD") or env.get("ELASTIC_PASSWORD")
        if password:
            out["basic_auth"] = (env.get("MEDSEARCH_ES_USERNAME", "elastic"), password)
    if env.get("MEDSEARCH_ES_CA_CERTS"):
        out["ca_certs"] = env["MEDSEARCH_ES_CA_CERTS"]
    return out


def make_client(url: str, timeout: float = 30.0, env: Mapping[str, str] | None = None) -> Elasticsearch:
    """A client for the cluster at *url* (comma-separated URLs: several nodes), retrying on timeouts
    and on 429/502/503/504 so a busy node slows a query down instead of failing it."""
    hosts = [u.strip() for u in url.split(",") if u.strip()]
    return Elasticsearch(
        hosts,
        request_timeout=timeout,
        retry_on_timeout=True,
        max_retries=3,
        retry_on_status=(429, 502, 503, 504),
        **credentials(env),
    )
