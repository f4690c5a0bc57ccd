"""The API server's logging (``medsearch serve``): ``api.log_format: text`` (default) or ``json``.

Every line carries the request's id (:mod:`search_api.request_id`; ``-`` outside a request). The
access line keeps the redaction of :mod:`search_api.access_log` in both formats: the method, the
route with identifier segments masked, the parameter *names*, the status; JSON adds them as fields
(``method``, ``path``, ``status``) computed from the already-redacted record, never from the raw
request, so no query text, IPP or document id reaches a log collector.
"""

from __future__ import annotations

import logging
from typing import Any

from indexer.jobs.logs import JsonFormatter
from search_api.request_id import current_request_id


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line: ``time``, ``level``, ``logger``, ``message``, ``request_id`` (+ access fields),
    the jobs' JSON lines (:class:`indexer.jobs.logs.JsonFormatter`) with the request's fields."""

    message_key = "message"

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        fields: dict[str, Any] = {"request_id": getattr(record, "request_id", None) or current_request_id() or "-"}
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            fields.update(client=args[0], method=args[1], path=args[2], http_version=args[3], status=args[4])
        return fields


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [request_id=%(request_id)s] %(message)s"


def uvicorn_log_config(fmt: str = "text") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn (its loggers, and medsearch's API logger)."""
    formatter: dict[str, Any] = ({"()": JsonLineFormatter} if fmt == "json"
                                 else {"format": TEXT_FORMAT, "datefmt": "%Y-%m-%dT%H:%M:%S%z"})
    handler = {"class": "logging.StreamHandler", "formatter": "default", "filters": ["request_id"],
               "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"default": formatter},
        "handlers": {"default": handler, "access": {**handler, "stream": "ext://sys.stdout"}},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
            **{name: {"handlers": ["default"], "level": "INFO", "propagate": False}
               for name in ("medsearch.api", "medsearch.security", "search_api")},
        },
    }
