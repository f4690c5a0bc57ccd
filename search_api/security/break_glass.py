"""« Bris de glace » (break-the-glass): a restricted clinician's time-limited access to ONE patient.

A clinician restricted to care units or patients sometimes must read a patient outside them (an
emergency, a night on call, a patient transferred in). Without a sanctioned way the practice is to
share accounts, which the audit cannot attribute. So the clinician declares a motive
(:class:`Motive`) and a free-text reason, and gets a :class:`Grant` for that patient, valid
``security.break_glass_minutes``. The grant is:

* stored server-side (:class:`GrantStore`, a table of the user-data SQLite file, so it survives a
  restart of the API and needs no token change);
* attached to the caller's :class:`~search_api.security.scope.Principal` at each request by
  :func:`~search_api.security.identity.current_principal` (the one place), where it becomes the
  scope's ``granted`` patients and the filter's ``granted_patients``: search, counts, the patient
  view, timeline, documents and images all admit that patient, inside retrieval like any scope;
* not used by research: cohorts (evaluation, runs, exports, the watch) read through the standing
  scope (:attr:`~search_api.security.scope.AccessScope.standing`), a grant is for care;
* audited: its creation (``break_glass``, with motive and reason), its revocation
  (``break_glass_revoke``), and every audit entry naming a granted patient while the grant is valid
  carries ``break_glass: [grant ids]`` (:func:`marker`), so the DPO lists what was read under it.

A grant is created whether or not the patient id exists in the index, and without looking it up:
the answer must not tell which patient ids exist (an oracle), nor in which unit they are.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from indexer.backend.filters import normalise_key

#: the shortest reason accepted: « urgence » alone says nothing the motive does not already say
MIN_REASON_CHARS = 15
MAX_REASON_CHARS = 1000


class Motive(str, Enum):
    """Why the glass was broken (the categories of the hospital's DPI, for the DPO's statistics)."""

    URGENCE = "urgence"
    GARDE = "garde/astreinte"
    TRANSFERT = "transfert"
    CONTINUITE = "continuité des soins"
    AUTRE = "autre"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Grant:
    """One break-the-glass access: *user* may read *patient_id* from *created_at* until *expires_at*."""

    id: str
    user: str
    patient_id: str
    motive: str
    reason: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    def valid_at(self, now: datetime) -> bool:
        return self.revoked_at is None and self.created_at <= now < self.expires_at

    def as_dict(self, now: datetime) -> dict[str, Any]:
        """The grant as the API returns it (ISO times, and whether it is still valid)."""
        out = asdict(self)
        for key in ("created_at", "expires_at", "revoked_at"):
            out[key] = out[key].isoformat(timespec="seconds") if out[key] else None
        out["active"] = self.valid_at(now)
        return out


_SCHEMA = """
CREATE TABLE IF NOT EXISTS break_glass_grants (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    motive TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT
);
CREATE INDEX IF NOT EXISTS break_glass_user ON break_glass_grants(user, expires_at);
"""
_COLUMNS = "id, user, patient_id, motive, reason, created_at, expires_at, revoked_at, revoked_by"


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _grant(row: tuple[Any, ...]) -> Grant:
    gid, user, patient, motive, reason, created, expires, revoked, by = row
    return Grant(gid, user, patient, motive, reason, _time(created), _time(expires), _time(revoked), by)  # type: ignore[arg-type]


class GrantStore:
    """Break-the-glass grants in one SQLite table (the ``api.user_data`` file: kept with the users' data).

    *clock* gives the current UTC time: tests move it to check expiry without sleeping."""

    def __init__(self, path: Path, clock: Callable[[], datetime] = utcnow) -> None:
        self.path = Path(path)
        self.clock = clock
        self._lock = threading.Lock()
        self._ready = False

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection committed and closed on exit (sqlite3's own ``with`` commits but never closes)."""
        if not self._ready:  # created on first use: an API where nobody breaks the glass writes nothing
            self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=10)
        try:
            if not self._ready:
                connection.executescript(_SCHEMA)
                self._ready = True
            with connection:
                yield connection
        finally:
            connection.close()

    def create(self, user: str, patient_id: str, motive: Motive, reason: str, minutes: int) -> Grant:
        now = self.clock()
        grant = Grant(uuid.uuid4().hex[:16], user, patient_id.strip(), motive.value, reason.strip(), now,
                      now + timedelta(minutes=minutes))
        with self._lock, self._connect() as db:
            db.execute(f"INSERT INTO break_glass_grants ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", (
                grant.id, grant.user, grant.patient_id, grant.motive, grant.reason, grant.created_at.isoformat(),
                grant.expires_at.isoformat(), None, None))
        return grant

    def active_for(self, user: str) -> tuple[Grant, ...]:
        """*user*'s grants valid now (the expiry is checked here, against the clock, not in SQL text)."""
        now = self.clock()
        if not self.path.exists():
            return ()
        with self._lock, self._connect() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM break_glass_grants WHERE user = ? AND revoked_at IS NULL "
                              "ORDER BY created_at", (user,)).fetchall()
        return tuple(g for g in map(_grant, rows) if g.valid_at(now))

    def all(self, user: str | None = None, patient_id: str | None = None) -> list[Grant]:
        """Every grant (newest first), optionally of one user or one patient: the DPO's review list."""
        if not self.path.exists():
            return []
        with self._lock, self._connect() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM break_glass_grants ORDER BY created_at DESC").fetchall()
        grants = [_grant(r) for r in rows]
        if user:
            grants = [g for g in grants if g.user == user]
        if patient_id:
            grants = [g for g in grants if normalise_key(g.patient_id) == normalise_key(patient_id)]
        return grants

    def get(self, grant_id: str) -> Grant | None:
        if not self.path.exists():
            return None
        with self._lock, self._connect() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM break_glass_grants WHERE id = ?", (grant_id,)).fetchone()
        return _grant(row) if row else None

    def revoke(self, grant_id: str, by: str) -> Grant | None:
        """End *grant_id* now (None when there is no such grant); revoking twice keeps the first revocation."""
        with self._lock, self._connect() as db:
            db.execute("UPDATE break_glass_grants SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL",
                       (self.clock().isoformat(), by, grant_id))
        return self.get(grant_id)


def marker(grants: Iterable[Grant], details: dict[str, Any]) -> list[str]:
    """The ids of the *grants* whose patient an audit entry's *details* name (``patient_id``, ``patients``,
    ``returned``): what an access under a grant is marked with (``break_glass``) for the DPO."""
    grants = list(grants)
    if not grants:
        return []
    named: set[str] = set()
    if details.get("patient_id"):
        named.add(normalise_key(str(details["patient_id"])))
    for field in ("patients", "returned"):
        value = details.get(field)
        if isinstance(value, (list, tuple)):
            named |= {normalise_key(str(v)) for v in value if isinstance(v, (str, int))}
    return [g.id for g in grants if normalise_key(g.patient_id) in named]
