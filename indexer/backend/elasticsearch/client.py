"""The Elasticsearch client, built from :class:`~indexer.settings.BackendSettings`.

Credentials never live in the settings file: ``MEDSEARCH_BACKEND__USERNAME`` /
``MEDSEARCH_BACKEND__PASSWORD`` or ``MEDSEARCH_BACKEND__API_KEY`` (pydantic-settings reads them into
the same settings object); ``backend.ca_certs`` for a cluster with its own certificate authority.
"""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


def client_options(backend: Any) -> dict[str, Any]:
    """Authentication and TLS keyword arguments of the client, from backend settings."""
    out: dict[str, Any] = {}
    api_key = _secret(getattr(backend, "api_key", None))
    password = _secret(getattr(backend, "password", None))
    if api_key:
        out["api_key"] = api_key
    elif password:
        out["basic_auth"] = (getattr(backend, "username", None) or "elastic", password)
    url = getattr(backend, "url", "") or ""
    if url.startswith("https"):
        out["verify_certs"] = bool(getattr(backend, "verify_certs", True))
        if getattr(backend, "ca_certs", None):
            out["ca_certs"] = str(backend.ca_certs)
    return out


def make_client(backend: Any, *, interactive: bool = False) -> Elasticsearch:
    """A client for the cluster at ``backend.url`` (comma-separated URLs: several nodes).

    The indexer's client (default) is patient: it retries timeouts and 429/502/503/504 up to 3 times,
    so a busy node slows a bulk request down instead of failing a night's run (worst case
    4 x ``request_timeout_s``). The API's client (*interactive*) fails fast: ``api_request_timeout_s``
    per request, a timeout is never retried and other failures (another node, a 502/503/504) at most
    ``api_max_retries`` times, so a hung cluster answers a search with a 503 in seconds, not minutes."""
    url = getattr(backend, "url", None)
    if not url:
        raise ValueError("backend.kind=elasticsearch needs backend.url (MEDSEARCH_BACKEND__URL), e.g. http://127.0.0.1:9200")
    hosts = [u.strip() for u in url.split(",") if u.strip()]
    if interactive:
        timeout = float(getattr(backend, "api_request_timeout_s", 5.0))
        retries, retry_on_timeout = int(getattr(backend, "api_max_retries", 1)), False
    else:
        timeout, retries, retry_on_timeout = float(getattr(backend, "request_timeout_s", 30.0)), 3, True
    return Elasticsearch(
        hosts,
        request_timeout=timeout,
        retry_on_timeout=retry_on_timeout,
        max_retries=retries,
        retry_on_status=(429, 502, 503, 504),
        **client_options(backend),
    )
