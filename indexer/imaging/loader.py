"""Pick the right loader for a file by its content, not its name.

Archive exports often have no extension (``IM000123``) or a wrong one, so the
DICOM preamble is looked for first, then Pillow is asked; a file neither
recognises is tried as a legacy headerless DICOM, whose error then says why.
"""

from __future__ import annotations

import os

from PIL import Image, UnidentifiedImageError

from .dicom_pixels import DEFAULT_LIMITS, DecodeLimits, load_dicom_frame
from .errors import ImageReadError
from .frame import ImageFrame, limit_side
from .raster import MAX_WORKING_SIDE, load_raster


def is_dicom_file(path: str | os.PathLike[str]) -> bool:
    """True when the file carries the DICOM Part 10 'DICM' marker at offset 128."""
    try:
        with open(path, "rb") as handle:
            handle.seek(128)
            return handle.read(4) == b"DICM"
    except OSError:
        return False


def load_image(
    path: str | os.PathLike[str],
    frame: int | None = None,
    *,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> ImageFrame:
    """Load a DICOM or raster image file as an :class:`ImageFrame`."""
    if is_dicom_file(path):
        return limit_side(load_dicom_frame(path, frame, limits=limits), MAX_WORKING_SIDE)
    try:
        with Image.open(path):
            pass
    except (UnidentifiedImageError, OSError):
        try:
            return limit_side(load_dicom_frame(path, frame, limits=limits), MAX_WORKING_SIDE)
        except ImageReadError as exc:
            if exc.reason.startswith("not a DICOM file"):
                raise ImageReadError("not a DICOM file nor an image Pillow can read", str(path)) from exc
            raise
    return load_raster(path, frame)
