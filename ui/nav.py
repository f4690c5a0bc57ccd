"""Navigation between the portal's screens, kept in the URL so every screen can be shared.

``?doc=ID`` is the document view, ``?patient=ID`` the patient view, ``?page=cohorts`` the cohort
builder, ``?page=audit`` the audit log (admins); no parameter is the search. Button callbacks only
change these parameters (callbacks run before the next script run, so the new screen is drawn at once).
"""

from __future__ import annotations

import streamlit as st

SCREEN_KEYS = ("doc", "patient", "page")


def _clear(*keys: str) -> None:
    for key in keys:
        if key in st.query_params:
            del st.query_params[key]


def open_document(doc_id: str) -> None:
    """Show one document (the patient view, if open, stays underneath: « back » returns to it)."""
    st.query_params["doc"] = doc_id


def close_document() -> None:
    """Back from the document view to the screen under it (results, patient or cohorts)."""
    _clear("doc")


def open_patient(patient_id: str) -> None:
    """Show one patient's identity and timeline."""
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
