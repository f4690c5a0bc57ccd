"""Thumbnail cache: created once, keyed by image id and source version, written atomically."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from indexer.imaging import ImageReadError, load_image
from indexer.imaging.thumbnails import get_or_create_thumbnail


def sample(name: str) -> str:
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is only in the pydicom-data package")
    return str(path)


class CountingLoader:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, path):
        self.calls += 1
        return load_image(path)


def copy_to(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    target.write_bytes(Path(sample(name)).read_bytes())
    return target


def test_thumbnail_is_png_with_max_side_256_and_aspect_kept(tmp_path: Path):
    path = get_or_create_thumbnail("nm-1", sample("JPEG2000.dcm"), tmp_path / "cache")  # 1024 x 256
    assert path.parent == tmp_path / "cache" and path.suffix == ".png"
    with Image.open(path) as image:
        assert image.format == "PNG" and image.mode == "L"
        assert image.size == (64, 256)


def test_small_images_are_not_enlarged_and_colour_kept(tmp_path: Path):
    with Image.open(get_or_create_thumbnail("us", sample("examples_ybr_color.dcm"), tmp_path)) as image:
        assert image.mode == "RGB" and image.size == (256, 192)
    with Image.open(get_or_create_thumbnail("mr", sample("MR_small.dcm"), tmp_path)) as image:
        assert image.size == (64, 64)


def test_cached_thumbnail_is_not_rendered_again(tmp_path: Path):
    loader = CountingLoader()
    first = get_or_create_thumbnail("ct-1", sample("CT_small.dcm"), tmp_path, loader=loader)
    second = get_or_create_thumbnail("ct-1", sample("CT_small.dcm"), tmp_path, loader=loader)
    assert first == second and loader.calls == 1


def test_changed_source_gets_a_new_thumbnail_and_old_one_is_removed(tmp_path: Path):
    source = copy_to(tmp_path, "CT_small.dcm")
    cache = tmp_path / "cache"
    loader = CountingLoader()
    old = get_or_create_thumbnail("ct-1", source, cache, loader=loader)
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    new = get_or_create_thumbnail("ct-1", source, cache, loader=loader)
    assert new != old and new.is_file() and not old.exists() and loader.calls == 2


def test_ids_and_windows_do_not_collide(tmp_path: Path):
    source = sample("CT_small.dcm")
    a = get_or_create_thumbnail("1.2.840.113619/2.1", source, tmp_path)
    b = get_or_create_thumbnail("1.2.840.113619.2.1", source, tmp_path)
    lung = get_or_create_thumbnail("1.2.840.113619.2.1", source, tmp_path, window="lung")
    assert len({a, b, lung}) == 3 and all(p.parent == tmp_path for p in (a, b, lung))
    assert b.is_file() and lung.is_file()  # one window's thumbnail does not evict another's
    assert Image.open(lung).tobytes() != Image.open(b).tobytes()


def test_unreadable_source_raises_and_caches_nothing(tmp_path: Path):
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"not dicom at all" * 10)
    cache = tmp_path / "cache"
    with pytest.raises(ImageReadError):
        get_or_create_thumbnail("bad", bad, cache)
    assert not cache.exists() or not any(cache.iterdir())
