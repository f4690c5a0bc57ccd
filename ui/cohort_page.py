"""The cohort builder: criteria → patients with evidence → hand-made changes → save → re-run → export.

A criterion is a query (« sans X » for a negated finding) and/or structured filters; patients must
(or must not) have a document satisfying it. The result lists each patient with the document and
passage that satisfied each criterion. Excluding or adding patients by hand, naming and saving,
re-running (who is new) and exporting (CSV, Excel) go through the API's ``/cohorts`` endpoints. A
watched cohort (« Surveiller ») is re-evaluated by the API after each indexation; the list shows a
badge « N nouveaux patients » until « Relancer » shows them, flagged 🆕.
"""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from ui import client as api
from ui import nav, render
from ui.patient_page import _no_select_all

INCLUDE_LABELS = {"must": "doit avoir", "must_not": "ne doit pas avoir"}
SEX_OPTIONS = {"": "Tous", "male": "Hommes", "female": "Femmes"}
MAX_CRITERIA = 5
WATCH_LABEL = "Surveiller (relancer après chaque indexation)"


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def criterion_form(index: int) -> dict[str, Any]:
    """One criterion's widgets → its JSON (only the fields that were set)."""
    with st.container(border=True):
        st.markdown(f"**Critère {index + 1}**")
        head = st.columns([2, 5])
        include = head[0].selectbox("Le patient", list(INCLUDE_LABELS), format_func=INCLUDE_LABELS.__getitem__,
                                    key=f"c{index}_include")
        q = head[1].text_input("Requête (« sans X » pour une mention niée)", key=f"c{index}_q",
                               placeholder="ex. embolie pulmonaire").strip()
        row = st.columns(4)
        kinds = row[0].multiselect("Types", render.KINDS, format_func=render.kind_plural, key=f"c{index}_kinds",
                                   placeholder="Tous", **_no_select_all())
        departments = row[1].text_input("Services", key=f"c{index}_departments", placeholder="ex. Cardiologie")
        modalities = row[2].text_input("Modalités", key=f"c{index}_modalities", placeholder="ex. CT, MR")
        body_parts = row[3].text_input("Régions", key=f"c{index}_body_parts", placeholder="ex. CHEST")
        row = st.columns(4)
        date_from = row[0].date_input("Du", value=None, format="DD/MM/YYYY", key=f"c{index}_from")
        date_to = row[1].date_input("Au", value=None, format="DD/MM/YYYY", key=f"c{index}_to")
        age_min = row[2].number_input("Âge min. (à la date)", min_value=0, max_value=130, value=None, key=f"c{index}_amin")
        age_max = row[3].number_input("Âge max.", min_value=0, max_value=130, value=None, key=f"c{index}_amax")
        row = st.columns(4)
        stay_from = row[0].date_input("Séjour entre le", value=None, format="DD/MM/YYYY", key=f"c{index}_sfrom",
                                      help="Le patient a un séjour (période de la venue) qui chevauche ces dates ; "
                                           "les documents du critère doivent dater de ce séjour")
        stay_to = row[1].date_input("et le", value=None, format="DD/MM/YYYY", key=f"c{index}_sto")
    criterion: dict[str, Any] = {"include": include, "label": q or f"critère {index + 1}"}
    if q:
        criterion["q"] = q
    for key, values in (("kinds", kinds), ("departments", _split(departments)), ("modalities", _split(modalities)),
                        ("body_parts", _split(body_parts))):
        if values:
            criterion[key] = list(values)
    if date_from:
        criterion["date_from"] = date_from.isoformat()
    if date_to:
        criterion["date_to"] = date_to.isoformat()
    if stay_from:
        criterion["stay_from"] = stay_from.isoformat()
    if stay_to:
        criterion["stay_to"] = stay_to.isoformat()
    if age_min is not None:
        criterion["age_min"] = int(age_min)
    if age_max is not None:
        criterion["age_max"] = int(age_max)
    return criterion


def definition_form() -> dict[str, Any]:
    count = int(st.number_input("Nombre de critères", min_value=1, max_value=MAX_CRITERIA, value=1, key="cohort_n"))
    criteria = [criterion_form(i) for i in range(count)]
    sex = st.radio("Sexe", list(SEX_OPTIONS), format_func=SEX_OPTIONS.__getitem__, horizontal=True, key="cohort_sex")
    definition: dict[str, Any] = {"criteria": criteria}
    if sex:
        definition["sex"] = sex
    if count > 1 and st.toggle("Relation temporelle entre deux critères", key="cohort_rel"):
        cols = st.columns(3)
        labels = [f"critère {i + 1}" for i in range(count)]
        then = cols[0].selectbox("Le", range(count), index=1, format_func=labels.__getitem__, key="cohort_rel_then")
        days = cols[1].number_input("au plus N jours après", min_value=0, max_value=3650, value=30, key="cohort_rel_days")
        first = cols[2].selectbox("le", range(count), index=0, format_func=labels.__getitem__, key="cohort_rel_first")
        definition["relation"] = {"first": int(first), "then": int(then), "within_days": int(days)}
    return definition


def show_result(result: dict[str, Any], editable: bool, key: str = "cohort") -> list[str]:
    """Patients with their evidence; returns the ids the physician ticked « exclure ».

    *key* prefixes the widgets' keys: the cohort being built and a saved one re-run are on the
    screen together, often with the same patients (same keys crashed the page)."""
    new = f" · {result['new']} nouveau(x)" if result.get("new") else ""
    left = f" · sortis : {', '.join(result['left'])}" if result.get("left") else ""
    st.markdown(f"**{result['total']} patient{'s' if result['total'] != 1 else ''}**{new}{left}")
    if result.get("excluded"):
        st.caption("Exclus à la main : " + ", ".join(result["excluded"]))
    excluded = []
    # the new patients first (stable: the API's order otherwise): they are what a re-run is looked at for
    for patient in sorted(result["patients"], key=lambda p: not p.get("new")):
        sex = render.SEX_LABELS.get(patient.get("sex") or "", "")
        age = f"{patient['age']} ans" if patient.get("age") is not None else ""
        flags = " · ".join(x for x in (sex, age, "ajouté à la main" if patient.get("by_hand") else "",
                                       "🆕 nouveau" if patient.get("new") else "") if x)
        with st.expander(f"👤 {patient['patient_id']}" + (f" · {flags}" if flags else ""), expanded=len(result["patients"]) <= 5):
            for evidence in patient["evidence"]:
                st.markdown(render.evidence_html(evidence), unsafe_allow_html=True)
            cols = st.columns(2)
            cols[0].button("Voir le patient", key=f"{key}-open-{patient['patient_id']}", on_click=nav.open_patient,
                           args=(patient["patient_id"],))
            if editable and cols[1].checkbox("Exclure", key=f"{key}-excl-{patient['patient_id']}"):
                excluded.append(patient["patient_id"])
    return excluded


def cohort_view(client: api.MedsearchClient, deidentified: bool = False) -> None:
    """*deidentified*: a researcher's view, where patients are added by pseudonym (a real IPP is refused)."""
    st.subheader("👥 Cohortes")
    st.caption("Combinez des requêtes et des filtres ; le patient doit (ou ne doit pas) avoir un document qui "
               "satisfait chaque critère.")
    definition = definition_form()
    if st.button("Voir les patients", type="primary", key="cohort_eval"):
        try:
            st.session_state["cohort_result"] = (definition, client.evaluate_cohort(definition))
        except api.ApiError as exc:
            st.error(render.api_error_text(exc))
    stored = st.session_state.get("cohort_result")
    if stored is not None:
        evaluated, result = stored
        excluded = show_result(result, editable=True)
        who = "pseudonymes PSN-…" if deidentified else "IPP"
        added = [p.strip() for p in st.text_input(f"Ajouter des patients à la main ({who}, séparés par des virgules)",
                                                  key="cohort_add").split(",") if p.strip()]
        name_col, save_col = st.columns([4, 1], vertical_alignment="bottom")
        name = name_col.text_input("Nom de la cohorte", key="cohort_name", placeholder="ex. EP sous anticoagulant 2024")
        watch = st.checkbox(WATCH_LABEL, key="cohort_watch_new")
        if save_col.button("Enregistrer", key="cohort_save", disabled=not name.strip()):
            to_save = {**evaluated, "excluded": excluded, "included": added}
            try:
                saved = client.save_cohort(name.strip(), to_save, watch=watch)
                st.success(f"Cohorte « {saved['name']} » enregistrée : {len(saved['members'])} patients.")
                st.session_state["cohort_selected"] = saved["id"]
                # and picked below (drawn after this): the picker kept its earlier choice, so « Relancer »
                # and the exports right after saving were another cohort's
                st.session_state["cohort_pick"] = saved["id"]
            except api.ApiError as exc:
                st.error(render.api_error_text(exc))
    saved_cohorts(client)


def saved_cohorts(client: api.MedsearchClient) -> None:
    st.divider()
    st.subheader("Cohortes enregistrées")
    _send_watch(client)
    try:
        cohorts = client.cohorts()
    except api.ApiError as exc:
        st.error(render.api_error_text(exc))
        return
    if not cohorts:
        st.caption("Aucune cohorte enregistrée.")
        return
    by_id = {c["id"]: c for c in cohorts}
    default = st.session_state.get("cohort_selected")
    ids = list(by_id)
    for listed in cohorts:
        if listed.get("watch") and listed.get("new_patients"):
            st.markdown(f"🔔 **{_md(listed['name'])}** " + badge_markdown(listed["new_patients"]))
    chosen = st.selectbox(
        "Cohorte", ids, index=ids.index(default) if default in by_id else len(ids) - 1, key="cohort_pick",
        format_func=lambda i: cohort_label(by_id[i]),
    )
    cohort = by_id[chosen]
    caption = f"Dernière exécution : {render.format_timestamp(cohort.get('last_run_at'))}"
    if cohort.get("watch"):
        caption += f" · dernière relance automatique : {render.format_timestamp(cohort.get('last_refreshed'))}"
    st.caption(caption)
    if cohort.get("refresh_error"):
        st.warning(f"La dernière relance automatique n'a pas abouti : {cohort['refresh_error']}")
    st.checkbox(WATCH_LABEL, value=bool(cohort.get("watch")), key=f"cohort_watch_{chosen}",
                on_change=_queue_watch, args=(cohort,))
    cols = st.columns(3)
    if cols[0].button("Relancer", key="cohort_rerun"):
        try:
            st.session_state["cohort_rerun_result"] = (chosen, client.run_cohort(chosen))
            if cohort.get("new_patients"):
                st.rerun()  # the news are seen now: the list is drawn again without their badge
        except api.ApiError as exc:
            st.error(render.api_error_text(exc))
    for col, fmt, label, mime in (
        (cols[1], "csv", "⬇ CSV", "text/csv"),
        (cols[2], "xlsx", "⬇ Excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ):
        data = _export(client, cohort, fmt)
        if data is not None:
            col.download_button(label, data, file_name=f"{cohort['name']}.{fmt}", mime=mime, key=f"cohort-dl-{fmt}")
    rerun = st.session_state.get("cohort_rerun_result")
    if rerun is not None and rerun[0] == chosen:
        show_result(rerun[1], editable=False, key="cohort-rerun")


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$])")


def _md(text: str) -> str:
    """*text* shown as typed in markdown (a cohort named « EP_2024 *urgent* » is not formatted)."""
    return _MARKDOWN.sub(r"\\\1", text)


def new_patients_text(count: int) -> str:
    return f"{count} nouveau patient" if count == 1 else f"{count} nouveaux patients"


def badge_markdown(count: int) -> str:
    """« 3 nouveaux patients » as a Streamlit badge (markdown directive)."""
    return f":orange-badge[{new_patients_text(count)}]"


def cohort_label(cohort: dict[str, Any]) -> str:
    """The picker's line: name, size and, for a watched cohort with news, how many are new."""
    label = f"{cohort['name']} · {len(cohort['members'])} patients"
    if cohort.get("watch") and cohort.get("new_patients"):
        label += f" · 🔔 {new_patients_text(cohort['new_patients'])}"
    return label


def _queue_watch(cohort: dict[str, Any]) -> None:
    """The « Surveiller » checkbox changed: sent by the run this starts (:func:`_send_watch`), whose
    client is open (the one drawn the checkbox is closed by now)."""
    wanted = bool(st.session_state.get(f"cohort_watch_{cohort['id']}"))
    st.session_state["cohort_watch_pending"] = (cohort, wanted)


def _send_watch(client: api.MedsearchClient) -> None:
    pending = st.session_state.pop("cohort_watch_pending", None)
    if pending is None:
        return
    cohort, wanted = pending
    try:  # name and definition unchanged
        client.update_cohort(cohort["id"], cohort["name"], cohort["definition"], watch=wanted)
    except api.ApiError as exc:
        st.session_state[f"cohort_watch_{cohort['id']}"] = not wanted
        st.error(render.api_error_text(exc))


def _export(client: api.MedsearchClient, cohort: dict[str, Any], fmt: str) -> bytes | None:
    """Export bytes, fetched once per cohort version and format."""
    key = (client.base_url, cohort["id"], cohort["updated_at"], fmt)
    cache = st.session_state.setdefault("cohort_exports", {})
    if key not in cache:
        try:
            cache[key] = client.export_cohort(cohort["id"], fmt)
        except api.ApiError as exc:
            st.error(render.api_error_text(exc))
            return None
    return cache[key]
