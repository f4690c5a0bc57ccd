"""Pixel side of image search: decode, render, thumbnail and describe images.

Everything here is pure (files in, arrays/paths out) so the indexer and the API
can call it without sharing state; every failure to read an image is an
:class:`ImageReadError` whose ``reason`` is meant for a person.
"""

from .dicom_pixels import DecodeLimits, load_dicom_frame, supported_transfer_syntaxes
from .errors import ImageReadError
from .frame import ImageFrame, VoiLut, Window
from .loader import is_dicom_file, load_image
from .raster import load_raster
from .render import PRESETS, render, to_uint8

__all__ = [
    "PRESETS",
    "DecodeLimits",
    "ImageFrame",
    "ImageReadError",
    "VoiLut",
    "Window",
    "is_dicom_file",
    "load_dicom_frame",
    "load_image",
    "load_raster",
    "render",
    "supported_transfer_syntaxes",
    "to_uint8",
]
