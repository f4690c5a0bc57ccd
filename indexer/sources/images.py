"""Images: DICOM files (header → searchable metadata) and PNG/JPEG figures.

Pixels are not searchable text, so an image document's text is built from what describes it: its
DICOM header (modality, body part, study and series descriptions, department) and, after linking
(:mod:`indexer.linking`), the conclusion of its report or the caption of its figure. Identifying
header fields are kept apart in ``metadata["identifying"]`` for the access rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from indexer.schema import Document, DocumentKind, Section
from indexer.sources.common import parse_date
from indexer.sources.errors import SourceError

MAX_PIXELS = 100_000_000  # rows x columns x frames x samples: beyond this we refuse to decode (bomb guard)

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
_MODALITIES_FR = {
    "CT": "scanner TDM tomodensitométrie",
    "MR": "IRM imagerie par résonance magnétique",
    "CR": "radiographie",
    "DX": "radiographie",
    "US": "échographie",
    "XA": "angiographie",
    "MG": "mammographie",
    "NM": "scintigraphie",
    "PT": "TEP",
}


def _value(ds: Any, keyword: str) -> str:
    value = ds.get(keyword)
    return str(value).strip() if value is not None else ""


def _check_pixels(ds: Any, path: Path) -> tuple[int, int, int]:
    """Refuse images without pixels or too large to decode, before decoding; then decode once."""
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise SourceError(path, "DICOM has no pixel data (structured report or other non-image object)")
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    frames, samples = int(ds.get("NumberOfFrames", 1) or 1), int(ds.get("SamplesPerPixel", 1) or 1)
    if rows * cols * frames * samples > MAX_PIXELS:
        raise SourceError(path, f"image too large to decode safely ({rows}x{cols}x{frames} pixels)")
    try:
        ds.pixel_array  # noqa: B018 - decoding is the validity check
    except Exception as exc:  # pydicom raises many types for corrupt or undecodable pixel data
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
        name = getattr(syntax, "name", syntax)
        raise SourceError(path, f"pixel data cannot be decoded (transfer syntax {name}): {exc}") from exc
    return rows, cols, frames


def parse_dicom(path: Path) -> list[Document]:
    """One image document per DICOM file, described by its header."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(path)
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError) as exc:
        raise SourceError(path, f"not a readable DICOM file ({exc.__class__.__name__}: {exc})") from exc
    rows, cols, frames = _check_pixels(ds, path)
    modality = _value(ds, "Modality").upper() or None
    body_part = _value(ds, "BodyPartExamined").upper()
    study = _value(ds, "StudyDescription")
    series = _value(ds, "SeriesDescription")
    department = _value(ds, "InstitutionalDepartmentName")
    description_lines = [
        f"Modalité {modality} ({_MODALITIES_FR.get(modality or '', '')})" if modality else "",
        f"Région {body_part} ({_BODY_PARTS_FR.get(body_part, '')})" if body_part else "",
        f"Étude : {study}" if study else "",
        f"Série : {series}" if series else "",
        f"Service : {department}" if department else "",
    ]
    header_text = "\n".join(line for line in description_lines if line)
    sop_uid = _value(ds, "SOPInstanceUID")
    return [
        Document(
            id=path.stem,
            kind=DocumentKind.IMAGE,
            title=study or series or f"{modality or 'DICOM'} {body_part}".strip(),
            text=header_text,
            patient_id=_value(ds, "PatientID") or None,
            date=parse_date(_value(ds, "StudyDate") or _value(ds, "SeriesDate")),
            language="fr",
            source_path=str(path),
            modality=modality,
            sections=[Section(title="DICOM", text=header_text)],
            metadata={
                "format": "dicom",
                "body_part": body_part or None,
                "study_description": study,
                "series_description": series,
                "accession": _value(ds, "AccessionNumber") or None,
                "study_uid": _value(ds, "StudyInstanceUID"),
                "series_uid": _value(ds, "SeriesInstanceUID"),
                "sop_uid": sop_uid,
                "institution": _value(ds, "InstitutionName"),
                "department": department,
                "rows": rows,
                "columns": cols,
                "frames": frames,
                "identifying": {
                    "patient_name": _value(ds, "PatientName"),
                    "patient_birth_date": _value(ds, "PatientBirthDate"),
                    "patient_sex": _value(ds, "PatientSex"),
                },
            },
        )
    ]


def parse_raster(path: Path) -> list[Document]:
    """A PNG/JPEG figure; its caption arrives later through linking with the article that cites it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise SourceError(path, f"image too large ({width}x{height} pixels)")
            image.verify()
    except SourceError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise SourceError(path, f"unreadable image ({exc.__class__.__name__}: {exc})") from exc
    return [
        Document(
            id=path.stem,
            kind=DocumentKind.IMAGE,
            title=f"Figure {path.stem}",
            text="",
            language="und",
            source_path=str(path),
            metadata={"format": path.suffix.lower().lstrip("."), "rows": height, "columns": width, "frames": 1},
        )
    ]
