"""The portal's watched cohorts: « Surveiller » on save and on a saved cohort, the badge
« N nouveaux patients » in the list, the new patients flagged when the cohort is re-run."""

from __future__ import annotations

import json

import httpx
import pytest

from ui_support import APP_PATH, patch_client

RESULT = {"name": "EP", "total": 2, "excluded": [], "new": 1, "left": [], "patients": [
    {"patient_id": "P001", "evidence": []}, {"patient_id": "P003", "new": True, "evidence": []}]}


class Fake:
    def __init__(self) -> None:
        self.cohorts = [
            {"id": 1, "name": "Autre", "definition": {"criteria": [{"q": "fracture"}]}, "members": ["P009"],
             "updated_at": "2026-01-01T00:00:00", "last_run_at": "2026-01-01T00:00:00", "watch": False, "new_patients": 0},
            {"id": 2, "name": "EP", "definition": {"criteria": [{"q": "embolie pulmonaire"}]}, "members": ["P001", "P003"],
             "updated_at": "2026-01-01T00:00:00", "last_run_at": "2026-01-01T00:00:00", "watch": True,
             "last_refreshed": "2026-02-01T02:10:00+00:00", "new_patients": 3, "new_patient_ids": ["P003", "P004", "P005"]},
        ]
        self.bodies: list[tuple[str, str, dict]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body = json.loads(request.content) if request.content else {}
        self.bodies.append((request.method, path, body))
        if path == "/cohorts/evaluate":
            return httpx.Response(200, json={**RESULT, "new": 0, "patients": [{"patient_id": "P001", "evidence": []}]})
        if path == "/cohorts" and request.method == "POST":
            self.cohorts.append({"id": 3, "name": body["name"], "definition": body["definition"], "members": ["P001"],
                                 "updated_at": "2026-03-01T00:00:00", "last_run_at": "2026-03-01T00:00:00",
                                 "watch": body.get("watch", False), "new_patients": 0})
            return httpx.Response(201, json=self.cohorts[-1])
        if path == "/cohorts":
            return httpx.Response(200, json=self.cohorts)
        if path == "/cohorts/2" and request.method == "PUT":
            self.cohorts[1]["watch"] = body["watch"]
            return httpx.Response(200, json=self.cohorts[1])
        if path == "/cohorts/2/run":
            self.cohorts[1]["new_patients"] = 0  # the API marks the news seen
            return httpx.Response(200, json=RESULT)
        if path.endswith("/export"):
            return httpx.Response(200, content=b"patient_id\r\n")
        return httpx.Response(404, json={"detail": "introuvable"})

    def sent(self, method: str, path: str) -> list[dict]:
        return [b for m, p, b in self.bodies if m == method and p == path]


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> Fake:
    recorder = Fake()
    patch_client(monkeypatch, recorder)
    return recorder


def _cohorts_page():  # noqa: ANN202
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.query_params["page"] = "cohorts"
    at.run()
    assert not at.exception, at.exception
    return at


def _markdown(at) -> str:  # noqa: ANN001
    return "\n".join(str(m.value) for m in at.markdown)


def test_watched_cohort_badge_toggle_and_new_patients_flagged(fake: Fake) -> None:
    at = _cohorts_page()
    assert "**EP** :orange-badge[3 nouveaux patients]" in _markdown(at)
    assert "Autre" not in _markdown(at)  # not watched: no badge
    picker = at.selectbox(key="cohort_pick")
    assert picker.value == 2 and picker.format_func(2) == "EP · 2 patients · 🔔 3 nouveaux patients"
    assert at.checkbox(key="cohort_watch_2").value is True
    assert "dernière relance automatique : 01/02/2026" in "\n".join(c.value for c in at.caption)

    at.button(key="cohort_rerun").click().run()
    assert not at.exception, at.exception
    flagged = [e.label for e in at.expander if "P003" in e.label]
    assert flagged and "🆕 nouveau" in flagged[0]
    patients = [e.label for e in at.expander if e.label.startswith("👤")]
    assert patients[0].startswith("👤 P003") and patients[-1].startswith("👤 P001")  # the new patient first
    assert "nouveaux patients" not in _markdown(at)  # seen: the list was drawn again without the badge

    at.checkbox(key="cohort_watch_2").uncheck().run()
    assert not at.exception, at.exception
    assert fake.sent("PUT", "/cohorts/2")[-1] == {"name": "EP", "definition": fake.cohorts[1]["definition"], "watch": False}


def test_a_cohort_is_saved_watched(fake: Fake) -> None:
    at = _cohorts_page()
    at.text_input(key="c0_q").input("embolie pulmonaire")
    at.button(key="cohort_eval").click().run()
    at.text_input(key="cohort_name").input("EP 2026").run()
    at.checkbox(key="cohort_watch_new").check().run()
    at.button(key="cohort_save").click().run()
    assert not at.exception, at.exception
    assert fake.sent("POST", "/cohorts")[-1]["watch"] is True


def test_cohort_run_times_are_shown_with_their_time_in_the_portals_zone() -> None:
    """« Dernière exécution : 01/02/2026 »: the UTC date alone (no time for two runs a day, and a run
    at 00:30 in Lyon dated the day before)."""
    from zoneinfo import ZoneInfo

    from ui.render import format_timestamp

    paris = ZoneInfo("Europe/Paris")
    assert format_timestamp("2026-02-01T23:30:00+00:00", paris) == "02/02/2026 00:30 CET"
    assert format_timestamp("2026-07-01T10:05:00+00:00", paris) == "01/07/2026 12:05 CEST"
    assert format_timestamp("2026-01-01T00:00:00", ZoneInfo("UTC")) == "01/01/2026 00:00 UTC"  # naive: UTC
    assert format_timestamp(None) == "jamais" and format_timestamp("hier") == "hier"


def test_cohort_caption_shows_the_run_time(fake: Fake) -> None:
    from ui.render import format_timestamp

    at = _cohorts_page()
    caption = "\n".join(c.value for c in at.caption)
    assert f"Dernière exécution le {format_timestamp('2026-01-01T00:00:00')}" in caption
    assert f"dernière relance automatique : {format_timestamp('2026-02-01T02:10:00+00:00')}" in caption
    assert ":" in format_timestamp("2026-02-01T02:10:00+00:00").split(" ")[1]  # a time, not only a day
