"""API keys for service accounts: a JSON file holding only argon2 hashes of the keys.

A key reads ``msk_<id>_<secret>``: the id (random, not secret) finds the record without trying
every hash (argon2 is deliberately slow), the whole key is checked against that record's hash.
``medsearch keys create`` prints a key once; nothing can show it again. ``medsearch keys revoke``
marks the record revoked (kept, so the audit log's names stay meaningful).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from search_api.security.hashing import hash_secret, verify_secret
from search_api.security.scope import Principal, Role
from search_api.security.secrets import write_private

_PREFIX = "msk"


@dataclass
class KeyRecord:
    name: str
    key_id: str
    hash: str
    roles: list[str]
    units: list[str] | None = None
    patients: list[str] | None = None
    created: str = ""
    revoked: str | None = None

    def principal(self) -> Principal:
        return Principal(
            user=f"key:{self.name}",
            roles=frozenset(Role(r) for r in self.roles),
            units=tuple(self.units) if self.units is not None else None,
            patients=tuple(self.patients) if self.patients is not None else None,
            via="api_key",
        )


@dataclass
class KeyStore:
    path: Path
    _cache: dict[str, str] = field(default_factory=dict)  # sha256(key) → name, for keys already verified
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _mtime: float | None = None
    _records: dict[str, KeyRecord] = field(default_factory=dict)

    # -- file ----------------------------------------------------------------------------------
    def records(self) -> dict[str, KeyRecord]:
        """Records by name, re-read when the file changed (a revocation takes effect at once)."""
        mtime = self.path.stat().st_mtime if self.path.exists() else None
        with self._lock:
            if mtime != self._mtime:
                raw = json.loads(self.path.read_text(encoding="utf-8")) if mtime is not None else {"keys": []}
                self._records = {r["name"]: KeyRecord(**r) for r in raw.get("keys", [])}
                self._cache.clear()
                self._mtime = mtime
            return dict(self._records)

    def _save(self, records: dict[str, KeyRecord]) -> None:
        body = json.dumps({"keys": [asdict(r) for r in records.values()]}, indent=2, ensure_ascii=False)
        write_private(self.path, body.encode("utf-8"))

    # -- admin ---------------------------------------------------------------------------------
    def create(self, name: str, roles: list[str], units: list[str] | None = None, patients: list[str] | None = None) -> str:
        """Add a key and return it (the only time it is ever visible)."""
        records = self.records()
        if name in records and not records[name].revoked:
            raise ValueError(f"a key named {name!r} exists: revoke it first")
        for role in roles:
            Role(role)  # ValueError on an unknown role
        key_id = secrets.token_hex(6)
        key = f"{_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        records[name] = KeyRecord(
            name=name, key_id=key_id, hash=hash_secret(key), roles=list(roles), units=units or None,
            patients=patients or None, created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        self._save(records)
        return key

    def revoke(self, name: str) -> bool:
        records = self.records()
        record = records.get(name)
        if record is None or record.revoked:
            return False
        record.revoked = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._save(records)
        return True

    # -- requests ------------------------------------------------------------------------------
    def authenticate(self, key: str) -> Principal | None:
        """The key's principal, or None for an unknown, wrong or revoked key."""
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != _PREFIX:
            return None
        records = self.records()
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        name = self._cache.get(digest)
        if name is None:
            record = next((r for r in records.values() if r.key_id == parts[1] and not r.revoked), None)
            if record is None or not verify_secret(record.hash, key):
                return None
            with self._lock:
                self._cache[digest] = record.name
            name = record.name
        record = records.get(name)
        return record.principal() if record and not record.revoked else None
