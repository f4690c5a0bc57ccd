"""Optional CLIP path: an ``open_clip`` model built from a local architecture and a local checkpoint.

Why this shape: no CLIP weights ship inside a registry package, and the hospital network cannot
download any (see shared MODELS.md), so a deployment copies a checkpoint (e.g. BiomedCLIP, or any
open_clip checkpoint) into its model store and names it in ``images.clip_model`` /
``images.clip_checkpoint``. Nothing here accepts a pretrained *tag*: a name that is not an existing
file or folder is refused, so no code path can reach a model hub.

Install (the ``clip`` extra, see the project README/Makefile): CPU ``torch`` first, then
``open_clip_torch`` and ``torchvision`` **without their dependencies** (with them, pip replaces the
CPU torch with a multi-GB CUDA build). The torchvision wheel that pairs with the CPU torch is
CUDA-linked, so its C extension does not load and ``import torchvision`` then fails on registering a
fake kernel for ``torchvision::nms``; open_clip imports torchvision at import time (it only needs
its pure-Python parts). :func:`import_open_clip` declares the two missing operator schemas first, so
the import works. Preprocessing is done here with Pillow/numpy (resize, centre crop, normalise with
the model's own mean/std), so no torchvision kernel is ever called.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from indexer.imaging.frame import ImageFrame
from indexer.imaging.render import render
from indexer.settings import ImageSettings

INSTALL_HINT = (
    "pip install torch==2.13.0 && pip install --no-deps open_clip_torch==3.3.0 torchvision==0.28.0 "
    "&& pip install ftfy regex huggingface_hub safetensors"
)
_TORCHVISION_OPS = ("nms", "qnms")
_shim_lock = threading.Lock()
_shim_library: Any = None  # kept alive: dropping a torch.library.Library removes its definitions


class ClipUnavailableError(RuntimeError):
    """CLIP is configured but cannot be loaded (package missing, bad path, bad checkpoint)."""


def import_open_clip() -> tuple[Any, Any]:
    """Import and return ``(open_clip, torch)``, working around a torchvision without its C ops."""
    try:
        import torch
    except ImportError as exc:
        raise ClipUnavailableError(f"CLIP is configured but torch is not installed: {INSTALL_HINT}") from exc
    _declare_missing_torchvision_ops(torch)
    _force_offline()
    try:
        import open_clip
    except ImportError as exc:
        raise ClipUnavailableError(f"CLIP is configured but open_clip cannot be imported ({exc}): {INSTALL_HINT}") from exc
    return open_clip, torch


def _force_offline() -> None:
    """Make the Hugging Face libraries refuse network access (a BiomedCLIP-style config names hub tokenizers).

    Set before they are imported (they read the variables once); patched too if already imported.
    """
    import sys

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True


def _declare_missing_torchvision_ops(torch: Any) -> None:
    """If torchvision's compiled ops cannot load (CUDA wheel over CPU torch), declare their schemas.

    torchvision registers fake kernels for ``nms``/``qnms`` unconditionally at import; with the
    schemas declared, the import succeeds and everything pure-Python in it works. Calling the ops
    themselves would still fail, which open_clip's CLIP models never do.
    """
    global _shim_library
    with _shim_lock:
        spec = importlib.util.find_spec("torchvision")
        if _shim_library is not None or spec is None or spec.origin is None:
            return
        extension = next(Path(spec.origin).parent.glob("_C*.so"), None)
        if extension is None:
            return
        try:
            torch.ops.load_library(str(extension))
            return  # a matching torchvision: nothing to do
        except (OSError, RuntimeError):
            pass
        library = torch.library.Library("torchvision", "FRAGMENT")
        for op in _TORCHVISION_OPS:
            try:
                library.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
            except RuntimeError:
                pass  # already declared elsewhere
        _shim_library = library


@dataclass
class ClipEncoder:
    """Encodes images (as :class:`ImageFrame`) and texts into one L2-normalised space."""

    model: Any
    tokenizer: Any
    torch: Any
    name: str
    dim: int
    image_size: tuple[int, int]
    mean: np.ndarray
    std: np.ndarray

    def encode_images(self, frames: Sequence[ImageFrame]) -> np.ndarray:
        if not frames:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch = np.stack([self.preprocess(frame) for frame in frames])
        with self.torch.no_grad():
            vectors = self.model.encode_image(self.torch.from_numpy(batch), normalize=True)
        return vectors.float().numpy().astype(np.float32)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self.torch.no_grad():
            vectors = self.model.encode_text(self.tokenizer(list(texts)), normalize=True)
        return vectors.float().numpy().astype(np.float32)

    def preprocess(self, frame: ImageFrame) -> np.ndarray:
        """Render as a reader sees it, resize the short side, centre-crop, normalise: (3, H, W) float32."""
        return preprocess_image(render(frame, "default").convert("RGB"), self.image_size, self.mean, self.std)


def preprocess_image(image: Image.Image, size: tuple[int, int], mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """open_clip's default eval transform (bicubic shortest-side resize + centre crop), without torchvision."""
    height, width = size
    scale = max(height / image.height, width / image.width)
    resized = image.resize(
        (max(width, round(image.width * scale)), max(height, round(image.height * scale))), Image.Resampling.BICUBIC
    )
    left, top = (resized.width - width) // 2, (resized.height - height) // 2
    pixels = np.asarray(resized.crop((left, top, left + width, top + height)), dtype=np.float32) / 255.0
    return ((pixels - mean) / std).transpose(2, 0, 1).astype(np.float32)


def clip_model_id(settings: ImageSettings) -> str:
    """Names the model *and* the checkpoint version, so a new checkpoint triggers re-embedding."""
    parts = [str(settings.clip_model)]
    model_path = Path(str(settings.clip_model or "").removeprefix("local-dir:"))
    files = sorted(model_path.iterdir()) if model_path.is_dir() else [model_path, settings.clip_checkpoint]
    for path in files:
        if path is not None and path.is_file():
            stat = path.stat()
            parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "clip:" + "|".join(parts)


def load_clip(settings: ImageSettings, device: str = "cpu") -> ClipEncoder | None:
    """The configured CLIP encoder, or None when ``images.clip_model`` is not set.

    ``clip_model`` is a local folder (``open_clip_config.json`` + weights, as exported to a model
    hub), a JSON model-config file, or a built-in architecture name; with the last two,
    ``clip_checkpoint`` must be an existing local file.
    """
    if not settings.clip_model:
        return None
    open_clip, torch = import_open_clip()
    model_name, checkpoint = _resolve(open_clip, settings)
    try:
        model = open_clip.create_model(
            model_name,
            pretrained=checkpoint,
            device=device,
            pretrained_image=False,
            pretrained_text=False,
            require_pretrained=True,
        )
        tokenizer = open_clip.get_tokenizer(model_name)
    except (RuntimeError, ValueError, OSError, KeyError) as exc:
        raise ClipUnavailableError(f"cannot load CLIP model {settings.clip_model!r}: {exc}") from exc
    model.eval()
    cfg = getattr(model.visual, "preprocess_cfg", {}) or {}
    size = cfg.get("size", getattr(model.visual, "image_size", 224))
    size = (size, size) if isinstance(size, int) else tuple(size)
    mean = np.asarray(cfg.get("mean", open_clip.OPENAI_DATASET_MEAN), dtype=np.float32)
    std = np.asarray(cfg.get("std", open_clip.OPENAI_DATASET_STD), dtype=np.float32)
    with torch.no_grad():
        dim = int(model.encode_text(tokenizer(["dimension"])).shape[-1])
    return ClipEncoder(model, tokenizer, torch, clip_model_id(settings), dim, size, mean, std)


def _resolve(open_clip: Any, settings: ImageSettings) -> tuple[str, str | None]:
    """(model name for open_clip, checkpoint path); refuses anything that could mean a download."""
    spec = str(settings.clip_model)
    local = Path(spec.removeprefix("local-dir:"))
    if local.is_dir():
        if not (local / "open_clip_config.json").is_file():
            raise ClipUnavailableError(f"CLIP model folder {local} has no open_clip_config.json")
        return f"local-dir:{local}", None
    checkpoint = settings.clip_checkpoint
    if checkpoint is None or not Path(checkpoint).is_file():
        raise ClipUnavailableError(
            f"images.clip_checkpoint must be a local weights file for CLIP model {spec!r} (got {checkpoint}); "
            "nothing is downloaded"
        )
    if local.suffix == ".json":
        if not local.is_file():
            raise ClipUnavailableError(f"CLIP model config {local} does not exist")
        open_clip.add_model_config(local)
        return local.stem, str(checkpoint)
    if spec not in open_clip.list_models():
        raise ClipUnavailableError(f"unknown open_clip architecture {spec!r}")
    return spec, str(checkpoint)
