"""Load ordinary raster images (PNG, JPEG, TIFF, GIF...) as an :class:`ImageFrame`.

Figures from articles and photos attached to records are searched alongside
DICOM images, so they go through the same frame type. Pillow refuses
decompression bombs only with a warning up to twice ``Image.MAX_IMAGE_PIXELS``;
here the declared size is checked against the limit before any decoding and
every failure becomes :class:`ImageReadError`.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageReadError
from .frame import MONOCHROME2, RGB, ImageFrame, Window

#: Longest side, in pixels, of the frame handed to descriptors, thumbnails and rendering. A 143 kB PNG
#: can declare 7000×7000 pixels: decoded to float32 RGB that is 588 MB, and every later step copies
#: it (it took the API from 1 to 5 GB). JPEGs are decoded at a reduced scale directly (``draft``),
#: other formats are box-reduced right after decoding, before the float conversion.
MAX_WORKING_SIDE = 2048

_GREY_MODES = {"1": 1, "L": 8, "I;16": 16, "I;16B": 16, "I;16L": 16, "I": 32, "F": 32}


def load_raster(
    path: str | os.PathLike[str],
    frame: int | None = None,
    *,
    max_pixels: int | None = None,
    max_side: int | None = MAX_WORKING_SIDE,
) -> ImageFrame:
    """Decode one frame (default: the middle one) of a raster image file.

    ``max_pixels`` defaults to ``PIL.Image.MAX_IMAGE_PIXELS`` at call time.
    Greyscale images keep their values; the frame's default window maps the
    nominal range (0..255 for 8-bit) to display unchanged.
    """
    label = str(path)
    if not Path(path).is_file():
        raise ImageReadError("file not found", label)
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if limit is not None and width * height > limit:
                    raise ImageReadError(
                        f"image too large: {width}x{height} pixels exceeds the limit of "
                        f"{limit:,} pixels, refused before decoding",
                        label,
                    )
                n_frames = int(getattr(image, "n_frames", 1) or 1)
                index = n_frames // 2 if frame is None else frame
                if not 0 <= index < n_frames:
                    raise ImageReadError(f"frame {index} out of range: the image has {n_frames} frame(s)", label)
                image.seek(index)
                if max_side and max(width, height) > max_side and image.format == "JPEG":
                    image.draft(image.mode, (max_side, max_side))  # DCT scaling: never decoded at full size
                image.load()
                return _to_frame(_reduced(ImageOps.exif_transpose(image), max_side), n_frames, index, label)
    except ImageReadError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageReadError("not an image file Pillow can read", label) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(f"image too large: {exc}", label) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow reports a cut file as OSError("image file is truncated ...").
        raise ImageReadError(f"truncated or corrupt image: {exc}", label) from exc


def _reduced(image: Image.Image, max_side: int | None) -> Image.Image:
    """Box-reduce by the smallest integer factor that brings the longest side under *max_side*."""
    if not max_side or max(image.size) <= max_side:
        return image
    factor = -(-max(image.size) // max_side)
    if image.mode not in ("1", "L", "LA", "RGB", "RGBA", "I", "F", "I;16"):
        image = image.convert("RGB")
    return image.reduce(factor)


def _to_frame(image: Image.Image, n_frames: int, index: int, label: str) -> ImageFrame:
    if image.mode in _GREY_MODES:
        bits = _GREY_MODES[image.mode]
        pixels = np.asarray(image, dtype=np.float32)
        if image.mode == "1":
            pixels = pixels * 255.0
            bits = 8
        window = None
        if bits <= 16:  # identity mapping of the nominal range
            top = float(2**bits - 1)
            window = Window(top / 2.0, top, "LINEAR_EXACT")
        return ImageFrame(pixels, MONOCHROME2, "", n_frames, index, bits, window, None, label)
    if image.mode == "LA":
        image = image.convert("L")
        return ImageFrame(
            np.asarray(image, dtype=np.float32),
            MONOCHROME2,
            "",
            n_frames,
            index,
            8,
            Window(127.5, 255.0, "LINEAR_EXACT"),
            None,
            label,
        )
    rgb = image.convert("RGB")
    return ImageFrame(np.asarray(rgb, dtype=np.float32), RGB, "", n_frames, index, 8, None, None, label)
