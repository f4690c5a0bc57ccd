"""Turn an :class:`ImageFrame` into an 8-bit picture: VOI windowing and inversion.

Why here and not in the loader: the same pixels are shown in several windows
(a chest CT is read in lung *and* mediastinal windows), and descriptors must
see the image the way a reader sees it. Window presets are in Hounsfield
units, so they only apply to CT; on other images they fall back to ``auto``
(a percentile stretch), because MR, US or CR values have no absolute scale.

The window functions follow DICOM PS3.3 C.11.2.1.2 (LINEAR, LINEAR_EXACT,
SIGMOID) so a header window renders exactly as on a workstation; MONOCHROME1
is inverted after the VOI step, as the standard's pipeline orders it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from PIL import Image

from .frame import MONOCHROME1, ImageFrame, Window

WindowName = Literal["default", "auto", "lung", "bone", "brain", "soft"]

#: CT window presets (center, width) in HU.
PRESETS: dict[str, Window] = {
    "lung": Window(-600.0, 1500.0),
    "bone": Window(400.0, 1800.0),
    "brain": Window(40.0, 80.0),
    "soft": Window(50.0, 400.0),
}
#: Percentiles bounding the ``auto`` window: robust to a few hot or dead pixels.
AUTO_PERCENTILES = (0.5, 99.5)


def render(frame: ImageFrame, window: WindowName | Window = "default") -> Image.Image:
    """Render to a PIL image: mode ``L`` for monochrome, ``RGB`` for colour.

    ``window``: ``default`` (header VOI LUT, else header window, else auto),
    ``auto`` (percentile stretch), a CT preset name, or an explicit :class:`Window`.
    """
    data = to_uint8(frame, window)
    return Image.fromarray(data, mode="RGB" if frame.is_color else "L")


def to_uint8(frame: ImageFrame, window: WindowName | Window = "default") -> np.ndarray:
    """The rendered image as a uint8 array (H, W) or (H, W, 3)."""
    if frame.is_color:
        # Colour samples are display values already; windowing does not apply.
        scale = float(2**frame.bits_stored - 1)
        return _quantize(frame.pixels.astype(np.float64) / scale)
    unit = _to_unit(frame, window)
    if frame.photometric == MONOCHROME1:
        unit = 1.0 - unit
    return _quantize(unit)


def resolve_window(frame: ImageFrame, window: WindowName | Window) -> Window | None:
    """The window that ``window`` means for this frame; None means 'use the VOI LUT'."""
    if isinstance(window, Window):
        return window
    if window in PRESETS:
        return PRESETS[window] if frame.is_hounsfield else auto_window(frame.pixels)
    if window == "default":
        if frame.voi_lut is not None:
            return None
        return frame.default_window or auto_window(frame.pixels)
    if window == "auto":
        return auto_window(frame.pixels)
    raise ValueError(f"unknown window {window!r}: expected one of default, auto, {', '.join(PRESETS)}")


def auto_window(values: np.ndarray) -> Window:
    """A LINEAR_EXACT window spanning the robust range of the values."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return Window(0.0, 1.0, "LINEAR_EXACT")
    low, high = np.percentile(finite, AUTO_PERCENTILES)
    if high <= low:  # flat image: any positive width, maps to mid-grey
        high = low + 1.0
    return Window((low + high) / 2.0, high - low, "LINEAR_EXACT")


def apply_window(values: np.ndarray, window: Window) -> np.ndarray:
    """DICOM VOI window function, output scaled to [0, 1] (float64)."""
    x = values.astype(np.float64, copy=False)
    c, w = window.center, window.width
    if window.function == "SIGMOID":
        return 1.0 / (1.0 + np.exp(-4.0 * (x - c) / w))
    if window.function == "LINEAR_EXACT":
        return np.clip((x - c) / w + 0.5, 0.0, 1.0)
    if w < 1:
        raise ValueError(f"LINEAR window width must be >= 1, got {w}")
    # PS3.3 C.11.2.1.2.1: x <= c-0.5-(w-1)/2 -> 0, x > c-0.5+(w-1)/2 -> 1
    if w == 1:
        return (x > c - 0.5).astype(np.float64)
    return np.clip((x - (c - 0.5)) / (w - 1) + 0.5, 0.0, 1.0)


def _to_unit(frame: ImageFrame, window: WindowName | Window) -> np.ndarray:
    resolved = resolve_window(frame, window)
    if resolved is not None:
        return apply_window(frame.pixels, resolved)
    lut = frame.voi_lut
    assert lut is not None
    index = np.rint(frame.pixels).astype(np.int64) - lut.first_mapped
    np.clip(index, 0, lut.table.size - 1, out=index)
    return lut.table[index].astype(np.float64) / lut.output_max


def _quantize(unit: np.ndarray) -> np.ndarray:
    unit = np.nan_to_num(unit, nan=0.0, posinf=1.0, neginf=0.0)
    return np.floor(np.clip(unit, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
