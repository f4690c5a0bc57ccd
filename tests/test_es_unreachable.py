"""An Elasticsearch that is down, at start-up or during a request: a 503 and a one-line message, not a crash.

Found walking through README « Scaling out » as an IT team would: with the cluster down when the API
started, the lifespan's warm-up raised ``elastic_transport.ConnectionError`` and uvicorn exited (with
``restart: unless-stopped``, a restart loop, and nothing on ``/health``); a cluster that stopped
answering once the API ran made every search a 500 with the stack trace in the log; ``medsearch
stats`` / ``check`` printed a 60-line rich traceback.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import elastic_transport
import pytest
from fastapi.testclient import TestClient

from auth_support import auth
from indexer.backend.base import backend_unreachable
from indexer.settings import Settings
from search_api import app as app_module
from search_api.app import create_app
from ui.messages import french

REPO = Path(__file__).resolve().parent.parent


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(tmp_path: Path, url: str) -> Settings:
    return Settings(
        backend={"kind": "elasticsearch", "url": url, "request_timeout_s": 2},
        api={"audit_log": tmp_path / "audit.log", "user_data": tmp_path / "user_data.sqlite"},
        index={"dir": tmp_path / "index"},
    )


def test_the_api_starts_with_the_cluster_down_and_answers_503(tmp_path: Path, encoder) -> None:  # noqa: ANN001
    app = create_app(_settings(tmp_path, f"http://127.0.0.1:{_closed_port()}"), encoder)
    with TestClient(app, raise_server_exceptions=False) as client:  # the lifespan (warm-up) ran
        assert client.get("/health").json() == {"status": "ok"}  # liveness: the process answers
        ready = client.get("/health/ready")  # readiness: take it out of the load balancer
        assert (ready.status_code, ready.json()) == (503, {"status": "not ready", "reason": "the index's server cannot be reached"})
        for path in ("/search?q=pneumothorax", "/search/patients?q=pneumothorax", "/documents/report:ACC1", "/stats"):
            answer = client.get(path, headers=auth(["clinician", "admin"]))
            assert answer.status_code == 503, (path, answer.status_code, answer.text)
            assert answer.headers["retry-after"] == "30"
            assert answer.json() == {"detail": "the search index's server cannot be reached: retry in a moment"}
    assert french(answer.json()["detail"]) == "le serveur de l'index de recherche ne répond pas : réessayez dans un moment"


def test_a_cluster_that_stops_answering_mid_flight_is_a_503(tmp_path: Path, encoder, monkeypatch) -> None:  # noqa: ANN001
    class Down:
        def warm_up(self) -> None:
            pass

        def __getattr__(self, name: str):  # noqa: ANN204 - every engine call times out
            raise elastic_transport.ConnectionTimeout("Connection timed out")

    monkeypatch.setattr(app_module, "build_engine", lambda *_a, **_k: Down())
    with TestClient(create_app(_settings(tmp_path, "http://127.0.0.1:9"), encoder), raise_server_exceptions=False) as client:
        answer = client.get("/search?q=fracture", headers=auth("clinician"))
        assert answer.status_code == 503 and answer.headers["retry-after"] == "30"


def test_which_errors_mean_unreachable() -> None:
    meta = lambda status: elastic_transport.ApiResponseMeta(status, "1.1", elastic_transport.HttpHeaders(), 0.0, None)  # noqa: E731
    assert backend_unreachable(elastic_transport.ConnectionError("refused"))
    assert backend_unreachable(elastic_transport.ApiError("unavailable", meta(503), {}))
    assert not backend_unreachable(elastic_transport.ApiError("bad request", meta(400), {}))
    assert not backend_unreachable(RuntimeError("a bug"))


def test_the_command_line_says_the_cluster_is_down_in_one_line(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MEDSEARCH_")}
    environ.update(PYTHONPATH=str(REPO), MEDSEARCH_BACKEND__KIND="elasticsearch", MEDSEARCH_BACKEND__REQUEST_TIMEOUT_S="2",
                   MEDSEARCH_BACKEND__URL=f"http://medsearch:S3cret-pw@127.0.0.1:{_closed_port()}")
    done = subprocess.run([sys.executable, "-m", "indexer.cli", "stats"], env=environ, capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 69, done.stderr
    assert done.stderr.startswith("medsearch: the index's server cannot be reached (backend.url = http://***@127.0.0.1:")
    assert "S3cret-pw" not in done.stderr + done.stdout and "Traceback" not in done.stderr


def test_readiness_on_the_embedded_backend(tmp_path: Path, indexed, encoder) -> None:  # noqa: ANN001
    empty = Settings(index={"dir": tmp_path / "index"}, api={"audit_log": tmp_path / "audit.log"})
    with TestClient(create_app(empty, encoder)) as client:
        ready = client.get("/health/ready")
        assert (ready.status_code, ready.json()) == (503, {"status": "not ready", "reason": "no index published yet"})
    settings, _ = indexed
    served = settings.model_copy(update={"api": settings.api.model_copy(update={"audit_log": tmp_path / "audit2.log"})})
    with TestClient(create_app(served, encoder)) as client:
        ready = client.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "ready" and ready.json()["generation"] >= 1


def test_the_readiness_ping_gives_up_in_seconds_on_a_hung_cluster() -> None:
    """A cluster that accepts connections and never answers: a search waits request_timeout_s x 4 (the
    client's retries; 120 s by default, measured on noida-db stopped with SIGSTOP), the readiness ping once."""
    import time

    from indexer.backend.elasticsearch.backend import ElasticsearchBackend
    from indexer.backend.elasticsearch.client import make_client

    with socket.socket() as hung:  # listens, never accepts: the kernel completes the handshake, nothing answers
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)
        settings = Settings(backend={"kind": "elasticsearch", "url": f"http://127.0.0.1:{hung.getsockname()[1]}",
                                     "request_timeout_s": 5})
        backend = object.__new__(ElasticsearchBackend)
        backend.client = make_client(settings.backend)
        started = time.monotonic()
        with pytest.raises(elastic_transport.ConnectionTimeout):
            backend.ping(1.0)
        assert time.monotonic() - started < 3
