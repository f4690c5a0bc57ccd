"""Helpers shared by the portal tests: point the app's API client at an in-memory fake, run the app."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ui import auth as ui_auth
from ui import client as api

APP_PATH = str(Path(__file__).resolve().parent.parent / "ui" / "app.py")
BASE_URL = "http://api.test"


def patch_client(monkeypatch: pytest.MonkeyPatch, handler: Callable[[httpx.Request], httpx.Response]) -> None:
    """Make every client the app creates talk to *handler* instead of a server."""

    def factory(base_url: str, user: str, timeout: float = 5.0, token: str | None = None) -> api.MedsearchClient:
        return api.MedsearchClient(base_url, user, timeout, transport=httpx.MockTransport(handler), token=token)

    def logged_in(api_url: str, timeout: float) -> api.Login:
        """The portal's login step, as if a clinician-administrator had signed in (issue #12)."""
        user = os.environ.get("MEDSEARCH_UI__USER") or "dr-house"
        return api.Login("test-token", user, "clinician", 1800, ("clinician", "admin"))

    monkeypatch.setenv("MEDSEARCH_UI__API_URL", BASE_URL)
    monkeypatch.setattr(api, "make_client", factory)
    monkeypatch.setattr(ui_auth, "sidebar_login", logged_in)


def run_app(**query_params: str):  # noqa: ANN201 - AppTest imported lazily (it imports Streamlit's runtime)
    """The portal run once, opened with *query_params* (a shared link's ``?q=…``), without an exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP_PATH, default_timeout=30)
    for key, value in query_params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def markdown(at) -> str:  # noqa: ANN001
    """All markdown the app rendered, as one string."""
    return "\n".join(str(m.value) for m in at.markdown)
