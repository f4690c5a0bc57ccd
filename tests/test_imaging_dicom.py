"""DICOM/raster decoding, windowing and the reasons given for unreadable files."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.pixels import apply_modality_lut, apply_voi_lut
from pydicom.uid import (
    JPEG2000,
    MPEG4HP41,
    BasicTextSRStorage,
    CTImageStorage,
    ExplicitVRLittleEndian,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)

from indexer.imaging import (
    DecodeLimits,
    ImageReadError,
    Window,
    dicom_pixels,
    load_dicom_frame,
    load_image,
    load_raster,
    render,
    supported_transfer_syntaxes,
    to_uint8,
    transfer_syntax,
)


def sample(name: str) -> str:
    """A pydicom test file; those outside pydicom's wheel need the pydicom-data package."""
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is only in the pydicom-data package")
    return str(path)


def read(name: str) -> Dataset:
    return pydicom.dcmread(sample(name))


def reason_of(source, **kwargs) -> str:
    with pytest.raises(ImageReadError) as caught:
        load_dicom_frame(source, **kwargs)
    return caught.value.reason


def make_ct(hu: np.ndarray, **attributes) -> Dataset:
    """A minimal CT image whose signed stored values are HU + 1024 (intercept -1024)."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "CT"
    ds.Rows, ds.Columns = hu.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.PixelData = (hu.astype(np.int32) + 1024).astype(np.int16).tobytes()
    return ds


HU = np.array([[-1350, -1000, 0, 40], [149, 1000, 3000, -2000]], dtype=np.int32)


# --- decoding ---------------------------------------------------------------------------


def test_ct_rescale_gives_hounsfield_units():
    ds = read("CT_small.dcm")
    frame = load_dicom_frame(sample("CT_small.dcm"))
    expected = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    assert frame.pixels.dtype == np.float32 and frame.pixels.shape == (128, 128)
    np.testing.assert_array_equal(frame.pixels, expected)
    assert frame.modality == "CT" and frame.is_hounsfield and (frame.n_frames, frame.frame_index) == (1, 0)


def test_header_window_is_the_default_window():
    frame = load_dicom_frame(sample("MR_small.dcm"))
    assert frame.default_window == Window(600.0, 1600.0, "LINEAR")
    assert not frame.is_hounsfield


def test_modality_lut_sequence_applied():
    ds = read("mlut_18.dcm")
    frame = load_dicom_frame(ds)
    np.testing.assert_array_equal(frame.pixels, apply_modality_lut(ds.pixel_array, ds))


@pytest.mark.parametrize(
    "name",
    [
        "MR_small_jp2klossless.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_RLE.dcm",
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
    ],
)
def test_lossless_encodings_decode_to_the_same_pixels(name):
    reference = load_dicom_frame(sample("MR_small.dcm")).pixels
    np.testing.assert_array_equal(load_dicom_frame(sample(name)).pixels, reference)


@pytest.mark.parametrize("name", ["JPEG2000.dcm", "JPGExtended.dcm", "MR2_J2KI.dcm", "US1_J2KI.dcm", "JPEG-LL.dcm"])
def test_compressed_files_decode(name):
    frame = load_dicom_frame(sample(name))
    assert frame.pixels.size > 0 and np.isfinite(frame.pixels).all() and frame.pixels.std() > 0


def test_installed_decoders_cover_jpeg_family():
    supported = supported_transfer_syntaxes()
    for uid in (
        "1.2.840.10008.1.2.4.50",
        "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80",
        "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.5",
    ):
        assert uid in supported
    assert str(MPEG4HP41) not in supported


@pytest.mark.parametrize(
    "name", ["SC_rgb_jpeg_dcmtk.dcm", "SC_ybr_full_422_uncompressed.dcm", "SC_rgb_dcmtk_+eb+cr.dcm"]
)
def test_ybr_is_converted_to_rgb(name):
    """The SC_rgb test pattern starts with a pure red band; unconverted YBR would be bluish."""
    frame = load_dicom_frame(sample(name))
    assert frame.photometric == "RGB" and frame.pixels.shape == (100, 100, 3)
    red = frame.pixels[2:8, 10:90].reshape(-1, 3).mean(axis=0)
    assert red[0] > 230 and red[1] < 25 and red[2] < 25, red
    assert render(frame).mode == "RGB"


def test_multiframe_defaults_to_middle_frame_and_matches_pydicom():
    ds = read("examples_ybr_color.dcm")
    frame = load_dicom_frame(ds)
    assert (frame.n_frames, frame.frame_index) == (30, 15)
    np.testing.assert_allclose(frame.pixels, ds.pixel_array[15], atol=2)
    first = load_dicom_frame(ds, frame=0)
    assert first.frame_index == 0 and not np.array_equal(first.pixels, frame.pixels)
    assert "out of range" in reason_of(ds, frame=30)


def test_enhanced_multiframe_uses_functional_group_rescale():
    frame = load_dicom_frame(sample("emri_small.dcm"))
    assert (frame.n_frames, frame.frame_index, frame.modality) == (10, 5, "MR")
    ct = load_dicom_frame(sample("eCT_Supplemental.dcm"))
    assert ct.pixels.min() == -1024  # intercept only present in SharedFunctionalGroupsSequence


def test_ultrasound_rgb():
    frame = load_dicom_frame(sample("US1_UNCR.dcm"))
    assert frame.pixels.shape == (480, 640, 3) and frame.modality == "US"


@pytest.mark.parametrize("name", ["examples_palette.dcm", "OBXXXX1A.dcm"])
def test_palette_colour_becomes_rgb(name):
    palette = load_dicom_frame(sample(name))
    assert palette.photometric == "RGB" and palette.bits_stored == 16 and palette.is_color
    assert to_uint8(palette).max() > 200  # 16-bit palette scaled to the full 8-bit range


def test_dataset_input_is_not_modified():
    ds = read("CT_small.dcm")
    before = ds.to_json_dict()
    load_dicom_frame(ds)
    assert ds.to_json_dict() == before


# --- windowing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        # DICOM LINEAR: ((x - (c - 0.5)) / (w - 1) + 0.5) * 255, clipped, rounded
        ("lung", [[0, 60, 230, 236], [255, 255, 255, 0]]),  # C -600 W 1500
        ("brain", [[0, 0, 0, 129], [255, 255, 255, 0]]),  # C 40 W 80
        ("bone", [[0, 0, 71, 77], [92, 213, 255, 0]]),  # C 400 W 1800
        ("soft", [[0, 0, 96, 121], [191, 255, 255, 0]]),  # C 50 W 400
    ],
)
def test_ct_window_presets_exact_values(window, expected):
    frame = load_dicom_frame(make_ct(HU))
    np.testing.assert_array_equal(to_uint8(frame, window), np.array(expected, np.uint8))


def test_header_window_and_explicit_window():
    frame = load_dicom_frame(make_ct(HU, WindowCenter=0, WindowWidth=2000))
    assert to_uint8(frame)[0, 2] == 128  # ((0 + 0.5) / 1999 + 0.5) * 255 = 127.56
    exact = to_uint8(frame, Window(0.0, 2000.0, "LINEAR_EXACT"))
    assert exact[0, 1] == 0 and exact[1, 1] == 255 and exact[0, 2] == 128


def test_presets_fall_back_to_auto_on_non_ct():
    frame = load_dicom_frame(sample("MR_small.dcm"))
    np.testing.assert_array_equal(to_uint8(frame, "lung"), to_uint8(frame, "auto"))
    with pytest.raises(ValueError):
        to_uint8(frame, "liver")


def test_voi_lut_sequence_is_the_default_view():
    ds = read("vlut_04.dcm")
    frame = load_dicom_frame(ds)
    assert frame.voi_lut is not None
    expected = np.floor(apply_voi_lut(ds.pixel_array, ds).astype(np.float64) / 65535 * 255 + 0.5)
    np.testing.assert_array_equal(to_uint8(frame), expected.astype(np.uint8))


def test_synthetic_voi_lut_is_applied_with_clamping():
    ds = make_ct(np.array([[-5, 0, 1, 2, 50]]), WindowCenter=0, WindowWidth=10)
    item = Dataset()
    item.LUTDescriptor = [3, 0, 8]  # 3 entries, first input value 0, 8-bit output
    item.LUTData = [0, 100, 255]
    ds.VOILUTSequence = [item]
    frame = load_dicom_frame(ds)
    # values below the first input map to entry 0, above the last to the last entry
    np.testing.assert_array_equal(to_uint8(frame), [[0, 0, 100, 255, 255]])
    assert to_uint8(frame, "auto").tolist() != [[0, 0, 100, 255, 255]]  # explicit choice overrides the LUT


def test_monochrome1_is_inverted_at_display():
    hu = np.array([[-1000, 0], [500, 1000]])
    normal = load_dicom_frame(make_ct(hu, WindowCenter=0, WindowWidth=2000))
    inverse = load_dicom_frame(make_ct(hu, WindowCenter=0, WindowWidth=2000, PhotometricInterpretation="MONOCHROME1"))
    np.testing.assert_array_equal(normal.pixels, inverse.pixels)  # values stay in HU
    np.testing.assert_array_equal(to_uint8(inverse), 255 - to_uint8(normal))
    assert to_uint8(inverse)[0, 0] == 255  # air is white on MONOCHROME1


def test_radiograph_monochrome1_renders_bone_bright():
    frame = load_dicom_frame(sample("RG3_UNCR.dcm"))
    assert frame.photometric == "MONOCHROME1" and frame.modality == "CR"
    image = to_uint8(frame)
    # lower stored values are brighter on MONOCHROME1
    assert image[frame.pixels == frame.pixels.min()].mean() > image[frame.pixels == frame.pixels.max()].mean()


# --- errors -----------------------------------------------------------------------------


def test_not_a_dicom_file(tmp_path: Path):
    text = tmp_path / "notes.dcm"
    text.write_text("Compte rendu: pas une image\n" * 20)
    assert reason_of(text).startswith("not a DICOM file")
    png = tmp_path / "picture.dcm"
    Image.new("L", (8, 8)).save(png, format="PNG")
    assert reason_of(png).startswith("not a DICOM file")
    assert reason_of(tmp_path / "missing.dcm") == "file not found"


def test_truncated_pixel_data(tmp_path: Path):
    data = Path(sample("CT_small.dcm")).read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[: len(data) // 2])
    assert reason_of(cut).startswith("truncated")


def test_truncated_header(tmp_path: Path):
    cut = tmp_path / "cut_header.dcm"
    cut.write_bytes(Path(sample("CT_small.dcm")).read_bytes()[:1000])
    reason = reason_of(cut)
    assert reason.startswith("no pixel data") and "truncated" in reason and "CT Image Storage" in reason


def test_no_pixel_data_structured_report(tmp_path: Path):
    assert "no pixel data" in reason_of(sample("reportsi.dcm"))
    report = Dataset()
    report.SOPClassUID = BasicTextSRStorage
    report.Modality = "SR"
    report.file_meta = FileMetaDataset()
    report.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    reason = reason_of(report)
    assert reason.startswith("no pixel data") and "Basic Text SR" in reason and "structured report" in reason


def test_image_header_without_pixel_data():
    ds = make_ct(HU)
    del ds.PixelData
    reason = reason_of(ds)
    assert reason.startswith("no pixel data") and "truncated" in reason


def test_huge_header_refused_before_decoding(monkeypatch):
    ds = read("CT_small.dcm")
    ds.Rows = ds.Columns = 60000

    def must_not_decode(*args, **kwargs):
        raise AssertionError("decoder called for a refused image")

    monkeypatch.setattr(dicom_pixels, "_decode", must_not_decode)
    reason = reason_of(ds)
    assert reason.startswith("image too large") and "60000x60000" in reason and "before decoding" in reason


def test_size_limits_are_configurable():
    ds = read("CT_small.dcm")  # 128 x 128
    assert load_dicom_frame(ds, limits=DecodeLimits(max_samples=128 * 128)).height == 128
    assert reason_of(ds, limits=DecodeLimits(max_samples=128 * 128 - 1)).startswith("image too large")
    assert reason_of(ds, limits=DecodeLimits(max_frame_samples=1000)).startswith("image too large")
    multi = read("rtdose.dcm")  # 15 frames of 10 x 10
    assert reason_of(multi, limits=DecodeLimits(max_samples=15 * 100 - 1)).startswith("image too large")


def test_video_transfer_syntax_is_named():
    ds = read("CT_small.dcm")
    ds.file_meta.TransferSyntaxUID = MPEG4HP41
    reason = reason_of(ds)
    assert reason.startswith("unsupported transfer syntax")
    assert "MPEG-4 AVC/H.264 High Profile / Level 4.1" in reason and "no Python decoder" in reason


def test_private_transfer_syntax():
    ds = read("CT_small.dcm")
    ds.file_meta.TransferSyntaxUID = "1.2.3.4.5.6.7"
    reason = reason_of(ds)
    assert reason.startswith("unsupported transfer syntax 1.2.3.4.5.6.7") and "not a standard" in reason


class _MissingDecoder:
    is_available = False


@pytest.mark.parametrize(
    ("uid", "package"),
    [(JPEG2000, "pylibjpeg-openjpeg"), (JPEGLSLossless, "pylibjpeg-libjpeg"), (RLELossless, "pylibjpeg-rle")],
)
def test_missing_decoder_names_the_pip_package(monkeypatch, uid, package):
    monkeypatch.setattr(transfer_syntax, "get_decoder", lambda _uid: _MissingDecoder())
    ds = read("CT_small.dcm")
    ds.file_meta.TransferSyntaxUID = uid
    reason = reason_of(ds)
    assert uid.name in reason and f"pip install pylibjpeg {package}" in reason


def test_corrupt_compressed_pixel_data():
    ds = read("MR_small_jp2klossless.dcm")
    fragment = next(generate_frames(ds.PixelData, number_of_frames=1))
    ds.PixelData = encapsulate([fragment[:40]])
    assert reason_of(ds).startswith("cannot decode pixel data (JPEG 2000")


def test_corrupt_geometry():
    ds = make_ct(HU)
    ds.Columns = 0
    assert reason_of(ds).startswith("corrupt image header")


def test_legacy_file_without_preamble_still_decodes(tmp_path: Path):
    ds = read("CT_small.dcm")
    legacy = tmp_path / "legacy.ima"
    stripped = copy.deepcopy(ds)
    del stripped.file_meta
    stripped.preamble = None
    stripped.save_as(legacy, enforce_file_format=False, implicit_vr=True, little_endian=True)
    assert legacy.read_bytes()[128:132] != b"DICM"
    np.testing.assert_array_equal(load_dicom_frame(legacy).pixels, load_dicom_frame(ds).pixels)


# --- raster -----------------------------------------------------------------------------


def test_raster_grey_png_identity_default(tmp_path: Path):
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    path = tmp_path / "ramp.png"
    Image.fromarray(values).save(path)
    frame = load_raster(path)
    np.testing.assert_array_equal(frame.pixels, values)
    np.testing.assert_array_equal(to_uint8(frame), values)


def test_raster_rgb_jpeg_and_dispatch(tmp_path: Path):
    path = tmp_path / "photo"  # no extension: dispatch is by content
    Image.new("RGB", (40, 30), (200, 30, 30)).save(path, format="JPEG")
    frame = load_image(path)
    assert frame.is_color and frame.pixels.shape == (30, 40, 3)
    assert load_image(sample("CT_small.dcm")).modality == "CT"


def test_raster_truncated_and_not_an_image(tmp_path: Path):
    path = tmp_path / "cut.png"
    Image.effect_noise((200, 200), 50).save(path)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ImageReadError, match="truncated"):
        load_raster(path)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(ImageReadError, match="not an image"):
        load_raster(junk)


def test_raster_decompression_bomb_guard(tmp_path: Path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("L", (100, 100)).save(path)
    with pytest.raises(ImageReadError, match="too large"):
        load_raster(path, max_pixels=5000)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 9999)
    with pytest.raises(ImageReadError, match="too large"):
        load_raster(path)


def test_dicom_files_without_extension_are_discovered_and_indexed(tmp_path):
    """PACS / CD exports name DICOM files ``IM000001`` (no extension): they were left out without a word.
    Files without an extension are sniffed for the Part 10 preamble; other files stay out, each reported with why."""
    from indexer.sources import discover_sources, parse_file

    export = tmp_path / "export" / "SE000001"
    export.mkdir(parents=True)
    (export / "IM000001").write_bytes(Path(sample("CT_small.dcm")).read_bytes())
    (export / "README").write_text("not an image, not DICOM\n" * 20)
    (export / "notes.csv").write_text("a;b\n")
    files, skipped = discover_sources([tmp_path / "export"])
    assert [f.path.name for f in files] == ["IM000001"]
    assert sorted((Path(path).name, reason.split(":")[0]) for path, reason in skipped) == [
        ("README", "no extension and not a DICOM file"), ("notes.csv", "unsupported file type '.csv'")]
    [doc] = parse_file(files[0].path, root=tmp_path / "export")
    assert doc.kind.value == "image" and doc.modality == "CT"
    assert doc.id == "image:" + str(pydicom.dcmread(sample("CT_small.dcm")).SeriesInstanceUID)


def test_an_extensionless_file_is_sniffed_once_per_indexing_run(tmp_path, monkeypatch):
    """Discovery reads the 132-byte preamble of an extensionless file; the readers (scan and batch passes)
    trust its answer instead of opening the file again for it (twice per file before: three reads)."""
    import indexer.sources as sources
    from bench.lexical_overhead import HashEncoder
    from indexer.pipeline import index_paths
    from indexer.settings import Settings

    export = tmp_path / "export" / "SE000001"
    export.mkdir(parents=True)
    (export / "IM000001").write_bytes(Path(sample("CT_small.dcm")).read_bytes())
    (export / "README").write_text("not an image, not DICOM\n" * 20)
    sniffed: list[str] = []
    real = sources.is_dicom_part10
    monkeypatch.setattr(sources, "is_dicom_part10", lambda path: sniffed.append(path.name) or real(path))
    report = index_paths([tmp_path / "export"], Settings(index={"dir": tmp_path / "index"}), HashEncoder())
    assert report.documents_added == 1
    assert sorted(sniffed) == ["IM000001", "README"]  # each once, by discovery
    sniffed.clear()
    [doc] = sources.parse_file(export / "IM000001")  # a file given alone is still sniffed
    assert doc.modality == "CT" and sniffed == ["IM000001"]


def test_long_multiframe_series_is_indexed_from_its_middle_frame(tmp_path):
    """A 400-frame 512 x 512 multi-frame (an enhanced CT volume, an ultrasound cine: 105 M samples in all,
    262 k in the one frame decoded) was skipped by the indexer as « image too large » (limit 100 M samples
    in all), though only the middle frame is decoded and uploads of the same file were accepted."""
    from pydicom.pixels import get_encoder
    from pydicom.uid import RLELossless

    from indexer.sources.images import parse_dicom

    n_frames, side = 400, 512
    ds = make_ct(np.zeros((side, side), np.int32))
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept = 0
    ds.SeriesInstanceUID = generate_uid()
    image = np.tile(np.arange(side, dtype=np.uint16) * 4, (side, 1))
    frame = get_encoder(RLELossless).encode(image, **{
        "rows": side, "columns": side, "samples_per_pixel": 1, "number_of_frames": 1, "bits_allocated": 16,
        "bits_stored": 12, "pixel_representation": 0, "photometric_interpretation": "MONOCHROME2",
    })
    ds.NumberOfFrames = n_frames
    ds.PixelData = encapsulate([frame] * n_frames)
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = RLELossless
    path = tmp_path / "volume.dcm"
    ds.save_as(path, enforce_file_format=True)
    [doc] = parse_dicom(path)
    assert doc.metadata["frames"] == n_frames and (doc.metadata["rows"], doc.metadata["columns"]) == (side, side)
