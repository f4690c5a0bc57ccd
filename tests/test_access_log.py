"""No query text, IPP or document id in the server's access log (`medsearch serve`, uvicorn).

Found walking through the product as an IT team would: the container's stdout had
``"GET /search?q=cancer+du+sein+de+Mme+Dupont&patient_id=P000123 HTTP/1.1" 401`` — even for a request
refused without credentials — and ``/patients/P000123/timeline``; log collectors ship that outside the
audit log's rules.

Through a real ``medsearch serve`` (text and JSON log lines, the same two requests): ``tests/test_request_id.py``.
"""

from __future__ import annotations

import logging

from search_api.access_log import RedactAccessLog, redact_path


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

