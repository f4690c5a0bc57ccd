"""A fixed-length content descriptor computed from pixels alone (no model weights).

Why hand-crafted: the hospital network cannot download pretrained weights at
run time and image->image search must work from day one; a learned encoder
can replace this later behind the same ``describe`` signature (bump
``DESCRIPTOR_VERSION`` so stored vectors are recomputed).

The image is first rendered as a reader sees it (default VOI window,
MONOCHROME1 inverted) so that stored-value scales, which differ between
scanners, do not dominate. Blocks, each L2-normalised then weighted:

* ``hist``: 16-bin grey-level histogram (square-rooted: Hellinger), i.e. the
  tissue/air/bone mix and overall exposure;
* ``lbp``: uniform local binary patterns at radii 1, 2 and 3, computed after a
  slight blur (sigma 1 px) so that acquisition noise does not swamp texture
  (speckle of ultrasound, smooth MR, trabecular bone);
* ``hog``: histogram of oriented gradients on a 64x64 resize, i.e. coarse shape
  and layout (a skull ring, a rib cage, a long bone);
* ``sig``: 16x16 mean-centred thumbnail, i.e. where bright and dark regions sit;
* ``color``: 8-bin saturation histogram, separating Doppler/colour overlays
  and photographs from greyscale images.

The final vector is L2-normalised float32, so inner product = cosine (FAISS
``IndexFlatIP``). Weights were chosen with ``bench/image_similarity.py``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.feature import hog, local_binary_pattern

from .frame import ImageFrame
from .render import to_uint8

DESCRIPTOR_VERSION = "hc-1"  # change whenever the vector changes
HIST_BINS = 16
LBP_SCALES = ((8, 1.0), (16, 2.0), (24, 3.0))
HOG_SIZE = 64
SIG_SIZE = 16
COLOR_BINS = 8
TEXTURE_SIZE = 128
LBP_BLUR_SIGMA = 1.0

BLOCK_DIMS: dict[str, int] = {
    "hist": HIST_BINS,
    "lbp": sum(points + 2 for points, _ in LBP_SCALES),
    "hog": 9 * ((HOG_SIZE // 16) - 1) ** 2 * 4,
    "sig": SIG_SIZE * SIG_SIZE,
    "color": COLOR_BINS,
}
#: Block weights of :func:`describe` (relative, before the final normalisation).
DEFAULT_WEIGHTS: dict[str, float] = {"hist": 1.0, "lbp": 1.0, "hog": 1.5, "sig": 1.0, "color": 0.5}
DESCRIPTOR_DIM = sum(BLOCK_DIMS.values())
#: Where each block sits in the descriptor.
BLOCK_SLICES: dict[str, slice] = {
    name: slice(start - size, start)
    for name, size, start in zip(
        BLOCK_DIMS, BLOCK_DIMS.values(), np.cumsum(list(BLOCK_DIMS.values())).tolist(), strict=True
    )
}


def describe(frame: ImageFrame, weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> np.ndarray:
    """The L2-normalised float32 descriptor of ``DESCRIPTOR_DIM`` values.

    Blocks with weight 0 are zero-filled, so the dimension never changes.
    """
    return combine(describe_blocks(frame), weights)


def describe_blocks(frame: ImageFrame) -> dict[str, np.ndarray]:
    """Each block, L2-normalised, before weighting (for benchmarking weights)."""
    rendered = to_uint8(frame, "default")
    grey = _luminance(rendered)
    texture = _resize(grey, TEXTURE_SIZE)
    blocks = {
        "hist": np.sqrt(np.histogram(texture, bins=HIST_BINS, range=(0, 256))[0].astype(np.float64)),
        "lbp": _lbp(texture),
        "hog": hog(
            _resize(grey, HOG_SIZE),
            orientations=9,
            pixels_per_cell=(16, 16),
            cells_per_block=(2, 2),
            block_norm="L2-Hys",
            feature_vector=True,
        ),
        "sig": _signature(grey),
        "color": _saturation_histogram(rendered),
    }
    return {name: _l2(np.asarray(vector, dtype=np.float64)) for name, vector in blocks.items()}


def combine(blocks: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """Concatenate the blocks in ``BLOCK_DIMS`` order, weighted, then L2-normalise."""
    parts = [blocks[name] * float(weights.get(name, 0.0)) for name in BLOCK_DIMS]
    return _l2(np.concatenate(parts)).astype(np.float32)


def _luminance(rendered: np.ndarray) -> np.ndarray:
    if rendered.ndim == 2:
        return rendered
    rgb = rendered.astype(np.float32)
    return np.clip(rgb @ np.array([0.299, 0.587, 0.114], np.float32) + 0.5, 0, 255).astype(np.uint8)


def _resize(grey: np.ndarray, side: int) -> np.ndarray:
    """Square resize (whole field of view kept); area-averaging when shrinking."""
    image = Image.fromarray(grey)
    shrinking = min(image.size) >= side
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    return np.asarray(image.resize((side, side), method))


def _lbp(texture: np.ndarray) -> np.ndarray:
    smooth = np.rint(ndimage.gaussian_filter(texture.astype(np.float32), LBP_BLUR_SIGMA)).astype(np.uint8)
    histograms = []
    for points, radius in LBP_SCALES:
        codes = local_binary_pattern(smooth, points, radius, method="uniform")
        histograms.append(
            _l2(np.bincount(codes.astype(np.int64).ravel(), minlength=points + 2)[: points + 2].astype(np.float64))
        )
    return np.concatenate(histograms)


def _signature(grey: np.ndarray) -> np.ndarray:
    small = _resize(grey, SIG_SIZE).astype(np.float64).ravel()
    return small - small.mean()


def _saturation_histogram(rendered: np.ndarray) -> np.ndarray:
    if rendered.ndim == 2:
        saturation = np.zeros(1)
    else:
        small = np.asarray(Image.fromarray(rendered).resize((64, 64), Image.Resampling.BOX), np.float64)
        high, low = small.max(axis=2), small.min(axis=2)
        saturation = np.where(high > 0, (high - low) / np.maximum(high, 1e-9), 0.0).ravel()
    return np.histogram(saturation, bins=COLOR_BINS, range=(0.0, 1.0))[0].astype(np.float64)


def _l2(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
