"""A user-data store as an older medsearch left it, for the migration tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def store_before_watch(path: Path, owner: str) -> None:
    """The cohorts table before watched cohorts and rights snapshots, with one cohort « old » of *owner*
    (members ``["P1"]``): what opening it with today's :class:`UserDataStore` must migrate, losing nothing."""
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE cohorts (id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, name TEXT NOT NULL,"
        " definition TEXT NOT NULL, members TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
        " last_run_at TEXT);"
    )
    db.execute("INSERT INTO cohorts (owner, name, definition, members, created_at, updated_at)"
               " VALUES (?, 'old', '{}', '[\"P1\"]', 't', 't')", (owner,))
    db.commit()
    db.close()
