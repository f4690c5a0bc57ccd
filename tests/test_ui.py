"""Tests for the Streamlit portal: HTTP client, pure render helpers, and the app driven by AppTest.

No real API is started: the client runs against ``httpx.MockTransport`` and the app is pointed at
the same fake by patching ``ui.client.make_client``, the factory the app calls on every run.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # the project is not necessarily pip-installed
    sys.path.insert(0, str(REPO_ROOT))

from ui import client as api  # noqa: E402
from ui import render  # noqa: E402
from ui.client import ApiError, MedsearchClient, SearchHit  # noqa: E402

from ui_support import APP_PATH, BASE_URL, patch_client  # noqa: E402
from ui_support import markdown as _markdown  # noqa: E402
from ui_support import run_app as _app  # noqa: E402

PYDANTIC_422 = {
    "detail": [
        {"loc": ["query", "q"], "msg": "String should have at most 1000 characters", "type": "string_too_long"},
        {"loc": ["query", "limit"], "msg": "Input should be less than or equal to 100", "type": "less_than_equal"},
    ]
}


def _hit(doc_id: str, title: str, kind: str = "report", **extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": doc_id, "kind": kind, "title": title, "date": "2023-04-12", "patient_id": "P001",
        "language": "fr", "modality": None, "score": 0.0328, "snippet": "AVC <mark>ischémique</mark> sylvien",
        "section": "Conclusion", "url": f"/documents/{doc_id}",
    }
    base.update(extra)
    return base


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


class FakeApi:
    """A tiny in-memory stand-in for the search API that records every request it gets."""

    def __init__(self, total: int = 2) -> None:
        self.requests: list[httpx.Request] = []
        self.total = total

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/stats":
            return httpx.Response(200, json={
                "documents": 3, "passages": 12, "by_kind": {"report": 2, "image": 1},
                "indexed_at": "2024-01-01T00:00:00+00:00", "encoder": "usem3",
            })
        if path == "/search":
            return self._search(request)
        if path == "/documents/r1":
            return httpx.Response(200, json={
                "id": "r1", "kind": "report", "title": "CR IRM cérébrale", "text": "Indication\nAVC",
                "patient_id": "P001", "date": "2023-04-12", "language": "fr", "source_path": "reports/r1.txt",
                "modality": None, "sections": [{"title": "Conclusion", "text": "AVC ischémique sylvien gauche."}],
                "metadata": {"author": "Dr Martin"},
            })
        if path == "/images/img1/thumbnail":
            return httpx.Response(200, content=_png(), headers={"content-type": "image/png"})
        return httpx.Response(404, json={"detail": f"no document with id {path.rsplit('/', 1)[-1]!r}"})

    def _search(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if params["q"] == "erreur":
            return httpx.Response(422, json=PYDANTIC_422)
        offset = int(params.get("offset", "0"))
        if offset >= 10:
            results = [_hit("r11", "CR page deux")]
        else:
            results = [
                _hit("r1", "CR IRM cérébrale"),
                _hit("img1", "IRM diffusion", kind="image", modality="MR", patient_id=None),
            ]
        return httpx.Response(200, json={
            "query": params["q"], "total": self.total, "took_ms": 12.5, "mode": params.get("mode", "hybrid"),
            "results": results,
        })

    def searches(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == "/search"]


Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler, user: str = "dr-house") -> MedsearchClient:
    return MedsearchClient(BASE_URL, user, 5.0, transport=httpx.MockTransport(handler))


# --------------------------------------------------------------------------- client


def test_search_sends_params_repeated_kinds_and_user_header() -> None:
    fake = FakeApi()
    with _client(fake) as client:
        page = client.search(
            "IRM cérébrale", kinds=["image", "report"], patient_id=" P001 ", date_from=date(2023, 1, 1),
            date_to="2023-12-31", language="fr", mode="lexical", limit=20, offset=40,
        )
    request = fake.requests[0]
    params = request.url.params
    assert params.get_list("kinds") == ["image", "report"]
    assert params["q"] == "IRM cérébrale"
    assert params["patient_id"] == "P001"
    assert (params["date_from"], params["date_to"]) == ("2023-01-01", "2023-12-31")
    assert (params["language"], params["mode"], params["limit"], params["offset"]) == ("fr", "lexical", "20", "40")
    assert request.headers["X-User"] == "dr-house"
    assert [hit.title for hit in page.results] == ["CR page deux"]  # the fake's page for offset >= 10
    assert (page.total, page.took_ms, page.mode) == (2, 12.5, "lexical")


def test_search_omits_empty_filters() -> None:
    fake = FakeApi()
    with _client(fake) as client:
        client.search("toux", patient_id="  ", language="")
    sent = dict(fake.requests[0].url.params.multi_items())
    assert set(sent) == {"q", "mode", "limit", "offset"}
    assert sent["mode"] == "hybrid" and sent["offset"] == "0"


def test_non_ascii_user_is_percent_encoded_and_recoverable() -> None:
    fake = FakeApi()
    with _client(fake, user="Dr Hélène 100%") as client:
        client.stats()
    header = fake.requests[0].headers["X-User"]
    assert header.isascii()
    assert unquote(header) == "Dr Hélène 100%"


def test_422_pydantic_list_becomes_readable_api_error() -> None:
    with _client(lambda _: httpx.Response(422, json=PYDANTIC_422)) as client, pytest.raises(ApiError) as info:
        client.search("x" * 2000)
    assert info.value.status == 422
    assert info.value.message == (
        "q: String should have at most 1000 characters; limit: Input should be less than or equal to 100"
    )


def test_value_error_prefix_and_string_detail() -> None:
    body = {"detail": [{"loc": [], "msg": "Value error, date_from must be on or before date_to"}]}
    with _client(lambda _: httpx.Response(422, json=body)) as client, pytest.raises(ApiError) as info:
        client.search("x")
    assert info.value.message == "date_from must be on or before date_to"
    with _client(lambda _: httpx.Response(503, json={"detail": "index not built"})) as client:
        with pytest.raises(ApiError, match="index not built"):
            client.stats()


def test_unknown_document_is_404_api_error() -> None:
    fake = FakeApi()
    with _client(fake) as client, pytest.raises(ApiError) as info:
        client.document("missing")
    assert info.value.status == 404
    assert "missing" in info.value.message


def test_document_id_is_path_escaped() -> None:
    fake = FakeApi()
    with _client(fake) as client, pytest.raises(ApiError):
        client.document("a/b?c")
    assert fake.requests[0].url.raw_path == b"/documents/a%2Fb%3Fc"


def test_document_parsed_with_sections() -> None:
    with _client(FakeApi()) as client:
        doc = client.document("r1")
    assert doc.title == "CR IRM cérébrale"
    assert doc.sections[0].title == "Conclusion"
    assert doc.metadata == {"author": "Dr Martin"}


def test_search_hits_are_typed() -> None:
    with _client(FakeApi()) as client:
        page = client.search("IRM")
    image = page.results[1]
    assert (image.kind, image.modality, image.patient_id, image.score) == ("image", "MR", None, 0.0328)


def test_thumbnail_bytes_or_none() -> None:
    with _client(FakeApi()) as client:
        assert client.thumbnail("img1") == _png()
        assert client.thumbnail("unknown") is None


def test_unreachable_api_is_api_error_without_status() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with _client(refuse) as client, pytest.raises(ApiError) as info:
        client.stats()
    assert info.value.status is None
    assert BASE_URL in info.value.message
    with _client(refuse) as client:
        assert client.thumbnail("img1") is None


def test_html_error_page_falls_back_to_reason_phrase() -> None:
    handler = lambda _: httpx.Response(502, text="<html><body>Bad gateway</body></html>")  # noqa: E731
    with _client(handler) as client, pytest.raises(ApiError) as info:
        client.stats()
    assert (info.value.status, info.value.message) == (502, "Bad Gateway")


def test_settings_from_env() -> None:
    assert api.settings_from_env({}) == ("http://127.0.0.1:8000", "demo-physician", 10.0)
    env = {"MEDSEARCH_UI__API_URL": "http://h:9", "MEDSEARCH_UI__USER": "u", "MEDSEARCH_UI__TIMEOUT": "bad"}
    assert api.settings_from_env(env) == ("http://h:9", "u", 10.0)


# --------------------------------------------------------------------------- render


@pytest.mark.parametrize(
    ("kind", "label", "color"),
    [("image", "Image", "#7b1fa2"), ("report", "Compte rendu", "#1565c0"),
     ("record", "Dossier patient", "#2e7d32"), ("article", "Article", "#e65100")],
)
def test_badge_per_kind(kind: str, label: str, color: str) -> None:
    badge = render.badge_html(kind)
    assert f">{label}</span>" in badge
    assert f"background:{color}" in badge
    assert f"ms-badge-{kind}" in badge


def test_badge_for_unknown_kind_is_grey_and_escaped() -> None:
    badge = render.badge_html("<b>x</b>")
    assert render.UNKNOWN_KIND_COLOR in badge
    assert "<b>" not in badge


def test_result_card_keeps_mark_but_escapes_title_and_fields() -> None:
    hit = SearchHit.from_json(_hit(
        "r1", "<script>alert(1)</script> CR", patient_id="<img src=x>",
        snippet="douleur &amp; <mark>AVC</mark> <script>x()</script>",
    ))
    card = render.result_card_html(hit, rank=3)
    assert "<script>" not in card and "<img" not in card
    assert "&lt;script&gt;alert(1)&lt;/script&gt; CR" in card
    assert "<mark>AVC</mark>" in card
    assert "douleur &amp; " in card and "&amp;amp;" not in card
    assert "12/04/2023" in card and "3." in card and "§ Conclusion" in card
    assert "\n" not in card


def test_safe_snippet_closes_unbalanced_mark_and_flattens_lines() -> None:
    assert render.safe_snippet("a <MARK>b\n\nc") == "a <mark>b c</mark>"


def test_text_html_escapes_and_keeps_lines_without_blank_lines() -> None:
    out = render.text_html("Ligne 1\n\n<b>Ligne 2</b>")
    assert out == '<div class="ms-text">Ligne 1<br><br>&lt;b&gt;Ligne 2&lt;/b&gt;</div>'


def test_format_date_and_age() -> None:
    assert render.format_date("2023-04-12") == "12/04/2023"
    assert render.format_date("2023-04-12T08:30:00") == "12/04/2023"
    assert render.format_date(None) == "date inconnue"
    assert render.format_date("vers 1990") == "vers 1990"
    now = datetime(2024, 1, 2, 12, 0, tzinfo=timezone.utc)
    assert render.format_age("2024-01-02T09:00:00Z", now) == "il y a 3 h"
    assert render.format_age("2024-01-02T11:55:00", now) == "il y a 5 min"  # naive = UTC
    assert render.format_age("2023-12-30T12:00:00+00:00", now) == "il y a 3 j"
    assert render.format_age(None, now) == "jamais indexé"


def test_page_label_and_stats() -> None:
    assert render.page_label(10, 10, 57) == "Résultats 11–20 sur 57"
    assert render.page_label(0, 0, 0) == "Aucun résultat"
    stats = api.IndexStats.from_json({"documents": 5, "passages": 9, "by_kind": {"report": 4, "article": 1},
                                      "indexed_at": "2024-01-01T00:00:00Z", "index_age_seconds": 7200,
                                      "encoder": "usem3"})
    out = render.stats_html(stats)
    assert "il y a 2 h" in out and ">Compte rendu</span>4" in out and "usem3" in out


# --------------------------------------------------------------------------- app (AppTest)


@pytest.fixture()
def fake_api(monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    """Point the app at a FakeApi by patching the factory it calls on every run."""
    fake = FakeApi(total=25)
    monkeypatch.setenv("MEDSEARCH_UI__USER", "dr-test")
    patch_client(monkeypatch, fake)
    return fake


def test_app_search_renders_results_and_stats(fake_api: FakeApi) -> None:
    at = _app()
    assert not fake_api.searches()  # nothing is searched before the user types
    at.text_input(key="q").input("IRM cérébrale").run()
    assert not at.exception and not at.error
    text = _markdown(at)
    assert "CR IRM cérébrale" in text and "IRM diffusion" in text
    assert "<mark>ischémique</mark>" in text
    assert "Résultats 1–2 sur 25" in text
    assert "3</b> documents" in "\n".join(str(m.value) for m in at.sidebar.markdown)
    search = fake_api.searches()[-1]
    assert search.headers["X-User"] == "dr-test"
    assert search.url.params["q"] == "IRM cérébrale"
    assert any(r.url.path == "/images/img1/thumbnail" for r in fake_api.requests)
    assert len(at.get("image")) == 1  # thumbnail shown for the image result only


def test_app_filters_pagination_and_no_duplicate_search(fake_api: FakeApi) -> None:
    at = _app()
    at.multiselect(key="kinds").select("report").select("article")
    at.radio(key="mode").set_value("lexical")
    at.text_input(key="q").input("pneumothorax").run()
    params = fake_api.searches()[-1].url.params
    assert params.get_list("kinds") == ["report", "article"] and params["mode"] == "lexical"

    at.button(key="page-next").click().run()
    assert fake_api.searches()[-1].url.params["offset"] == "10"
    assert "CR page deux" in _markdown(at)

    count = len(fake_api.searches())
    at.run()  # unrelated rerun, same inputs (the identity box is gone: the user logs in, issue #12)
    assert len(fake_api.searches()) == count
    at.text_input(key="q").input("pneumopathie").run()  # a new query goes back to page 1
    assert fake_api.searches()[-1].url.params["offset"] == "0"


def test_app_api_error_is_shown(fake_api: FakeApi) -> None:
    at = _app()
    at.text_input(key="q").input("erreur").run()
    assert len(at.error) == 1
    assert "q: au plus 1000 caractères" in at.error[0].value  # issue #13: API errors shown in French
    assert "CR IRM cérébrale" not in _markdown(at)


def test_app_opens_document_and_goes_back(fake_api: FakeApi) -> None:
    at = _app()
    at.text_input(key="q").input("AVC").run()
    at.button(key="open-1-r1").click().run()
    assert at.query_params.get("doc") in ("r1", ["r1"])
    text = _markdown(at)
    assert "CR IRM cérébrale" in text and "AVC ischémique sylvien gauche." in text
    assert [s.value for s in at.main.subheader] == ["Conclusion"]
    doc_requests = [r for r in fake_api.requests if r.url.path == "/documents/r1"]
    assert doc_requests and doc_requests[0].headers["X-User"] == "dr-test"

    searches = len(fake_api.searches())
    at.button(key="back").click().run()
    assert "Résultats 1–2 sur 25" in _markdown(at)
    assert len(fake_api.searches()) == searches  # redrawn from the session cache


def test_app_unknown_document_link_shows_error(fake_api: FakeApi) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.query_params["doc"] = "nope"
    at.run()
    assert len(at.error) == 1 and "404" in at.error[0].value


def test_app_unreachable_api(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    patch_client(monkeypatch, refuse)
    at = _app()
    assert at.sidebar.warning and "indisponible" in at.sidebar.warning[0].value
    # issue #13: a banner says so on every screen, before anything is searched
    assert len(at.error) == 1 and "Le service de recherche est injoignable" in at.error[0].value
    at.text_input(key="q").input("AVC").run()
    assert len(at.error) == 2 and "indisponible" in at.error[1].value


def test_fake_api_is_json_serialisable() -> None:
    """Guard for the fixtures themselves: the fake must speak the documented contract."""
    body = json.loads(FakeApi()(httpx.Request("GET", f"{BASE_URL}/search?q=x")).content)
    assert set(body) == {"query", "total", "took_ms", "mode", "results"}
    assert set(body["results"][0]) == {"id", "kind", "title", "date", "patient_id", "language", "modality",
                                       "score", "snippet", "section", "url"}


def test_sidebar_dates_have_the_full_width(fake_api: FakeApi) -> None:
    """Found trying the demo portal: « Du » and « Au » side by side in the sidebar cut the year
    (« 31 / 12 / 202 »); each now has the sidebar's width."""
    at = _app()
    assert {d.key for d in at.sidebar.date_input} >= {"date_from", "date_to"}
    assert not [d.key for column in at.sidebar.columns for d in column.date_input]
