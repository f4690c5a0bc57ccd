"""A new screen opens at its top; « Retour » comes back to the element left (cardiologist walkthrough).

Streamlit keeps the scroll offset across reruns: « Dossier patient » clicked on the 5th result opened the
patient mid-timeline (identity and « ← Retour aux résultats » out of sight: on a 390×844 phone, several
screens down), and « Retour aux résultats » went to the top of the list instead of the result left."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from test_ui_patients import Fake  # noqa: E402
from ui import nav, render  # noqa: E402
from ui_support import markdown, patch_client, run_app  # noqa: E402

RESULTS: nav.Screen = ("", "", "")
PATIENT: nav.Screen = ("", "P001", "")


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> Fake:
    recorder = Fake()
    patch_client(monkeypatch, recorder)
    return recorder


def _scripts(at) -> list[str]:  # noqa: ANN001
    return [h.proto.body for h in at.get("html") if "msScroll" in h.proto.body]


def _anchor(script: str) -> str | None:
    found = re.search(r"var a=(null|\"[^\"]*\")", script)
    assert found, script
    return None if found.group(1) == "null" else found.group(1).strip('"')


def test_screen_is_the_navigation_part_of_the_url_only() -> None:
    assert nav.screen_of({"q": "IDM", "kinds": ["report"]}) == RESULTS
    assert nav.screen_of({"q": "IDM", "patient": "P001"}) == PATIENT
    assert nav.screen_of({"patient": ["P001"], "doc": ["r1"]}) == ("r1", "P001", "")
    assert nav.screen_of({"page": "search"}) == RESULTS


def test_script_only_on_a_change_of_screen_and_the_anchor_used_once() -> None:
    state: dict = {}
    assert nav.scroll_on_screen_change({"q": "IDM"}, state) is None  # first screen: as the browser opens it
    assert nav.scroll_on_screen_change({"q": "IDM sans"}, state) is None  # a new query is not a new screen
    state[nav.ANCHORS_STATE] = {RESULTS: "ms-result-5"}
    opened = nav.scroll_on_screen_change({"q": "IDM", "patient": "P001"}, state)
    assert opened is not None and _anchor(opened) is None
    back = nav.scroll_on_screen_change({"q": "IDM"}, state)
    assert back is not None and _anchor(back) == "ms-result-5"
    nav.scroll_on_screen_change({"patient": "P001"}, state)
    again = nav.scroll_on_screen_change({"q": "IDM"}, state)
    assert again is not None and _anchor(again) is None
    assert opened != nav.scroll_on_screen_change({"patient": "P001"}, state)  # distinct: the browser runs each


def test_script_survives_the_sanitiser() -> None:
    """A script with « < » or a comment in it reached the page empty (seen in Chromium): nothing ran."""
    body = nav.scroll_script("ms-tl-0-3", 7)
    inner = body.removeprefix("<script>").removesuffix("</script>")
    assert "<" not in inner and "/*" not in inner and "//" not in inner
    assert '"ms-tl-0-3"' in inner


def test_patient_opens_at_its_top_and_back_returns_to_the_result(fake: Fake) -> None:
    at = run_app(q="infarctus")
    assert f'id="{render.result_anchor(2)}"' in markdown(at)
    assert _scripts(at) == []
    at.button(key="patient-2-r2").click().run()
    assert fake.paths("/patients/P001/timeline"), "the patient view was not opened"
    [opened] = _scripts(at)
    assert _anchor(opened) is None
    at.button(key="patient-back").click().run()
    [back] = _scripts(at)
    assert _anchor(back) == render.result_anchor(2)


def test_back_from_a_timeline_document_returns_to_its_entry(fake: Fake) -> None:
    at = run_app(patient="P001", q="infarctus")
    assert f'id="{render.timeline_anchor(0, 1)}"' in markdown(at)
    at.button(key="tl-0-1-rec").click().run()
    [opened] = _scripts(at)
    assert _anchor(opened) is None
    at.button(key="back").click().run()
    [back] = _scripts(at)
    assert _anchor(back) == render.timeline_anchor(0, 1)


@pytest.mark.parametrize(("params", "label"), [
    ({"q": "IDM", "patient": "P001"}, "← Retour aux résultats"),
    ({"q": "IDM", "doc": "r1"}, "← Retour aux résultats"),
    ({"patient": "P001", "doc": "r1"}, "← Retour au patient"),
    ({"page": "cohorts", "patient": "PSN-1"}, "← Retour à la cohorte"),
    ({"page": "cohorts", "doc": "r1"}, "← Retour à la cohorte"),
])
def test_back_says_where_it_goes(params: dict, label: str) -> None:
    assert nav.back_label(params) == label


def test_a_patient_opened_from_a_cohort_goes_back_to_the_cohort(fake: Fake) -> None:
    """The research associate's « Voir le patient » on a cohort member: « back » said « Retour aux résultats »."""
    at = run_app(page="cohorts", patient="P001")
    assert at.button(key="patient-back").label == "← Retour à la cohorte"
    at.button(key="patient-back").click().run()
    assert any(s.value == "👥 Cohortes" for s in at.subheader)


def test_back_from_a_screened_patient_returns_to_the_saved_cohort(monkeypatch: pytest.MonkeyPatch) -> None:
    """Screening a saved cohort: « Voir le patient » then « ← Retour à la cohorte » showed the cohort
    builder at the top of the page; the saved cohort's list is below it, a long scroll away. Then it showed
    the saved cohorts' heading, not the patient left (portal4): now the patient's own entry."""
    from test_ui_cohort_screening import Fake as ScreeningFake
    from test_ui_cohort_screening import _rerun_page
    from ui.cohort_page import patient_anchor

    patch_client(monkeypatch, ScreeningFake())
    at = _rerun_page()
    at.button(key="cohort-rerun-open-P002").click().run()
    assert not at.exception, at.exception
    [opened] = _scripts(at)
    assert _anchor(opened) is None
    at.button(key="patient-back").click().run()
    [back] = _scripts(at)
    assert _anchor(back) == patient_anchor("cohort-rerun", "P002")


def test_the_sidebar_closes_on_a_phone_once_logged_in(fake: Fake) -> None:
    """On a 390 px phone the sidebar (which holds the login form) stayed open over the results once logged in."""
    inner = nav.CLOSE_SIDEBAR_ON_PHONE_SCRIPT.removeprefix("<script>").removesuffix("</script>")
    assert "<" not in inner and "stSidebarCollapseButton" in inner and f"{nav.PHONE_WIDTH_PX}>window.innerWidth" in inner
    at = run_app(q="infarctus")
    assert [h.proto.body for h in at.get("html")].count(nav.CLOSE_SIDEBAR_ON_PHONE_SCRIPT) == 1
    at.text_input(key="q").set_value("NSTEMI").run()
    assert nav.CLOSE_SIDEBAR_ON_PHONE_SCRIPT not in [h.proto.body for h in at.get("html")]  # once: the user may reopen it
