"""DICOM files for a subset of the planned imaging exams (pydicom 3, Explicit VR Little Endian).

Each file carries the same patient identity, study date and accession number as the radiology report
of that exam, which is how an image links to its report. UIDs are derived from the seed with
``pydicom.uid.generate_uid(entropy_srcs=...)`` (a hash, not a random UUID), so reruns are identical.
"""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from indexer.demo import vocabulary as V
from indexer.demo.model import Cohort, Exam
from indexer.demo.phantoms import FIELD_OF_VIEW_MM, Findings, render_phantom
from indexer.demo.reports import doctor, exam_service

SOP_CLASSES = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",  # CT Image Storage
    "MR": "1.2.840.10008.5.1.4.1.1.4",  # MR Image Storage
    "CR": "1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography Image Storage
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image Storage - For Presentation
    "US": "1.2.840.10008.5.1.4.1.1.6.1",  # Ultrasound Image Storage
}
IMPLEMENTATION_UID = V.DICOM_UID_ROOT + "1"
WINDOWS = {  # (centres, widths) offered to viewers, first one is the default
    ("CT", "CHEST"): ([40, -600], [400, 1500]),
    ("CT", "HEAD"): ([40, 600], [80, 2800]),
    ("CT", "ABDOMEN"): ([50], [350]),
    ("MR", "HEAD"): ([500], [1000]),
    ("MR", "SPINE"): ([500], [1000]),
}
MANUFACTURERS = {
    "CT": ("DEMO MEDICAL SYSTEMS", "Demo CT 128"),
    "MR": ("DEMO MEDICAL SYSTEMS", "Demo MR 3T"),
    "CR": ("DEMO IMAGING", "Demo CR Reader"),
    "DX": ("DEMO IMAGING", "Demo DR Flat Panel"),
    "US": ("DEMO ULTRASOUND", "Demo Echo 5"),
}


def select_imaged_exams(cohort: Cohort, seed: int, rate: float = 0.4) -> list[tuple[Exam, int]]:
    """Choose which exams have images in the demo PACS and how many slices (CT/MR: 1-2)."""
    rng = random.Random(f"medsearch-demo:{seed}:images")
    chosen = []
    for exam in cohort.exams:
        if rng.random() < rate:
            slices = rng.choice([1, 2]) if exam.type.modality in {"CT", "MR"} else 1
            chosen.append((exam, slices))
    if not chosen and cohort.exams:
        chosen.append((cohort.exams[0], 1))
    return chosen


def _ascii_upper(text: str) -> str:
    """PACS-style names: upper case without accents (« LEFÈVRE » -> "LEFEVRE")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def exam_findings(exam: Exam) -> Findings:
    return {f.concept: (f.status, f.params) for f in exam.findings}


def to_stored(image: np.ndarray, modality: str) -> tuple[np.ndarray, int]:
    """Physical values -> stored integers and bit depth (CT stored as HU + 1024, US on 8 bits)."""
    if modality == "US":
        return np.clip(np.rint(image), 0, 255).astype(np.uint8), 8
    offset = 1024.0 if modality == "CT" else 0.0
    return np.clip(np.rint(image + offset), 0, 4095).astype(np.uint16), 16


def _uid(seed: int, *parts: str) -> str:
    return generate_uid(prefix=V.DICOM_UID_ROOT, entropy_srcs=[f"medsearch-demo:{seed}", *parts])


def build_dataset(exam: Exam, pixels: np.ndarray, bits: int, slice_index: int, seed: int, size: int) -> Dataset:
    """All header attributes of one image; identity and accession copied from the exam plan."""
    et, patient = exam.type, exam.patient
    modality = et.modality
    sop_uid = _uid(seed, "sop", exam.accession, str(slice_index))
    rng = random.Random(f"medsearch-demo:{seed}:{exam.accession}:dicom")

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SOP_CLASSES[modality]
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPLEMENTATION_UID
    meta.ImplementationVersionName = "MEDSEARCH_DEMO"

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = SOP_CLASSES[modality]
    ds.SOPInstanceUID = sop_uid
    study_date = exam.when.strftime("%Y%m%d")
    study_time = exam.when.strftime("%H%M%S")
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = study_date
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = study_time
    ds.AccessionNumber = exam.accession
    ds.Modality = modality
    ds.Manufacturer, ds.ManufacturerModelName = MANUFACTURERS[modality]
    ds.InstitutionName = V.HOSPITAL
    ds.InstitutionalDepartmentName = exam_service(exam)[0]
    ds.ReferringPhysicianName = _ascii_upper(doctor(rng).removeprefix("Dr ")).replace(" ", "^", 1)
    ds.StudyDescription = et.study_desc
    ds.SeriesDescription = et.series_desc
    ds.PatientName = f"{_ascii_upper(patient.family_name)}^{patient.given}"
    ds.PatientID = patient.ipp
    ds.IssuerOfPatientID = V.HOSPITAL
    ds.PatientBirthDate = patient.birth.strftime("%Y%m%d")
    ds.PatientSex = patient.sex
    ds.PatientAge = f"{patient.age_at(exam.when.date()):03d}Y"
    ds.BodyPartExamined = et.body_part
    ds.StudyInstanceUID = _uid(seed, "study", exam.accession)
    ds.SeriesInstanceUID = _uid(seed, "series", exam.accession)
    ds.StudyID = exam.accession[3:]
    ds.SeriesNumber = 2
    ds.InstanceNumber = slice_index + 1
    _geometry(ds, exam, slice_index, size)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated = bits
    ds.BitsStored = 8 if bits == 8 else 12
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 0
    if modality == "CT":
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
        ds.KVP = 120
    if (modality, et.body_part) in WINDOWS:
        centres, widths = WINDOWS[(modality, et.body_part)]
        ds.WindowCenter = centres if len(centres) > 1 else centres[0]
        ds.WindowWidth = widths if len(widths) > 1 else widths[0]
    elif modality in {"CR", "DX"}:
        ds.WindowCenter, ds.WindowWidth = 2048, 4096
        ds.KVP = 125 if et.body_part == "CHEST" else 75
    ds.PixelData = pixels.tobytes()
    return ds


def _geometry(ds: Dataset, exam: Exam, slice_index: int, size: int) -> None:
    """Pixel spacing and patient-space position, so viewers show real millimetres."""
    modality, body = exam.type.modality, exam.type.body_part
    if modality in {"CT", "MR"}:
        fov = FIELD_OF_VIEW_MM[modality][body]
        spacing = round(fov / size, 4)
        thickness = 1.25 if modality == "CT" else 4.0
        ds.PixelSpacing = [spacing, spacing]
        ds.SliceThickness = thickness
        z = round(-slice_index * thickness * 8, 2)
        if body == "SPINE":  # sagittal
            ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
            ds.ImagePositionPatient = [0.0, -fov / 2, fov / 2]
        else:
            ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
            ds.ImagePositionPatient = [-fov / 2, -fov / 2, z]
            ds.SliceLocation = z
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL" if body != "SPINE" else "OTHER"]
    elif modality in {"CR", "DX"}:
        spacing = round(FIELD_OF_VIEW_MM[modality] / size, 4)
        ds.ImagerPixelSpacing = [spacing, spacing]
        ds.PatientOrientation = ["L", "F"]
        ds.ViewPosition = "PA" if body == "CHEST" else "AP"
        ds.ImageType = ["ORIGINAL", "PRIMARY"]
    else:
        ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL" if body == "ABDOMEN" else "CARDIAC"]


def write_exam_images(exam: Exam, slices: int, out_dir: Path, first_number: int, seed: int) -> list[str]:
    """Write the exam's DICOM slices; returns their document ids (file stems)."""
    size = 128 if exam.type.modality == "US" else 256
    ids = []
    for z in range(slices):
        rng = np.random.default_rng([seed, int(exam.accession[3:]), z])
        image = render_phantom(exam.code, exam_findings(exam), rng, size=size, z=z)
        pixels, bits = to_stored(image, exam.type.modality)
        image_id = f"IMG-{first_number + z:05d}"
        dataset = build_dataset(exam, pixels, bits, z, seed, size)
        dataset.save_as(out_dir / f"{image_id}.dcm", enforce_file_format=True)
        ids.append(image_id)
    exam.image_ids = ids
    return ids
