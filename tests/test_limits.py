"""Resource limits at the API's edges (issue #11, item 7): image pixels and request bodies."""

from __future__ import annotations

import asyncio
import io
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from indexer.imaging import load_image
from indexer.imaging.raster import MAX_WORKING_SIDE
from search_api.app import create_app
from search_api.limits import BodySizeLimit
from search_api.uploads import decode_upload
from auth_support import auth


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 7000×7000 RGB PNG that compresses to a few hundred kB (the issue's decompression case)."""
    path = tmp_path_factory.mktemp("huge") / "huge.png"
    pixels = np.zeros((7000, 7000, 3), dtype=np.uint8)
    pixels[1000:6000, 1000:6000] = (200, 30, 30)
    Image.fromarray(pixels).save(path, optimize=False, compress_level=9)
    assert path.stat().st_size < 2_000_000
    return path


def test_huge_png_is_downscaled_before_float_conversion(huge_png: Path) -> None:
    tracemalloc.start()
    frame = load_image(huge_png)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert max(frame.height, frame.width) <= MAX_WORKING_SIDE
    assert frame.pixels.nbytes <= MAX_WORKING_SIDE**2 * 3 * 4  # was 7000²×3×4 = 588 MB
    assert peak < 200e6, f"numpy peak {peak / 1e6:.0f} MB"  # float32 RGB at full size alone is 588 MB
    assert frame.pixels[frame.height // 2, frame.width // 2].tolist() == [200.0, 30.0, 30.0]


def test_huge_png_upload_is_decoded_small(huge_png: Path) -> None:
    tracemalloc.start()
    frame = decode_upload(huge_png.read_bytes(), max_pixels=50_000_000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert max(frame.height, frame.width) <= MAX_WORKING_SIDE and peak < 200e6


def test_huge_jpeg_is_decoded_at_reduced_scale(tmp_path: Path) -> None:
    path = tmp_path / "huge.jpg"
    Image.new("L", (7000, 5000), 128).save(path, quality=50)
    frame = load_image(path)
    assert max(frame.height, frame.width) <= MAX_WORKING_SIDE and frame.height > 0


@pytest.fixture()
def small_limit_client(indexed, encoder) -> TestClient:
    settings, _ = indexed
    limited = settings.model_copy(update={"api": settings.api.model_copy(update={"max_body_mb": 0.001})})
    return TestClient(create_app(limited, encoder=encoder))


def test_oversized_json_body_gets_413(small_limit_client: TestClient) -> None:
    big = {"q": "pneumothorax", "padding": "x" * 5000}
    response = small_limit_client.post("/search", json=big)
    assert response.status_code == 413 and "api.max_body_mb" in response.json()["detail"]
    assert small_limit_client.post("/search", json={"q": "pneumothorax"}, headers=auth()).status_code == 200


def test_declared_200_mb_body_is_refused_from_the_header(indexed, encoder) -> None:
    settings, _ = indexed
    client = TestClient(create_app(settings, encoder=encoder))  # default limit: 32 MB
    response = client.post(
        "/search", content=b'{"q": "x"}', headers={"content-type": "application/json", "content-length": "200000000"}
    )
    assert response.status_code == 413


def test_chunked_body_is_cut_at_the_limit_without_reading_the_rest() -> None:
    """No Content-Length (chunked): the middleware stops pulling chunks once over the limit."""
    pulled = 0

    async def receive() -> dict:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 1_000_000, "more_body": True}  # endless 1 MB chunks

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def app(scope, receive, send) -> None:  # noqa: ANN001 - reads the whole body, like a JSON endpoint
        from starlette.requests import Request

        await Request(scope, receive).body()

    # an upload (multipart): api.max_body_mb applies; a JSON body (or one without a Content-Type, which
    # FastAPI parses as JSON) stops at search_api.limits.MAX_JSON_BYTES (tests/test_security_pentest.py)
    scope = {"type": "http", "method": "POST", "path": "/search/image",
             "headers": [(b"content-type", b"multipart/form-data; boundary=x")]}
    with pytest.raises(Exception) as excinfo:  # the HTTPException that Starlette's middleware turns into 413
        asyncio.run(BodySizeLimit(app, max_bytes=5_000_000)(scope, receive, send))
    assert getattr(excinfo.value, "status_code", None) == 413
    assert pulled == 6  # 6 MB read out of an endless stream, then stop
