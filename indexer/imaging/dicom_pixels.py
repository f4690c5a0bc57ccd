"""Decode one representative frame of a DICOM object into an :class:`ImageFrame`.

Why a module of its own: pydicom decodes almost anything, but the failures a
hospital archive throws at an indexer (structured reports with no pixels,
half-copied files, video transfer syntaxes, headers claiming 60000x60000
pixels) surface as assorted exceptions or as memory exhaustion. Here each of
them becomes one :class:`ImageReadError` with a reason a person can act on, and
the image size declared in the header is checked *before* anything is decoded.

What is applied, in DICOM order (PS3.4 N.2): photometric conversion (palette
colour -> RGB, YBR_FULL / YBR_FULL_422 -> RGB via pydicom's
``convert_color_space``), then for monochrome images the modality LUT (Rescale
Slope/Intercept, or a Modality LUT Sequence, via ``apply_modality_lut``; for
enhanced multi-frame objects the slope/intercept of the chosen frame's
functional groups). The VOI (window or VOI LUT) and MONOCHROME1 inversion are
display steps, kept in the frame and applied by :func:`indexer.imaging.render`.

Transfer syntaxes decoded (with ``pylibjpeg``, ``pylibjpeg-libjpeg``,
``pylibjpeg-openjpeg`` and ``pylibjpeg-rle`` installed; Pillow also handles
JPEG baseline/extended and JPEG 2000):

* Implicit VR Little Endian, Explicit VR Little/Big Endian, Deflated Explicit
  VR Little Endian (native, pydicom alone);
* JPEG Baseline (Process 1), JPEG Extended (Process 2 & 4);
* JPEG Lossless (Process 14) and JPEG Lossless SV1 (Process 14, SV1);
* JPEG-LS Lossless and JPEG-LS Near-Lossless;
* JPEG 2000 (lossless only and lossy);
* High-Throughput JPEG 2000 (lossless, lossless RPCL, lossy);
* RLE Lossless.

Not decodable (there is no Python decoder): MPEG-2, MPEG-4 AVC/H.264 and
HEVC/H.265 video, JPEG 2000 Part 2 multi-component, JPIP referenced, SMPTE
ST 2110 and private transfer syntaxes; these raise ``ImageReadError`` naming
the transfer syntax. :func:`supported_transfer_syntaxes` reports what the
installed decoders handle at run time.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_color_lut, convert_color_space, get_decoder
from pydicom.uid import UID

from .dicom_luts import apply_modality, default_window, voi_lut
from .errors import ImageReadError
from .frame import MONOCHROME1, MONOCHROME2, RGB, ImageFrame
from .raster import load_raster  # noqa: F401  (re-exported: one import site for loaders)
from .render import render  # noqa: F401  (re-exported for callers of this module)
from .transfer_syntax import require_decoder, supported_transfer_syntaxes, with_transfer_syntax

__all__ = [
    "DEFAULT_LIMITS",
    "DecodeLimits",
    "ImageFrame",
    "ImageReadError",
    "load_dicom_frame",
    "load_raster",
    "render",
    "supported_transfer_syntaxes",
]

#: Rows*Columns*SamplesPerPixel*NumberOfFrames accepted by default (~1 G samples).
DEFAULT_MAX_SAMPLES = 2**30
#: Rows*Columns*SamplesPerPixel of the one frame decoded (~67 M, e.g. 8192x8192).
DEFAULT_MAX_FRAME_SAMPLES = 2**26
#: Pixel data larger than this is read from disk only once the header is checked.
_DEFER_SIZE = "2 MB"

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


@dataclass(frozen=True)
class DecodeLimits:
    """Decompression-bomb guard, checked from the header before decoding.

    A compressed file of a few kilobytes can declare any size; decoding it
    would allocate Rows*Columns*Samples values (as float64 during the modality
    transform). ``max_samples`` bounds the whole object, ``max_frame_samples``
    the single frame actually decoded.
    """

    max_samples: int = DEFAULT_MAX_SAMPLES
    max_frame_samples: int = DEFAULT_MAX_FRAME_SAMPLES


DEFAULT_LIMITS = DecodeLimits()


def load_dicom_frame(
    source: str | os.PathLike[str] | Dataset,
    frame: int | None = None,
    *,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> ImageFrame:
    """Decode one frame (default: the middle one) of a DICOM file or dataset.

    Raises :class:`ImageReadError` for anything that is not a decodable image:
    not DICOM, truncated/corrupt, no pixel data, unsupported transfer syntax,
    image too large, frame index out of range.
    """
    ds, label = _read(source)
    _require_pixel_data(ds, label)
    ds, tsyntax = with_transfer_syntax(ds, label)
    require_decoder(tsyntax, label)
    n_frames = _checked_geometry(ds, limits, label)
    index = n_frames // 2 if frame is None else frame
    if not 0 <= index < n_frames:
        raise ImageReadError(f"frame {index} out of range: the image has {n_frames} frame(s)", label)

    arr, photometric = _decode(ds, tsyntax, index, label)
    try:
        decoded = _to_display_space(arr, photometric, ds, index)
    except ImageReadError as exc:
        raise ImageReadError(exc.reason, label) from exc
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ImageReadError(f"corrupt lookup table or colour data: {_one_line(exc)}", label) from exc
    return dataclasses.replace(
        decoded, modality=str(ds.get("Modality") or ""), n_frames=n_frames, frame_index=index, source=label
    )


def _to_display_space(arr: np.ndarray, photometric: str, ds: Dataset, index: int) -> ImageFrame:
    """Colour to RGB; monochrome through the modality LUT, with its VOI kept for display."""
    bits = int(ds.get("BitsStored") or ds.BitsAllocated)
    if photometric == "PALETTE COLOR":
        arr = apply_color_lut(arr, ds)
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
        if bits == 16 and arr.max() <= 255:
            bits = 8  # common encoder quirk: 16-bit LUT entries holding 8-bit values
        photometric = RGB
    elif photometric in ("YBR_FULL", "YBR_FULL_422"):
        arr = convert_color_space(arr, photometric, RGB)
        photometric = RGB
    elif photometric not in (MONOCHROME1, MONOCHROME2, RGB):
        raise ImageReadError(f"unsupported photometric interpretation {photometric!r}")
    if photometric == RGB:
        return ImageFrame(np.ascontiguousarray(arr, dtype=np.float32), RGB, bits_stored=bits)
    return ImageFrame(
        pixels=np.ascontiguousarray(apply_modality(arr, ds, index), dtype=np.float32),
        photometric=photometric,
        bits_stored=bits,
        default_window=default_window(ds, index),
        voi_lut=voi_lut(ds),
    )


# --- reading ---------------------------------------------------------------------------


def _read(source: str | os.PathLike[str] | Dataset) -> tuple[Dataset, str]:
    """Parse the file (pixel data deferred) or accept an already-read dataset."""
    if isinstance(source, Dataset):
        return source, str(getattr(source, "filename", "") or "")
    label = str(source)
    path = Path(source)
    if not path.is_file():
        raise ImageReadError("file not found" if not path.exists() else "not a regular file", label)
    try:
        return pydicom.dcmread(path, defer_size=_DEFER_SIZE), label
    except InvalidDicomError:
        pass  # no 'DICM' preamble: maybe a legacy headerless file, tried below
    except PermissionError as exc:
        raise ImageReadError("permission denied", label) from exc
    except Exception as exc:  # pydicom raises many types for broken headers
        raise ImageReadError(f"truncated or corrupt DICOM header: {_one_line(exc)}", label) from exc
    try:
        ds = pydicom.dcmread(path, force=True, defer_size=_DEFER_SIZE)
    except Exception as exc:
        raise ImageReadError("not a DICOM file", label) from exc
    if not any(k in ds for k in ("SOPClassUID", "Modality", "Rows", *_PIXEL_KEYWORDS)):
        raise ImageReadError("not a DICOM file (no 'DICM' marker and no DICOM attributes)", label)
    return ds, label


def _require_pixel_data(ds: Dataset, label: str) -> None:
    """Tell 'object without pixels' apart from 'image cut before its pixels'."""
    if any(k in ds for k in _PIXEL_KEYWORDS):
        return
    sop = _sop_class_name(ds)
    if "Rows" in ds or "Image Storage" in sop:
        raise ImageReadError(
            f"no pixel data although the header describes an image ({sop or 'unknown SOP class'}): "
            "the file is probably truncated or corrupt",
            label,
        )
    raise ImageReadError(
        f"no pixel data: this DICOM object ({sop or 'unknown SOP class'}) is not an image, "
        "e.g. a structured report, RT plan or waveform",
        label,
    )


def sop_class_uid(ds: Dataset) -> str:
    """The dataset's SOP Class UID, from the header or else the file meta information ("" when neither has it)."""
    uid = ds.get("SOPClassUID") or getattr(ds.get("file_meta"), "MediaStorageSOPClassUID", None)
    return str(uid or "").strip()


def _sop_class_name(ds: Dataset) -> str:
    uid = sop_class_uid(ds)
    return UID(uid).name if uid else ""


def _checked_geometry(ds: Dataset, limits: DecodeLimits, label: str) -> int:
    """Refuse incomplete or oversized image headers before decoding; returns the frame count."""
    try:
        values = {k: ds.get(k) for k in ("Rows", "Columns", "BitsAllocated")}
        missing = [k for k, v in values.items() if v in (None, "")]
        if missing:
            raise ImageReadError(f"incomplete image header: missing {', '.join(missing)}", label)
        rows, cols = int(values["Rows"]), int(values["Columns"])
        n_frames = int(ds.get("NumberOfFrames") or 1)
        samples = int(ds.get("SamplesPerPixel") or 1)
    except (TypeError, ValueError) as exc:
        raise ImageReadError(f"corrupt image header: {_one_line(exc)}", label) from exc
    if min(rows, cols, n_frames, samples) < 1:
        raise ImageReadError(f"corrupt image header: {rows}x{cols} pixels, {samples} samples, {n_frames} frames", label)
    per_frame = rows * cols * samples
    total = per_frame * n_frames
    if per_frame > limits.max_frame_samples or total > limits.max_samples:
        raise ImageReadError(
            f"image too large: {rows}x{cols} pixels x {samples} samples x {n_frames} frames "
            f"({total:,} samples; limits {limits.max_frame_samples:,} per frame, "
            f"{limits.max_samples:,} in all), refused before decoding",
            label,
        )
    return n_frames


def _decode(ds: Dataset, tsyntax: UID, index: int, label: str) -> tuple[np.ndarray, str]:
    """Decode one frame without colour conversion; returns (array, photometric)."""
    try:
        arr, meta = get_decoder(tsyntax).as_array(ds, index=index, as_rgb=False)
    except (EOFError, ValueError) as exc:
        message = _one_line(exc)
        if "less than expected" in message or isinstance(exc, EOFError):
            raise ImageReadError(f"truncated: pixel data is shorter than the header says ({message})", label) from exc
        raise ImageReadError(f"corrupt pixel data ({tsyntax.name}): {message}", label) from exc
    except Exception as exc:  # decoder plugins raise RuntimeError, OSError, KeyError...
        raise ImageReadError(f"cannot decode pixel data ({tsyntax.name}): {_one_line(exc)}", label) from exc
    return arr, str(meta.get("photometric_interpretation") or ds.get("PhotometricInterpretation") or MONOCHROME2)


def _one_line(exc: BaseException) -> str:
    """The exception text on one line (decoder plugins list their errors line by line)."""
    text = str(exc).strip() or type(exc).__name__
    return " ".join(line.strip() for line in text.splitlines())[:400]
