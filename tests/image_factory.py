"""Small synthetic image files for the image-search tests: DICOM of several modalities, broken ones, bombs.

Generated, not shipped: each is a few kB, and a test states exactly what it feeds the code.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def write_dicom(
    path: Path,
    pixels: np.ndarray,
    *,
    modality: str = "MR",
    patient_id: str = "P900010",
    accession: str = "ACC9000010",
    study_date: str = "20240101",
    body_part: str = "HEAD",
    study: str = "IRM CEREBRALE",
    transfer_syntax: str | None = None,
    with_pixels: bool = True,
) -> Path:
    """A DICOM file around *pixels*: (H, W) or (F, H, W) uint16 monochrome, or (H, W, 3) uint8 RGB."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, UltrasoundImageStorage, generate_uid

    sop_class = UltrasoundImageStorage if modality == "US" else MRImageStorage
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[path.name])
    meta.TransferSyntaxUID = transfer_syntax or ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[accession])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[accession, "s"])
    ds.PatientID, ds.PatientName, ds.StudyDate = patient_id, "TEST^IMAGE", study_date
    ds.Modality, ds.BodyPartExamined, ds.StudyDescription = modality, body_part, study
    ds.AccessionNumber, ds.InstitutionalDepartmentName = accession, "Radiologie"
    color = pixels.ndim == 3 and pixels.shape[-1] == 3 and pixels.dtype == np.uint8
    frames = 1 if color or pixels.ndim == 2 else pixels.shape[0]
    ds.Rows, ds.Columns = pixels.shape[-3:-1] if color else pixels.shape[-2:]
    if color:
        ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    else:
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        pixels = pixels.astype(np.uint16)
    if frames > 1:
        ds.NumberOfFrames = frames
    if with_pixels:
        data = np.ascontiguousarray(pixels).tobytes()
        # A compressed syntax needs encapsulated fragments; their content is garbage on purpose here.
        ds.PixelData = encapsulate([data[:64] or b"\0" * 64]) if meta.TransferSyntaxUID.is_compressed else data
    ds.save_as(path, enforce_file_format=True)
    return path


def brain_mr(seed: int = 0, frames: int = 1) -> np.ndarray:
    """A skull ring around brain tissue, with noise: a plausible axial MR slice (or stack)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:64, :64]
    r = np.hypot((yy - 32) / 27, (xx - 32) / 23)
    base = np.where(r < 0.85, 600, 0) + np.where((r >= 0.85) & (r < 1.0), 1500, 0)
    stack = [base + rng.normal(0, 40, base.shape) + 30 * k for k in range(frames)]
    out = np.clip(np.stack(stack), 0, 4000).astype(np.uint16)
    return out[0] if frames == 1 else out


def doppler_us(seed: int = 0) -> np.ndarray:
    """A speckled sector with a red/blue colour box: a colour Doppler ultrasound frame (RGB)."""
    rng = np.random.default_rng(seed)
    grey = (rng.rayleigh(40, (64, 64))).clip(0, 255).astype(np.uint8)
    rgb = np.stack([grey] * 3, axis=-1)
    rgb[20:36, 24:40] = [200, 30, 30]
    rgb[36:44, 24:40] = [30, 30, 200]
    return rgb


def png_bytes(pixels: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares *width* x *height* pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def dicom_bomb(path: Path) -> Path:
    """A JPEG 2000 DICOM of a few hundred bytes whose header declares 60000 x 60000 pixels."""
    from pydicom.uid import JPEG2000Lossless

    write_dicom(path, np.zeros((4, 4), np.uint16), transfer_syntax=JPEG2000Lossless)
    import pydicom

    ds = pydicom.dcmread(path)
    ds.Rows = ds.Columns = 60000
    ds.save_as(path, enforce_file_format=True)
    return path
