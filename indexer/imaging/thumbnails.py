"""Render each image once into a small cached PNG for result lists.

Decoding a JPEG 2000 chest radiograph takes close to a second; a results page
shows dozens. Thumbnails are therefore written once, keyed by image id *and*
the source file's modification time and size, so a re-exported file gets a
fresh thumbnail and the stale one is removed. Files are written to a temporary
name and renamed, so concurrent workers never serve a half-written PNG.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from .frame import ImageFrame
from .loader import load_image
from .render import WindowName, render

THUMBNAIL_MAX_SIDE = 256


def thumbnails_dir(settings) -> Path:  # noqa: ANN001 - indexer.settings.Settings (no import cycle)
    """The thumbnail cache: ``<index.dir>/thumbnails``, beside the generations and shared by all of
    them (whatever the backend: Elasticsearch deployments keep it on the API's disk too)."""
    return Path(settings.index.dir) / "thumbnails"
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


def thumbnail_path(
    image_id: str,
    source_path: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str],
    *,
    max_side: int = THUMBNAIL_MAX_SIDE,
    window: WindowName = "default",
) -> Path:
    """Where the thumbnail of this version of the source lives (whether or not it exists)."""
    stat = os.stat(source_path)
    version = hashlib.sha256(f"{stat.st_mtime_ns}:{stat.st_size}".encode()).hexdigest()[:12]
    return Path(cache_dir) / f"{_id_prefix(image_id)}.{window}{max_side}.{version}.png"


def get_or_create_thumbnail(
    image_id: str,
    source_path: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str],
    *,
    max_side: int = THUMBNAIL_MAX_SIDE,
    window: WindowName = "default",
    loader: Callable[[str | os.PathLike[str]], ImageFrame] = load_image,
) -> Path:
    """Return the cached PNG thumbnail (longest side <= ``max_side``), creating it if needed.

    Raises :class:`~indexer.imaging.errors.ImageReadError` when the source
    cannot be read; nothing is cached then, so a repaired file is retried.
    """
    target = thumbnail_path(image_id, source_path, cache_dir, max_side=max_side, window=window)
    if target.is_file():
        return target
    image = render(loader(source_path), window)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(image, target)
    _remove_stale(target)
    return target


def _id_prefix(image_id: str) -> str:
    """A readable, filesystem-safe prefix plus a hash so distinct ids never collide."""
    readable = _SAFE.sub("_", image_id)[:48].strip("_-") or "image"
    return f"{readable}-{hashlib.sha256(image_id.encode()).hexdigest()[:8]}"


def _write_atomically(image: Image.Image, target: Path) -> None:
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".png")
    try:
        with os.fdopen(handle, "wb") as stream:
            image.save(stream, format="PNG", optimize=True)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _remove_stale(current: Path) -> None:
    """Delete thumbnails of older versions of the same image id, size and window."""
    variant = current.name[: -len(".png")].rsplit(".", 1)[0]
    for old in current.parent.glob(f"{variant}.*.png"):
        if old != current and old.name[: -len(".png")].rsplit(".", 1)[0] == variant:
            old.unlink(missing_ok=True)
