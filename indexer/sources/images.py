"""Images: DICOM files (header → searchable metadata) and PNG/JPEG figures.

Pixels are not searchable text, so an image document's text is built from what describes it: its
DICOM header (modality, body part, study and series descriptions, department) and, after linking
(:mod:`indexer.linking`), the conclusion of its report or the caption of its figure. Identifying
header fields are kept apart in ``metadata["identifying"]`` for the access rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from indexer.modalities import french_words
from indexer.imaging import DecodeLimits, ImageFrame, ImageReadError, load_image
from indexer.schema import Document, DocumentKind, Section
from indexer.sources.common import parse_date
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


def _decode_check(path: Path, kind: str) -> ImageFrame:
    """Decode the representative frame once: the validity check, with the imaging module's reasons.

    The imaging loader refuses objects without pixels, unsupported transfer syntaxes (naming the
    decoder to install) and decompression bombs (declared size checked before decoding).
    """
    try:
        return load_image(path, limits=DECODE_LIMITS)
    except ImageReadError as exc:
        raise SourceError(path, f"{kind}: {exc.reason}") from exc


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
    frame = _decode_check(path, "not a readable DICOM file")  # load_image's reasons for a broken header first
    if ds is None:
        raise SourceError(path, f"not a readable DICOM file ({header_error.__class__.__name__}: {header_error})")
    frames = frame.n_frames
    rows, cols = int(ds.get("Rows") or frame.height), int(ds.get("Columns") or frame.width)  # before any downscaling
    modality = header_text(ds, "Modality").upper() or None
    body_part = header_text(ds, "BodyPartExamined").upper()
    study = header_text(ds, "StudyDescription")
    series = header_text(ds, "SeriesDescription")
    department = header_text(ds, "InstitutionalDepartmentName")
    description_lines = [
        f"Modalité {modality} ({french_words(modality)})" if modality else "",
        f"Région {body_part} ({_BODY_PARTS_FR.get(body_part, '')})" if body_part else "",
        f"Étude : {study}" if study else "",
        f"Série : {series}" if series else "",
        f"Service : {department}" if department else "",
    ]
    description = "\n".join(line for line in description_lines if line)
    sop_uid = header_text(ds, "SOPInstanceUID")
    series_uid = header_text(ds, "SeriesInstanceUID")
    return [
        Document(
            id=document_id(DocumentKind.IMAGE, series_uid or key or path.name),
            kind=DocumentKind.IMAGE,
            title=study or series or f"{modality or 'DICOM'} {body_part}".strip(),
            text=description,
            patient_id=header_text(ds, "PatientID") or None,
            date=parse_date(header_text(ds, "StudyDate") or header_text(ds, "SeriesDate")),
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
                "instance_number": int(ds.get("InstanceNumber") or 0),
                "institution": header_text(ds, "InstitutionName"),
                "department": department,
                "rows": rows,
                "columns": cols,
                "frames": frames,
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
