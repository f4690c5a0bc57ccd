"""Images: DICOM files (header → searchable metadata) and PNG/JPEG figures.

Pixels are not searchable text, so an image document's text is built from what describes it: its
DICOM header (modality, body part, study and series descriptions, department) and, after linking
(:mod:`indexer.linking`), the conclusion of its report or the caption of its figure. Identifying
header fields are kept apart in ``metadata["identifying"]`` for the access rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from indexer.imaging.dicom_pixels import sop_class_uid
from indexer.modalities import french_words
from indexer.imaging import DecodeLimits, ImageFrame, ImageReadError, load_image
from indexer.schema import Document, DocumentKind, Section
from indexer.sources.common import parse_date, warn
from indexer.sources.dicom_sr import header_text, is_text_sr, report_from_sr
from indexer.sources.errors import SourceError
from indexer.sources.identity import document_id

# The decompression-bomb guard of the imaging layer (~67 M samples in the one frame decoded, 2**30 in all),
# the same as for uploads and renders. Only the middle frame is decoded, so the whole object's size is not
# what costs memory (the file's size is bounded by index.max_file_mb): a 100 M-sample cap over all frames
# skipped real enhanced CT volumes and ultrasound cines (512 x 512 x 400 frames) as « image too large ».
DECODE_LIMITS = DecodeLimits()

_BODY_PARTS_FR = {
    "CHEST": "thorax",
    "HEAD": "crâne tête cerveau",
    "BRAIN": "cerveau encéphale",
    "ABDOMEN": "abdomen",
    "KNEE": "genou",
    "HIP": "hanche",
    "SPINE": "rachis colonne",
    "LSPINE": "rachis lombaire",
    "CSPINE": "rachis cervical",
    "SHOULDER": "épaule",
    "PELVIS": "bassin",
    "HEART": "cœur",
}


# Decoding failures of the pixels alone (the header is fine): the file is indexed from its header.
# Not here: « not a DICOM file », « not an image » (RT plan, waveform), a missing or corrupt image header.
_PIXEL_ONLY_FAILURES = (
    "cannot decode pixel data",
    "corrupt pixel data",
    "truncated: pixel data",
    "no pixel data although the header describes an image",
    "unsupported transfer syntax",
    "no transfer syntax",
    "unsupported photometric interpretation",
    "corrupt lookup table",
    "image too large",
    "corrupt image header",  # « NumberOfFrames '1A' »: the attributes that describe the exam are fine
    "incomplete image header",
)
_MEDIA_DIRECTORY = "1.2.840.10008.1.3.10"


def _int_or(value: Any, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def _decode_check(path: Path, kind: str) -> ImageFrame:
    """Decode the representative frame once: the validity check, with the imaging module's reasons.

    The imaging loader refuses objects without pixels, unsupported transfer syntaxes (naming the
    decoder to install) and decompression bombs (declared size checked before decoding).
    """
    try:
        return load_image(path, limits=DECODE_LIMITS)
    except ImageReadError as exc:
        raise SourceError(path, f"{kind}: {exc.reason}") from exc


def _first_date(ds: Any) -> str:
    """StudyDate, else SeriesDate, AcquisitionDate, ContentDate (an empty StudyDate is allowed by the
    standard: secondary captures and converted films often carry only the acquisition or content date)."""
    for keyword in ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate"):
        value = header_text(ds, keyword)
        if value:
            return value
    return ""


def _labelled(label: str, code: str, words: str) -> str:
    """« Modalité CT (scanner tomodensitométrie) »; no empty « () » when the code has no French words."""
    if not code:
        return ""
    return f"{label} {code} ({words})" if words else f"{label} {code}"


def parse_dicom(path: Path, key: str | None = None) -> list[Document]:
    """One image document per DICOM file, described by its header, id ``image:<SeriesInstanceUID>``.

    A text structured report (:mod:`indexer.sources.dicom_sr`) is read as a report document instead.

    All instances of a series share that id; :func:`indexer.linking.group_series` keeps one of them
    (the middle one) as the series' document. A file without a SeriesInstanceUID gets its path.
    """
    import pydicom

    try:  # the header, without pixels: cheap
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        header_error: Exception | None = None
    except Exception as exc:  # pydicom raises many types for broken headers
        ds, header_error = None, exc
    if ds is not None and is_text_sr(ds):
        # a structured report is a report, not an image without pixels: indexed as one
        return [report_from_sr(ds, path, key)]
    if ds is not None and sop_class_uid(ds) == _MEDIA_DIRECTORY:
        raise SourceError(
            path,
            "DICOMDIR: the directory of a DICOM CD/DVD, not an exam; the image files it lists are indexed themselves",
        )
    frame: ImageFrame | None
    pixels_reason: str | None = None
    try:
        frame = _decode_check(path, "not a readable DICOM file")  # load_image's reasons for a broken header first
    except SourceError as exc:
        cause = exc.__cause__
        reason = cause.reason if isinstance(cause, ImageReadError) else ""
        if ds is None or not reason.startswith(_PIXEL_ONLY_FAILURES):
            raise
        # The header was read but not the pixels (a JPEG 2000 or JPEG-LS file without its decoder
        # installed, pixel data cut off by a transfer, a lossy JPEG the decoder refuses): its patient,
        # date, modality and descriptions are still indexed, and the reason the pixels are not stated.
        # Such a file was skipped whole: the exam missing from the patient's results, not just its picture.
        frame, pixels_reason = None, reason
        warn(f"header indexed without pixels: {reason}")
    if ds is None:
        raise SourceError(path, f"not a readable DICOM file ({header_error.__class__.__name__}: {header_error})")
    frames = frame.n_frames if frame is not None else _int_or(ds.get("NumberOfFrames"), 1)
    rows = _int_or(ds.get("Rows"), frame.height if frame is not None else 0)  # before any downscaling
    cols = _int_or(ds.get("Columns"), frame.width if frame is not None else 0)
    modality = header_text(ds, "Modality").upper() or None
    body_part = header_text(ds, "BodyPartExamined").upper()
    study = header_text(ds, "StudyDescription")
    series = header_text(ds, "SeriesDescription")
    department = header_text(ds, "InstitutionalDepartmentName")
    description_lines = [
        _labelled("Modalité", modality or "", french_words(modality) if modality else ""),
        _labelled("Région", body_part, _BODY_PARTS_FR.get(body_part, "")),
        f"Étude : {study}" if study else "",
        f"Série : {series}" if series else "",
        f"Service : {department}" if department else "",
    ]
    description = "\n".join(line for line in description_lines if line)
    patient_id = header_text(ds, "PatientID") or None
    if pixels_reason is not None and not (description or patient_id):
        raise SourceError(
            path,
            f"not a readable DICOM file: {pixels_reason}; and its header names no patient, modality or description to index",
        )
    sop_uid = header_text(ds, "SOPInstanceUID")
    series_uid = header_text(ds, "SeriesInstanceUID")
    return [
        Document(
            id=document_id(DocumentKind.IMAGE, series_uid or key or path.name),
            kind=DocumentKind.IMAGE,
            title=study or series or f"{modality or 'DICOM'} {body_part}".strip(),
            text=description,
            patient_id=patient_id,
            date=parse_date(_first_date(ds)),
            language="fr",
            source_path=str(path),
            modality=modality,
            sections=[Section(title="DICOM", text=description)],
            metadata={
                "format": "dicom",
                "body_part": body_part or None,
                "study_description": study,
                "series_description": series,
                "accession": header_text(ds, "AccessionNumber") or None,
                "study_uid": header_text(ds, "StudyInstanceUID"),
                "series_uid": series_uid,
                "sop_uid": sop_uid,
                "instance_number": _int_or(ds.get("InstanceNumber"), 0),
                "institution": header_text(ds, "InstitutionName"),
                "department": department,
                "rows": rows,
                "columns": cols,
                "frames": frames,
                # why the pixels were not decoded (no thumbnail, no image vector); None: decoded
                "pixels_error": pixels_reason,
                "identifying": {
                    "patient_name": header_text(ds, "PatientName"),
                    "patient_birth_date": header_text(ds, "PatientBirthDate"),
                    "patient_sex": header_text(ds, "PatientSex"),
                },
            },
        )
    ]


def parse_raster(path: Path, key: str | None = None) -> list[Document]:
    """A PNG/JPEG figure, id ``image:<path relative to the indexed root>``; its caption arrives later
    through linking with the article that cites it."""
    frame = _decode_check(path, "unreadable image")
    height, width = frame.height, frame.width
    return [
        Document(
            id=document_id(DocumentKind.IMAGE, key or path.name),
            kind=DocumentKind.IMAGE,
            title=f"Figure {path.stem}",
            text="",
            language="und",
            source_path=str(path),
            metadata={"format": path.suffix.lower().lstrip("."), "rows": height, "columns": width, "frames": 1},
        )
    ]
