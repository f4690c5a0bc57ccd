"""Local accounts for the demo (or a site without an OIDC provider): argon2 hashes in a JSON file.

``POST /auth/login`` checks a username and password here and returns a short-lived token signed by
the API's own issuer; everything after that is the ordinary Bearer path. A hospital with Keycloak
(or any OIDC provider) configures its issuer instead, which turns local login off unless
``security.local_login: true`` is set explicitly (a break-glass account: the API warns at start-up).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from search_api.security.hashing import hash_secret, verify_secret
from search_api.security.scope import Role
from search_api.security.secrets import write_private

#: verified against when the user does not exist, so a wrong name costs as long as a wrong password
_DUMMY_HASH = hash_secret(secrets.token_urlsafe(16))


@dataclass
class LocalUser:
    username: str
    hash: str
    roles: list[str]
    units: list[str] | None = None
    patients: list[str] | None = None
    display_name: str | None = None


class UserStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._names: tuple[int, frozenset[str]] | None = None  # (file mtime, account names)

    def names(self) -> frozenset[str]:
        """The account names, re-read only when the file changed (checked on every external token)."""
        try:
            stamp = self.path.stat().st_mtime_ns
        except OSError:
            return frozenset()
        if self._names is None or self._names[0] != stamp:
            self._names = (stamp, frozenset(self.users()))
        return self._names[1]

    def users(self) -> dict[str, LocalUser]:
        if not self.path.exists():
            return {}
        raw = json.loads(self.path.read_text(encoding="utf-8"))
        return {u["username"]: LocalUser(**u) for u in raw.get("users", [])}

    def add(
        self, username: str, roles: list[str], password: str | None = None, units: list[str] | None = None,
        patients: list[str] | None = None, display_name: str | None = None,
    ) -> str:
        """Create or replace an account; returns its password (generated when not given)."""
        for role in roles:
            Role(role)
        password = password or secrets.token_urlsafe(12)
        users = self.users()
        users[username] = LocalUser(username, hash_secret(password), list(roles), units or None, patients or None, display_name)
        body = json.dumps({"users": [asdict(u) for u in users.values()]}, indent=2, ensure_ascii=False)
        write_private(self.path, body.encode("utf-8"))
        return password

    def check(self, username: str, password: str) -> LocalUser | None:
        user = self.users().get(username)
        ok = verify_secret(user.hash if user else _DUMMY_HASH, password)
        return user if user and ok else None
