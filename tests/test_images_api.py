"""Image endpoints over a small indexed collection: upload search, filters, text→image methods,
thumbnails/renders with access rules and audit, and every kind of bad upload answering 4xx."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from auth_support import auth
from fastapi.testclient import TestClient
from image_factory import brain_mr, dicom_bomb, doppler_us, png_bomb, png_bytes, write_dicom
from PIL import Image
from pydicom.uid import MPEG2MPML

from indexer.pipeline import index_paths
from indexer.settings import Settings
from search_api.image_results import image_url
from search_api.app import create_app
from conftest import FIG_T01, IMG_MR1, IMG_T001, IMG_T002, IMG_US1, RPT_T001, RPT_T002, write_ct_dicom

USER = auth("clinician", "dr.martin")  # issue #12: X-User no longer identifies anyone


@pytest.fixture(scope="module")
def image_index(tmp_path_factory: pytest.TempPathFactory, source_folder: Path, encoder) -> tuple[Settings, Path]:
    """(settings, source folder) of an index of the fixture folder plus CT, MR (3 frames) and colour US images."""
    root = tmp_path_factory.mktemp("image-api")
    folder = root / "sources"
    shutil.copytree(source_folder, folder)
    (folder / "images" / "corrupt.dcm").unlink()
    write_ct_dicom(folder / "images" / "IMG-T002.dcm", "P900002", "ACC9000002", study_date="20230105")
    write_dicom(folder / "images" / "IMG-MR1.dcm", brain_mr(3, frames=3), patient_id="P900003", study_date="20240601")
    write_dicom(folder / "images" / "IMG-US1.dcm", doppler_us(2), modality="US", body_part="ABDOMEN",
                patient_id="P900004", accession="ACC9000004", study_date="20240701")
    settings = Settings(index={"dir": root / "index"}, api={"audit_log": root / "audit.log"},
                        images={"max_upload_mb": 1.0, "max_upload_pixels": 4_000_000})
    report = index_paths([folder], settings, encoder)
    assert report.images_described == 5, report.skipped
    return settings, folder


@pytest.fixture(scope="module")
def client(image_index: tuple[Settings, Path], encoder) -> TestClient:
    return TestClient(create_app(image_index[0], encoder=encoder), headers=USER)


@pytest.fixture(scope="module")
def anonymous(client: TestClient) -> TestClient:
    return TestClient(client.app)


def _source(image_index: tuple[Settings, Path], name: str) -> bytes:
    return next(image_index[1].rglob(name)).read_bytes()


def _upload(client: TestClient, data: bytes, name: str = "query.dcm", **form) -> object:  # noqa: ANN003
    return client.post("/search/image", files={"file": (name, data, "application/octet-stream")}, data=form, headers=USER)


def test_dicom_upload_finds_itself_and_its_report(client: TestClient, image_index: tuple[Settings, Path]) -> None:
    response = _upload(client, _source(image_index, "IMG-T001.dcm"))
    assert response.status_code == 200, response.text
    body = response.json()
    # IMG-T002 is the same CT slice (other patient): both are exact matches, before any MR/US/figure
    top = {r["id"]: r for r in body["results"][:2]}
    assert set(top) == {IMG_T001, IMG_T002}
    first = top[IMG_T001]
    assert first["descriptor_similarity"] == pytest.approx(1.0, abs=1e-3)
    assert first["methods"] == ["descriptor"]
    assert [r["id"] for r in first["linked_reports"]] == [RPT_T001]
    assert "Épanchement pleural droit abondant" in first["linked_reports"][0]["conclusion"]
    assert first["thumbnail_url"] == image_url(IMG_T001, "thumbnail") and first["render_url"] == image_url(IMG_T001, "render")
    assert [r["id"] for r in top[IMG_T002]["linked_reports"]] == [RPT_T002]  # its accession's report
    assert {r["id"] for r in body["reports"][:2]} == {RPT_T001, RPT_T002}


def test_png_upload_finds_the_figure_with_its_caption(client: TestClient, image_index: tuple[Settings, Path]) -> None:
    response = _upload(client, _source(image_index, "ART-T01-fig1.png"), name="fig.png")
    first = response.json()["results"][0]
    assert first["id"] == FIG_T01
    assert first["caption"].startswith("Chest radiograph showing a large right pleural effusion")


def test_colour_and_multiframe_uploads_find_their_modality(client: TestClient, image_index: tuple[Settings, Path]) -> None:
    assert _upload(client, _source(image_index, "IMG-US1.dcm")).json()["results"][0]["id"] == IMG_US1
    assert _upload(client, _source(image_index, "IMG-MR1.dcm")).json()["results"][0]["id"] == IMG_MR1


def test_upload_filters_by_patient_and_dates(client: TestClient, image_index: tuple[Settings, Path]) -> None:
    ct = _source(image_index, "IMG-T001.dcm")
    only = _upload(client, ct, patient_id="P900002").json()["results"]
    assert [r["id"] for r in only] == [IMG_T002]
    recent = {r["id"] for r in _upload(client, ct, date_from="2024-01-01").json()["results"]}
    assert IMG_T002 not in recent and {IMG_T001, IMG_MR1, IMG_US1} <= recent
    assert _upload(client, ct, patient_id="NOBODY").json()["results"] == []
    assert len(_upload(client, ct, limit="2").json()["results"]) == 2


def test_upload_with_text_says_which_text_matched(client: TestClient, image_index: tuple[Settings, Path]) -> None:
    body = _upload(client, _source(image_index, "IMG-MR1.dcm"), q="épanchement pleural", limit="10").json()
    by_id = {r["id"]: r for r in body["results"]}
    assert "report_text" in by_id[IMG_T001]["methods"] and "descriptor" in by_id[IMG_T001]["methods"]
    # issue #13: the text restricts the results (the brain MR has nothing about a pleural effusion)
    assert IMG_MR1 not in by_id and all(set(r["methods"]) & {"report_text", "caption", "metadata"} for r in body["results"])
    unrelated = _upload(client, _source(image_index, "IMG-MR1.dcm"), q="appendicite", limit="10").json()
    assert unrelated["results"] == []  # no image's report, caption or header says so


def test_image_search_is_audited(client: TestClient, image_index: tuple[Settings, Path]) -> None:
    _upload(client, _source(image_index, "IMG-US1.dcm"), q="échographie abdomen")
    entry = [e for e in client.app.state.audit.entries() if e["action"] == "image_search"][-1]
    assert entry["user"] == "dr.martin" and entry["query"] == "échographie abdomen"
    assert entry["upload"]["type"] == "dicom" and len(entry["upload"]["sha256"]) == 64
    assert entry["returned"][0] == IMG_US1


def test_text_search_image_results_say_what_matched(client: TestClient) -> None:
    results = client.get("/search", params={"q": "épanchement pleural", "kinds": "image"}).json()["results"]
    by_id = {r["id"]: r for r in results}
    assert "report_text" in by_id[IMG_T001]["methods"]
    assert [r["id"] for r in by_id[IMG_T001]["linked_reports"]] == [RPT_T001]
    assert "caption" in by_id[FIG_T01]["methods"] and by_id[FIG_T01]["caption"]
    header = client.get("/search", params={"q": "IRM cérébrale", "kinds": "image", "mode": "lexical"}).json()["results"]
    assert header[0]["id"] == IMG_MR1 and header[0]["methods"] == ["metadata"]
    report = client.get("/search", params={"q": "épanchement pleural", "kinds": "report"}).json()["results"][0]
    assert report["methods"] == [] and report["thumbnail_url"] is None


def test_thumbnail_requires_identified_user_for_patient_images_and_is_audited(
    client: TestClient, anonymous: TestClient, image_index: tuple[Settings, Path]
) -> None:
    denied = anonymous.get(f"/images/{IMG_T001}/thumbnail")
    assert denied.status_code == 401
    response = client.get(f"/images/{IMG_T001}/thumbnail", headers=USER)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert max(image.size) <= image_index[0].images.thumbnail_size
    assert any(Path(image_index[0].index.dir, "thumbnails").glob("image_1_2_826*.png"))
    assert response.headers["cache-control"] == "no-store"  # a patient's image: in no cache
    figure = client.get(f"/images/{FIG_T01}/thumbnail")  # not a patient's image
    assert figure.status_code == 200 and figure.headers["cache-control"].startswith("private")
    entries = client.app.state.audit.entries()
    assert any(e["action"] == "auth_failed" and e["path"] == f"/images/{IMG_T001}/thumbnail" for e in entries)
    assert ("image_thumbnail", IMG_T001) in [(e["action"], e.get("document_id")) for e in entries]


def test_render_applies_windows_and_frames(client: TestClient) -> None:
    lung = client.get(f"/images/{IMG_T001}/render", params={"window": "lung"}, headers=USER)
    bone = client.get(f"/images/{IMG_T001}/render", params={"window": "bone"}, headers=USER)
    assert lung.status_code == bone.status_code == 200
    lung_px = np.asarray(Image.open(io.BytesIO(lung.content)))
    bone_px = np.asarray(Image.open(io.BytesIO(bone.content)))
    assert lung_px.shape == (64, 64) and not np.array_equal(lung_px, bone_px)
    # lungs (-824 HU) are visible grey in the lung window and black in the bone window
    assert lung_px[30, 20] > 40 and bone_px[30, 20] == 0
    frames = [client.get(f"/images/{IMG_MR1}/render", params={"frame": f}, headers=USER) for f in (0, 2)]
    assert all(r.status_code == 200 for r in frames)
    assert client.get(f"/images/{IMG_MR1}/render", params={"frame": 5}, headers=USER).status_code == 422
    assert client.get(f"/images/{IMG_T001}/render", params={"window": "rainbow"}, headers=USER).status_code == 422
    assert TestClient(client.app).get(f"/images/{IMG_T001}/render").status_code == 401
    assert client.get("/images/NOPE/render", headers=USER).status_code == 404
    assert client.get(f"/images/{RPT_T001}/thumbnail", headers=USER).status_code == 404  # a report, not an image
    renders = [e for e in client.app.state.audit.entries() if e["action"] == "image_render"]
    assert {"window": "lung", "document_id": IMG_T001}.items() <= renders[0].items()


@pytest.mark.parametrize(
    ("make", "status", "message"),
    [
        (lambda tmp: b"", 400, "empty"),
        (lambda tmp: b"hello, this is text" * 20, 415, "PNG, a JPEG or a DICOM"),
        (lambda tmp: write_dicom(tmp / "v.dcm", np.zeros((8, 8), np.uint16), transfer_syntax=MPEG2MPML).read_bytes(),
         415, "no Python decoder"),
        (lambda tmp: write_dicom(tmp / "n.dcm", np.zeros((8, 8), np.uint16), with_pixels=False).read_bytes(),
         422, "no pixel data"),
        (lambda tmp: write_dicom(tmp / "t.dcm", brain_mr(0)).read_bytes()[:-2000], 422, "truncated"),
        (lambda tmp: dicom_bomb(tmp / "b.dcm").read_bytes(), 413, "too large"),
        (lambda tmp: png_bomb(), 413, "too large"),
        (lambda tmp: png_bytes(np.zeros((8, 8), np.uint8))[:40], 422, "not an image file Pillow can read"),
        (lambda tmp: png_bytes(np.random.default_rng(0).integers(0, 255, (1100, 1100), np.uint8)), 413, "upload too large"),
    ],
    ids=["empty", "text", "mpeg2", "no-pixels", "truncated-dicom", "dicom-bomb", "png-bomb", "truncated-png", "over-1MB"],
)
def test_bad_uploads_answer_4xx_with_a_reason(client: TestClient, tmp_path: Path, make, status: int, message: str) -> None:  # noqa: ANN001
    response = _upload(client, make(tmp_path))
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


def test_bad_form_fields_answer_422(client: TestClient, image_index: tuple[Settings, Path]) -> None:
    ct = _source(image_index, "IMG-T001.dcm")
    assert _upload(client, ct, limit="0").status_code == 422
    assert _upload(client, ct, date_from="2024-05-01", date_to="2024-01-01").status_code == 422
    assert _upload(client, ct, date_from="yesterday").status_code == 422
    assert client.post("/search/image", data={"q": "x"}, headers=USER).status_code == 422  # no file
