"""No query text, IPP or document id in the server's access log (`medsearch serve`, uvicorn).

Found walking through the product as an IT team would: the container's stdout had
``"GET /search?q=cancer+du+sein+de+Mme+Dupont&patient_id=P000123 HTTP/1.1" 401`` — even for a request
refused without credentials — and ``/patients/P000123/timeline``; log collectors ship that outside the
audit log's rules.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from search_api.access_log import RedactAccessLog, redact_path

REPO = Path(__file__).resolve().parent.parent


def test_redact_path_keeps_routes_and_parameter_names() -> None:
    assert redact_path("/search?q=cancer+du+sein&patient_id=P000123&kinds=report&kinds=image") == (
        "/search?q=…&patient_id=…&kinds=…&kinds=…")
    assert redact_path("/patients/P000123/timeline?q=x") == "/patients/…/timeline?q=…"
    assert redact_path("/documents/report:ACC0000114/highlight?q=pneumothorax") == "/documents/…/highlight?q=…"
    assert redact_path("/images/image:1.2.826.0.1/thumbnail") == "/images/…/thumbnail"
    assert redact_path("/health") == "/health" and redact_path("/cohorts/12/run") == "/cohorts/12/run"
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/search?q=Dupont", "1.1", 200), None)
    assert RedactAccessLog().filter(record) and record.getMessage() == '127.0.0.1:5 - "GET /search?q=… HTTP/1.1" 200'


def test_the_running_server_logs_no_patient_data(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSEARCH_")}
    env.update(PYTHONPATH=str(REPO), MEDSEARCH_INDEX__DIR=str(tmp_path / "index"),
               MEDSEARCH_API__AUDIT_LOG=str(tmp_path / "audit.log"), MEDSEARCH_SECURITY__SECRETS_DIR=str(tmp_path / "secrets"))
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "indexer.cli", "serve", "--port", str(port)], env=env,
                              stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        httpx.get(f"{base}/search", params={"q": "cancer du sein de Mme Dupont", "patient_id": "P000123"})
        httpx.get(f"{base}/patients/P000123/timeline", params={"q": "biopsie"})
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        log.close()
    text = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert '"GET /search?q=…&patient_id=… HTTP/1.1" 401' in text, text
    assert '"GET /patients/…/timeline?q=… HTTP/1.1" 401' in text, text
    for secret in ("Dupont", "P000123", "cancer", "biopsie"):
        assert secret not in text
