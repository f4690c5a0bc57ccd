"""Structured logs for indexing jobs: one line per event, plain text or JSON (``jobs.log_format``).

A nightly job's output is read by log collectors (journald, Kubernetes, Loki...), not by a person
watching a terminal: with ``json`` every line is one object with the event name and its fields
(job id, source, counts, and one ``file_skipped`` event per file that could not be read).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any

LOGGER = "medsearch.jobs"
# Until configure_logging gives it a handler (schedule, run-jobs), the jobs logger must not fall to
# logging's last-resort handler: ``medsearch index`` printed one bare « file_skipped » line per skipped
# file on stderr (the message without its fields), before its own report that names each file and why.
logging.getLogger(LOGGER).addHandler(logging.NullHandler())


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "event", ...fields}`` on one line. The API's JSON log lines
    (:class:`search_api.logging_config.JsonLineFormatter`) are the same lines with their own key and fields."""

    #: the key of the log message
    message_key = "event"

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        """The record's own fields (``extra={"fields": {...}}``)."""
        return dict(getattr(record, "fields", {}))

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            self.message_key: record.getMessage(),
            **self.fields(record),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in getattr(record, "fields", {}).items())
        line = f"{datetime.fromtimestamp(record.created).isoformat(timespec='seconds')} {record.levelname:<7} {record.getMessage()} {fields}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(fmt: str = "text", level: str = "INFO") -> logging.Logger:
    """Send the jobs logger to stderr in *fmt* (``text`` or ``json``); idempotent."""
    logger = logging.getLogger(LOGGER)
    for handler in list(logger.handlers):
        if getattr(handler, "_medsearch", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler._medsearch = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    return logger


def event(logger: logging.Logger, level: int, name: str, **fields: Any) -> None:
    """Log event *name* with structured *fields*."""
    logger.log(level, name, extra={"fields": fields})
