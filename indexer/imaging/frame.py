"""Decoded pixels plus the few header facts needed to display them.

An :class:`ImageFrame` is what every loader (DICOM or PNG/JPEG) returns and
what rendering, thumbnails and descriptors consume, so that none of them needs
to touch pydicom. Pixel values are kept in *modality units* (e.g. Hounsfield
units for CT) rather than display values: windowing is a rendering choice and
MONOCHROME1 inversion is applied only at display time, after the VOI
transform, as DICOM PS3.4 N.2 orders it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MONOCHROME1 = "MONOCHROME1"
MONOCHROME2 = "MONOCHROME2"
RGB = "RGB"


@dataclass(frozen=True)
class Window:
    """A VOI window (DICOM Window Center/Width), in modality units.

    ``function`` is the DICOM VOI LUT Function: LINEAR, LINEAR_EXACT or SIGMOID.
    """

    center: float
    width: float
    function: str = "LINEAR"


@dataclass(frozen=True, eq=False)
class VoiLut:
    """A VOI LUT Sequence item, pre-extracted so rendering needs no dataset.

    Input values below ``first_mapped`` map to ``table[0]``, values past the
    end map to ``table[-1]``; ``output_max`` is the LUT's nominal maximum
    (2**bits - 1) used to scale the output to 8 bits.
    """

    first_mapped: int
    table: np.ndarray
    output_max: float


@dataclass(frozen=True, eq=False)
class ImageFrame:
    """One displayable 2-D image.

    ``pixels`` is float32, shape (H, W) for monochrome or (H, W, 3) for RGB.
    ``frame_index`` is the frame chosen out of ``n_frames`` (the middle one by
    default, the most representative slice of a cine or volume).
    ``bits_stored`` gives the nominal range of colour samples (2**bits - 1),
    which is how colour images are scaled to 8 bits.
    """

    pixels: np.ndarray
    photometric: str
    modality: str = ""
    n_frames: int = 1
    frame_index: int = 0
    bits_stored: int = 8
    default_window: Window | None = None
    voi_lut: VoiLut | None = field(default=None, repr=False)
    source: str = ""

    @property
    def is_color(self) -> bool:
        return self.pixels.ndim == 3

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def is_hounsfield(self) -> bool:
        """True when values are CT numbers, so the HU window presets apply."""
        return self.modality == "CT" and not self.is_color


def limit_side(frame: ImageFrame, max_side: int | None) -> ImageFrame:
    """*frame* block-averaged by the smallest integer factor that brings its longest side under
    *max_side* (values stay in modality units, so windows still apply). Decoding is bounded by the
    declared-size checks; this bounds everything after it (descriptors, thumbnails, renders)."""
    if not max_side or max(frame.height, frame.width) <= max_side:
        return frame
    import dataclasses

    factor = -(-max(frame.height, frame.width) // max_side)
    h, w = frame.height // factor * factor, frame.width // factor * factor
    pixels = frame.pixels[:h, :w]
    shape = (h // factor, factor, w // factor, factor) + pixels.shape[2:]
    reduced = pixels.reshape(shape).mean(axis=(1, 3), dtype=np.float32)
    return dataclasses.replace(frame, pixels=np.ascontiguousarray(reduced, dtype=np.float32))
