"""Tamper-evident audit log: append-only JSON lines chained by SHA-256.

Each line carries ``seq`` (1, 2, ...), ``prev`` (the previous line's ``hash``; 64 zeros for the very
first) and ``hash`` = SHA-256 of the line's canonical JSON without ``hash`` (sorted keys, no spaces,
UTF-8). Editing a line breaks its hash; removing or inserting one breaks the next line's ``prev`` and
the ``seq`` run. ``<log>.head`` holds the last ``seq`` and ``hash`` so that cutting lines off the end
is caught too (ship it, or the log, off-host to anchor it against someone who can rewrite both).

Rotation: past ``rotate_bytes`` the current file is renamed ``<log>.<UTC time>`` and a new one
starts; its first line's ``prev`` is the last hash of the rotated file, so the chain runs across
files and ``medsearch audit verify`` checks them all in order.

Retention: ``medsearch audit prune`` deletes whole rotated files older than the retention period
(:mod:`search_api.security.audit_retention`); the chain then starts at ``<log>.anchor`` (the last
deleted line's ``seq`` and ``hash``), which a prune entry of the chain itself must vouch for.

Writing is part of answering: :meth:`AuditLog.record` raises :class:`AuditUnavailable` when the line
cannot be written and flushed (disk full, read-only volume), and the API turns that into a 503
without returning any data.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from search_api.request_id import current_request_id, current_request_state
from search_api.security.break_glass import marker

GENESIS = "0" * 64


class AuditUnavailable(RuntimeError):
    """The audit line could not be written: the request it describes must fail."""


def canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def line_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


#: suffixes of the log's companion files, which hold no entries
COMPANIONS = (".head", ".tmp", ".lock", ".anchor")


def chain_files(path: Path) -> list[Path]:
    """The rotated files (oldest first) then the current one."""
    rotated = sorted(p for p in path.parent.glob(path.name + ".*") if p.suffix not in COMPANIONS)
    return rotated + ([path] if path.exists() else [])


def anchor_path(path: Path) -> Path:
    """``<log>.anchor``: where the chain starts once its oldest files were deleted for retention
    (:mod:`search_api.security.audit_retention`): the ``seq`` and ``hash`` of the last deleted line."""
    return path.with_name(path.name + ".anchor")


def read_anchor(path: Path) -> tuple[int, str] | None:
    """The chain's start after a retention prune (seq, hash of the last deleted line), None before any."""
    try:
        raw = json.loads(anchor_path(path).read_text(encoding="utf-8"))
        return int(raw["seq"]), str(raw["hash"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{anchor_path(path).name} is unreadable: {exc}") from exc


def _last_line(path: Path) -> str | None:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        end = handle.tell()
        block, data = 4096, b""
        while end > 0:
            start = max(0, end - block)
            handle.seek(start)
            data = handle.read(end - start) + data
            end = start
            lines = [line for line in data.split(b"\n") if line.strip()]
            if len(lines) > 1 or (lines and start == 0):
                return lines[-1].decode("utf-8")
    return None


class AuditLog:
    def __init__(self, path: Path, rotate_bytes: int = 50_000_000) -> None:
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + ".head")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.rotate_bytes = rotate_bytes
        self._lock = threading.Lock()
        self._seq, self._prev = 0, GENESIS
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            files = chain_files(self.path)
            last = next((line for f in reversed(files) if (line := _last_line(f))), None)
            if last:
                entry = json.loads(last)
                self._seq, self._prev = int(entry.get("seq", 0)), str(entry.get("hash", GENESIS))
        except (OSError, ValueError):
            pass  # unwritable or unreadable: every record() will fail loudly instead

    def record(self, user: str, action: str, role: str | None = None, **details: Any) -> dict[str, Any]:
        """Append one entry (who, role, when, what); raise :class:`AuditUnavailable` if it cannot be written.

        Several processes write the same log (the API, and the indexing jobs' cohort watch:
        :mod:`search_api.cohort_watch`): each append holds an exclusive lock on ``<log>.lock`` and
        continues the chain from ``<log>.head`` when another process wrote since, so the chain stays
        one unbroken run."""
        with self._lock:
            try:
                with self.lock_path.open("a") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
                    self._catch_up()
                    entry = self._entry(user, action, role, details)
                    line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
                    self._rotate_if_needed()
                    with self.path.open("a", encoding="utf-8") as handle:
                        handle.write(line)
                        handle.flush()  # in the OS's hands before the answer leaves (no fsync: ~ms per request)
                    self.head_path.write_text(json.dumps({"seq": entry["seq"], "hash": entry["hash"]}) + "\n", encoding="utf-8")
            except OSError as exc:
                raise AuditUnavailable(f"the audit log cannot be written ({exc.strerror or exc}): request refused") from exc
            self._seq, self._prev = entry["seq"], entry["hash"]
            return entry

    def _entry(self, user: str, action: str, role: str | None, details: dict[str, Any]) -> dict[str, Any]:
        principal = current_request_state().get("principal")
        if principal is not None and getattr(principal, "user", None) != user:
            principal = None  # an entry about someone else (a login, a denied name): not this caller's
        if role is None and principal is not None:  # the routers that audit by user name (cohorts, patients...)
            role = principal.role
        if principal is not None and "break_glass" not in details and (grants := getattr(principal, "grants", ())):
            # an access to a patient under a break-the-glass grant: marked with the grant ids for the DPO
            details = {**details, "break_glass": marker(grants, details) or None}
        entry: dict[str, Any] = {
            "seq": self._seq + 1,
            "ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "user": user,
            "role": role,
            "action": action,
            **{k: v for k, v in details.items() if v is not None},
            "prev": self._prev,
        }
        if "request_id" not in entry and (request_id := current_request_id()):
            entry["request_id"] = request_id  # the API request this entry records (absent outside one)
        entry = json.loads(canonical(entry))  # what will be read back (tuples → lists, dates → str)
        entry["hash"] = line_hash(entry)
        return entry

    def _catch_up(self) -> None:
        """Continue from the chain's end as another process may have left it (called under the lock).

        The log's own last line is the truth; the head file only stands in when the log has no line
        (just rotated). Why not the head alone: a process killed between appending its line and
        rewriting the head leaves the head one line behind, and continuing from it would fork the chain."""
        try:
            last = _last_line(self.path) if self.path.exists() else None
            head = json.loads(last) if last else json.loads(self.head_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # no line and no head yet (a new log), or a torn last line: this process's own state
        if isinstance(head, dict) and int(head.get("seq", 0)) > self._seq:
            self._seq, self._prev = int(head["seq"]), str(head.get("hash", GENESIS))

    def _rotate_if_needed(self) -> None:
        if self.rotate_bytes and self.path.exists() and self.path.stat().st_size >= self.rotate_bytes:
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            self.path.rename(self.path.with_name(f"{self.path.name}.{stamp}"))

    def entries(self) -> list[dict[str, Any]]:
        """Every entry, oldest first, across rotated files."""
        return list(iter_entries(self.path))


def iter_entries(path: Path) -> Iterator[dict[str, Any]]:
    for file in chain_files(Path(path)):
        with file.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)


@dataclass
class VerifyResult:
    ok: bool
    entries: int
    files: int
    problems: list[str]


def verify_chain(path: Path) -> VerifyResult:
    """Check every line's hash, the ``prev`` links and ``seq`` run across files, and the head file."""
    path = Path(path)
    problems: list[str] = []
    prev, seq, count = GENESIS, 0, 0
    try:
        anchor = read_anchor(path)
    except ValueError as exc:
        anchor = None
        problems.append(str(exc))
    anchor_recorded = False
    if anchor is not None:  # the oldest files were pruned: the chain continues from their last line
        seq, prev = anchor
    files = [f for f in chain_files(path) if not (anchor and _pruned(f, anchor[0]))]
    for file in files:
        with file.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{file.name}:{number}"
                try:
                    entry = json.loads(line)
                except ValueError:
                    problems.append(f"{where}: not JSON")
                    continue
                count += 1
                if entry.get("hash") != line_hash(entry):
                    problems.append(f"{where}: content does not match its hash (edited line)")
                if entry.get("prev") != prev:
                    problems.append(f"{where}: does not follow the previous line (line removed or inserted before it)")
                if entry.get("seq") != seq + 1:
                    problems.append(f"{where}: seq {entry.get('seq')} after {seq} (line removed or inserted)")
                prev, seq = str(entry.get("hash")), int(entry.get("seq") or 0)
                if anchor and entry.get("action") == "audit_prune" and entry.get("through_seq") == anchor[0] \
                        and entry.get("through_hash") == anchor[1]:
                    anchor_recorded = True
    head = path.with_name(path.name + ".head")
    if head.exists():
        try:
            expected = json.loads(head.read_text(encoding="utf-8"))
        except ValueError:
            expected = {}
        if expected.get("seq") != seq or expected.get("hash") != prev:
            problems.append(f"the log ends at seq {seq}, its head file says {expected.get('seq')} (lines cut off the end)")
    elif count:
        problems.append(f"{head.name} is missing")
    if anchor is not None and not anchor_recorded:  # an anchor anyone could write must be vouched for by the chain
        problems.append(f"{anchor_path(path).name} is not recorded by an audit_prune entry of the chain (lines deleted outside "
                        "`medsearch audit prune`)")
    return VerifyResult(not problems, count, len(files), problems)


def _pruned(file: Path, through: int) -> bool:
    """Whether *file* holds only lines at or before the anchor: a prune that wrote the anchor but
    stopped before deleting this file (``medsearch audit prune`` deletes it when run again)."""
    last = _last_line(file)
    try:
        return last is not None and int(json.loads(last).get("seq", 0)) <= through
    except ValueError:
        return False
