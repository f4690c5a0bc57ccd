"""The audit screen's « Bris de glace » tab: the DPO (auditor) and admins review break-the-glass grants.

``GET /audit/break-glass`` lists every grant, newest first; an admin gets them without the patient and
the justification (the API drops both, ``redacted``), shown here as « masqué » rather than blank, so an
empty cell is never read as "no patient". Each list call is itself audited (``audit_read``), so it is
fetched again only when a filter changes, after a revocation, or on « Actualiser ». A grant is revoked
(``DELETE /access/break-glass/{id}``) after an explicit confirmation, since it cuts a clinician's access
to a patient's file. The export (``GET /audit/export?break_glass=true``: the grants and what was read
under them) is asked on the click only, as each export is an audit entry. The API gives no count of the
accesses made under a grant, so none is shown: they are in the export.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import client as api
from ui import render
from ui.audit_page import _time, csv_export
from ui.break_glass import MOTIVES

MASKED = "masqué"
EMPTY_TEXT = "Aucun accès exceptionnel (bris de glace) ne correspond à ces filtres."
REDACTED_NOTE = ("Vue administrateur : le patient et la justification de chaque accès exceptionnel sont masqués "
                 "(réservés au rôle auditeur, DPO).")


def grant_rows(grants: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The API's grants as French rows; a key the API withheld (admin view) reads « masqué »."""
    return [
        {
            "Date (UTC)": _time(g.get("created_at")),
            "Utilisateur": str(g.get("user") or ""),
            "Patient": str(g["patient_id"]) if "patient_id" in g else MASKED,
            "Motif": MOTIVES.get(str(g.get("motive")), str(g.get("motive") or "")),
            "Justification": str(g["reason"]) if "reason" in g else MASKED,
            "Fin (UTC)": _time(g.get("revoked_at") or g.get("expires_at")),
            "Actif": "oui" if g.get("active") else ("révoqué" if g.get("revoked_at") else "non"),
        }
        for g in grants
    ]


def _filters() -> tuple[str, bool]:
    row = st.columns(2)
    user = row[0].text_input("Utilisateur", key="bga_user", placeholder="ex. dr.martin").strip()
    active_only = row[1].checkbox("Accès actifs seulement", key="bga_active")
    return user, active_only


def _grants(client: api.MedsearchClient, filters: tuple[str, bool]) -> dict[str, Any] | None:
    """The grants for *filters*, read from the API only when they changed or on « Actualiser »."""
    refresh = st.button("Actualiser", key="bga_refresh")
    key = (client.base_url, client.user, filters)
    cached = st.session_state.get("bga_cache")
    if refresh or cached is None or cached[0] != key:
        try:
            cached = (key, client.break_glass_grants(*filters))
        except api.ApiError as exc:
            st.session_state.pop("bga_cache", None)
            st.error(f"Accès exceptionnels indisponibles. {render.api_error_text(exc)}")
            return None
        st.session_state["bga_cache"] = cached
    return cached[1]


def _ask_revoke(grant_id: str) -> None:
    st.session_state["bga_confirm"] = grant_id


def _revoke(client: api.MedsearchClient, grant_id: str) -> bool:
    """« Confirmer » pressed: DELETE the grant, then list again (the cache is dropped). False (and the
    refusal shown, the confirmation kept) when the API refused."""
    try:
        client.end_grant(grant_id)
    except api.ApiError as exc:
        st.error(f"Révocation impossible. {render.api_error_text(exc)}")
        return False
    st.session_state.pop("bga_confirm", None)
    st.session_state.pop("bga_cache", None)
    st.session_state["bga_done"] = grant_id
    return True


def _revoke_buttons(client: api.MedsearchClient, grants: list[dict[str, Any]]) -> None:
    """A « Révoquer » button per active grant; the DELETE waits for « Confirmer la révocation »."""
    pending = st.session_state.get("bga_confirm")
    for grant in (g for g in grants if g.get("active")):
        gid = str(grant.get("id"))
        label = f"{grant.get('user')} — {_time(grant.get('created_at'))}"
        cols = st.columns([4, 1])
        cols[0].markdown(label)
        cols[1].button("Révoquer", key=f"bga-revoke-{gid}", on_click=_ask_revoke, args=(gid,))
        if pending == gid:
            st.warning(f"Révoquer l'accès exceptionnel de {grant.get('user')} ? Il perd immédiatement l'accès au dossier.")
            yes, no = st.columns(2)
            if yes.button("Confirmer la révocation", key="bga-confirm", type="primary") and _revoke(client, gid):
                st.rerun()
            if no.button("Annuler", key="bga-cancel"):
                st.session_state.pop("bga_confirm", None)
                st.rerun()


def _export(client: api.MedsearchClient, user: str) -> None:
    """The break-glass entries as CSV (:func:`ui.audit_page.csv_export`: asked on the click only)."""
    csv_export("Exporter les accès exceptionnels (CSV)", "bga_export", user,
               lambda: client.audit_export(user, break_glass=True), "bris-de-glace.csv", "bga-dl")


def break_glass_view(client: api.MedsearchClient) -> None:
    """The grants' table, its filters, revocation of active grants, and the CSV export."""
    st.caption("Accès exceptionnels ouverts par des cliniciens hors de leur périmètre, du plus récent au plus ancien.")
    filters = _filters()
    body = _grants(client, filters)
    done = st.session_state.pop("bga_done", None)
    if done:
        st.success("Accès exceptionnel révoqué.")
    if body is None:
        return
    grants = list(body.get("grants") or [])
    if body.get("redacted"):
        st.caption(REDACTED_NOTE)
    if grants:
        st.dataframe(grant_rows(grants), hide_index=True)
        _revoke_buttons(client, grants)
    else:
        st.info(EMPTY_TEXT)
    _export(client, filters[0])
