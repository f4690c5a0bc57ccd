"""A hung Elasticsearch (accepts connections, never answers): the API's search is a 503 within seconds.

The walkthrough measured ~2 minutes: the API shared the indexer's client, which retries a timeout 3 times
(4 x ``backend.request_timeout_s``). The API now has a fail-fast client (``backend.api_request_timeout_s``,
no retry on timeout, ``backend.api_max_retries`` for other failures); the indexer keeps its patient one.
Measured on a real noida-db paused with SIGSTOP, the way a cluster stuck in a long GC pause or a frozen
VM behaves.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from auth_support import auth
from indexer.backend.elasticsearch.client import make_client
from indexer.settings import Settings
from noida_support import noida_binary, own_noida

pytestmark = pytest.mark.skipif(noida_binary() is None, reason="noida-db (the ES test server) is not installed")


def test_the_api_client_fails_fast_and_the_indexer_client_waits() -> None:
    backend = Settings(backend={"kind": "elasticsearch", "url": "http://127.0.0.1:9", "request_timeout_s": 40,
                                "api_request_timeout_s": 2, "api_max_retries": 0}).backend
    indexer, api = make_client(backend), make_client(backend, interactive=True)
    assert (indexer._retry_on_timeout, indexer._max_retries, indexer._request_timeout) == (True, 3, 40)
    assert (api._retry_on_timeout, api._max_retries, api._request_timeout) == (False, 0, 2)


def test_a_search_on_a_hung_cluster_is_a_503_within_the_api_timeout(tmp_path: Path, source_folder: Path, encoder) -> None:  # noqa: ANN001
    from indexer.pipeline import index_paths
    from search_api.app import create_app

    with own_noida(tmp_path / "es-data") as noida:
        settings = Settings(
            backend={"kind": "elasticsearch", "url": noida.url, "index_prefix": "failfast",
                     "request_timeout_s": 30, "api_request_timeout_s": 1.5, "api_max_retries": 1},
            api={"audit_log": tmp_path / "audit.log", "user_data": tmp_path / "user_data.sqlite"},
            index={"dir": tmp_path / "index"},
        )
        index_paths([source_folder], settings, encoder)  # the indexer's (patient) client
        with TestClient(create_app(settings, encoder), raise_server_exceptions=False) as client:
            assert client.get("/search?q=pneumothorax", headers=auth("clinician")).status_code == 200
            noida.pause()
            try:
                started = time.monotonic()
                answer = client.get("/search?q=fracture", headers=auth("clinician"))
                waited = time.monotonic() - started
            finally:
                noida.resume()
            # before: 4 x 30 s of the indexer's retries; now one api_request_timeout_s (and its margin)
            assert answer.status_code == 503 and answer.headers["retry-after"] == "30", answer.text
            print(f"hung cluster: 503 after {waited:.2f} s")
            assert waited < 5, f"the 503 took {waited:.1f} s"
            assert client.get("/search?q=pneumothorax", headers=auth("clinician")).status_code == 200  # back
