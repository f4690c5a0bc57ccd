"""The patient view: identity block (as the role allows), then a dated timeline of every document,
grouped by stay, filterable by kind, with the current query's matches starred."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ui import client as api
from ui import break_glass, nav, render


def patient_view(client: api.MedsearchClient, patient_id: str, query: str, include_negated: bool,
                 thumbnail: Callable[[api.MedsearchClient, str], bytes | None]) -> None:
    st.button(nav.back_label(st.query_params.to_dict()), key="patient-back", on_click=nav.close_patient)
    try:
        patient = client.patient(patient_id)
    except api.ApiError as exc:
        st.error(render.api_error_text(exc))
        break_glass.offer(client, patient_id, exc)  # outside a restricted clinician's scope: « bris de glace »
        return
    st.markdown(render.identity_html(patient), unsafe_allow_html=True)
    kind_col, mark_col = st.columns([3, 2], vertical_alignment="bottom")
    kinds = kind_col.multiselect(
        "Types de documents", render.KINDS, format_func=render.kind_plural, key="timeline_kinds",
        placeholder="Tous les types", **_no_select_all(),
    )
    mark = bool(query) and mark_col.toggle(f"Marquer « {render.excerpt(query, 40)} »", value=True, key="timeline_mark")
    try:
        timeline = client.timeline(patient_id, kinds, query if mark else None, include_negated)
    except api.ApiError as exc:
        st.error(render.api_error_text(exc))
        return
    summary = f"{timeline['total']} document" + ("s" if timeline["total"] != 1 else "")
    if timeline.get("query"):
        summary += f" · ★ {timeline['matched']} contenant « {timeline['query']} »"
    st.caption(summary)
    for number, group in enumerate(timeline["groups"]):
        st.markdown(f"#### {render.esc(render.stay_header(group.get('stay')))}", unsafe_allow_html=True)
        for position, entry in enumerate(group["entries"]):
            with st.container(border=False):
                body = st
                if entry["kind"] == "image":
                    picture = thumbnail(client, entry["id"])
                    if picture is not None:
                        thumb_col, body = st.columns([1, 6])
                        thumb_col.image(picture, width=90)
                with body.container():
                    anchor = render.timeline_anchor(number, position)
                    st.markdown(render.timeline_entry_html(entry, anchor), unsafe_allow_html=True)
                    st.button("Ouvrir", key=f"tl-{number}-{position}-{entry['id']}", on_click=nav.open_document,
                              args=(entry["id"], anchor))


def _no_select_all() -> dict[str, object]:
    """``select_all=False`` where Streamlit has it: its « Select all » option is English-only."""
    import inspect

    return {"select_all": False} if "select_all" in inspect.signature(st.multiselect).parameters else {}
