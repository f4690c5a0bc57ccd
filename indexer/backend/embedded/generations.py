"""Atomic index generations: an indexing run never modifies the index the API is serving.

    <index.dir>/
        CURRENT                 the live generation's number, replaced atomically (= publish)
        generations/
            000007/             a published generation: every store + manifest.json (never modified)
            000008/             the previous one, kept for readers still on it (``keep_generations``)
            .build-<pid>-<hex>/ a run in progress (unpublished; discarded if its process died)
        readers/<n>.<pid>       touched when a reader opens (or still serves) generation n
        thumbnails/             cache of image thumbnails, shared by all generations

A run starts from a copy-on-write copy of the live generation (:func:`cow_copy`): immutable files are
hard-linked (Tantivy's segment files; FAISS files and sidecars, which are only ever *replaced* by
rename), the rest is copied (SQLite, written in place; Tantivy's ``meta.json``). It writes there, then
:meth:`Generations.publish` fsyncs it, renames it to the next number and replaces ``CURRENT`` (write
temp + fsync + ``os.replace`` + fsync of the folder). A crash at any point before that replace leaves
``CURRENT`` naming the previous, untouched generation; leftovers (a staging folder, or a numbered folder
above ``CURRENT`` renamed just before the crash) are never published and are removed by the next run.

Readers check ``CURRENT`` between requests, load the new generation fully and swap it in. Old
generations are deleted after a publish, keeping the ``keep`` newest (the live one included) and any
that a reader marked within the last ``grace`` seconds.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path

from indexer.backend.embedded.layout import IndexLayout, atomic_write_bytes, fsync_dir
from indexer.crashpoints import crash_point

CURRENT = "CURRENT"
STAGING_PREFIX = ".build-"
#: written in place by their engine: copied, never hard-linked
_COPIED = {"metadata.sqlite", "meta.json", ".managed.json", "manifest.json"}
#: never carried over (lock files of a writer)
_SKIPPED_SUFFIXES = (".lock",)
_SKIPPED = {"metadata.sqlite-wal", "metadata.sqlite-shm"}
#: files of the pre-generation (format 1) layout, directly under index.dir
LEGACY_ENTRIES = (
    "manifest.json", "metadata.sqlite", "metadata.sqlite-wal", "metadata.sqlite-shm", "dense.faiss", "lexical",
    "images.faiss", "images.ids.json", "images-clip.faiss", "images-clip.ids.json",
)


def _name(number: int) -> str:
    return f"{number:06d}"


def cow_copy(source: Path, target: Path) -> None:
    """Copy the generation folder *source* into *target*, hard-linking files that are never written in place."""
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        destination = target / relative
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        if path.name in _SKIPPED or path.name.endswith(_SKIPPED_SUFFIXES):
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        if path.name in _COPIED:
            shutil.copy2(path, destination)
            continue
        try:
            os.link(path, destination)
        except OSError:  # a file system without hard links: copy
            shutil.copy2(path, destination)


def fsync_tree(root: Path) -> None:
    """fsync every file and folder under *root* (before it is published)."""
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        fsync_dir(folder)


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (a crashed run's pid is gone; another user's is alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Generations:
    """The generation folders of one index directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.folder = self.root / "generations"
        self.readers = self.root / "readers"
        self._seen_current: tuple[tuple[int, int, int], int | None] | None = None  # (stat key, number)

    # -- reading ---------------------------------------------------------------------------------
    def current(self) -> int | None:
        """The published generation's number (None: nothing published yet).

        Why a stat first: every request checks ``CURRENT``; publishing replaces the file by a rename
        (a new inode), so an unchanged (inode, mtime, size) means an unchanged number, and one
        ``stat`` costs a fraction of opening and reading the file."""
        path = self.root / CURRENT
        try:
            info = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        key = (info.st_ino, info.st_mtime_ns, info.st_size)
        seen = self._seen_current
        if seen is not None and seen[0] == key:
            return seen[1]
        try:
            text = path.read_text(encoding="ascii").strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        number = int(text) if text.isdigit() else None
        self._seen_current = (key, number)
        return number

    def path(self, number: int) -> Path:
        return self.folder / _name(number)

    def layout(self, number: int) -> IndexLayout:
        return IndexLayout(self.path(number))

    def numbered(self) -> list[int]:
        """Numbers of every generation folder on disk (published or left over), ascending."""
        if not self.folder.is_dir():
            return []
        return sorted(int(p.name) for p in self.folder.iterdir() if p.is_dir() and p.name.isdigit())

    def is_legacy(self) -> bool:
        """An index written before generations (format 1: stores directly under index.dir)."""
        return self.current() is None and (self.root / "manifest.json").is_file()

    def mark_reader(self, number: int) -> None:
        """Record that this process serves *number* now (protects it from deletion for ``grace`` seconds)."""
        try:
            self.readers.mkdir(parents=True, exist_ok=True)
            mark = self.readers / f"{_name(number)}.{os.getpid()}"
            mark.touch()
        except OSError:
            pass  # a read-only index folder: readers cannot mark, keep_generations still protects them

    # -- writing ---------------------------------------------------------------------------------
    def discard_leftovers(self, keep: Path | None = None) -> list[Path]:
        """Remove what crashed runs left: staging folders of dead processes, and numbered folders above
        ``CURRENT`` (renamed but never published). *keep*: a staging folder being resumed. Returns what
        was removed."""
        removed: list[Path] = []
        if not self.folder.is_dir():
            return removed
        live = self.current()
        for path in self.folder.iterdir():
            if keep is not None and path == keep:
                continue
            if path.name.startswith(STAGING_PREFIX):
                pid = path.name[len(STAGING_PREFIX) :].split("-", 1)[0]
                if pid.isdigit() and int(pid) != os.getpid() and process_alive(int(pid)):
                    continue  # another run in progress
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
            elif path.name.isdigit() and (live is None or int(path.name) > live):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        return removed

    def stage(self, base: int | None) -> Path:
        """A new staging folder, a copy-on-write copy of generation *base* (None: empty)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        staging = self.folder / f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        staging.mkdir()
        if base is not None:
            cow_copy(self.path(base), staging)
        return staging

    def next_number(self) -> int:
        return max([*self.numbered(), self.current() or 0]) + 1

    def publish(self, staging: Path, number: int) -> None:
        """Make *staging* generation *number*, then the live one: the only step readers can see."""
        fsync_tree(staging)
        crash_point("publish.before_rename")
        target = self.path(number)
        os.rename(staging, target)
        fsync_dir(self.folder)
        crash_point("publish.before_current")
        atomic_write_bytes(self.root / CURRENT, f"{number}\n".encode("ascii"), durable=True)
        crash_point("publish.after_current")

    def collect(self, keep: int, grace_seconds: float) -> list[int]:
        """Delete published generations beyond the *keep* newest, except the live one and any a reader
        marked within *grace_seconds*. Returns the numbers deleted."""
        live = self.current()
        if live is None:
            return []
        published = [n for n in self.numbered() if n <= live]
        kept = set(published[-max(1, keep) :]) | {live}
        recent = self._recently_read(grace_seconds)
        deleted = []
        for number in published:
            if number in kept or number in recent:
                continue
            shutil.rmtree(self.path(number), ignore_errors=True)
            deleted.append(number)
        self._prune_marks(grace_seconds)
        return deleted

    def _recently_read(self, grace_seconds: float) -> set[int]:
        if not self.readers.is_dir():
            return set()
        now = time.time()
        recent = set()
        for mark in self.readers.iterdir():
            number = mark.name.split(".", 1)[0]
            try:
                fresh = now - mark.stat().st_mtime <= grace_seconds
            except OSError:
                continue
            if number.isdigit() and fresh:
                recent.add(int(number))
        return recent

    def _prune_marks(self, grace_seconds: float) -> None:
        if not self.readers.is_dir():
            return
        now = time.time()
        for mark in self.readers.iterdir():
            try:
                if now - mark.stat().st_mtime > grace_seconds:
                    mark.unlink()
            except OSError:
                continue

    def remove_legacy(self) -> None:
        """Delete the format-1 stores directly under index.dir (after a ``--rebuild`` replaced them)."""
        for name in LEGACY_ENTRIES:
            path = self.root / name
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path.exists():
                path.unlink()


def live_layout(index_dir: Path) -> IndexLayout | None:
    """The layout of the published generation under *index_dir* (None: nothing published): for
    tools and tests that inspect the embedded files themselves."""
    generations = Generations(Path(index_dir))
    live = generations.current()
    return generations.layout(live) if live is not None else None


def restore_generation(index_dir: Path, number: int, keep: int, grace_seconds: float) -> int:
    """Roll the embedded index back to the kept generation *number*: publish a copy-on-write copy of it
    as a **new** generation (the next number), so that every rule holds as for an indexing run — readers
    switch at ``CURRENT`` atomically, nothing above ``CURRENT`` is a leftover, passage ids continue after
    every id used (``next_pid``: the highest of the two), and the generation rolled back from stays kept
    (``keep``) to roll forward again. The caller holds the index lock. Returns the new number."""
    generations = Generations(Path(index_dir))
    live = generations.current()
    if live is None:
        raise ValueError(f"nothing is published under {index_dir}")
    kept = [n for n in generations.numbered() if n <= live]
    if number == live:
        raise ValueError(f"generation {number} is already the live one")
    if number not in kept:
        raise ValueError(f"generation {number} is not kept under {index_dir} (kept: {', '.join(map(str, kept))})")
    source = generations.layout(number).read_manifest()
    current = generations.layout(live).read_manifest()
    staging = generations.stage(number)
    try:
        new = generations.next_number()
        manifest = source.touched().model_copy(update={"generation": new, "next_pid": max(source.next_pid, current.next_pid)})
        IndexLayout(staging).write_manifest(manifest)
        generations.publish(staging, new)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    generations.collect(keep, grace_seconds)
    return new
