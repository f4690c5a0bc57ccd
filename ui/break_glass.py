"""« Bris de glace » in the portal: ask for an exceptional access to one patient, and see it while it lasts.

Three pieces, hooked into the app with one line each:

* :func:`sidebar_entry`: « Accès exceptionnel (bris de glace) » in the sidebar (a patient id, then the
  patient view, where the form is);
* :func:`offer`: under a patient view that answered 404 to a restricted clinician, the form (motive,
  reason, the warning that the access is traced and reviewed by the DPO); once granted, the page
  reruns and the patient view opens;
* :func:`banner`: while the user holds grants, a banner naming each patient and when it ends, with
  « Terminer » to end it early.

The API decides everything (who may, for how long, no oracle of which ids exist): the portal only
asks and shows. Which clinicians are restricted comes from ``/auth/me`` (units or patients).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

from ui import client as api
from ui import nav, render

#: the API's motives (search_api.security.break_glass.Motive), as the form lists them
MOTIVES = {
    "urgence": "Urgence",
    "garde/astreinte": "Garde / astreinte",
    "transfert": "Transfert du patient",
    "continuité des soins": "Continuité des soins",
    "autre": "Autre (à préciser)",
}
MIN_REASON_CHARS = 15  # the API's minimum (search_api.security.break_glass.MIN_REASON_CHARS)
WARNING = ("Cet accès exceptionnel est **tracé** (motif, justification, chaque consultation du dossier) et "
           "**revu par le délégué à la protection des données**. N'y recourez que pour la prise en charge de ce "
           "patient. Il prend fin automatiquement.")


def restricted(client: api.MedsearchClient) -> bool:
    """Whether the signed-in user is a clinician restricted to units or patients (the only ones who can
    break the glass), read from ``/auth/me`` once per signed-in user (another login asks again). Only
    decides what the portal offers: the API refuses anyone else whatever the portal shows."""
    cached = st.session_state.get("_bg_me")
    if cached is not None and cached[0] == client.user:
        me = cached[1]
    else:
        try:
            me = client.whoami()
        except api.ApiError:
            return False
        st.session_state["_bg_me"] = (client.user, me)
    return "clinician" in (me.get("roles") or []) and (me.get("units") is not None or me.get("patients") is not None)


def sidebar_entry(client: api.MedsearchClient) -> None:
    """The sidebar's « Accès exceptionnel (bris de glace) »: opens the patient view, which offers the form."""
    if not restricted(client):
        return
    with st.sidebar.expander("🔓 Accès exceptionnel (bris de glace)"):
        st.caption("Pour un patient hors de vos services (urgence, garde, transfert).")
        patient = st.text_input("Identifiant du patient (IPP)", key="bg-patient", max_chars=64)
        if st.button("Ouvrir le dossier", key="bg-open", disabled=not patient.strip()):
            nav.open_patient(patient.strip())
            st.rerun()


def offer(client: api.MedsearchClient, patient_id: str, error: api.ApiError) -> None:
    """The break-the-glass form under a patient view the API refused (404) to a restricted clinician."""
    if error.status != 404 or not restricted(client):
        return
    st.info("Ce dossier est hors de votre périmètre d'accès. En cas de nécessité de soins, vous pouvez demander "
            "un accès exceptionnel (bris de glace).")
    with st.form(f"bg-form-{patient_id}"):
        st.warning(WARNING)
        motive = st.selectbox("Motif", list(MOTIVES), format_func=MOTIVES.__getitem__, key="bg-motive")
        reason = st.text_area("Justification (obligatoire)", key="bg-reason", max_chars=1000,
                              help=f"{MIN_REASON_CHARS} caractères au moins : pourquoi cet accès est nécessaire.")
        confirmed = st.checkbox("Je certifie que cet accès est nécessaire à la prise en charge du patient", key="bg-confirm")
        submitted = st.form_submit_button("Accéder au dossier (bris de glace)", type="primary")
    if not submitted:
        return
    problem = form_problem(reason, confirmed)
    if problem:
        st.error(problem)
        return
    try:
        client.break_glass(patient_id, motive, reason.strip())
    except api.ApiError as exc:
        st.error(render.api_error_text(exc))
        return
    st.rerun()  # the patient view, now admitted


def form_problem(reason: str, confirmed: bool) -> str | None:
    """What is missing before the request can be sent (None: nothing); the API checks again."""
    if len(reason.strip()) < MIN_REASON_CHARS:
        return f"Précisez la justification ({MIN_REASON_CHARS} caractères au moins)."
    if not confirmed:
        return "Cochez la certification pour continuer."
    return None


def banner(client: api.MedsearchClient) -> None:
    """While the user holds grants: which patients, until when, and « Terminer » for each."""
    if not restricted(client):
        return
    try:
        grants = client.my_grants()
    except api.ApiError:
        return
    for grant in grants:
        text_col, button_col = st.columns([6, 1], vertical_alignment="center")
        text_col.warning(banner_text(grant), icon="🔓")
        if button_col.button("Terminer", key=f"bg-end-{grant['id']}"):
            try:
                client.end_grant(str(grant["id"]))
            except api.ApiError as exc:
                st.error(render.api_error_text(exc))
                return
            st.rerun()


def banner_text(grant: dict[str, Any]) -> str:
    """« Accès exceptionnel (bris de glace) au dossier P900001 jusqu'à 02:00 UTC : tracé et revu par le DPO. »"""
    try:
        until = datetime.fromisoformat(str(grant.get("expires_at"))).strftime("%d/%m %H:%M UTC")
    except ValueError:
        until = str(grant.get("expires_at"))
    return (f"Accès exceptionnel (bris de glace) au dossier {grant.get('patient_id')} jusqu'au {until} "
            f"({MOTIVES.get(str(grant.get('motive')), grant.get('motive'))}) : chaque consultation est tracée et "
            "revue par le DPO.")
