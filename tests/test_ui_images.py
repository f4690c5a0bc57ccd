"""Portal tests for images: search by upload, method badges, linked reports, windowed render.

No API is started: ``httpx.MockTransport`` plays the image endpoints of ``search_api/images.py``
(``POST /search/image``, ``GET /images/{id}/thumbnail``, ``GET /images/{id}/render``) and the app
is pointed at it by patching ``ui.client.make_client``.
"""

from __future__ import annotations

import email
import io
import sys
from collections.abc import Callable
from datetime import date
from email.message import Message
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from ui import render  # noqa: E402
from ui.client import ApiError, ImageHit, ImageSearchPage, LinkedReport, MedsearchClient, SearchHit  # noqa: E402

from ui_support import APP_PATH, BASE_URL, patch_client  # noqa: E402
from ui_support import markdown as _markdown  # noqa: E402
from ui_support import run_app as _run_app  # noqa: E402
REPORT = {"id": "cr-7", "title": "TDM thorax", "date": "2024-03-14", "url": "/documents/cr-7",
          "conclusion": "Épanchement pleural droit de moyenne abondance."}


def _png(color: tuple[int, int, int] = (200, 0, 0)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), color).save(buffer, format="PNG")
    return buffer.getvalue()


def _image_result(doc_id: str, title: str, **extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": doc_id, "title": title, "date": "2024-03-14", "patient_id": "P001", "modality": "CT",
        "body_part": "CHEST", "score": 0.0325, "methods": ["report_text", "descriptor"],
        "descriptor_similarity": 0.912, "clip_similarity": None, "linked_reports": [REPORT], "caption": None,
        "thumbnail_url": f"/images/{doc_id}/thumbnail", "render_url": f"/images/{doc_id}/render",
        "url": f"/documents/{doc_id}",
    }
    base.update(extra)
    return base


def _multipart(request: httpx.Request) -> Message:
    """Parse a multipart/form-data body with the standard library (what the server will see)."""
    raw = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode() + request.read()
    return email.message_from_bytes(raw)


def _form(request: httpx.Request) -> tuple[dict[str, str], Message]:
    """(text fields, the file part) of an image-search upload."""
    fields: dict[str, str] = {}
    file_part = None
    for part in _multipart(request).get_payload():
        name = part.get_param("name", header="content-disposition")
        if part.get_filename() is not None:
            file_part = part
        else:
            fields[name] = part.get_payload(decode=True).decode()
    assert file_part is not None, "no file part in the upload"
    return fields, file_part


class FakeImageApi:
    """The image endpoints of the API, in memory; records every request."""

    def __init__(self, upload_status: int = 200, total: int = 2) -> None:
        self.requests: list[httpx.Request] = []
        self.upload_status = upload_status
        self.total = total

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/stats":
            return httpx.Response(200, json={"documents": 3, "passages": 3, "by_kind": {"image": 2, "report": 1},
                                             "indexed_at": None, "encoder": "usem3"})
        if path == "/search/image":
            return self._search_image()
        if path == "/search":  # a text search whose image hit carries the image-only fields
            hit = {**_image_result("img1", "TDM thorax coupe", methods=["report_text", "metadata"]), "kind": "image",
                   "language": "fr", "snippet": "<mark>épanchement</mark>", "section": "Compte rendu cr-7",
                   "context": "affirmed", "explanation": {"lexical_rank": 1}}
            return httpx.Response(200, json={"query": request.url.params["q"], "mode": "hybrid", "total": 1,
                                             "took_ms": 3.0, "results": [hit]})
        if path.endswith("/thumbnail") and path.startswith("/images/img"):
            return httpx.Response(200, content=_png(), headers={"content-type": "image/png"})
        if path == "/images/img1/render":
            return httpx.Response(200, content=_png((0, 0, 200)), headers={"content-type": "image/png"})
        if path == "/documents/img1":
            return httpx.Response(200, json={
                "id": "img1", "kind": "image", "title": "TDM thorax coupe", "text": "CT CHEST", "patient_id": "P001",
                "date": "2024-03-14", "language": "fr", "source_path": "images/ct.dcm", "modality": "CT",
                "sections": [{"title": "DICOM", "text": "CT CHEST"}], "metadata": {"format": "dicom", "frames": 40},
            })
        if path == "/documents/cr-7":
            return httpx.Response(200, json={
                "id": "cr-7", "kind": "report", "title": "TDM thorax", "text": REPORT["conclusion"],
                "patient_id": "P001", "date": "2024-03-14", "language": "fr", "source_path": "reports/cr-7.txt",
                "modality": None, "sections": [], "metadata": {},
            })
        return httpx.Response(404, json={"detail": f"not found: {path}"})

    def _search_image(self) -> httpx.Response:
        if self.upload_status == 415:
            return httpx.Response(415, json={"detail": "unsupported file type: upload a PNG, a JPEG or a DICOM"})
        if self.upload_status == 413:
            return httpx.Response(413, json={"detail": "upload too large: more than 50 MB"})
        return httpx.Response(200, json={
            "query": None, "took_ms": 42.0, "total": self.total, "reports": [REPORT],
            "results": [
                _image_result("img1", "TDM thorax coupe"),
                _image_result("img2", "Figure 3", methods=["clip"], linked_reports=[], caption="Opacité <b>basale</b>",
                              descriptor_similarity=None, clip_similarity=0.31, modality=None, body_part=None),
            ],
        })

    def uploads(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == "/search/image"]

    def renders(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith("/render")]


Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler) -> MedsearchClient:
    return MedsearchClient(BASE_URL, "dr-house", 5.0, transport=httpx.MockTransport(handler))


# --------------------------------------------------------------------------- client


def test_search_image_sends_multipart_file_and_filters() -> None:
    fake = FakeImageApi()
    with _client(fake) as client:
        page = client.search_image(
            b"\x89PNG-bytes", "scan.png", "image/png", "  épanchement  ",
            patient_id=" P001 ", date_from=date(2024, 1, 1), date_to="2024-12-31", limit=5,
        )
    request = fake.uploads()[0]
    assert request.method == "POST" and request.headers["content-type"].startswith("multipart/form-data")
    assert request.headers["X-User"] == "dr-house"
    fields, file_part = _form(request)
    assert fields == {"q": "épanchement", "patient_id": "P001", "date_from": "2024-01-01",
                      "date_to": "2024-12-31", "limit": "5"}
    assert file_part.get_param("name", header="content-disposition") == "file"
    assert (file_part.get_filename(), file_part.get_content_type()) == ("scan.png", "image/png")
    assert file_part.get_payload(decode=True) == b"\x89PNG-bytes"
    assert [hit.id for hit in page.results] == ["img1", "img2"]
    assert page.results[0].methods == ("report_text", "descriptor")
    assert page.results[0].linked_reports == (LinkedReport.from_json(REPORT),)
    assert page.reports == [LinkedReport.from_json(REPORT)]


def test_search_image_leaves_out_empty_text_and_filters() -> None:
    fake = FakeImageApi()
    with _client(fake) as client:
        client.search_image(b"DICM", "IM000001", None, "  ", patient_id="")
    fields, file_part = _form(fake.uploads()[0])
    assert fields == {"limit": "10"}
    assert file_part.get_content_type() == "application/octet-stream"


@pytest.mark.parametrize(("status", "words"), [(415, "unsupported file type"), (413, "upload too large")])
def test_search_image_refusal_is_api_error(status: int, words: str) -> None:
    with _client(FakeImageApi(upload_status=status)) as client, pytest.raises(ApiError) as info:
        client.search_image(b"x", "x.txt", "text/plain")
    assert info.value.status == status and words in info.value.message


def test_render_sends_window_and_frame() -> None:
    fake = FakeImageApi()
    with _client(fake) as client:
        assert client.render("img1", "lung", 3) == _png((0, 0, 200))
        assert client.render("img1") is not None
        assert client.render("nope", "bone") is None
    first, default, _ = fake.renders()
    assert dict(first.url.params) == {"window": "lung", "frame": "3"}
    assert dict(default.url.params) == {"window": "default"}


def test_render_is_none_when_the_body_is_not_an_image() -> None:
    handler = lambda _: httpx.Response(200, json={"detail": "oops"})  # noqa: E731
    with _client(handler) as client:
        assert client.render("img1", "lung") is None


def test_image_results_tolerate_missing_fields() -> None:
    page = ImageSearchPage.from_json({"results": [{"id": "a"}]})
    hit = page.results[0]
    assert (hit.methods, hit.linked_reports, hit.descriptor_similarity, page.reports) == ((), (), None, [])
    text_hit = SearchHit.from_json({"id": "img", "kind": "image", "methods": ["caption", "clip"],
                                    "linked_reports": [REPORT], "caption": "Fig. 2"})
    assert text_hit.methods == ("caption", "clip") and text_hit.linked_reports[0].id == "cr-7"


# --------------------------------------------------------------------------- render


def test_method_badges_in_french() -> None:
    html = render.methods_html(["report_text", "caption", "metadata", "descriptor", "clip"])
    for label in ("compte rendu", "légende", "en-tête DICOM", "similarité visuelle", "CLIP"):
        assert f'<span class="ms-method">{label}</span>' in html
    assert render.methods_html([]) == ""
    assert "&lt;x&gt;" in render.methods_html(["<x>"])


def test_linked_report_html_escapes_and_cuts_the_conclusion() -> None:
    report = LinkedReport(id="cr", title="<i>CR</i>", date="2024-03-14", conclusion="mot " * 100 + "<script>")
    html = render.linked_report_html(report)
    assert "<i>" not in html and "&lt;i&gt;CR&lt;/i&gt;" in html and "14/03/2024" in html
    assert "<script>" not in html and html.count("mot") < 100 and "…" in html


def test_image_hit_card_shows_scores_methods_and_escaped_caption() -> None:
    hit = ImageHit.from_json(_image_result("img1", "TDM", caption="<b>légende</b>", clip_similarity=0.3))
    html = render.image_hit_card_html(hit, rank=2)
    assert "similarité visuelle 0,912 · CLIP 0,300" in html and "score de classement 0.0325" in html
    assert ">compte rendu</span>" in html and "thorax" in html and "CHEST" not in html and "🩻 CT" in html
    assert "<b>légende</b>" not in html and "&lt;b&gt;légende&lt;/b&gt;" in html


def test_near_identical_images_do_not_read_as_the_query_image() -> None:
    """Found by a physician on the demo (query IMG-00146.dcm): the picture itself and two other phantoms
    of the same hips, at cosine 1.0, 0.9985 and 0.9982 from the API, all read « similarité visuelle 1.00 »."""
    shown = [render.image_hit_card_html(ImageHit.from_json(_image_result(f"img{i}", "CR", descriptor_similarity=s)), 1)
             for i, s in enumerate((1.0, 0.9985, 0.9982, 0.7295))]
    assert "similarité visuelle 1,000 (image identique)" in shown[0]
    assert "similarité visuelle 0,998" in shown[1] and "similarité visuelle 0,998" in shown[2]
    assert "similarité visuelle 0,729" in shown[3]
    assert not any("1.00" in html or "1,00" in html for html in shown[1:])
    assert render.esc(render.SIMILARITY_HELP) in shown[1]  # the figure says what it is (a tooltip)


def test_search_hit_card_shows_image_methods() -> None:
    hit = SearchHit.from_json({"id": "img", "kind": "image", "title": "Fig", "methods": ["caption"]})
    assert ">légende</span>" in render.result_card_html(hit, rank=1)


def test_upload_errors_in_french() -> None:
    assert render.api_error_text(ApiError(413, "too large")).startswith("Fichier trop volumineux (413)")
    assert render.api_error_text(ApiError(415, "bad")).startswith("Format non pris en charge (415)")
    assert render.api_error_text(ApiError(400, "empty")).startswith("Requête refusée (400)")


# --------------------------------------------------------------------------- app (AppTest)


def _patch(monkeypatch: pytest.MonkeyPatch, fake: FakeImageApi) -> FakeImageApi:
    patch_client(monkeypatch, fake)
    return fake


def _image_search(at, text: str = "") -> None:  # noqa: ANN001
    """Switch to the image search, upload a PNG, optionally type text, and search."""
    at.radio(key="view").set_value("image").run()
    assert at.button(key="image_search").disabled  # nothing uploaded yet
    at.file_uploader(key="image_upload").set_value(("scan.png", _png(), "image/png"))
    at.text_input(key="image_q").input(text)
    at.run()
    at.button(key="image_search").click().run()
    assert not at.exception, at.exception


def test_app_image_search_shows_similar_images(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _patch(monkeypatch, FakeImageApi())
    at = _run_app()
    at.text_input(key="patient_id").input("P001")
    _image_search(at, "épanchement")
    assert not at.error
    fields, file_part = _form(fake.uploads()[-1])
    assert fields["q"] == "épanchement" and fields["patient_id"] == "P001"
    assert file_part.get_payload(decode=True) == _png()
    text = _markdown(at)
    assert "TDM thorax coupe" in text and "Figure 3" in text
    assert ">compte rendu</span>" in text and ">similarité visuelle</span>" in text and ">CLIP</span>" in text
    assert "Épanchement pleural droit" in text  # the linked report's conclusion
    assert "&lt;b&gt;basale&lt;/b&gt;" in text
    assert len(at.get("image")) == 2  # one thumbnail per result


def test_app_upload_refused_shows_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _patch(monkeypatch, FakeImageApi(upload_status=415))
    at = _run_app()
    _image_search(at)
    assert len(at.error) == 1
    assert "Format non pris en charge (415)" in at.error[0].value and "type de fichier non pris en charge" in at.error[0].value
    assert "TDM thorax coupe" not in _markdown(at)


def test_app_linked_report_opens_and_back_returns_to_image_results(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _patch(monkeypatch, FakeImageApi())
    at = _run_app()
    _image_search(at)
    at.button(key="img-1-report-cr-7").click().run()
    assert at.query_params.get("doc") in ("cr-7", ["cr-7"])
    assert "Épanchement pleural droit de moyenne abondance." in _markdown(at)
    uploads = len(fake.uploads())
    at.button(key="back").click().run()
    assert at.radio(key="view").value == "image" and not at.warning and not at.exception
    assert "TDM thorax coupe" in _markdown(at)
    assert len(fake.uploads()) == uploads  # redrawn from the session, not searched again


def test_app_image_document_has_window_and_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _patch(monkeypatch, FakeImageApi())
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.query_params["doc"] = "img1"
    at.run()
    assert not at.exception and not at.error
    assert dict(fake.renders()[-1].url.params) == {"window": "default", "frame": "20"}  # middle of 40, 0-based
    assert at.number_input(key="frame-img1").value == 21  # shown 1-based
    at.radio(key="render_window").set_value("lung").run()
    at.number_input(key="frame-img1").set_value(1).run()
    assert dict(fake.renders()[-1].url.params) == {"window": "lung", "frame": "0"}
    assert at.radio(key="render_window").options == ["Défaut", "Poumon", "Os", "Cerveau", "Tissus mous"]
    assert len(at.get("image")) == 1


def test_app_text_search_image_hit_shows_methods_and_linked_report(monkeypatch: pytest.MonkeyPatch) -> None:
    _patch(monkeypatch, FakeImageApi())
    at = _run_app()
    at.radio(key="view").set_value("image").run()
    at.text_input(key="q").input("épanchement").run()  # typing a text query goes back to text results
    assert at.radio(key="view").value == "text"
    text = _markdown(at)
    assert ">compte rendu</span>" in text and ">en-tête DICOM</span>" in text
    assert "TDM thorax" in text and "Épanchement pleural droit" in text
    at.button(key="hit-1-report-cr-7").click().run()
    assert at.query_params.get("doc") in ("cr-7", ["cr-7"])


def test_image_count_is_not_the_candidate_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found trying the demo portal: a DICOM upload said « 100 images similaires » above 10 results
    with no next page: 100 is the API's candidate pool (every image is ranked), not a count."""
    _patch(monkeypatch, FakeImageApi(total=100))
    at = _run_app()
    _image_search(at)
    captions = " ".join(str(c.value) for c in at.caption)
    assert "Les 2 images les plus proches" in captions and "100" not in captions
    with_text = ImageSearchPage.from_json({"query": "épanchement", "took_ms": 1.0, "total": 7, "results": []})
    assert render.image_count_line(with_text) == "7 images dont le texte correspond · 0 affichée"
