"""The cohort builder: criteria → patients with evidence → hand-made changes → save → re-run → export.

A criterion is a query (« sans X » for a negated finding) and/or structured filters; patients must
(or must not) have a document satisfying it. The result lists each patient with the document and
passage that satisfied each criterion. Excluding or adding patients by hand, naming and saving,
re-running (who is new) and exporting (CSV, Excel) go through the API's ``/cohorts`` endpoints. A
watched cohort (« Surveiller ») is re-evaluated by the API after each indexation; the list shows a
badge « N nouveaux patients » until « Relancer » shows them, flagged 🆕.

Screening a re-run saved cohort (as in Dr Warehouse): each patient gets a decision « inclus / exclu /
à revoir » with a reason, saved through ``/cohorts/{id}/decisions``; the API records who and when.
The counts per status head the list, « À revoir seulement » keeps the doubtful ones, the excluded
are listed apart (with their reason) and can be put back; « Exclure » in the builder is the same
decision ``exclu``.
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
#: screening statuses as the portal says them ("": no decision)
STATUS_LABELS = {"": "— sans décision", "included": "✅ inclus", "excluded": "⛔ exclu", "to_review": "❓ à revoir"}
MAX_REASON_CHARS = 500  # the API's bound
#: element id of the saved cohorts' heading
SAVED_ANCHOR = "ms-saved-cohorts"
_ANCHOR_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


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
        modalities = row[2].text_input("Modalités", key=f"c{index}_modalities", placeholder="ex. IRM, scanner, CT")
        body_parts = row[3].text_input("Régions", key=f"c{index}_body_parts", placeholder="ex. thorax, genou")
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


def counts_text(counts: dict[str, int]) -> str:
    """« Inclus : 2 · Exclus : 1 · À revoir : 3 · Sans décision : 4 »"""
    return (f"Inclus : {counts.get('included', 0)} · Exclus : {counts.get('excluded', 0)} · "
            f"À revoir : {counts.get('to_review', 0)} · Sans décision : {counts.get('undecided', 0)}")


def decided_text(decision: dict[str, Any]) -> str:
    """« à revoir par dr.martin le 03/12/2026 15:02 CET : ECG à relire »"""
    label = STATUS_LABELS.get(decision.get("status") or "", decision.get("label") or "")
    when = render.format_timestamp(decision.get("decided_at"))
    reason = f" : {decision['reason']}" if decision.get("reason") else ""
    return f"{label} — par {decision.get('decided_by') or '?'} le {when}{reason}"


def _recount(result: dict[str, Any]) -> None:
    """The counts of *result* after a decision changed here (as the API counts them)."""
    statuses = [(p.get("decision") or {}).get("status") for p in result["patients"]]
    result["counts"] = {"included": statuses.count("included"), "to_review": statuses.count("to_review"),
                        "undecided": statuses.count(None),
                        "excluded": sum(d["status"] == "excluded" for d in result.get("decisions") or [])}


def patient_anchor(key: str, patient_id: str) -> str:
    """Element id of one patient's entry in a cohort list (*key*: the list's widget prefix), where
    « ← Retour à la cohorte » brings the reader back. Why: it brought the screener to the saved cohorts'
    heading, not to the patient left, who then had to be found again in a list of 40."""
    return f"ms-cohort-{_ANCHOR_UNSAFE.sub('_', key)}-{_ANCHOR_UNSAFE.sub('_', patient_id)}"


def anchor_html(anchor: str) -> str:
    """An empty element carrying *anchor* as its id, drawn just above the entry it marks."""
    return f'<div id="{render.esc(anchor)}" class="ms-anchor"></div>'


def saved_result(cohort: dict[str, Any]) -> dict[str, Any]:
    """A saved cohort's last known list as a result :func:`show_result` draws: its members (those of the
    last run, or of the watch's last refresh) with their screening decisions, without evidence (the API
    keeps none: « Relancer » fetches it). Patients decided « exclu » since are out, as a run would have them.

    Why: a research associate reopening a saved cohort saw no patient at all until « Relancer »; the
    list and the decisions already taken are what they come back for."""
    decisions = sorted(cohort.get("decisions") or [], key=lambda d: d["patient_id"])
    by_patient = {d["patient_id"]: d for d in decisions}
    news = set(cohort.get("new_patient_ids") or ())
    patients = []
    for patient_id in cohort.get("members") or []:
        decision = by_patient.get(patient_id)
        if decision and decision.get("status") == "excluded":
            continue
        shown = {k: v for k, v in decision.items() if k != "patient_id"} if decision else None
        patients.append({"patient_id": patient_id, "evidence": [], "new": patient_id in news, "decision": shown})
    result: dict[str, Any] = {"name": cohort.get("name") or "", "total": len(patients), "patients": patients,
                              "excluded": [], "new": 0, "left": [], "decisions": decisions, "saved_only": True}
    _recount(result)
    return result


def _forget_forms(key: str, patient_id: str | None = None) -> None:
    """Drop the decision widgets' state (one patient's, or all under *key*): drawn again, they show the
    decision as the API answered it, not what was last typed."""
    for name in [k for k in st.session_state if isinstance(k, str)]:
        if any(name.startswith(f"{key}-{what}-") and (patient_id is None or name == f"{key}-{what}-{patient_id}")
               for what in ("status", "reason")):
            del st.session_state[name]


def _decide(client: api.MedsearchClient, cohort_id: int, result: dict[str, Any], patient_id: str, status: str,
            reason: str) -> None:
    """Send one decision and update the shown *result* in place (no re-run: its « nouveau » flags stay)."""
    decisions = [d for d in result.get("decisions") or [] if d["patient_id"] != patient_id]
    if status:
        decision = client.set_decision(cohort_id, patient_id, status, reason.strip() or None)
        decisions.append(decision)
    else:
        client.clear_decision(cohort_id, patient_id)
        decision = None
    result["decisions"] = sorted(decisions, key=lambda d: d["patient_id"])
    shown = {k: v for k, v in decision.items() if k != "patient_id"} if decision else None
    if status == "excluded":  # out of the members, as the API's next run will have it
        result["patients"] = [p for p in result["patients"] if p["patient_id"] != patient_id]
        result["excluded"] = sorted({*result.get("excluded", []), patient_id})
        result["total"] = len(result["patients"])
    else:
        for patient in result["patients"]:
            if patient["patient_id"] == patient_id:
                patient["decision"] = shown
    _recount(result)


def _decision_form(client: api.MedsearchClient, cohort_id: int, result: dict[str, Any], patient_id: str,
                   decision: dict[str, Any] | None, key: str) -> None:
    """Status selector, reason and « Enregistrer la décision » for one patient."""
    if decision:
        st.caption("Décision : " + decided_text(decision))
    with st.form(key=f"{key}-form-{patient_id}", border=False):
        cols = st.columns([2, 5, 2], vertical_alignment="bottom")
        statuses = list(STATUS_LABELS)
        status = cols[0].selectbox("Décision", statuses, index=statuses.index((decision or {}).get("status") or ""),
                                   format_func=STATUS_LABELS.__getitem__, key=f"{key}-status-{patient_id}")
        reason = cols[1].text_input("Motif", value=(decision or {}).get("reason") or "", max_chars=MAX_REASON_CHARS,
                                    key=f"{key}-reason-{patient_id}", placeholder="ex. critère d'exclusion : IRC")
        if cols[2].form_submit_button("Enregistrer la décision"):
            try:
                _decide(client, cohort_id, result, patient_id, status, reason)
                _forget_forms(key, patient_id)
                st.session_state["cohort_decision_saved"] = patient_id
                st.rerun()
            except api.ApiError as exc:
                st.error(render.api_error_text(exc))


def show_result(result: dict[str, Any], editable: bool, key: str = "cohort",
                screening: tuple[api.MedsearchClient, int] | None = None) -> list[str]:
    """Patients with their evidence; returns the ids the physician ticked « exclure ».

    *key* prefixes the widgets' keys: the cohort being built and a saved one re-run are on the
    screen together, often with the same patients (same keys crashed the page). *screening*: (client,
    cohort id) of a saved cohort, whose patients then get a decision form each, the counts per status,
    the filter « à revoir seulement » and the list of the excluded."""
    new = f" · {result['new']} nouveau(x)" if result.get("new") else ""
    left = f" · sortis : {', '.join(result['left'])}" if result.get("left") else ""
    st.markdown(f"**{result['total']} patient{'s' if result['total'] != 1 else ''}**{new}{left}")
    decisions = {d["patient_id"]: d for d in result.get("decisions") or []}
    patients = result["patients"]
    if screening is not None:
        st.markdown("**Sélection** · " + counts_text(result.get("counts") or {}))
        saved_now = st.session_state.pop("cohort_decision_saved", None)
        if saved_now:
            st.success(f"Décision enregistrée pour {saved_now}.")
        if st.toggle("À revoir seulement", key=f"{key}-review-only"):
            patients = [p for p in patients if (p.get("decision") or {}).get("status") == "to_review"]
            if not patients:
                st.caption("Aucun patient à revoir.")
    if result.get("excluded") and screening is None:  # screening: listed below with their reasons
        st.caption("Exclus à la main : " + ", ".join(result["excluded"]))
    excluded = []
    # the new patients first (stable: the API's order otherwise): they are what a re-run is looked at for
    for patient in sorted(patients, key=lambda p: not p.get("new")):
        sex = render.SEX_LABELS.get(patient.get("sex") or "", "")
        age = render.cohort_age_text(patient)
        decision = patient.get("decision")
        flags = " · ".join(x for x in (sex, age, "ajouté à la main" if patient.get("by_hand") else "",
                                       "🆕 nouveau" if patient.get("new") else "",
                                       STATUS_LABELS.get(decision["status"], "") if decision else "") if x)
        anchor = patient_anchor(key, patient["patient_id"])
        st.markdown(anchor_html(anchor), unsafe_allow_html=True)
        with st.expander(f"👤 {patient['patient_id']}" + (f" · {flags}" if flags else ""), expanded=len(result["patients"]) <= 5):
            for evidence in patient["evidence"]:
                st.markdown(render.evidence_html(evidence), unsafe_allow_html=True)
            if result.get("saved_only"):
                st.caption("Preuves : « Relancer » pour les afficher.")
            cols = st.columns(2)
            # « ← Retour à la cohorte » comes back to this patient's entry
            cols[0].button("Voir le patient", key=f"{key}-open-{patient['patient_id']}", on_click=nav.open_patient,
                           args=(patient["patient_id"], anchor))
            if editable and cols[1].checkbox("Exclure", key=f"{key}-excl-{patient['patient_id']}"):
                excluded.append(patient["patient_id"])
            if screening is not None:
                _decision_form(*screening, result, patient["patient_id"], decision, key)
    gone = [d for d in decisions.values() if d["status"] == "excluded"]
    if screening is not None and gone and not st.session_state.get(f"{key}-review-only"):
        with st.expander(f"⛔ Exclus ({len(gone)})"):
            for decision in gone:
                cols = st.columns([6, 2], vertical_alignment="center")
                cols[0].markdown(f"**{_md(decision['patient_id'])}** · {_md(decided_text(decision))}")
                if cols[1].button("Réintégrer", key=f"{key}-back-{decision['patient_id']}",
                                  help="Efface la décision : le patient revient dans la cohorte à la prochaine exécution"):
                    try:
                        _decide(*screening, result, decision["patient_id"], "", "")
                        _forget_forms(key, decision["patient_id"])
                        st.rerun()
                    except api.ApiError as exc:
                        st.error(render.api_error_text(exc))
    if screening is not None:
        _departed(result, decisions, review_only=bool(st.session_state.get(f"{key}-review-only")))
    return excluded


def _departed(result: dict[str, Any], decisions: dict[str, dict[str, Any]], review_only: bool) -> None:
    """The patients decided « inclus » or « à revoir » whom this run no longer finds, with their decision.
    Why: such a decision vanished from the list and the counts (« À revoir : 0 » after a « à revoir »)."""
    members = {p["patient_id"] for p in result["patients"]}
    departed = [d for d in decisions.values() if d["status"] != "excluded" and d["patient_id"] not in members
                and (not review_only or d["status"] == "to_review")]
    if not departed:
        return
    with st.expander(f"↩️ Décidés, ne répondent plus aux critères ({len(departed)})"):
        st.caption("Leur décision est gardée ; « Exporter aussi les exclus et les sortis » les met dans le fichier.")
        for decision in departed:
            st.markdown(f"**{_md(decision['patient_id'])}** · {_md(decided_text(decision))}")


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
    st.subheader("Cohortes enregistrées", anchor=SAVED_ANCHOR)
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
    caption = last_run_text(cohort)
    st.caption(caption)
    if cohort.get("refresh_error"):
        st.warning(f"La dernière relance automatique n'a pas abouti : {cohort['refresh_error']}")
    st.checkbox(WATCH_LABEL, value=bool(cohort.get("watch")), key=f"cohort_watch_{chosen}",
                on_change=_queue_watch, args=(cohort,))
    cols = st.columns(3)
    with_excluded = st.checkbox("Exporter aussi les exclus et les sortis (journal de sélection : décision, motif, qui, quand)",
                                key="cohort_export_excluded")
    if cols[0].button("Relancer", key="cohort_rerun"):
        try:
            st.session_state["cohort_rerun_result"] = (chosen, client.run_cohort(chosen))
            _forget_forms("cohort-rerun")
            if cohort.get("new_patients"):
                st.rerun()  # the news are seen now: the list is drawn again without their badge
        except api.ApiError as exc:
            st.error(render.api_error_text(exc))
    for col, fmt, label, mime in (
        (cols[1], "csv", "⬇ CSV", "text/csv"),
        (cols[2], "xlsx", "⬇ Excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ):
        data = _export(client, cohort, fmt, with_excluded)
        if data is not None:
            col.download_button(label, data, file_name=f"{cohort['name']}.{fmt}", mime=mime, key=f"cohort-dl-{fmt}")
    rerun = st.session_state.get("cohort_rerun_result")
    if rerun is not None and rerun[0] == chosen:
        show_result(rerun[1], editable=False, key="cohort-rerun", screening=(client, chosen))
    else:  # the list as last run, with its decisions, until « Relancer »
        st.caption("Liste de la dernière exécution ; « Relancer » l'actualise sur l'index du jour.")
        show_result(saved_result(cohort), editable=False, key="cohort-rerun", screening=(client, chosen))


def last_run_text(cohort: dict[str, Any]) -> str:
    """« Dernière exécution le 03/12/2026 15:02 CET » (and the watch's last refresh when watched)."""
    when = cohort.get("last_run_at")
    text = f"Dernière exécution le {render.format_timestamp(when)}" if when else "Jamais exécutée"
    if cohort.get("watch"):
        text += f" · dernière relance automatique : {render.format_timestamp(cohort.get('last_refreshed'))}"
    return text


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


def _export(client: api.MedsearchClient, cohort: dict[str, Any], fmt: str, with_excluded: bool = False) -> bytes | None:
    """Export bytes, fetched once per cohort version (a decision changes it), format and option."""
    key = (client.base_url, cohort["id"], cohort["updated_at"], fmt, with_excluded)
    cache = st.session_state.setdefault("cohort_exports", {})
    if key not in cache:
        try:
            cache[key] = client.export_cohort(cohort["id"], fmt, with_excluded=with_excluded)
        except api.ApiError as exc:
            st.error(render.api_error_text(exc))
            return None
    return cache[key]
