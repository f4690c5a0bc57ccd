"""The audit log screen (admins: metadata; auditors: whole entries): the API's ``GET /audit``, newest first, filtered and paged.

Only what the API returns is shown: each entry's time, user, role, action, target and patients; the
outcome is read from the action (``denied``, ``login_failed`` and ``auth_failed`` are the refusals the
API writes, with their reason). The API has no endpoint for the hash-chain verification, so the screen
says where it is done (``medsearch audit verify`` on the server) instead of claiming a status.

Every ``GET /audit`` is itself written to the log (``audit_read``), so a page is fetched again only
when a filter or the page changes or « Actualiser » is pressed, not on every Streamlit rerun.
« Exporter ces événements (CSV) » asks ``GET /audit/export`` with the same filters on the click only
(each export is an ``audit_export`` entry), then offers the file.
"""

from __future__ import annotations

from datetime import date, datetime
from collections.abc import Callable
from typing import Any

import streamlit as st

from ui import client as api
from ui import render
from ui.auth import ROLE_LABELS
from ui.messages import french

PAGE_SIZES = (25, 50, 100)
# The actions the API writes (search_api: app.py, images.py, patients.py, cohorts.py, security/), and the
# cohort watch (cohort_watch.py, as user « system:cohort-watch » on behalf of the owner).
ACTION_LABELS: dict[str, str] = {
    "search": "Recherche",
    "patient_search": "Recherche de patients",
    "image_search": "Recherche par image",
    "document_read": "Lecture d'un document",
    "image_thumbnail": "Vignette d'image",
    "image_render": "Affichage d'image",
    "patient_view": "Fiche patient",
    "patient_timeline": "Chronologie patient",
    "timeline": "Chronologie patient (documents)",
    "cohort_evaluate": "Évaluation de cohorte",
    "cohort_save": "Enregistrement de cohorte",
    "cohort_open": "Ouverture de cohorte",
    "cohort_run": "Relance de cohorte",
    "cohort_export": "Export de cohorte",
    "cohort_watch_refresh": "Relance automatique de cohorte surveillée",
    "login": "Connexion",
    "login_failed": "Connexion refusée",
    "auth_failed": "Authentification refusée",
    "denied": "Accès refusé",
    "audit_read": "Lecture du journal d'audit",
    "audit_export": "Export du journal d'audit",
}
REFUSALS = frozenset({"denied", "login_failed", "auth_failed"})
MAX_PATIENTS_SHOWN = 3
#: shown when the API withheld the entries' content (an admin without the auditor role)
REDACTED_NOTE = (
    "Vue administrateur : les requêtes, patients et documents sont masqués. Le journal complet et le filtre "
    "par patient sont réservés au rôle auditeur (DPO)."
)
VERIFY_NOTE = (
    "Chaque ligne du journal est chaînée à la précédente (empreinte SHA-256). L'API n'expose pas la "
    "vérification de la chaîne : elle se fait sur le serveur avec « medsearch audit verify »."
)


def _time(value: Any) -> str:
    """ISO UTC timestamp → « 02/12/2026 00:42:07 » (kept in UTC, as the API filters on UTC dates)."""
    try:
        return datetime.fromisoformat(str(value)).strftime("%d/%m/%Y %H:%M:%S")
    except ValueError:
        return str(value or "")


def _target(entry: dict[str, Any]) -> str:
    """What the action was about: a document, a query, a cohort, a refused path."""
    parts: list[str] = []
    if entry.get("document_id"):
        parts.append(f"document {entry['document_id']}")
    if entry.get("query"):
        parts.append(f"requête « {entry['query']} »")
    if entry.get("cohort_id") is not None:
        parts.append(f"cohorte n° {entry['cohort_id']}")
    if isinstance(entry.get("returned"), list):
        count = len(entry["returned"])
        parts.append(f"{count} résultat{'s' if count != 1 else ''}")
    if entry.get("path") and not parts:
        parts.append(str(entry["path"]))
    return " · ".join(parts)


def _patients(entry: dict[str, Any]) -> str:
    patients = [str(entry["patient_id"])] if entry.get("patient_id") else []
    patients += [str(p) for p in entry.get("patients") or [] if str(p) not in patients]
    shown = ", ".join(patients[:MAX_PATIENTS_SHOWN])
    return shown + (f" (+{len(patients) - MAX_PATIENTS_SHOWN})" if len(patients) > MAX_PATIENTS_SHOWN else "")


def _outcome(entry: dict[str, Any]) -> str:
    if entry.get("action") in REFUSALS:
        reason = french(str(entry["reason"])) if entry.get("reason") else ""
        return f"Refusé : {reason}" if reason else "Refusé"
    return "Autorisé"


def audit_rows(entries: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The API's entries as the table's French rows (one per entry, same order)."""
    return [
        {
            "N°": str(entry.get("seq", "")),
            "Date (UTC)": _time(entry.get("ts")),
            "Utilisateur": str(entry.get("user") or ""),
            "Rôle": ROLE_LABELS.get(str(entry.get("role")), str(entry.get("role") or "")).split(" (")[0],
            "Action": ACTION_LABELS.get(str(entry.get("action")), str(entry.get("action") or "")),
            "Cible": _target(entry),
            "Patient(s)": _patients(entry),
            "Résultat": _outcome(entry),
        }
        for entry in entries
    ]


def page_label(offset: int, shown: int, total: int) -> str:
    if total <= 0 or shown <= 0:
        return "Aucun événement"
    return f"Événements {offset + 1}–{offset + shown} sur {total}"


def _set_offset(offset: int) -> None:
    st.session_state["audit_offset"] = max(0, offset)


def _filters() -> tuple[str, str, str, date | None, date | None, int]:
    row = st.columns(3)
    user = row[0].text_input("Utilisateur", key="audit_user", placeholder="ex. dr.martin").strip()
    action = row[1].selectbox("Action", [""] + list(ACTION_LABELS), key="audit_action",
                              format_func=lambda a: ACTION_LABELS.get(a, "Toutes"))
    patient = row[2].text_input("Patient (IPP)", key="audit_patient", placeholder="ex. IPP0001").strip()
    row = st.columns(3)
    date_from = row[0].date_input("Du (UTC)", value=None, format="DD/MM/YYYY", key="audit_from")
    date_to = row[1].date_input("Au (UTC)", value=None, format="DD/MM/YYYY", key="audit_to")
    limit = row[2].selectbox("Événements par page", PAGE_SIZES, index=1, key="audit_limit")
    return user, action, patient, date_from, date_to, int(limit)


def audit_view(client: api.MedsearchClient) -> None:
    """Two tabs: the audit log, and the break-the-glass grants (both for admins and the DPO)."""
    from ui.break_glass_review import break_glass_view  # imports this module's helpers

    st.subheader("🛡️ Journal d'audit")
    journal, grants = st.tabs(["Journal", "🚨 Bris de glace"])
    with journal:
        _journal(client)
    with grants:
        break_glass_view(client)


def _journal(client: api.MedsearchClient) -> None:
    """Filters, the page of entries as a table, paging, and where the chain is verified."""
    st.caption("Toutes les recherches, lectures, accès aux images, connexions et refus, du plus récent au plus ancien.")
    filters = _filters()
    if st.session_state.get("audit_filters") != filters:  # a new filter: back to the first page
        st.session_state["audit_filters"] = filters
        st.session_state["audit_offset"] = 0
    offset = int(st.session_state.get("audit_offset", 0))
    refresh = st.button("Actualiser", key="audit_refresh")
    key = (client.base_url, client.user, filters, offset)
    cached = st.session_state.get("audit_cache")
    if refresh or cached is None or cached[0] != key:
        user, action, patient, date_from, date_to, limit = filters
        try:
            body = client.audit(user, action, patient, date_from, date_to, limit=limit, offset=offset)
        except api.ApiError as exc:
            st.session_state.pop("audit_cache", None)
            st.error(f"Journal d'audit indisponible. {render.api_error_text(exc)}")
            return
        cached = (key, body)
        st.session_state["audit_cache"] = cached
    body = cached[1]
    entries = list(body.get("entries") or [])
    total = int(body.get("total") or 0)
    limit = filters[-1]
    st.markdown(page_label(offset, len(entries), total))
    if body.get("redacted"):
        st.caption(REDACTED_NOTE)
    if entries:
        st.dataframe(audit_rows(entries), hide_index=True)
    else:
        st.info("Aucun événement ne correspond à ces filtres.")
    prev_col, _, next_col = st.columns([1, 4, 1])
    prev_col.button("◀ Précédent", key="audit-prev", disabled=offset <= 0, on_click=_set_offset, args=(offset - limit,))
    next_col.button("Suivant ▶", key="audit-next", disabled=offset + len(entries) >= total, on_click=_set_offset,
                    args=(offset + limit,))
    _export(client, filters)
    st.caption(VERIFY_NOTE)


def _export(client: api.MedsearchClient, filters: tuple[Any, ...]) -> None:
    """« Exporter (CSV) » of the journal's entries under *filters*."""
    user, action, patient, date_from, date_to, _ = filters
    csv_export("Exporter ces événements (CSV)", "audit_export", filters,
               lambda: client.audit_export(user, action, patient, date_from, date_to), "journal-audit.csv", "audit-dl")


def csv_export(label: str, key: str, filters: object, fetch: Callable[[], bytes], file_name: str, download_key: str) -> None:
    """A CSV export button: the API is asked on the click only (each export is an audit entry), then the
    file is offered for download while *filters* stay the same (kept in ``st.session_state[key + "_file"]``)."""
    if st.button(label, key=key):
        try:
            st.session_state[f"{key}_file"] = (filters, fetch())
        except api.ApiError as exc:
            st.error(f"Export impossible. {render.api_error_text(exc)}")
    ready = st.session_state.get(f"{key}_file")
    if ready is not None and ready[0] == filters:
        st.download_button("⬇ Télécharger le CSV", ready[1], file_name=file_name, mime="text/csv", key=download_key)
