#!/usr/bin/env python3
"""Least-privilege Elasticsearch users for medsearch: the API reads, the indexers write.

Run once per cluster (and again after changing ``backend.index_prefix``; it is idempotent: roles and
users are created or updated), signed in as a superuser (the ``elastic`` user of a fresh cluster);
docker compose's ``es-setup`` service runs it before ``api-es`` / ``indexer-es`` / ``reindexer-es`` start.

* role ``medsearch_reader`` → user ``medsearch_api`` (the API): ``read`` and ``view_index_metadata`` on
  ``<prefix>-*`` (the aliases and the generations' indices: search, count, mget, scroll, the alias
  lookup and the ``_meta`` a generation carries), cluster ``monitor`` (``GET /``: the readiness ping).
  It can neither write, delete, nor read any other index.
* role ``medsearch_writer`` → user ``medsearch_indexer`` (``medsearch index``, ``schedule``, ``run-jobs``):
  ``create_index``, ``delete_index``, ``manage`` (aliases, clone, settings, refresh), ``read``, ``write``,
  ``view_index_metadata`` on ``<prefix>-*``; cluster ``monitor`` and ``manage_index_templates``
  (the ``<prefix>-*`` index templates).

Environment:
  MEDSEARCH_ES_SETUP_URL          the cluster (default http://elasticsearch:9200)
  ELASTIC_PASSWORD                the superuser's password (ELASTIC_USERNAME, default elastic)
  MEDSEARCH_ES_API_PASSWORD       password given to medsearch_api
  MEDSEARCH_ES_INDEXER_PASSWORD   password given to medsearch_indexer
  MEDSEARCH_BACKEND__INDEX_PREFIX index prefix (default medsearch), as the services use it
  MEDSEARCH_ES_SETUP_CA_CERTS     CA bundle of an https cluster (optional)

Exit status: 0 done, 78 a variable is missing, 69 the cluster cannot be reached or refused a request.
"""

from __future__ import annotations

import os
import sys
from typing import Any

READER_ROLE, WRITER_ROLE = "medsearch_reader", "medsearch_writer"
API_USER, INDEXER_USER = "medsearch_api", "medsearch_indexer"


def roles(prefix: str) -> dict[str, dict[str, Any]]:
    """The two roles' definitions (``PUT _security/role/<name>`` bodies) for indices named ``<prefix>-*``."""
    names = [f"{prefix}-*"]
    return {
        READER_ROLE: {"cluster": ["monitor"],
                      "indices": [{"names": names, "privileges": ["read", "view_index_metadata"]}]},
        WRITER_ROLE: {"cluster": ["monitor", "manage_index_templates"],
                      "indices": [{"names": names, "privileges": ["create_index", "delete_index", "manage", "read",
                                                                   "write", "view_index_metadata"]}]},
    }


def setup(client: Any, prefix: str, api_password: str, indexer_password: str) -> list[str]:
    """Create or update the roles and users; what was done, one line each."""
    done = []
    for name, body in roles(prefix).items():
        client.security.put_role(name=name, cluster=body["cluster"], indices=body["indices"])
        done.append(f"role {name}: {', '.join(body['indices'][0]['privileges'])} on {prefix}-*")
    for user, role, password, who in ((API_USER, READER_ROLE, api_password, "the medsearch API (read only)"),
                                      (INDEXER_USER, WRITER_ROLE, indexer_password, "the medsearch indexers")):
        client.security.put_user(username=user, password=password, roles=[role], full_name=who)
        done.append(f"user {user}: role {role}")
    return done


def main(environ: dict[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    missing = [v for v in ("ELASTIC_PASSWORD", "MEDSEARCH_ES_API_PASSWORD", "MEDSEARCH_ES_INDEXER_PASSWORD") if not env.get(v)]
    if missing:
        print(f"es_security_setup: {', '.join(missing)} not set (make es-env writes them into .env)", file=sys.stderr)
        return 78
    if env["MEDSEARCH_ES_API_PASSWORD"] == env["MEDSEARCH_ES_INDEXER_PASSWORD"]:
        print("es_security_setup: the API and the indexer need different passwords", file=sys.stderr)
        return 78
    from elasticsearch import Elasticsearch

    url = env.get("MEDSEARCH_ES_SETUP_URL") or "http://elasticsearch:9200"
    options: dict[str, Any] = {"basic_auth": (env.get("ELASTIC_USERNAME") or "elastic", env["ELASTIC_PASSWORD"]),
                               "request_timeout": 30, "max_retries": 3, "retry_on_timeout": True}
    if env.get("MEDSEARCH_ES_SETUP_CA_CERTS"):
        options["ca_certs"] = env["MEDSEARCH_ES_SETUP_CA_CERTS"]
    prefix = env.get("MEDSEARCH_BACKEND__INDEX_PREFIX") or "medsearch"
    try:
        with Elasticsearch(url, **options) as client:
            for line in setup(client, prefix, env["MEDSEARCH_ES_API_PASSWORD"], env["MEDSEARCH_ES_INDEXER_PASSWORD"]):
                print(f"es_security_setup: {line}")
    except Exception as exc:  # noqa: BLE001 - one line, never the passwords
        print(f"es_security_setup: {url}: {type(exc).__name__}: {str(exc)[:300]}", file=sys.stderr)
        return 69
    return 0


if __name__ == "__main__":
    sys.exit(main())
