"""Navigation between the portal's screens, kept in the URL so every screen can be shared.

``?doc=ID`` is the document view, ``?patient=ID`` the patient view, ``?page=cohorts`` the cohort
builder, ``?page=audit`` the audit log (admins); no parameter is the search. Button callbacks only
change these parameters (callbacks run before the next script run, so the new screen is drawn at once).

Streamlit keeps the page's scroll offset from one screen to the next; :func:`scroll_on_screen_change`
shows a new screen from its top and, on « back », the element the reader had clicked (anchors noted by
:func:`remember_anchor`); :func:`back_label` says where « back » goes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import streamlit as st

SCREEN_KEYS = ("doc", "patient", "page")
#: session-state keys: the screen drawn last run, and per screen the element to come back to
SCREEN_STATE = "nav_screen"
ANCHORS_STATE = "nav_anchors"
SCROLL_SERIAL_STATE = "nav_scroll_serial"
#: how long the scroll script waits for its anchor to be drawn (Streamlit sends the page piecewise)
ANCHOR_WAIT_MS = 3000

Screen = tuple[str, str, str]


def screen_of(params: Mapping[str, Any]) -> Screen:
    """The screen a URL shows: (document, patient, page). The search's own parameters (q, filters) are
    not a screen: changing them must not move the page."""
    def one(key: str) -> str:
        value = params.get(key) or ""
        return str(value[-1] if isinstance(value, list) and value else value or "")

    page = one("page")
    return one("doc"), one("patient"), "" if page == "search" else page


def scroll_script(anchor: str | None, serial: int) -> str:
    """Script that shows a newly opened screen from its top, or, coming back, at the element *anchor*.

    Why: Streamlit keeps the scroll offset across reruns, so « Dossier patient » clicked on the 5th
    result opened the patient mid-timeline (identity and « Retour » out of sight, on a phone several
    screens down), and « Retour aux résultats » went to the top of the list, not to the result left.
    *serial* makes each script distinct, so the browser runs it again on every change of screen.
    The portal's HTML sanitiser emptied a first version: no ``<`` and no comment inside the script."""
    return (
        f"<script>window.msScroll={int(serial)};(function(){{var a={json.dumps(anchor)},t0=Date.now();"
        "function top(){['[data-testid=stMain]','[data-testid=stAppViewContainer]']"
        ".forEach(function(s){var e=document.querySelector(s);if(e){e.scrollTop=0;}});window.scrollTo(0,0);}"
        "function go(){if(!a){top();return;}var e=document.getElementById(a);"
        "if(e){e.scrollIntoView({block:'start'});return;}"
        f"if({ANCHOR_WAIT_MS}>Date.now()-t0){{setTimeout(go,100);}}else{{top();}}}}"
        "go();if(!a){setTimeout(top,150);}})();</script>"
    )


#: below this width (px) Streamlit's sidebar covers the page instead of standing beside it
PHONE_WIDTH_PX = 768
SIDEBAR_CLOSED_STATE = "nav_sidebar_closed"
#: closes the sidebar on a narrow screen (no « < » in it, as for scroll_script)
CLOSE_SIDEBAR_ON_PHONE_SCRIPT = (
    f"<script>window.msSidebar=1;setTimeout(function(){{if({PHONE_WIDTH_PX}>window.innerWidth){{"
    "var b=document.querySelector('[data-testid=stSidebarCollapseButton] button');if(b){b.click();}}},300);</script>"
)


def close_sidebar_on_phone(state: Any) -> str | None:
    """The script that closes the sidebar on a phone, once per session (the first run after the login).

    Why: the login form is in the sidebar; once logged in on a 390 px phone the sidebar stayed open over
    the search and its results, a cardiologist had to find the small « « » to see them."""
    if state.get(SIDEBAR_CLOSED_STATE):
        return None
    state[SIDEBAR_CLOSED_STATE] = True
    return CLOSE_SIDEBAR_ON_PHONE_SCRIPT


def remember_anchor(anchor: str | None) -> None:
    """Note where the reader was on the screen being left, to come back there."""
    if anchor:
        st.session_state.setdefault(ANCHORS_STATE, {})[screen_of(st.query_params.to_dict())] = anchor


def scroll_on_screen_change(params: Mapping[str, Any], state: Any) -> str | None:
    """The scroll script to run this run (None when the screen is the one drawn last run, or the first one).

    *state*: Streamlit's session state (a dict in tests). The anchor is used once: a later visit to the
    same screen by another way (a link, the sidebar) starts at the top."""
    screen = screen_of(params)
    previous = state.get(SCREEN_STATE)
    state[SCREEN_STATE] = screen
    if previous is None or tuple(previous) == screen:
        return None
    anchor = state.setdefault(ANCHORS_STATE, {}).pop(screen, None)
    state[SCROLL_SERIAL_STATE] = int(state.get(SCROLL_SERIAL_STATE, 0)) + 1
    return scroll_script(anchor, state[SCROLL_SERIAL_STATE])


def back_label(params: Mapping[str, Any]) -> str:
    """The « back » button's words for the screen under the one shown: the patient under a document,
    else the cohorts or the results. Why: a patient opened from a cohort said « Retour aux résultats »
    and went back to the cohort; a research associate expected the search results."""
    screen = screen_of(params)
    if screen[0] and screen[1]:
        return "← Retour au patient"
    return "← Retour à la cohorte" if screen[2] == "cohorts" else "← Retour aux résultats"


def _clear(*keys: str) -> None:
    for key in keys:
        if key in st.query_params:
            del st.query_params[key]


def open_document(doc_id: str, anchor: str | None = None) -> None:
    """Show one document (the patient view, if open, stays underneath: « back » returns to it).
    *anchor*: id of the element clicked, where « back » brings the reader."""
    remember_anchor(anchor)
    st.query_params["doc"] = doc_id


def close_document() -> None:
    """Back from the document view to the screen under it (results, patient or cohorts)."""
    _clear("doc")


def open_patient(patient_id: str, anchor: str | None = None) -> None:
    """Show one patient's identity and timeline (*anchor*: as for :func:`open_document`)."""
    remember_anchor(anchor)
    _clear("doc")
    st.query_params["patient"] = patient_id


def close_patient() -> None:
    _clear("doc", "patient")


def open_page(page: str) -> None:
    """Switch between the search (``search``), the cohorts (``cohorts``) and the audit log (``audit``)."""
    _clear("doc", "patient")
    if page == "search":
        _clear("page")
    else:
        st.query_params["page"] = page
