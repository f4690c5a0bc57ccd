"""Retention of the audit log (GDPR art. 5(1)(e), storage limitation): delete its oldest whole files.

The log is kept as rotated files (``security.audit_rotate_mb``). Pruning never edits a line: it deletes
the leading run of *rotated* files whose newest entry is older than the cut-off (the current file is
never deleted), so what remains is still one unbroken chain. Its start is written to ``<log>.anchor``
(the ``seq`` and ``hash`` of the last deleted line), and the prune itself is an entry of the chain
(``audit_prune``, with ``through_seq`` / ``through_hash``): ``medsearch audit verify`` accepts an anchor
only when such an entry vouches for it, so deleting old files by hand is still reported as tampering.

Order of the steps, and what a crash leaves: the entry is appended first (no trace, no prune), then the
anchor is replaced atomically, then the files are deleted. A crash between the last two leaves files
at or before the anchor, which ``verify`` skips and the next prune deletes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from search_api.security.audit import AuditLog, _last_line, anchor_path, chain_files, read_anchor


@dataclass
class PruneResult:
    """What a prune deleted (or would delete, on a dry run)."""

    files: list[str] = field(default_factory=list)
    entries: int = 0
    through_seq: int | None = None
    through_hash: str | None = None


def prunable(log: Path, before: date) -> tuple[list[Path], PruneResult]:
    """The oldest rotated files whose every entry is dated before *before* (UTC day), oldest first,
    stopping at the first file that holds a newer one (only a leading run keeps the chain whole)."""
    rotated = [f for f in chain_files(log) if f != log]
    anchor = read_anchor(log)
    chosen: list[Path] = []
    result = PruneResult()
    for file in rotated:
        last = _last_line(file)
        if last is None:
            chosen.append(file)  # an empty rotated file holds nothing to keep
            continue
        entry = json.loads(last)
        already = anchor is not None and int(entry.get("seq", 0)) <= anchor[0]  # left by an interrupted prune
        if not already and str(entry.get("ts", ""))[:10] >= before.isoformat():
            break
        chosen.append(file)
        if not already:
            result.through_seq, result.through_hash = int(entry["seq"]), str(entry["hash"])
        with file.open(encoding="utf-8") as handle:
            result.entries += sum(1 for line in handle if line.strip())
    result.files = [f.name for f in chosen]
    return chosen, result


def prune(log: AuditLog, before: date, user: str, role: str, dry_run: bool = False) -> PruneResult:
    """Delete the audit files wholly older than *before*; the prune is recorded in the chain as *user*.

    Raises :class:`~search_api.security.audit.AuditUnavailable` when the entry cannot be written
    (nothing is deleted then)."""
    files, result = prunable(log.path, before)
    if dry_run or not files:
        return result
    if result.through_seq is not None:  # new lines leave the chain: record and anchor them first
        log.record(user, "audit_prune", role=role, before=before.isoformat(), files=result.files,
                   entries=result.entries, through_seq=result.through_seq, through_hash=result.through_hash)
        _write_anchor(log.path, result.through_seq, str(result.through_hash))
    for file in files:
        file.unlink()
    return result


def _write_anchor(path: Path, seq: int, digest: str) -> None:
    target = anchor_path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps({"seq": seq, "hash": digest}) + "\n", encoding="utf-8")
    os.replace(tmp, target)
