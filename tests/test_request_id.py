"""A request id per API request: X-Request-ID in every answer (errors too), in the audit entry, in the
access log line (text or JSON, ``api.log_format``), never with patient text in the log.

Found in the IT walkthrough: the server's log was plain text without any id, so a clinician's « ma
recherche a échoué à 10 h 12 » could not be matched with the log line or the audit entry.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from auth_support import auth
from search_api.app import create_app
from search_api.request_id import accepted
from search_api.security.audit import AuditLog, iter_entries, verify_chain

REPO = Path(__file__).resolve().parent.parent
HEX32 = re.compile(r"^[0-9a-f]{32}$")


def test_which_incoming_ids_are_kept() -> None:
    assert accepted("7f3c-9a2b.lb01:42") == "7f3c-9a2b.lb01:42"
    for bad in ("", "a b", "x" * 65, "id\r\nX-Evil: 1", "Mme Dupont", "é", None):
        assert accepted(bad) is None


def test_every_answer_carries_the_id_and_the_audit_entry_too(tmp_path: Path, indexed, encoder) -> None:  # noqa: ANN001
    settings, _ = indexed
    log = tmp_path / "audit.log"
    old = AuditLog(log)  # an entry written before request ids existed (outside any request): no request_id key
    old.record("admin", "key_create", role="admin")
    served = settings.model_copy(update={"api": settings.api.model_copy(update={"audit_log": log})})
    with TestClient(create_app(served, encoder), raise_server_exceptions=False) as client:
        answer = client.get("/search?q=pneumothorax", headers={**auth("clinician"), "X-Request-ID": "lb-0001.abc"})
        assert answer.status_code == 200 and answer.headers["x-request-id"] == "lb-0001.abc"
        generated = client.get("/search?q=fracture", headers={**auth("clinician"), "X-Request-ID": "Mme Dupont"})
        assert HEX32.match(generated.headers["x-request-id"])  # not kept: replaced by a new id
        for errors in (client.get("/search?q=x"),                                      # 401
                       client.get("/search?limit=-3", headers=auth("clinician")),     # 422
                       client.get("/stats", headers=auth("clinician"))):              # 403
            assert errors.status_code in (401, 403, 422) and HEX32.match(errors.headers["x-request-id"])
        ids = {client.get("/health").headers["x-request-id"] for _ in range(3)}
        assert len(ids) == 3  # one per request, not per connection
    entries = list(iter_entries(log))
    assert "request_id" not in entries[0]
    searches = [e for e in entries if e["action"] == "search"]
    assert [e["request_id"] for e in searches] == ["lb-0001.abc", generated.headers["x-request-id"]]
    assert verify_chain(log).ok  # old entries (without the key) and new ones chain and verify
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSEARCH_")} | {"PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "indexer.cli", "audit", "verify", str(log)], env=env,
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_500_carries_the_id(tmp_path: Path, encoder, monkeypatch) -> None:  # noqa: ANN001
    from indexer.settings import Settings
    from search_api import app as app_module

    class Broken:
        def warm_up(self) -> None:
            pass

        def __getattr__(self, name: str):  # noqa: ANN204
            raise RuntimeError("a bug")

    monkeypatch.setattr(app_module, "build_engine", lambda *_a, **_k: Broken())
    settings = Settings(index={"dir": tmp_path / "index"},
                        api={"audit_log": tmp_path / "audit.log", "user_data": tmp_path / "user_data.sqlite"})
    with TestClient(create_app(settings, encoder), raise_server_exceptions=False) as client:
        answer = client.get("/search?q=x", headers={**auth("clinician"), "X-Request-ID": "req-500"})
    assert answer.status_code == 500 and answer.headers["x-request-id"] == "req-500"


def _serve(tmp_path: Path, log_format: str) -> tuple[str, list[httpx.Response]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSEARCH_")}
    env.update(PYTHONPATH=str(REPO), MEDSEARCH_INDEX__DIR=str(tmp_path / "index"), MEDSEARCH_API__LOG_FORMAT=log_format,
               MEDSEARCH_API__AUDIT_LOG=str(tmp_path / "audit.log"), MEDSEARCH_SECURITY__SECRETS_DIR=str(tmp_path / "secrets"))
    out = tmp_path / f"server-{log_format}.log"
    with out.open("w") as log:
        server = subprocess.Popen([sys.executable, "-m", "indexer.cli", "serve", "--port", str(port)], env=env,
                                  stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
        answers = []
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(120):
                try:
                    httpx.get(f"{base}/health", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.5)
            answers.append(httpx.get(f"{base}/search", params={"q": "cancer du sein de Mme Dupont", "patient_id": "P000123"},
                                     headers={"X-Request-ID": "trace-42"}))
            answers.append(httpx.get(f"{base}/patients/P000123/timeline", params={"q": "biopsie"}))
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
    return out.read_text(encoding="utf-8"), answers


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_running_server_logs_the_id_and_no_patient_data(tmp_path: Path, log_format: str) -> None:
    text, (search, timeline) = _serve(tmp_path, log_format)
    assert search.headers["x-request-id"] == "trace-42" and HEX32.match(timeline.headers["x-request-id"])
    for secret in ("Dupont", "P000123", "cancer", "biopsie"):
        assert secret not in text, text
    if log_format == "text":
        assert '[request_id=trace-42] 127.0.0.1:' in text and '"GET /search?q=…&patient_id=… HTTP/1.1" 401' in text, text
        assert '"GET /patients/…/timeline?q=… HTTP/1.1" 401' in text, text
        assert f'[request_id={timeline.headers["x-request-id"]}]' in text
        return
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is one JSON object
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    by_id = {line["request_id"]: line for line in access}
    assert by_id["trace-42"]["path"] == "/search?q=…&patient_id=…" and by_id["trace-42"]["status"] == 401
    assert by_id["trace-42"]["method"] == "GET"
    assert by_id[timeline.headers["x-request-id"]]["path"] == "/patients/…/timeline?q=…"
    assert any(line["logger"].startswith("uvicorn") and line["request_id"] == "-" for line in lines)  # start-up lines
