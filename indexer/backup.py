"""``medsearch backup DEST`` / ``medsearch restore SRC``: everything a site must keep, copied consistently.

What a medsearch site cannot rebuild from its sources, and what it can but slowly:

* the **audit log** (every rotated file, the current one and ``<log>.head``), copied under the log's own
  ``flock`` (``<log>.lock``), so the copy is a whole chain that ``medsearch audit verify`` accepts;
* ``api.user_data`` (saved searches, cohorts, rights snapshots) and the job history
  (``<index.dir>.jobs.sqlite``), copied with SQLite's online backup API (a consistent snapshot while
  the API writes);
* ``security.secrets_dir``: the pseudonym key (without it every researcher's ``PSN-…`` changes), the
  signing key, local accounts and API keys (argon2 hashes): the backup folder is created mode 0700;
* the embedded index's **live generation** (``CURRENT`` + ``generations/<n>/``), copied under the index
  lock (no run publishes or deletes a generation meanwhile): re-indexing would take hours
  (~22 passages/s per 2 cores). On Elasticsearch the index is the cluster's (snapshot it there):
  it is left out and the backup says so.

``restore`` copies a backup back to the configured paths, with every medsearch process stopped; it
refuses to overwrite anything unless ``--force``. A file ``backup.json`` in the backup lists what it holds.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from indexer.settings import Settings

MANIFEST = "backup.json"


def _sqlite_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _audit_files(log: Path) -> list[Path]:
    """The chain's files, its head, and its anchor once old files were pruned (the chain's start)."""
    from search_api.security.audit import anchor_path, chain_files

    companions = [log.with_name(log.name + ".head"), anchor_path(log)]
    return [*chain_files(log), *(p for p in companions if p.exists())]


def backup(settings: Settings, dest: Path) -> dict:
    """Copy what :mod:`indexer.backup` lists into the new folder *dest*; returns the manifest written."""
    from indexer.backend.embedded.generations import CURRENT, Generations
    from indexer.jobs import IndexLock
    from indexer.jobs.history import history_path

    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} exists and is not empty: back up into a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    os.chmod(dest, 0o700)  # it holds the secrets
    held: dict[str, object] = {"created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                               "backend": settings.backend.kind}

    log = settings.api.audit_log
    if log.exists() or log.with_name(log.name + ".head").exists():
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.with_name(log.name + ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # no append (API, cohort watch) while the chain is copied
            files = _audit_files(log)
            (dest / "audit").mkdir()
            for path in files:
                shutil.copy2(path, dest / "audit" / path.name)
        held["audit"] = [p.name for p in files]

    if settings.api.user_data.exists():
        _sqlite_copy(settings.api.user_data, dest / "user_data.sqlite")
        held["user_data"] = "user_data.sqlite"

    if settings.security.secrets_dir.is_dir():
        shutil.copytree(settings.security.secrets_dir, dest / "secrets")
        held["secrets"] = sorted(p.name for p in (dest / "secrets").iterdir())

    jobs = history_path(settings.index.dir)
    if settings.backend.kind == "embedded":
        generations = Generations(settings.index.dir)
        if generations.current() is not None:
            with IndexLock(settings.index.dir, "backup"):  # IndexBusyError while a run writes: retry later
                live = generations.current()
                shutil.copytree(generations.path(live), dest / "index" / "generations" / generations.path(live).name)
                (dest / "index" / CURRENT).write_text(f"{live}\n", encoding="ascii")
                if jobs.exists():
                    _sqlite_copy(jobs, dest / "index.jobs.sqlite")
            held["index_generation"] = live
    else:
        held["index"] = "not copied: the Elasticsearch cluster holds it (snapshot it with the cluster's own tools)"
        if jobs.exists():
            _sqlite_copy(jobs, dest / "index.jobs.sqlite")
    if (dest / "index.jobs.sqlite").exists():
        held["jobs"] = "index.jobs.sqlite"
    (dest / MANIFEST).write_text(json.dumps(held, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return held


def restore(settings: Settings, source: Path, force: bool = False) -> list[Path]:
    """Copy the backup *source* back to the configured paths (every medsearch process stopped). Refuses to
    replace an existing file or folder unless *force*. Returns the paths written."""
    from indexer.jobs.history import history_path

    source = Path(source)
    if not (source / MANIFEST).is_file():
        raise FileNotFoundError(f"{source} is not a medsearch backup (no {MANIFEST})")
    held = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    log = settings.api.audit_log
    plan: list[tuple[Path, Path]] = []
    for name in held.get("audit", []):  # the files keep their names: restore to the same api.audit_log name
        plan.append((source / "audit" / name, log.parent / name))
    if held.get("user_data"):
        plan.append((source / "user_data.sqlite", settings.api.user_data))
    if held.get("secrets") is not None:
        plan.append((source / "secrets", settings.security.secrets_dir))
    if held.get("jobs"):
        plan.append((source / "index.jobs.sqlite", history_path(settings.index.dir)))
    if held.get("index_generation") is not None:
        plan.append((source / "index", settings.index.dir))
    existing = [target for _, target in plan if target.exists()]
    if existing and not force:
        raise FileExistsError("would replace " + ", ".join(map(str, existing)) + " (stop medsearch, then --force)")
    written = []
    for origin, target in plan:
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(origin, target)
        else:
            shutil.copy2(origin, target)
        written.append(target)
    if held.get("secrets") is not None:
        os.chmod(settings.security.secrets_dir, 0o700)
    return written
