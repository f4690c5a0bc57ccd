"""Modality and VOI lookups of a DICOM image, read once so rendering needs no dataset.

Enhanced multi-frame objects (enhanced CT/MR) keep Rescale and Window values in
per-frame or shared functional groups, where pydicom's ``apply_modality_lut``
does not look; :func:`frame_attribute` searches there first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels import apply_modality_lut, apply_voi

from .frame import VoiLut, Window


def frame_attribute(ds: Dataset, index: int, sequence: str, keyword: str) -> Any:
    """An attribute from the frame's functional groups (per-frame, then shared), else top-level."""
    for groups in ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence"):
        items = ds.get(groups)
        if not items:
            continue
        item = items[index] if groups.startswith("PerFrame") and index < len(items) else items[0]
        inner = item.get(sequence)
        if inner and keyword in inner[0]:
            return inner[0].get(keyword)
    return ds.get(keyword)


def apply_modality(arr: np.ndarray, ds: Dataset, index: int) -> np.ndarray:
    """Modality LUT / rescale: stored values -> modality units (HU for CT)."""
    if ds.get("ModalityLUTSequence"):
        return apply_modality_lut(arr, ds)
    slope = frame_attribute(ds, index, "PixelValueTransformationSequence", "RescaleSlope")
    intercept = frame_attribute(ds, index, "PixelValueTransformationSequence", "RescaleIntercept")
    if slope is None and intercept is None:
        return arr
    slope = 1.0 if slope in (None, "") else float(slope)
    intercept = 0.0 if intercept in (None, "") else float(intercept)
    return arr.astype(np.float64) * slope + intercept


def _first_value(value: Any) -> float | None:
    """First value of a possibly multi-valued DS; None when absent or unparsable."""
    if value in (None, ""):
        return None
    if isinstance(value, (list, tuple, MultiValue)):
        value = value[0] if len(value) else None
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def default_window(ds: Dataset, index: int) -> Window | None:
    """The header's first window (Window Center/Width), if valid."""
    center = _first_value(frame_attribute(ds, index, "FrameVOILUTSequence", "WindowCenter"))
    width = _first_value(frame_attribute(ds, index, "FrameVOILUTSequence", "WindowWidth"))
    if center is None or width is None or width <= 0:
        return None
    function = str(frame_attribute(ds, index, "FrameVOILUTSequence", "VOILUTFunction") or "LINEAR")
    if function == "LINEAR" and width < 1:
        function = "LINEAR_EXACT"  # LINEAR requires width >= 1 (PS3.3 C.11.2.1.2.1)
    return Window(center, width, function.upper())


def voi_lut(ds: Dataset) -> VoiLut | None:
    """Extract the first VOI LUT Sequence item as a plain table.

    pydicom's ``apply_voi`` is applied to the ramp of the LUT's input range, so
    its parsing of descriptors and OW/US LUT data is reused as is.
    """
    items = ds.get("VOILUTSequence")
    if not items:
        return None
    try:
        n_entries, first_mapped, bits = (int(v) for v in items[0].LUTDescriptor)
        n_entries = n_entries or 2**16
        ramp = np.arange(first_mapped, first_mapped + n_entries, dtype=np.int64)
        table = np.asarray(apply_voi(ramp, ds), dtype=np.float32)
    except Exception:  # a broken VOI LUT only loses the default view, not the image
        return None
    return VoiLut(first_mapped=first_mapped, table=table, output_max=float(2**bits - 1))
