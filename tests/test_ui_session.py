"""Who is logged in, as the portal's sidebar says it (display name and roles), and what a page reload
does to the session (issue: a physician's and a research nurse's walkthrough of the demo portal)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from ui import auth as ui_auth  # noqa: E402
from ui import client as api  # noqa: E402
from ui_support import APP_PATH, BASE_URL  # noqa: E402


def _api(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/health":
        return httpx.Response(200, json={"status": "ok"})
    return httpx.Response(404, json={"detail": "introuvable"})


@pytest.fixture()
def app_with_real_login(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """The portal with its own login step (not the tests' stand-in), over a fake API."""
    from streamlit.testing.v1 import AppTest

    def factory(base_url: str, user: str, timeout: float = 5.0, token: str | None = None) -> api.MedsearchClient:
        return api.MedsearchClient(base_url, user, timeout, transport=httpx.MockTransport(_api), token=token)

    monkeypatch.setenv("MEDSEARCH_UI__API_URL", BASE_URL)
    monkeypatch.setattr(api, "make_client", factory)
    monkeypatch.setattr(ui_auth, "_oidc_configured", lambda: False)
    return AppTest.from_file(APP_PATH, default_timeout=30)


def test_the_sidebar_names_who_is_logged_in_and_as_what(app_with_real_login) -> None:  # noqa: ANN001
    """The walkthrough: only the login was shown (« clinicien »), not the person nor all their roles."""
    at = app_with_real_login
    login = api.Login("t", "dr.martin", "clinician", 1800, ("admin", "clinician"), "Dr Marie Martin")
    at.session_state["auth"] = {"login": login, "expires_at": time.time() + 1800}
    at.run()
    assert not at.exception, at.exception
    shown = "\n".join(str(m.value) for m in at.sidebar.markdown)
    assert "Connecté : **Dr Marie Martin** (dr.martin) — clinicien, administrateur" in shown


def test_signed_in_text_without_a_display_name_and_escaped() -> None:
    plain = api.Login("t", "chercheur", "researcher", 1800, ("researcher",))
    assert ui_auth.signed_in_markdown(plain) == "👤 Connecté : **chercheur** — chercheur (vue pseudonymisée)"
    odd = api.Login("t", "x", "clinician", 1800, ("clinician",), "Dr *Gras* [lien](http://a)")
    assert "**Dr \\*Gras\\* \\[lien\\]\\(http://a\\)**" in ui_auth.signed_in_markdown(odd)


def test_client_login_reads_the_display_name() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"access_token": "tok", "expires_in": 1800, "user": "clinicien",
                                         "name": "Dr Démo Clinicien", "role": "clinician", "roles": ["clinician"]})

    login = api.login(BASE_URL, "clinicien", "pw", transport=httpx.MockTransport(handler))
    assert (login.user, login.name) == ("clinicien", "Dr Démo Clinicien")


def test_a_researchers_age_says_the_day_it_is_counted_on() -> None:
    """The researcher view showed « 64 ans » (today, real) beside shifted dates; the API now counts it on the
    last document in shifted dates (``age_on``), and the portal says so."""
    import datetime as dt

    from ui import render

    researcher = {"patient_id": "PSN-ab12", "identity": {"sex": "male", "age": 62, "age_on": "2024-03-12"}}
    assert "62 ans au 12/03/2024 (dernier document)" in render.identity_html(researcher)
    clinician = {"patient_id": "P1", "identity": {"sex": "male", "age": 64, "age_on": dt.date.today().isoformat()}}
    html = render.identity_html(clinician)
    assert "64 ans" in html and "dernier document" not in html
    assert render.cohort_age_text({"patient_id": "PSN-ab12", "age": 62}) == "62 ans (dernier document retenu)"
    assert render.cohort_age_text({"patient_id": "P1", "age": 64}) == "64 ans"
    assert render.cohort_age_text({"patient_id": "P1", "age": None}) == ""


def test_an_expired_session_says_so(app_with_real_login) -> None:  # noqa: ANN001
    """The login form came back with nothing said when the 30-minute token ran out (« on m'a déconnecté ? »)."""
    at = app_with_real_login
    login = api.Login("t", "dr.martin", "clinician", 1800, ("clinician",), "Dr Marie Martin")
    at.session_state["auth"] = {"login": login, "expires_at": time.time() - 1}
    at.run()
    assert not at.exception, at.exception
    assert [w.value for w in at.sidebar.warning] == [ui_auth.EXPIRED]
    assert "Connecté" not in "\n".join(str(m.value) for m in at.sidebar.markdown)


def test_a_reload_says_why_the_login_is_asked_again(app_with_real_login) -> None:  # noqa: ANN001
    """A reload starts a new Streamlit session (the token is never kept in the browser): the page said nothing."""
    at = app_with_real_login
    at.query_params["q"] = "pneumothorax"
    at.run()
    assert not at.exception, at.exception
    assert [i.value for i in at.sidebar.info] == [ui_auth.RELOADED]
    assert at.session_state["q"] == "pneumothorax"  # kept for after the login


def test_a_first_visit_shows_only_the_form(app_with_real_login) -> None:  # noqa: ANN001
    at = app_with_real_login
    at.run()
    assert not at.exception, at.exception
    assert not at.sidebar.info and not at.sidebar.warning


def test_the_page_is_declared_french(monkeypatch: pytest.MonkeyPatch) -> None:
    """Streamlit's page says lang="en": screen readers used an English voice, browsers offered to translate.
    The portal runs a constant script that sets lang="fr" (checked in a browser by tests/test_e2e_browser.py)."""
    from ui_support import patch_client, run_app

    patch_client(monkeypatch, _api)
    at = run_app()
    bodies = [h.proto.body for h in at.get("html")]
    assert "<script>document.documentElement.lang='fr';</script>" in bodies
    html = next(h for h in at.get("html") if "lang='fr'" in h.proto.body)
    assert html.proto.unsafe_allow_javascript


def test_the_uploader_speaks_french_with_the_apis_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Streamlit's uploader said « Upload » / « 200MB per file » (French CSS said « 200 Mo maximum »), while the API
    refuses images past images.max_upload_mb (20): the widget now enforces that limit and says it in French."""
    from ui_support import markdown, patch_client, run_app

    monkeypatch.setenv("MEDSEARCH_IMAGES__MAX_UPLOAD_MB", "35")
    patch_client(monkeypatch, _api)
    at = run_app()
    at.radio(key="view").set_value("image").run()
    uploader = at.get("file_uploader")[0]
    assert uploader.proto.max_upload_size_mb == 35
    text = markdown(at)
    assert "Glissez-déposez un fichier ici · 35 Mo maximum" in text and 'content:"Parcourir"' in text
    assert api.upload_limit_mb({}) == 20 and api.upload_limit_mb({"MEDSEARCH_IMAGES__MAX_UPLOAD_MB": "x"}) == 20
