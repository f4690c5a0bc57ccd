"""Helpers shared by the portal tests: point the app's API client at an in-memory fake, run the app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ui import client as api

APP_PATH = str(Path(__file__).resolve().parent.parent / "ui" / "app.py")
BASE_URL = "http://api.test"


def patch_client(monkeypatch: pytest.MonkeyPatch, handler: Callable[[httpx.Request], httpx.Response]) -> None:
    """Make every client the app creates talk to *handler* instead of a server."""

    def factory(base_url: str, user: str, timeout: float = 5.0) -> api.MedsearchClient:
        return api.MedsearchClient(base_url, user, timeout, transport=httpx.MockTransport(handler))

    monkeypatch.setenv("MEDSEARCH_UI__API_URL", BASE_URL)
    monkeypatch.setattr(api, "make_client", factory)


def run_app():  # noqa: ANN201 - AppTest imported lazily (it imports Streamlit's runtime)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def markdown(at) -> str:  # noqa: ANN001
    """All markdown the app rendered, as one string."""
    return "\n".join(str(m.value) for m in at.markdown)
