"""The pixel content descriptor: shape, normalisation, determinism and that it ranks sensibly."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from indexer.imaging import ImageFrame, load_dicom_frame
from indexer.imaging.descriptor import BLOCK_DIMS, BLOCK_SLICES, DESCRIPTOR_DIM, describe, describe_blocks


def sample(name: str) -> ImageFrame:
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is only in the pydicom-data package")
    return load_dicom_frame(path)


def noised(frame: ImageFrame, fraction: float = 0.03, seed: int = 1) -> ImageFrame:
    """The same image with Gaussian noise of ``fraction`` of its value range."""
    rng = np.random.default_rng(seed)
    spread = float(np.ptp(frame.pixels)) or 1.0
    noise = rng.normal(0.0, fraction * spread, frame.pixels.shape).astype(np.float32)
    return replace(frame, pixels=frame.pixels + noise)


def test_dimension_dtype_and_unit_norm():
    vector = describe(sample("CT_small.dcm"))
    assert vector.shape == (DESCRIPTOR_DIM,) and vector.dtype == np.float32
    assert DESCRIPTOR_DIM == sum(BLOCK_DIMS.values())
    assert np.isfinite(vector).all()
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_every_block_is_unit_norm_and_of_declared_size():
    blocks = describe_blocks(sample("examples_ybr_color.dcm"))
    for name, size in BLOCK_DIMS.items():
        assert blocks[name].shape == (size,)
        assert abs(float(np.linalg.norm(blocks[name])) - 1.0) < 1e-6, name


def test_deterministic():
    frame = sample("MR_small.dcm")
    np.testing.assert_array_equal(describe(frame), describe(frame))
    np.testing.assert_array_equal(describe(frame), describe(sample("MR_small.dcm")))


@pytest.mark.parametrize(
    "pixels",
    [
        np.zeros((3, 3), np.float32),
        np.full((1, 1), 7.0, np.float32),
        np.zeros((5, 7, 3), np.float32),
        np.arange(12, dtype=np.float32).reshape(3, 4),
    ],
)
def test_tiny_and_flat_images_give_a_valid_vector(pixels):
    photometric = "RGB" if pixels.ndim == 3 else "MONOCHROME2"
    vector = describe(ImageFrame(pixels=pixels, photometric=photometric))
    assert vector.shape == (DESCRIPTOR_DIM,) and np.isfinite(vector).all()
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_zero_weight_block_is_zero_filled_and_dimension_kept():
    frame = sample("CT_small.dcm")
    vector = describe(frame, {"hog": 1.0})
    assert vector.shape == (DESCRIPTOR_DIM,)
    hog = vector[BLOCK_SLICES["hog"]]
    assert hog.size == BLOCK_DIMS["hog"]
    assert np.count_nonzero(vector) == np.count_nonzero(hog) > 0
    np.testing.assert_allclose(np.linalg.norm(hog), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    ("query", "others"),
    [
        ("CT_small.dcm", ["MR_small.dcm", "examples_ybr_color.dcm", "JPEG2000.dcm"]),
        ("MR_small.dcm", ["CT_small.dcm", "examples_ybr_color.dcm", "JPEG2000.dcm"]),
        ("examples_ybr_color.dcm", ["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm"]),
    ],
)
def test_noisy_copy_is_nearer_than_other_modalities(query, others):
    frame = sample(query)
    anchor = describe(frame)
    copy_similarity = float(anchor @ describe(noised(frame)))
    for other in others:
        assert copy_similarity > float(anchor @ describe(sample(other))) + 0.05, other


def test_same_modality_ranks_above_other_modalities():
    """Two different MR slices are more alike than an MR slice and a CT slice."""
    mr_a = describe(sample("MR_small.dcm"))
    mr_b = describe(sample("emri_small.dcm"))
    ct = describe(sample("CT_small.dcm"))
    assert float(mr_a @ mr_b) > float(mr_a @ ct)
