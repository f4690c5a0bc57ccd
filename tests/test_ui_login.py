"""The portal's login (issue #12): nothing is searched before a user logs in; a local account gets a
token from ``POST /auth/login``, the sidebar shows who is logged in and the role, and every API call
carries the token."""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from ui import client as api  # noqa: E402
from ui_support import APP_PATH, BASE_URL  # noqa: E402


class FakeAuthApi:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/auth/login":
            body = json.loads(request.content)
            if body["username"] == "pressé":
                return httpx.Response(429, json={"detail": "too many requests: at most 20 a minute"})
            if (body["username"], body["password"]) != ("dr.demo", "s3cret"):
                return httpx.Response(401, json={"detail": "wrong username or password"})
            return httpx.Response(200, json={"access_token": "tok-123", "token_type": "bearer", "expires_in": 1800,
                                             "user": "dr.demo", "role": "researcher", "roles": ["researcher"]})
        if request.headers.get("authorization") != "Bearer tok-123":
            return httpx.Response(401, json={"detail": "authentication required"})
        if request.url.path == "/search":
            return httpx.Response(200, json={"query": "x", "mode": "hybrid", "total": 0, "took_ms": 1.0, "results": []})
        return httpx.Response(404, json={"detail": "not here"})


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeAuthApi:
    handler = FakeAuthApi()
    transport = httpx.MockTransport(handler)

    def factory(base_url: str, user: str, timeout: float = 5.0, token: str | None = None) -> api.MedsearchClient:
        return api.MedsearchClient(base_url, user, timeout, transport=transport, token=token)

    monkeypatch.setenv("MEDSEARCH_UI__API_URL", BASE_URL)
    monkeypatch.setattr(api, "make_client", factory)
    monkeypatch.setattr(api, "login", partial(api.login, transport=transport))
    return handler


def test_login_gate_then_token_on_every_call(fake: FakeAuthApi) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.run()
    assert not at.exception
    assert not any(r.url.path == "/search" for r in fake.requests)
    assert "Connectez-vous" in at.info[0].value
    at.sidebar.text_input(key="login-user").input("dr.demo")
    at.sidebar.text_input(key="login-password").input("wrong")
    at.sidebar.button[0].click().run()
    assert "incorrect" in at.sidebar.error[0].value
    at.sidebar.text_input(key="login-user").input("dr.demo")
    at.sidebar.text_input(key="login-password").input("s3cret")
    at.sidebar.button[0].click().run()
    assert not at.exception
    sidebar = "\n".join(str(m.value) for m in at.sidebar.markdown)
    assert "**dr.demo**" in sidebar and "chercheur" in sidebar
    assert "login-user" not in {t.key for t in at.sidebar.text_input}  # logged in: no login form any more
    at.text_input(key="q").input("pneumothorax").run()
    searches = [r for r in fake.requests if r.url.path == "/search"]
    assert searches and searches[-1].headers["authorization"] == "Bearer tok-123"
    assert not any(r.url.path == "/stats" for r in fake.requests)  # not an admin: no index statistics
    # a researcher's view is de-identified: no date widgets (the API refuses real-date filters there)
    assert not [d for d in at.sidebar.date_input if d.key in ("date_from", "date_to")]
    assert any("dé-identifiée" in str(c.value) for c in at.sidebar.caption)
    assert "date_from" not in str(searches[-1].url)
    # and filters by pseudonym, not by IPP (a real IPP finds nothing there)
    assert at.sidebar.text_input(key="patient_id").label == "Pseudonyme patient (PSN-…)"


def test_logging_out_forgets_the_previous_users_results(fake: FakeAuthApi) -> None:
    """Found trying the demo portal: « Se déconnecter » dropped only the token, so the last results,
    the cohort being built and the URL (``?q=``, ``?patient=IPP``) stayed in the browser session for
    whoever logs in next at the same screen (a researcher would see a clinician's identified cohort)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.run()
    at.sidebar.text_input(key="login-user").input("dr.demo")
    at.sidebar.text_input(key="login-password").input("s3cret")
    at.sidebar.button[0].click().run()
    at.text_input(key="q").input("pneumothorax").run()
    at.session_state["cohort_result"] = ({"criteria": []}, {"total": 1, "patients": [{"patient_id": "IPP-REAL"}]})
    assert "search_cache" in at.session_state and at.query_params.get("q")
    at.sidebar.button(key="logout").click().run()
    assert not at.exception
    assert "login-user" in {t.key for t in at.sidebar.text_input}  # the login form is back
    for key in ("search_cache", "cohort_result", "q"):
        assert key not in at.session_state or not at.session_state[key], key
    assert not at.query_params.get("q")


def test_a_refused_login_is_explained_in_french(fake: FakeAuthApi) -> None:
    """Found trying the demo portal: past 20 attempts a minute the sidebar said « Connexion impossible :
    too many requests: at most 20 a minute »."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.run()
    at.sidebar.text_input(key="login-user").input("pressé")
    at.sidebar.text_input(key="login-password").input("x")
    at.sidebar.button[0].click().run()
    message = at.sidebar.error[0].value
    assert message == "Connexion impossible : trop de demandes (au plus 20 par minute) : patientez une minute avant de réessayer"
