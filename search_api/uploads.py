"""Turn an uploaded file into pixels, or into a 4xx with a reason: never a crash, never a bomb.

Why its own module: an upload is untrusted input in a hospital API. The size is capped (413) before
decoding, the type is sniffed from the bytes (not the file name) and must be PNG, JPEG or DICOM
(415), the image size *declared* in the header is checked before decoding (413: a 30 kB JPEG 2000
can declare 60000×60000 pixels), an unsupported DICOM transfer syntax answers 415 naming the decoder
to install, and anything else unreadable answers 422 with the imaging module's reason.
"""

from __future__ import annotations

import os
import tempfile
from typing import BinaryIO

from fastapi import HTTPException

from indexer.imaging import DecodeLimits, ImageFrame, ImageReadError, load_dicom_frame, load_raster
from indexer.imaging.frame import limit_side
from indexer.imaging.raster import MAX_WORKING_SIDE

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
CHUNK = 1 << 20


def read_limited(stream: BinaryIO, max_bytes: int) -> bytes:
    """Read at most *max_bytes* (413 beyond, 400 when empty)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise HTTPException(status_code=413, detail=f"upload too large: more than {max_bytes / 1e6:g} MB")
        chunks.append(chunk)
    if size == 0:
        raise HTTPException(status_code=400, detail="the uploaded file is empty")
    return b"".join(chunks)


def sniff(data: bytes) -> str:
    """``dicom``, ``png`` or ``jpeg`` from the content; 415 for anything else."""
    if data[128:132] == b"DICM":
        return "dicom"
    if data.startswith(_PNG):
        return "png"
    if data.startswith(_JPEG):
        return "jpeg"
    raise HTTPException(
        status_code=415,
        detail="unsupported file type: upload a PNG, a JPEG or a DICOM (Part 10, with the 'DICM' preamble) image",
    )


def decode_upload(data: bytes, max_pixels: int) -> ImageFrame:
    """Decode the representative frame of an uploaded image (at most *max_pixels* per frame)."""
    kind = sniff(data)
    handle, name = tempfile.mkstemp(prefix="medsearch-upload-", suffix=f".{kind}")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        if kind == "dicom":
            frame = load_dicom_frame(name, limits=DecodeLimits(max_frame_samples=max_pixels))
            return limit_side(frame, MAX_WORKING_SIDE)  # bounded before descriptors copy it
        return load_raster(name, max_pixels=max_pixels)
    except ImageReadError as exc:
        raise HTTPException(status_code=status_for(exc.reason), detail=f"cannot read the uploaded image: {exc.reason}") from exc
    finally:
        os.unlink(name)


def status_for(reason: str) -> int:
    """413 for size refusals, 415 for formats/encodings we cannot decode, 422 for broken files."""
    if "too large" in reason:
        return 413
    if "unsupported transfer syntax" in reason or "unsupported photometric" in reason:
        return 415
    return 422
