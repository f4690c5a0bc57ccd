"""Image vector index, its pipeline hook (incremental, removals, thumbnails) and index-time bad input."""

from __future__ import annotations

import re

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from image_factory import brain_mr, dicom_bomb, doppler_us, write_dicom
from pydicom.uid import MPEG2MPML

from indexer.imaging.clip import ClipUnavailableError, import_open_clip
from indexer.imaging.descriptor import DESCRIPTOR_DIM, DESCRIPTOR_VERSION
from indexer.backend.embedded.image_vectors import ImageVectorIndex, sidecar_path
from indexer.pipeline import index_paths
from indexer.settings import Settings
from indexer.sources import SourceError, parse_file
from indexer.backend.embedded.generations import live_layout
from indexer.imaging.thumbnails import thumbnails_dir
from conftest import FIG_T01, IMG_T001, series_id, write_ct_dicom


def _unit(seed: int, dim: int = 8) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return vector / np.linalg.norm(vector)


def test_vector_index_put_replace_remove_filter_and_reload(tmp_path: Path) -> None:
    index = ImageVectorIndex(8, "m1")
    for i in range(4):
        index.put(f"IMG-{i}", f"k{i}", _unit(i))
    assert [h.doc_id for h in index.search(_unit(2), 1)] == ["IMG-2"]
    assert index.search(_unit(2), 1)[0].score == pytest.approx(1.0, abs=1e-5)
    index.put("IMG-2", "k2b", _unit(3))  # replaced: now identical to IMG-3
    assert len(index) == 4 and index.key_of("IMG-2") == "k2b"
    assert {h.doc_id for h in index.search(_unit(3), 2)} == {"IMG-2", "IMG-3"}
    assert [h.doc_id for h in index.search(_unit(3), 5, allowed=["IMG-0", "IMG-9"])] == ["IMG-0"]
    assert index.search(_unit(3), 5, allowed=[]) == []
    assert index.remove(["IMG-0", "unknown"]) == 1

    path = tmp_path / "images.faiss"
    index.save(path)
    assert sidecar_path(path).name == "images.ids.json"
    again = ImageVectorIndex.load(path, 8, "m1")
    assert again.doc_ids() == ["IMG-1", "IMG-2", "IMG-3"] and again.key_of("IMG-1") == "k1"
    np.testing.assert_allclose(again.vector("IMG-1"), _unit(1), atol=1e-6)
    assert len(ImageVectorIndex.load(path, 8, "another-model")) == 0  # model changed: recompute everything


def test_pipeline_writes_descriptors_and_thumbnails(indexed) -> None:
    settings, report = indexed
    layout = live_layout(settings.index.dir)
    index = ImageVectorIndex.load(live_layout(settings.index.dir).images, DESCRIPTOR_DIM, DESCRIPTOR_VERSION)
    assert index.doc_ids() == sorted([FIG_T01, IMG_T001])
    assert report.images_described == 2
    assert [h.doc_id for h in index.search(index.vector(IMG_T001), 1)] == [IMG_T001]
    assert len(list(thumbnails_dir(settings).glob("*.png"))) == 2
    assert not layout.clip_images.exists()  # no CLIP configured


@pytest.fixture()
def image_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    write_ct_dicom(folder / "CT-1.dcm", "P1", "ACC1")
    write_dicom(folder / "MR-1.dcm", brain_mr(1, frames=3))
    write_dicom(folder / "US-1.dcm", doppler_us(1), modality="US", body_part="ABDOMEN", accession="ACC3")
    return folder


def test_image_index_is_incremental_and_follows_removals(tmp_path: Path, image_folder: Path, encoder) -> None:
    settings = Settings(index={"dir": tmp_path / "index"}, api={"audit_log": tmp_path / "audit.log"})
    first = index_paths([image_folder], settings, encoder)
    assert first.images_described == 3 and not first.skipped
    assert index_paths([image_folder], settings, encoder).images_described == 0  # nothing changed, nothing decoded

    mr = image_folder / "MR-1.dcm"
    write_dicom(mr, brain_mr(7, frames=3))  # same header, new pixels: the text is unchanged, the vector is not
    stat = mr.stat()
    os.utime(mr, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))
    before = ImageVectorIndex.load(live_layout(settings.index.dir).images, DESCRIPTOR_DIM, DESCRIPTOR_VERSION).vector(series_id("ACC9000010"))
    assert index_paths([image_folder], settings, encoder).images_described == 1
    after = ImageVectorIndex.load(live_layout(settings.index.dir).images, DESCRIPTOR_DIM, DESCRIPTOR_VERSION)
    assert not np.allclose(after.vector(series_id("ACC9000010")), before)

    (image_folder / "US-1.dcm").unlink()
    pruned = index_paths([image_folder], settings, encoder, prune=True)
    assert pruned.documents_removed == 1
    assert ImageVectorIndex.load(live_layout(settings.index.dir).images, DESCRIPTOR_DIM, DESCRIPTOR_VERSION).doc_ids() == sorted([series_id("ACC1"), series_id("ACC9000010")])


def test_missing_image_file_vector_is_recomputed_after_a_lost_index(tmp_path: Path, image_folder: Path, encoder) -> None:
    """An index built before image vectors existed (or whose images.faiss was lost) gets them on the next run."""
    settings = Settings(index={"dir": tmp_path / "index"}, api={"audit_log": tmp_path / "audit.log"})
    index_paths([image_folder], settings, encoder)
    live_layout(settings.index.dir).images.unlink()
    shutil.rmtree(thumbnails_dir(settings))
    report = index_paths([image_folder], settings, encoder)
    assert report.documents_unchanged == 3 and report.images_described == 3
    assert len(list(thumbnails_dir(settings).glob("*.png"))) == 3


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: write_dicom(p, np.zeros((8, 8), np.uint16), transfer_syntax=MPEG2MPML), "unsupported transfer syntax"),
        (lambda p: write_dicom(p, np.zeros((8, 8), np.uint16), with_pixels=False), "no pixel data"),
        (dicom_bomb, "too large"),
    ],
    ids=["mpeg2", "no-pixels", "bomb"],
)
def test_undecodable_dicom_is_indexed_from_its_header_with_the_imaging_reason(tmp_path: Path, make, reason: str) -> None:  # noqa: ANN001
    """The pixels cannot be decoded, the header can: the exam is indexed, the reason kept and reported."""
    path = make(tmp_path / "bad.dcm")
    warnings: list[tuple[str, str]] = []
    [document] = parse_file(path, warnings=warnings)
    assert reason in document.metadata["pixels_error"]
    assert any(reason in note and note.startswith("header indexed without pixels") for _, note in warnings)


def test_unsupported_transfer_syntax_reason_says_why(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "video.dcm", np.zeros((8, 8), np.uint16), transfer_syntax=MPEG2MPML)
    [document] = parse_file(path)
    assert re.search("MPEG2.*no Python decoder exists", document.metadata["pixels_error"])


def test_multiframe_and_colour_dicom_are_indexed(image_folder: Path) -> None:
    [mr] = parse_file(image_folder / "MR-1.dcm")
    assert (mr.modality, mr.metadata["frames"], mr.metadata["rows"]) == ("MR", 3, 64)
    [us] = parse_file(image_folder / "US-1.dcm")
    assert us.modality == "US" and "échographie" in us.text and "abdomen" in us.text


def test_configured_clip_without_torch_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ClipUnavailableError, match="pip install torch==2.13.0"):
        import_open_clip()
