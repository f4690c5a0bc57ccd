"""The server's access log without patient data.

uvicorn logs every request as ``"GET /search?q=cancer+du+sein+de+Mme+Dupont&patient_id=P000123 HTTP/1.1"
401``: the query, the IPP, a patient's id in ``/patients/{id}``, a document id naming an accession number,
all in the container's stdout, which log collectors ship and keep outside the hospital's audit rules
(the audit log is where who searched what belongs: hash-chained, access-controlled). This filter keeps
the method, the route, the parameter *names* and the status, and replaces every value and every id
segment: ``"GET /search?q=…&patient_id=… HTTP/1.1" 401``, ``/patients/…/timeline``.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl

#: path segments after these are identifiers (patients, documents, images, and their pseudonyms)
_ID_AFTER = re.compile(r"^/(patients|documents|images)/[^/?]+")
MASK = "…"


def redact_path(path: str) -> str:
    """*path* (with its query string) with every query value and identifier segment masked."""
    route, sep, query = path.partition("?")
    route = _ID_AFTER.sub(lambda m: f"/{m.group(1)}/{MASK}", route)
    if not sep:
        return route
    names = [name for name, _ in parse_qsl(query, keep_blank_values=True)]
    return f"{route}?{'&'.join(f'{name}={MASK}' for name in names)}" if names else route


class RedactAccessLog(logging.Filter):
    """Rewrites uvicorn's access records (args: client, method, path with query, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact_path(args[2]), args[3], args[4])
        return True


def install() -> None:
    """Add the filter to uvicorn's access logger once (``create_app`` calls it in the server process)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactAccessLog) for f in logger.filters):
        logger.addFilter(RedactAccessLog())
