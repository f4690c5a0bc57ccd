"""Rights snapshots of OIDC users: the last roles and restrictions a verified token carried.

A physician of the hospital's OIDC provider (Keycloak) has roles, care units and patients only in
their tokens, and the cohort watch (:mod:`search_api.cohort_watch`) runs with no token. So each time
the API verifies a token of that issuer (:meth:`~search_api.security.identity.SecurityContext.authenticate`),
:class:`RightsRecorder` keeps, in the user-data store, the claims that
:func:`~search_api.security.identity.principal_from_claims` reads (user name, roles, units, patients:
:func:`rights_claims`) and when they were seen; never the token, its signature, nor any other claim.
:func:`search_api.security.owners.owner_principal` rebuilds the owner's principal from it, through
the same function, only while it is younger than ``api.watch_rights_max_age_hours``.

Writes are throttled (no SQLite write per request): a snapshot is written when the rights differ
from the last ones written, or when those are older than :data:`SNAPSHOT_REFRESH`; a failure to write
is logged and never fails the request (the watch then finds an older snapshot, or none, and skips).
Local-issuer tokens are not recorded: local accounts are rebuilt from ``users_file`` itself, so a
removed account stays removed.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from indexer.settings import SecuritySettings
from search_api.security.tokens import claim, set_claim

log = logging.getLogger("medsearch.security.rights")

#: a snapshot whose rights did not change is re-written (its ``seen_at`` moved) at most this often
SNAPSHOT_REFRESH = timedelta(minutes=5)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def rights_claims(claims: dict[str, Any], settings: SecuritySettings) -> dict[str, Any]:
    """The part of *claims* that decides a principal's name, scope and view, at the same (dotted)
    paths, so :func:`principal_from_claims` reads it as it read the token; plus ``iss``."""
    kept: dict[str, Any] = {"iss": claims.get("iss")}
    for path in dict.fromkeys(("sub", settings.user_claim, settings.roles_claim, settings.units_claim,
                               settings.patients_claim)):
        value = claim(claims, path)
        if value is not None:
            set_claim(kept, path, value)
    return kept


def parse_time(value: str) -> datetime:
    """A stored ISO time as an aware UTC datetime (naive ones are UTC)."""
    seen = datetime.fromisoformat(value)
    return seen if seen.tzinfo else seen.replace(tzinfo=timezone.utc)


class RightsRecorder:
    """Keeps the latest rights of each OIDC user in the user-data store, throttled per user.

    *store* is a :class:`search_api.user_data.UserDataStore` or a callable opening one (opened on the
    first OIDC token, so an API without OIDC users creates no database)."""

    def __init__(self, settings: SecuritySettings, store: Any | Callable[[], Any], *,
                 refresh: timedelta = SNAPSHOT_REFRESH, clock: Callable[[], datetime] = _utcnow) -> None:
        self.settings = settings
        self._opener = store if callable(store) else (lambda: store)
        self._store: Any = None
        self.refresh = refresh
        self.clock = clock
        self._written: dict[str, tuple[str, datetime]] = {}  # user -> (rights written, when)
        self._lock = threading.Lock()
        self.writes = 0  # snapshots written by this process (tests, metrics)

    @classmethod
    def at(cls, settings: SecuritySettings, path: Path) -> RightsRecorder:
        from search_api.user_data import UserDataStore

        return cls(settings, lambda: UserDataStore(path))

    def records(self, claims: dict[str, Any]) -> bool:
        """Whether a token with *claims* is one whose rights are kept (the external OIDC issuer's)."""
        return bool(self.settings.jwt_issuer) and claims.get("iss") == self.settings.jwt_issuer

    def seen(self, user: str, claims: dict[str, Any]) -> None:
        """A verified token of *user* carried *claims*: keep its rights if they changed or aged."""
        if not self.records(claims):
            return
        kept = rights_claims(claims, self.settings)
        key = json.dumps(kept, sort_keys=True, ensure_ascii=False)
        now = self.clock()
        with self._lock:
            last = self._written.get(user)
            if last is not None and last[0] == key and now - last[1] < self.refresh:
                return
            try:
                if self._store is None:
                    self._store = self._opener()
                if last is None:  # first token of this user in this process: maybe written by another
                    stored = self._store.rights_snapshot(user)
                    if stored is not None and json.dumps(stored["claims"], sort_keys=True, ensure_ascii=False) == key:
                        seen = parse_time(stored["seen_at"])
                        if now - seen < self.refresh:
                            self._written[user] = (key, seen)
                            return
                self._store.record_rights(user, str(claims["iss"]), kept, now.isoformat(timespec="seconds"))
            except Exception:  # the request goes on: the watch will find an older snapshot, or none
                log.warning("rights_snapshot_not_written", exc_info=True, extra={"fields": {"user": user}})
                return
            self._written[user] = (key, now)
            self.writes += 1
