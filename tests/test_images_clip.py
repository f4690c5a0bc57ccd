"""The CLIP path, with a tiny open_clip model the test builds and saves itself (random weights).

It checks loading from a local architecture + checkpoint, indexing (images-clip.faiss), the CLIP
leg of /search and of /search/image, and that nothing accepts a pretrained tag (no download).
Skipped where the optional ``clip`` extra (torch, open_clip_torch, torchvision) is not installed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
from indexer.imaging.clip import ClipUnavailableError, clip_model_id, import_open_clip, load_clip, preprocess_image  # noqa: E402

try:
    open_clip, torch = import_open_clip()
except ClipUnavailableError as exc:  # torch without open_clip/torchvision
    pytest.skip(f"CLIP extra not installed: {exc}", allow_module_level=True)

from fastapi.testclient import TestClient  # noqa: E402
from image_factory import brain_mr, doppler_us, png_bytes, write_dicom  # noqa: E402
from PIL import Image  # noqa: E402

from indexer.imaging.frame import ImageFrame  # noqa: E402
from indexer.backend.embedded.image_vectors import ImageVectorIndex  # noqa: E402
from indexer.pipeline import index_paths  # noqa: E402
from indexer.settings import ImageSettings, Settings  # noqa: E402
from indexer.backend.embedded.generations import live_layout  # noqa: E402
from search_api.app import create_app  # noqa: E402
from conftest import write_ct_dicom  # noqa: E402
from auth_support import auth  # noqa: E402

TINY = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> ImageSettings:
    """A JSON architecture + a random-weights checkpoint saved to disk, as a hospital would copy them."""
    folder = tmp_path_factory.mktemp("tiny-clip")
    config = folder / "tiny-clip-test.json"
    config.write_text(json.dumps(TINY))
    open_clip.add_model_config(config)
    torch.manual_seed(0)
    model = open_clip.create_model("tiny-clip-test")
    torch.save(model.state_dict(), folder / "tiny-clip-test.pt")
    return ImageSettings(clip_model=str(config), clip_checkpoint=folder / "tiny-clip-test.pt")


@pytest.fixture(scope="module")
def clip_index(tmp_path_factory: pytest.TempPathFactory, tiny_clip: ImageSettings, encoder) -> Settings:
    root = tmp_path_factory.mktemp("clip-index")
    folder = root / "src"
    folder.mkdir()
    write_ct_dicom(folder / "CT-1.dcm", "P1", "ACC1")
    write_dicom(folder / "MR-1.dcm", brain_mr(1, frames=3), patient_id="P2")
    write_dicom(folder / "US-1.dcm", doppler_us(1), modality="US", body_part="ABDOMEN", patient_id="P3", accession="A3")
    (folder / "FIG-1.png").write_bytes(png_bytes(np.tile(np.arange(64, dtype=np.uint8) * 4, (64, 1))))
    settings = Settings(index={"dir": root / "index"}, api={"audit_log": root / "audit.log"}, images=tiny_clip)
    report = index_paths([folder], settings, encoder)
    assert report.images_described == 4 and not report.skipped, report.skipped
    return settings


def test_tiny_checkpoint_loads_and_encodes_normalised_vectors(tiny_clip: ImageSettings) -> None:
    clip = load_clip(tiny_clip)
    assert clip is not None and clip.dim == 32 and clip.image_size == (32, 32)
    frame = ImageFrame(np.linspace(0, 255, 64 * 80, dtype=np.float32).reshape(64, 80), "MONOCHROME2")
    images = clip.encode_images([frame, frame])
    texts = clip.encode_texts(["scanner thoracique épanchement pleural", "IRM cérébrale"])
    assert images.shape == (2, 32) and texts.shape == (2, 32)
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(images[0], images[1], atol=1e-6)
    assert not np.allclose(texts[0], texts[1])


def test_local_dir_checkpoint_loads_too(tmp_path: Path, tiny_clip: ImageSettings) -> None:
    from safetensors.torch import save_file

    state = torch.load(tiny_clip.clip_checkpoint, weights_only=True)
    (tmp_path / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY, "preprocess_cfg": {}}))
    save_file(state, tmp_path / "open_clip_model.safetensors")
    from_dir = load_clip(ImageSettings(clip_model=str(tmp_path)))
    from_json = load_clip(tiny_clip)
    assert from_dir is not None and from_json is not None
    np.testing.assert_allclose(from_dir.encode_texts(["pleural"]), from_json.encode_texts(["pleural"]), atol=1e-5)


@pytest.mark.parametrize("checkpoint", [None, "openai", "laion2b_s34b_b79k"])
def test_pretrained_tags_are_refused_never_downloaded(checkpoint: str | None) -> None:
    with pytest.raises(ClipUnavailableError, match="nothing is downloaded"):
        load_clip(ImageSettings(clip_model="ViT-B-32", clip_checkpoint=checkpoint))
    assert os.environ["HF_HUB_OFFLINE"] == "1"  # and hub-backed tokenizers/configs cannot reach the network


def test_preprocess_resizes_and_centre_crops() -> None:
    out = preprocess_image(Image.new("RGB", (80, 40), (255, 0, 0)), (32, 32), np.zeros(3, np.float32), np.ones(3, np.float32))
    assert out.shape == (3, 32, 32) and out[0].min() == pytest.approx(1.0) and out[1].max() == pytest.approx(0.0)


def test_pipeline_writes_the_clip_index_incrementally(clip_index: Settings, encoder, tmp_path: Path) -> None:
    layout = live_layout(clip_index.index.dir)
    index = ImageVectorIndex.load(layout.clip_images, 32, clip_model_id(clip_index.images))
    from conftest import series_id

    assert set(index.doc_ids()) == {series_id("ACC1"), "image:FIG-1.png", series_id("ACC9000010"), series_id("A3")}
    keys = {doc: index.key_of(doc) for doc in index.doc_ids()}
    again = index_paths([Path(clip_index.index.dir).parent / "src"], clip_index, encoder)
    assert again.images_described == 0
    reloaded = ImageVectorIndex.load(live_layout(clip_index.index.dir).clip_images, 32, clip_model_id(clip_index.images))
    assert {doc: reloaded.key_of(doc) for doc in reloaded.doc_ids()} == keys


def test_clip_is_a_leg_of_image_and_text_search(clip_index: Settings, encoder) -> None:
    client = TestClient(create_app(clip_index, encoder=encoder), headers=auth("clinician", "dr"))
    mr = (Path(clip_index.index.dir).parent / "src" / "MR-1.dcm").read_bytes()
    response = client.post("/search/image", files={"file": ("q.dcm", mr)}, headers=auth("clinician", "dr"))
    assert response.status_code == 200, response.text
    first = response.json()["results"][0]
    from conftest import series_id

    assert first["id"] == series_id("ACC9000010") and first["methods"] == ["descriptor", "clip"]
    assert first["clip_similarity"] == pytest.approx(1.0, abs=1e-4)

    results = client.get("/search", params={"q": "échographie doppler", "kinds": "image"}).json()["results"]
    assert results and all("clip" in r["methods"] for r in results)  # the CLIP text tower ranked every image
    reports_only = client.get("/search", params={"q": "échographie", "kinds": "report"}).json()["results"]
    assert all(r["methods"] == [] for r in reports_only)
