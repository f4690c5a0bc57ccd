"""Per-user portal data in one SQLite file (``api.user_data``): saved searches and saved cohorts.

Each row belongs to its owner (the authenticated user's name): one user never lists, reads, changes
or deletes another's. JSON columns hold the search parameters and cohort definitions as the API
received them, so new optional fields need no migration. Columns added since the first release
(the watch of a cohort: :data:`_ADDED_COLUMNS`) are added to an existing file when it is opened;
tables added since (``rights_snapshots``: the last rights seen in an OIDC user's token, which the
watch rebuilds such an owner's scope from) are created then too (``CREATE TABLE IF NOT EXISTS``).

Screening decisions (``decisions``: per patient id as the owner is shown it, ``{"status", "reason",
"decided_by", "decided_at"}``) are the one truth of hand exclusion: a stored definition keeps
``excluded`` empty and every cohort read gives it back as the patients whose status is ``excluded``
(:func:`_cohort`). A cohort saved before decisions existed has its ``excluded`` list moved into
decisions when the file is opened (status ``excluded``, decided by the owner at the cohort's last
update, ``migrated: true``): nothing lost, and the same exclusions as before.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS saved_searches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    params TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS saved_searches_owner ON saved_searches(owner);
CREATE TABLE IF NOT EXISTS cohorts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    members TEXT NOT NULL,           -- patient ids of the last run, to tell who is new at the next one
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_run_at TEXT
);
CREATE INDEX IF NOT EXISTS cohorts_owner ON cohorts(owner);
CREATE TABLE IF NOT EXISTS rights_snapshots (
    user TEXT PRIMARY KEY,           -- the principal's user name: the owner of its cohorts
    issuer TEXT NOT NULL,            -- the OIDC issuer that signed the token
    claims TEXT NOT NULL,            -- only the claims principal_from_claims reads (no token, no signature)
    seen_at TEXT NOT NULL            -- when a verified token last carried them (UTC)
);
"""

#: cohort columns added after the first release: (name, declaration), added when missing. Why
#: ``unseen`` and not new members: a refresh leaves ``members`` (what the owner last saw, the
#: reference of « new ») alone and keeps its own result in ``refreshed_members``.
_ADDED_COLUMNS = (
    ("watch", "INTEGER NOT NULL DEFAULT 0"),     # re-evaluated after each index publication
    ("last_refreshed", "TEXT"),                  # when the watch last re-evaluated it
    ("refreshed_members", "TEXT"),               # that evaluation's members (the owner's ids)
    ("unseen", "TEXT NOT NULL DEFAULT '[]'"),    # its members absent from ``members``: new to the owner
    ("refresh_error", "TEXT"),                   # why the last refresh failed or was skipped, if it did
    ("decisions", "TEXT"),                       # screening decisions per patient (NULL: not migrated yet)
)

#: screening decision statuses (« inclus / exclu / à revoir »); ``excluded`` is the hand exclusion
STATUSES = ("included", "excluded", "to_review")


def _name_key(name: str) -> str:
    """What makes two saved-search names the same: case and runs of spaces aside."""
    return " ".join(name.split()).casefold()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class UserDataStore:
    """Thread-safe access to the user-data database (one connection, serialised by a lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.executescript(_SCHEMA)
            present = {row["name"] for row in self._db.execute("PRAGMA table_info(cohorts)")}
            for column, declaration in _ADDED_COLUMNS:
                if column not in present:
                    self._db.execute(f"ALTER TABLE cohorts ADD COLUMN {column} {declaration}")
            self._migrate_exclusions()
            self._db.commit()

    def _migrate_exclusions(self) -> None:
        """Cohorts without a ``decisions`` column value (saved before screening): their definition's
        ``excluded`` becomes decisions of status ``excluded`` (lock held, caller commits)."""
        rows = self._db.execute("SELECT id, owner, definition, updated_at FROM cohorts WHERE decisions IS NULL").fetchall()
        for row in rows:
            definition = json.loads(row["definition"])
            decisions = {
                str(p): {"status": "excluded", "reason": None, "decided_by": row["owner"],
                         "decided_at": row["updated_at"], "migrated": True}
                for p in definition.get("excluded") or [] if p
            }
            if "excluded" in definition:
                definition["excluded"] = []
            self._db.execute("UPDATE cohorts SET decisions = ?, definition = ? WHERE id = ?",
                             (json.dumps(decisions, ensure_ascii=False), json.dumps(definition, ensure_ascii=False), row["id"]))

    def close(self) -> None:
        self._db.close()

    # -- saved searches ------------------------------------------------------------------------
    def add_search(self, owner: str, name: str, params: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Save *params* under *name* for *owner*: (the saved search, whether it replaced one).

        A search of the same name (case and spacing aside: « EP test » = « ep  TEST ») is replaced: it
        keeps its id and place in the list and takes the new name as typed and the new params. Why here
        and not in the portal: the portal deleted the old one after saving the new one, two requests
        another client did not make (three « EP test » entries), and a failure between them kept both.
        Older duplicates of the name, saved before this rule, are removed: one entry per name."""
        key = _name_key(name)
        encoded = json.dumps(params, ensure_ascii=False)
        with self._lock:
            rows = self._db.execute("SELECT id, name FROM saved_searches WHERE owner = ? ORDER BY id", (owner,)).fetchall()
            same = [int(row["id"]) for row in rows if _name_key(row["name"]) == key]
            if same:
                kept, *older = same
                self._db.execute("UPDATE saved_searches SET name = ?, params = ? WHERE id = ?", (name, encoded, kept))
                self._db.executemany("DELETE FROM saved_searches WHERE id = ?", [(i,) for i in older])
            else:
                cursor = self._db.execute(
                    "INSERT INTO saved_searches (owner, name, params, created_at) VALUES (?,?,?,?)",
                    (owner, name, encoded, _now()),
                )
                kept = int(cursor.lastrowid)  # type: ignore[arg-type]
            self._db.commit()
            return self._search_row(kept, owner), bool(same)  # type: ignore[return-value]

    def searches(self, owner: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM saved_searches WHERE owner = ? ORDER BY id", (owner,)).fetchall()
        return [_search(r) for r in rows]

    def _search_row(self, search_id: int, owner: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT * FROM saved_searches WHERE id = ? AND owner = ?", (search_id, owner)).fetchone()
        return _search(row) if row else None

    def delete_search(self, owner: str, search_id: int) -> bool:
        with self._lock:
            deleted = self._db.execute("DELETE FROM saved_searches WHERE id = ? AND owner = ?", (search_id, owner)).rowcount
            self._db.commit()
        return bool(deleted)

    # -- cohorts -------------------------------------------------------------------------------
    def add_cohort(self, owner: str, name: str, definition: dict[str, Any], members: list[str],
                   watch: bool = False) -> dict[str, Any]:
        """Save a cohort; its definition's ``excluded`` become decisions ``excluded`` by *owner*, now."""
        now = _now()
        definition, decisions = _reconcile(definition, {}, owner, now)
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO cohorts (owner, name, definition, members, created_at, updated_at, last_run_at, watch,"
                " decisions) VALUES (?,?,?,?,?,?,?,?,?)",
                (owner, name, json.dumps(definition, ensure_ascii=False), json.dumps(members), now, now, now, int(watch),
                 json.dumps(decisions, ensure_ascii=False)),
            )
            self._db.commit()
        return self.cohort(owner, int(cursor.lastrowid))  # type: ignore[return-value]

    def cohort(self, owner: str, cohort_id: int) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM cohorts WHERE id = ? AND owner = ?", (cohort_id, owner)).fetchone()
        return _cohort(row) if row else None

    def cohorts(self, owner: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM cohorts WHERE owner = ? ORDER BY id", (owner,)).fetchall()
        return [_cohort(r) for r in rows]

    def update_cohort(
        self, owner: str, cohort_id: int, *, name: str | None = None, definition: dict[str, Any] | None = None,
        members: list[str] | None = None, watch: bool | None = None, shown: Iterable[str] | None = None,
    ) -> dict[str, Any] | None:
        """Change what is given; new *members* (a run the owner looked at) also mark the watch's news
        seen: those *shown* (None: all), the others stay unseen (:func:`_seen_but`). A new *definition*'s
        ``excluded`` list is read as decisions (:func:`_reconcile`): patients newly in it are decided
        ``excluded`` by *owner* now, those taken out of it lose their ``excluded`` decision."""
        current = self.cohort(owner, cohort_id)
        if current is None:
            return None
        now = _now()
        with self._lock:
            if definition is not None:  # reconciled with the decisions as they are now (one made meanwhile kept)
                row = self._db.execute("SELECT decisions FROM cohorts WHERE id = ?", (cohort_id,)).fetchone()
                definition_out, decisions = _reconcile(definition, json.loads(row["decisions"] or "{}") if row else {},
                                                       owner, now)
                self._db.execute("UPDATE cohorts SET decisions = ? WHERE id = ?",
                                 (json.dumps(decisions, ensure_ascii=False), cohort_id))
            else:
                definition_out = {**current["definition"], "excluded": []}
            self._db.execute(
                "UPDATE cohorts SET name = ?, definition = ?, members = ?, updated_at = ?, last_run_at = ?, watch = ?"
                " WHERE id = ? AND owner = ?",
                (
                    name if name is not None else current["name"],
                    json.dumps(definition_out, ensure_ascii=False),
                    json.dumps(members if members is not None else current["members"]),
                    now,
                    now if members is not None else current["last_run_at"],
                    int(watch if watch is not None else current["watch"]),
                    cohort_id,
                    owner,
                ),
            )
            if members is not None:
                self._db.execute("UPDATE cohorts SET members = ?, refreshed_members = ?, unseen = ? WHERE id = ?",
                                 (*_seen_but(members, current["new_patient_ids"], shown), cohort_id))
            self._db.commit()
        return self.cohort(owner, cohort_id)

    def decide(self, owner: str, cohort_id: int, changes: dict[str, tuple[str, str | None] | None],
               decided_by: str) -> dict[str, Any] | None:
        """Set (``(status, reason)``) or clear (None) the screening decision of each patient of
        *changes*, all in one transaction; who and when are set here. None: no such cohort of *owner*.
        An unchanged status and reason keep their decider and date (a repeated click is no decision)."""
        now = _now()
        with self._lock:
            row = self._db.execute("SELECT decisions FROM cohorts WHERE id = ? AND owner = ?", (cohort_id, owner)).fetchone()
            if row is None:
                return None
            decisions = json.loads(row["decisions"] or "{}")
            for patient, change in changes.items():
                if change is None:
                    decisions.pop(patient, None)
                    continue
                status, reason = change
                old = decisions.get(patient)
                if old and old.get("status") == status and old.get("reason") == reason:
                    continue
                decisions[patient] = {"status": status, "reason": reason, "decided_by": decided_by, "decided_at": now}
            self._db.execute("UPDATE cohorts SET decisions = ?, updated_at = ? WHERE id = ?",
                             (json.dumps(decisions, ensure_ascii=False), now, cohort_id))
            self._db.commit()
        return self.cohort(owner, cohort_id)

    # -- watched cohorts (search_api.cohort_watch) ---------------------------------------------
    def watched_cohorts(self) -> list[dict[str, Any]]:
        """Every owner's watched cohorts, with their owner, by id."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM cohorts WHERE watch = 1 ORDER BY id").fetchall()
        return [{**_cohort(r), "owner": r["owner"]} for r in rows]

    def record_refresh(self, cohort_id: int, members: list[str], unseen: list[str], reference: list[str]) -> bool:
        """A watch evaluation: its members and those the owner has not seen (``members`` unchanged).

        Kept only while the owner's ``members`` are still the *reference* it was compared with: an
        owner who re-ran the cohort meanwhile has seen a newer result (False, nothing stored)."""
        with self._lock:
            changed = self._db.execute(
                "UPDATE cohorts SET refreshed_members = ?, unseen = ?, last_refreshed = ?, refresh_error = NULL"
                " WHERE id = ? AND members = ?",
                (json.dumps(members), json.dumps(sorted(set(unseen))), _now(), cohort_id, json.dumps(reference)),
            ).rowcount
            self._db.commit()
        return bool(changed)

    def record_refresh_error(self, cohort_id: int, reason: str) -> None:
        """Why a watch evaluation failed or was skipped (the previous result is kept)."""
        with self._lock:
            self._db.execute("UPDATE cohorts SET refresh_error = ? WHERE id = ?", (reason[:500], cohort_id))
            self._db.commit()

    def mark_seen(self, owner: str, cohort_id: int, last_refreshed: str | None, shown: Iterable[str] | None = None) -> None:
        """The owner opened the cohort: the refresh they were shown (*last_refreshed*) becomes the
        reference of « new » (not one that landed since: its news stay counted); of its news, those
        *shown* (None: all) are seen, the others stay unseen (:func:`_seen_but`)."""
        with self._lock:
            row = self._db.execute("SELECT * FROM cohorts WHERE id = ? AND owner = ? AND last_refreshed IS ?",
                                   (cohort_id, owner, last_refreshed)).fetchone()
            if row is None:
                return
            cohort = _cohort(row)
            latest = cohort["refreshed_members"] if cohort["refreshed_members"] is not None else cohort["members"]
            self._db.execute("UPDATE cohorts SET members = ?, refreshed_members = ?, unseen = ? WHERE id = ?",
                             (*_seen_but(latest, cohort["new_patient_ids"], shown), cohort_id))
            self._db.commit()

    # -- OIDC users' rights snapshots (search_api.security.rights) ---------------------------------
    def rights_snapshot(self, user: str) -> dict[str, Any] | None:
        """The last rights recorded for *user*: ``{"issuer", "claims", "seen_at"}``, or None."""
        with self._lock:
            row = self._db.execute("SELECT issuer, claims, seen_at FROM rights_snapshots WHERE user = ?", (user,)).fetchone()
        if row is None:
            return None
        return {"issuer": row["issuer"], "claims": json.loads(row["claims"]), "seen_at": row["seen_at"]}

    def record_rights(self, user: str, issuer: str, claims: dict[str, Any], seen_at: str) -> None:
        """Replace *user*'s rights snapshot (one row per user: only the latest rights matter)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO rights_snapshots (user, issuer, claims, seen_at) VALUES (?,?,?,?)"
                " ON CONFLICT(user) DO UPDATE SET issuer = excluded.issuer, claims = excluded.claims,"
                " seen_at = excluded.seen_at",
                (user, issuer, json.dumps(claims, ensure_ascii=False, sort_keys=True), seen_at),
            )
            self._db.commit()

    def delete_cohort(self, owner: str, cohort_id: int) -> bool:
        with self._lock:
            deleted = self._db.execute("DELETE FROM cohorts WHERE id = ? AND owner = ?", (cohort_id, owner)).rowcount
            self._db.commit()
        return bool(deleted)

    # -- retention -----------------------------------------------------------------------------
    def owners(self) -> list[dict[str, Any]]:
        """Every user holding data here: counts, and their last activity (the newest of their saved
        searches' creation, cohorts' creation / change / run / watch refresh, and rights snapshot)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT owner, SUM(s) AS searches, SUM(c) AS cohorts, MAX(at) AS last_activity FROM ("
                " SELECT owner, 1 AS s, 0 AS c, created_at AS at FROM saved_searches"
                " UNION ALL SELECT owner, 0, 1, MAX(created_at, updated_at, COALESCE(last_run_at, ''),"
                "  COALESCE(last_refreshed, '')) FROM cohorts"
                " UNION ALL SELECT user, 0, 0, seen_at FROM rights_snapshots"
                ") GROUP BY owner ORDER BY owner"
            ).fetchall()
        return [dict(r) for r in rows]

    def purge_owner(self, owner: str) -> dict[str, Any]:
        """Delete everything *owner* has here (a departed user): saved searches, cohorts with their
        members and screening decisions, rights snapshot. Returns what was deleted (ids, for the audit)."""
        with self._lock:
            searches = [r[0] for r in self._db.execute("SELECT id FROM saved_searches WHERE owner = ?", (owner,))]
            cohorts = [r[0] for r in self._db.execute("SELECT id FROM cohorts WHERE owner = ?", (owner,))]
            self._db.execute("DELETE FROM saved_searches WHERE owner = ?", (owner,))
            self._db.execute("DELETE FROM cohorts WHERE owner = ?", (owner,))
            rights = self._db.execute("DELETE FROM rights_snapshots WHERE user = ?", (owner,)).rowcount
            self._db.commit()
        return {"saved_searches": searches, "cohorts": cohorts, "rights_snapshot": bool(rights)}


def _seen_but(members: list[str], unseen: list[str], shown: Iterable[str] | None) -> tuple[str, str | None, str]:
    """The columns ``members``, ``refreshed_members``, ``unseen`` once the owner looked at *members*
    and was *shown* those of the watch's news *unseen* (None: all of them).

    Why: a restricted owner (a unit withdrawn, a researcher's view) is not shown some of the watch's
    news; marked seen, they would never show as new once the owner's rights widen again. So they stay
    unseen and out of the reference of « new » (the next refresh finds them new again), while the
    latest members known (``refreshed_members``) still hold them."""
    seen = set(unseen if shown is None else shown)
    pending = [p for p in unseen if p not in seen]
    if not pending:
        return json.dumps(members), None, "[]"
    latest = members + [p for p in pending if p not in members]
    return json.dumps([p for p in members if p not in pending]), json.dumps(latest), json.dumps(pending)


def _reconcile(definition: dict[str, Any], decisions: dict[str, dict[str, Any]], who: str,
               now: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(definition to store, decisions) once a client sent *definition*: its ``excluded`` list is the
    hand exclusion as older clients (and the portal's « exclure ») express it. A patient newly in it is
    decided ``excluded`` (no reason) by *who*; one already decided ``excluded`` keeps its reason, decider
    and date; one decided ``excluded`` and no longer in it loses that decision. Other statuses are left
    alone unless the patient is now in the list. The stored definition keeps ``excluded`` empty."""
    wanted = [str(p) for p in definition.get("excluded") or [] if p]
    out = {p: dict(d) for p, d in decisions.items()}
    for patient, decision in decisions.items():
        if decision.get("status") == "excluded" and patient not in wanted:
            del out[patient]
    for patient in wanted:
        if out.get(patient, {}).get("status") != "excluded":
            out[patient] = {"status": "excluded", "reason": None, "decided_by": who, "decided_at": now}
    return {**definition, "excluded": []}, out


def _search(row: sqlite3.Row) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "params": json.loads(row["params"]), "created_at": row["created_at"]}


def _cohort(row: sqlite3.Row) -> dict[str, Any]:
    """A stored cohort; its definition's ``excluded`` are the patients decided ``excluded``."""
    decisions = json.loads(row["decisions"] or "{}")
    definition = json.loads(row["definition"])
    if isinstance(definition, dict):
        definition = {**definition, "excluded": sorted(p for p, d in decisions.items() if d.get("status") == "excluded")}
    return {
        "id": row["id"], "name": row["name"], "definition": definition, "decisions": decisions,
        "members": json.loads(row["members"]), "created_at": row["created_at"], "updated_at": row["updated_at"],
        "last_run_at": row["last_run_at"], "watch": bool(row["watch"]), "last_refreshed": row["last_refreshed"],
        "refreshed_members": json.loads(row["refreshed_members"]) if row["refreshed_members"] is not None else None,
        "new_patient_ids": json.loads(row["unseen"] or "[]"), "refresh_error": row["refresh_error"],
    }
