"""Source readers: turn files into :class:`indexer.schema.Document` objects.

:func:`parse_file` picks the reader from the file's extension (and, for JSON and PDF, from its
content) and raises :class:`SourceError` with a human-readable reason when a file must be skipped.
"""

from __future__ import annotations

import errno
import json
import os
from fnmatch import fnmatch
from pathlib import Path

from indexer.schema import Document
from indexer.sources.articles import article_from_json, parse_article_pdf, parse_pubmed_xml
from indexer.sources.common import collect_warnings, decode_text, read_pdf_text
from indexer.sources.errors import SourceError
from indexer.sources.fhir_records import is_fhir, parse_fhir
from indexer.sources.identity import SourceFile, document_id
from indexer.sources.images import parse_dicom, parse_raster
from indexer.sources.reports import parse_report, report_from_text

SUPPORTED_EXTENSIONS = frozenset({".txt", ".md", ".pdf", ".json", ".xml", ".dcm", ".png", ".jpg", ".jpeg"})

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "SourceError",
    "SourceFile",
    "discover_files",
    "discover_sources",
    "document_id",
    "is_dicom_part10",
    "parse_file",
]


def _parse_json(path: Path, key: str) -> list[Document]:
    # Decoded like a text report (UTF-8, UTF-16 with a BOM, else Windows-1252): an export written in
    # Windows-1252 was read as UTF-8 with replacement characters, « Diabète » indexed as « Diab\ufffdte »
    # and never found, without a warning.
    text = decode_text(path.read_bytes())
    if not text.strip():
        raise SourceError(path, "empty file")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(path, f"malformed JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    if is_fhir(raw):
        return parse_fhir(path, raw, key)
    return article_from_json(path, raw, key)


def _parse_pdf(path: Path, key: str) -> list[Document]:
    """A PDF with a patient header is a report; otherwise it is read as an article."""
    text = read_pdf_text(path)
    head = text[:600].lower()
    if "ipp" in head or "patient id" in head:
        return [report_from_text(text, path, key)]
    return parse_article_pdf(path, key)


def is_dicom_part10(path: Path) -> bool:
    """Whether *path* starts with the DICOM Part 10 preamble (``DICM`` at byte 128).

    PACS exports and CD/DICOMDIR folders name their files ``IM000001`` or ``4467``, without an
    extension: such files were left out of discovery without a word. Only files without an extension
    are sniffed (reading 132 bytes), so a ``.csv`` is never opened.
    """
    try:
        with path.open("rb") as handle:
            return handle.read(132)[128:132] == b"DICM"
    except OSError:
        return False


_READERS = {
    ".txt": parse_report,
    ".md": parse_report,
    ".pdf": _parse_pdf,
    ".json": _parse_json,
    ".xml": parse_pubmed_xml,
    ".dcm": parse_dicom,
    ".png": parse_raster,
    ".jpg": parse_raster,
    ".jpeg": parse_raster,
}


def parse_file(
    path: Path,
    max_bytes: int | None = None,
    root: Path | None = None,
    warnings: list[tuple[str, str]] | None = None,
    dicom: bool | None = None,
) -> list[Document]:
    """Read one source file into documents, or raise :class:`SourceError` saying why it was skipped.

    *root* is the indexed folder the file was found under: documents without an identifier of their
    own get an id from the path relative to it (the file name when no root is given). Every
    document's ``source_path`` is the resolved absolute path, so ``--prune`` is right from any
    working directory. Problems that do not stop the file from being indexed (a date out of range,
    an unknown FHIR resource, an invalid item of an article list) are appended to *warnings* as
    ``(path, message)``. *dicom*: whether an extensionless file is DICOM Part 10, when discovery
    sniffed it already (:attr:`SourceFile.dicom`); None: sniffed here.
    """
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:  # Python < 3.13 raises RuntimeError on a link loop
        raise SourceError(path, _unresolvable(path, exc)) from exc
    key = SourceFile(resolved, root.resolve()).key if root is not None else path.name
    reader = _READERS.get(path.suffix.lower())
    if reader is None and not path.suffix and (is_dicom_part10(path) if dicom is None else dicom):
        reader = parse_dicom
    if reader is None:
        raise SourceError(path, unsupported_reason(path.suffix.lower()))
    size = path.stat().st_size
    if size == 0:
        raise SourceError(path, "empty file")
    if max_bytes is not None and size > max_bytes:
        raise SourceError(path, f"file too large ({size / 1e6:.1f} MB > {max_bytes / 1e6:.1f} MB limit)")
    try:
        with collect_warnings() as notes:
            documents = reader(path, key)
        if warnings is not None:
            warnings += [(str(path), note) for note in notes]
    except SourceError:
        raise
    except Exception as exc:  # a parser bug must not stop a nightly indexing job: report and go on
        raise SourceError(path, f"unexpected {exc.__class__.__name__}: {exc}") from exc
    for document in documents:
        document.source_path = str(resolved)
    return documents


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _unresolvable(link: Path, exc: BaseException) -> str:
    """Why a file found in a folder cannot be read: a symbolic link whose target is missing, or a loop.

    ``Path.resolve`` raised on a loop and aborted the whole run; a dangling link was dropped in silence.
    """
    if isinstance(exc, FileNotFoundError):
        try:
            return f"broken symbolic link: its target {os.readlink(link)} does not exist"
        except OSError:
            return "file vanished while the folder was read"
    if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
        return "symbolic link loop: not followed"
    return f"cannot be read ({exc.__class__.__name__}: {exc})"


def unsupported_reason(suffix: str) -> str:
    """Why a file of this extension is not read, naming the ones that are."""
    read = ", ".join(sorted(SUPPORTED_EXTENSIONS)) + ", DICOM without extension"
    if not suffix:
        return f"no extension and not a DICOM file: not read (read: {read})"
    return f"unsupported file type '{suffix}': not read (read: {read})"


def discover_sources(
    paths: list[Path], ignore: list[str] | tuple[str, ...] = ()
) -> tuple[list[SourceFile], list[tuple[str, str]]]:
    """Supported files under *paths* with the root each was found under, and the files skipped.

    Folders are walked without following symbolic links out of them: a link (to a file or a folder)
    whose target lies outside the indexed root is skipped and reported, never read, so an export
    folder cannot pull in ``/etc`` or another service's data. A link whose target is inside the
    root is the same file as its target and is read once. Files are sorted by resolved path.
    """
    found: dict[Path, SourceFile] = {}
    skipped: list[tuple[str, str]] = []

    def wanted(folder: Path, name: str) -> bool:
        """Whether *name* is read; an unsupported file is reported in *skipped* (a ``.docx`` or ``.csv``
        dropped in an export folder was left out in silence: « fichiers lus 5 » of 7, « ignorés 0 »).
        Files matching an *ignore* pattern and hidden files (``.DS_Store``) are left out silently."""
        if any(fnmatch(name, p) for p in ignore):
            return False
        suffix = Path(name).suffix.lower()
        if suffix in SUPPORTED_EXTENSIONS or (not suffix and is_dicom_part10(folder / name)):
            return True
        if not suffix and (folder / name).is_symlink():  # a loop or a dangling link: say that, not « no extension »
            try:
                (folder / name).resolve(strict=True)
            except (OSError, RuntimeError) as exc:
                skipped.append((str(folder / name), _unresolvable(folder / name, exc)))
                return False
        if not name.startswith("."):
            skipped.append((str(folder / name), unsupported_reason(suffix)))
        return False

    for given in paths:
        if given.is_file():
            resolved = given.resolve()
            found.setdefault(resolved, SourceFile(resolved, resolved.parent))
            continue
        if not given.is_dir():
            continue
        root = given.resolve()
        for folder, dirnames, filenames in os.walk(root, followlinks=False):
            here = Path(folder)
            for name in list(dirnames):
                link = here / name
                if link.is_symlink() and not _inside(link.resolve(), root):
                    skipped.append((str(link), f"symbolic link to {link.resolve()} leaves the indexed folder {root}: not followed"))
            dirnames.sort()
            for name in sorted(filenames):
                if not wanted(here, name):
                    continue
                candidate = here / name
                try:
                    target = candidate.resolve(strict=True)
                except (OSError, RuntimeError) as exc:  # Python < 3.13 raises RuntimeError on a link loop
                    skipped.append((str(candidate), _unresolvable(candidate, exc)))
                    continue
                if candidate.is_symlink() and not _inside(target, root):
                    skipped.append((str(candidate), f"symbolic link to {target} leaves the indexed folder {root}: not followed"))
                    continue
                if target.is_file():
                    # wanted() sniffed an extensionless file already: say so, parse_file will not again
                    found.setdefault(target, SourceFile(target, root, dicom=True if not Path(name).suffix else None))
    return [found[p] for p in sorted(found)], skipped


def discover_files(paths: list[Path], ignore: list[str] | tuple[str, ...] = ()) -> list[Path]:
    """All supported files under *paths* (files or folders), resolved and sorted for a reproducible order.

    Inside folders, files whose name matches one of the *ignore* patterns (fnmatch) are left out, and
    symbolic links leaving the folder are not followed (:func:`discover_sources` says which).
    """
    return [source.path for source in discover_sources(paths, ignore)[0]]
