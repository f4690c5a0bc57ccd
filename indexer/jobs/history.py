"""Job history: one row per indexing run, in SQLite beside the index (``var/index.jobs.sqlite``).

Kept outside the index folder so that ``--rebuild`` and generation clean-up never erase it, and in
SQLite so the API (``GET /jobs``) and the CLI (``medsearch jobs``) can read it while a run writes.
A run killed before it could record its end stays ``running`` in the table; the next reader sees
that its process is gone (and the index lock free) and reports it as ``crashed``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from indexer.backend.embedded.generations import process_alive

JobStatus = Literal["running", "succeeded", "failed", "skipped", "crashed", "interrupted"]
MAX_ERRORS_KEPT = 1000  # per run: a broken export can have 100k bad files; the count is always exact

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    trigger TEXT NOT NULL,
    status TEXT NOT NULL,
    pid INTEGER,
    host TEXT,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    paths TEXT NOT NULL DEFAULT '[]',
    options TEXT NOT NULL DEFAULT '{}',
    files_seen INTEGER, added INTEGER, updated INTEGER, deleted INTEGER, unchanged INTEGER,
    failed INTEGER, warnings INTEGER, passages INTEGER,
    generation TEXT,
    message TEXT,
    errors TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS jobs_started ON jobs (started_at);
"""


def history_path(index_dir: Path) -> Path:
    index_dir = Path(index_dir)
    return index_dir.parent / f"{index_dir.name}.jobs.sqlite"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class JobRecord(BaseModel):
    """One indexing run, as ``medsearch jobs`` and ``GET /jobs`` show it."""

    id: int
    source: str
    trigger: str
    status: JobStatus
    pid: int | None = None
    host: str | None = None
    started_at: str
    ended_at: str | None = None
    paths: list[str] = []
    options: dict[str, Any] = {}
    files_seen: int | None = None
    added: int | None = None
    updated: int | None = None
    deleted: int | None = None
    unchanged: int | None = None
    failed: int | None = None
    warnings: int | None = None
    passages: int | None = None
    generation: str | None = None
    message: str | None = None
    errors: list[tuple[str, str]] = []


class JobHistory:
    """Read and write the job table (one short transaction per call: safe across processes)."""

    def __init__(self, path: Path, index_dir: Path | None = None) -> None:
        self.path = Path(path)
        self.index_dir = index_dir
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @classmethod
    def for_index(cls, index_dir: Path) -> JobHistory:
        return cls(history_path(index_dir), index_dir)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def start(self, source: str, trigger: str, paths: list[str], options: dict[str, Any]) -> int:
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO jobs (source, trigger, status, pid, host, started_at, paths, options) "
                "VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
                (source, trigger, os.getpid(), os.uname().nodename, _now(), json.dumps(paths), json.dumps(options)),
            )
            return int(cursor.lastrowid)

    def finish(self, job_id: int, status: JobStatus, *, counts: dict[str, int] | None = None,
               errors: list[tuple[str, str]] = (), generation: str | None = None, message: str | None = None) -> None:
        counts = counts or {}
        columns = ("files_seen", "added", "updated", "deleted", "unchanged", "failed", "warnings", "passages")
        with self._connect() as db:
            db.execute(
                f"UPDATE jobs SET status = ?, ended_at = ?, generation = ?, message = ?, errors = ?, "
                f"{', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
                (status, _now(), generation, message, json.dumps(list(errors)[:MAX_ERRORS_KEPT]),
                 *(counts.get(c) for c in columns), job_id),
            )

    def mark_interrupted(self, job_id: int, message: str) -> bool:
        """Record that a still-running run was stopped (``medsearch schedule`` on SIGTERM past its grace
        period); False when the run recorded its own end meanwhile (that end is kept)."""
        with self._connect() as db:
            done = db.execute("UPDATE jobs SET status = 'interrupted', ended_at = ?, message = ? WHERE id = ? AND status = 'running'",
                              (_now(), message, job_id))
            return done.rowcount == 1

    def record_skipped(self, source: str, trigger: str, paths: list[str], message: str) -> int:
        job_id = self.start(source, trigger, paths, {})
        self.finish(job_id, "skipped", message=message)
        return job_id

    def _reap(self, db: sqlite3.Connection) -> None:
        """Mark as crashed the runs that ended without recording it (kill -9, power cut, OOM kill).

        A run holds the index lock from before its row is written until after its end is recorded,
        so a ``running`` row while nobody holds the lock, or whose process is gone, is a dead run.
        """
        from indexer.jobs.lock import is_locked

        rows = db.execute("SELECT id, pid, host FROM jobs WHERE status = 'running'").fetchall()
        if not rows:
            return
        unlocked = self.index_dir is not None and not is_locked(self.index_dir)
        host = os.uname().nodename
        for row in rows:
            if unlocked or (row["host"] == host and not (row["pid"] and process_alive(row["pid"]))):
                db.execute(
                    "UPDATE jobs SET status = 'crashed', ended_at = COALESCE(ended_at, ?), message = ? WHERE id = ?",
                    (_now(), "the run ended without recording it (killed or crashed); the next run completes the work", row["id"]),
                )

    def list(self, limit: int = 50, source: str | None = None) -> list[JobRecord]:
        """The most recent runs first."""
        with self._connect() as db:
            self._reap(db)
            query = "SELECT * FROM jobs" + (" WHERE source = ?" if source else "") + " ORDER BY id DESC LIMIT ?"
            rows = db.execute(query, (source, limit) if source else (limit,)).fetchall()
        return [_record(row) for row in rows]

    def get(self, job_id: int) -> JobRecord | None:
        with self._connect() as db:
            self._reap(db)
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _record(row) if row else None


def _record(row: sqlite3.Row) -> JobRecord:
    data = dict(row)
    data["paths"] = json.loads(data["paths"] or "[]")
    data["options"] = json.loads(data["options"] or "{}")
    data["errors"] = [tuple(e) for e in json.loads(data["errors"] or "[]")]
    return JobRecord.model_validate(data)
