"""medsearch portal: the Streamlit front end physicians use to search the hospital corpus.

Run with ``streamlit run ui/app.py``. Configuration comes from the environment, like the rest of
medsearch: ``MEDSEARCH_UI__API_URL`` (default http://127.0.0.1:8000), ``MEDSEARCH_UI__USER``
(default identity shown in the sidebar) and ``MEDSEARCH_UI__TIMEOUT`` (seconds).

The app only talks HTTP to the search API through :mod:`ui.client`; all HTML is produced by the pure
:mod:`ui.render` module. The open document is kept in the ``?doc=ID`` query parameter so a physician
can bookmark or share a link to it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import astuple, dataclass
from datetime import date
from pathlib import Path
from typing import Any

# `streamlit run ui/app.py` puts ui/ (not the repository root) on sys.path; make `ui` importable.
_REPO_ROOT = Path(__file__).resolve().parent.parent
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

import streamlit as st  # noqa: E402

from ui import client as api  # noqa: E402  (module import: tests patch api.make_client)
from ui import render  # noqa: E402

PAGE_SIZES = (10, 20, 50)
STATS_TTL_S = 60.0
THUMBNAIL_CACHE_MAX = 200
PLACEHOLDER = "ex. IRM cérébrale AVC ischémique"
OLDEST_DATE = date(1900, 1, 1)
HINT = (
    "Saisissez une question ou des mots-clés, en français ou en anglais (« IRM cérébrale AVC ischémique », "
    "« pneumothorax post-opératoire »), puis affinez avec les filtres de la barre latérale."
)


@dataclass(frozen=True)
class SearchFilters:
    """Everything in the sidebar that narrows a search (hashable, to detect changes)."""

    kinds: tuple[str, ...]
    date_from: date | None
    date_to: date | None
    patient_id: str
    language: str
    mode: str
    limit: int


# --------------------------------------------------------------------------- sidebar


def sidebar_identity(default_user: str) -> str:
    """Who is searching: sent as X-User so every query lands in the audit log under a name."""
    return st.sidebar.text_input(
        "Identifiant médecin",
        value=default_user,
        key="user",
        help="Envoyé à l'API (en-tête X-User) pour le journal d'audit.",
    ).strip()


def sidebar_filters() -> SearchFilters:
    """Filter widgets; their keys keep values across reruns and the document view."""
    sb = st.sidebar
    sb.header("Filtres")
    kinds = sb.multiselect(
        "Types de documents", render.KINDS, format_func=render.kind_plural, key="kinds",
        placeholder="Tous les types",
    )
    col_from, col_to = sb.columns(2)
    date_from = col_from.date_input(
        "Du", value=None, min_value=OLDEST_DATE, format="DD/MM/YYYY", key="date_from"
    )
    date_to = col_to.date_input("Au", value=None, min_value=OLDEST_DATE, format="DD/MM/YYYY", key="date_to")
    patient_id = sb.text_input("Identifiant patient (IPP)", key="patient_id").strip()
    language = sb.selectbox(
        "Langue", list(render.LANGUAGE_LABELS), format_func=render.LANGUAGE_LABELS.__getitem__, key="language"
    )
    mode = sb.radio(
        "Mode de recherche", list(render.MODE_LABELS), format_func=render.MODE_LABELS.__getitem__, key="mode"
    )
    limit = sb.selectbox("Résultats par page", PAGE_SIZES, key="limit")
    return SearchFilters(tuple(kinds), date_from, date_to, patient_id, language, mode, int(limit))


def sidebar_stats(client: api.MedsearchClient, api_url: str) -> None:
    """Index contents and age, refreshed at most every STATS_TTL_S per session."""
    st.sidebar.divider()
    st.sidebar.subheader("Index")
    cached = st.session_state.get("stats_cache")
    if cached is None or cached["api_url"] != api_url or time.monotonic() - cached["at"] > STATS_TTL_S:
        try:
            cached = {"api_url": api_url, "at": time.monotonic(), "stats": client.stats(), "error": None}
        except api.ApiError as exc:
            cached = {"api_url": api_url, "at": time.monotonic(), "stats": None, "error": exc}
        st.session_state["stats_cache"] = cached
    if cached["stats"] is not None:
        st.sidebar.markdown(render.stats_html(cached["stats"]), unsafe_allow_html=True)
    else:
        st.sidebar.warning(f"Statistiques indisponibles. {render.api_error_text(cached['error'])}")
    st.sidebar.caption(f"API : {api_url}")


# --------------------------------------------------------------------------- navigation callbacks


def _open_document(doc_id: str) -> None:
    """Button callback: switch to the document view (in the URL, so it can be shared)."""
    st.query_params["doc"] = doc_id


def _close_document() -> None:
    """Button callback: back to the result list, which is redrawn from the session cache."""
    if "doc" in st.query_params:
        del st.query_params["doc"]


def _set_offset(offset: int) -> None:
    """Pagination callback."""
    st.session_state["offset"] = max(offset, 0)


# --------------------------------------------------------------------------- search view


def current_offset(query: str, filters: SearchFilters) -> int:
    """Offset of the page to show; back to the first page whenever the query or a filter changes."""
    signature = (query, astuple(filters))
    if st.session_state.get("search_signature") != signature:
        st.session_state["search_signature"] = signature
        st.session_state["offset"] = 0
    return int(st.session_state.get("offset", 0))


def run_search(
    client: api.MedsearchClient, query: str, filters: SearchFilters, offset: int, force: bool
) -> api.SearchPage:
    """Search, reusing the last page when nothing changed.

    Unrelated reruns (opening a document and coming back, typing a user name) then neither hit the
    API again nor add duplicate lines to the audit log; the "Rechercher" button forces a refresh.
    """
    key = (client.base_url, client.user, query, astuple(filters), offset)
    cached = st.session_state.get("search_cache")
    if not force and cached is not None and cached[0] == key:
        return cached[1]
    page = client.search(
        query,
        kinds=filters.kinds,
        patient_id=filters.patient_id or None,
        date_from=filters.date_from,
        date_to=filters.date_to,
        language=filters.language or None,
        mode=filters.mode,
        limit=filters.limit,
        offset=offset,
    )
    st.session_state["search_cache"] = (key, page)
    return page


def thumbnail(client: api.MedsearchClient, doc_id: str) -> bytes | None:
    """Image thumbnail, remembered per session (a page of images would otherwise refetch each rerun)."""
    cache: dict[tuple[str, str], bytes | None] = st.session_state.setdefault("thumbnails", {})
    key = (client.base_url, doc_id)
    if key not in cache:
        if len(cache) >= THUMBNAIL_CACHE_MAX:
            cache.clear()
        cache[key] = client.thumbnail(doc_id)
    return cache[key]


def show_hit(client: api.MedsearchClient, hit: api.SearchHit, rank: int) -> None:
    """One result card, with its thumbnail for images and a button to open the document."""
    with st.container(border=True):
        body: Any = st
        image = thumbnail(client, hit.id) if hit.kind == "image" else None
        if image is not None:
            thumb_col, body = st.columns([1, 5])
            thumb_col.image(image, width=140)
        body.markdown(render.result_card_html(hit, rank), unsafe_allow_html=True)
        body.button("Ouvrir le document", key=f"open-{rank}-{hit.id}", on_click=_open_document, args=(hit.id,))


def show_pagination(page: api.SearchPage, offset: int, limit: int) -> None:
    """Previous / next buttons around a "Résultats 11–20 sur 57" label."""
    prev_col, label_col, next_col = st.columns([1, 3, 1])
    prev_col.button(
        "◀ Précédent", key="page-prev", disabled=offset <= 0, on_click=_set_offset, args=(offset - limit,)
    )
    label_col.markdown(render.page_label(offset, len(page.results), page.total))
    next_col.button(
        "Suivant ▶",
        key="page-next",
        disabled=offset + len(page.results) >= page.total,
        on_click=_set_offset,
        args=(offset + limit,),
    )


def search_box() -> tuple[str, bool]:
    """Title and search box, drawn in both views.

    Keeping the box rendered in the document view is what preserves the query: Streamlit forgets the
    state of a widget that is absent from a run. Typing a new query there also leaves the document.
    """
    st.title("🩺 medsearch")
    st.caption("Recherche dans les comptes rendus, dossiers patients, articles scientifiques et images.")
    query_col, button_col = st.columns([6, 1], vertical_alignment="bottom")
    query = query_col.text_input(
        "Recherche", key="q", placeholder=PLACEHOLDER, max_chars=1000, on_change=_close_document
    )
    force = button_col.button("Rechercher", type="primary", key="search", on_click=_close_document)
    return (query or "").strip(), force


def search_view(client: api.MedsearchClient, user: str, query: str, filters: SearchFilters, force: bool) -> None:
    """Results for the query (or a hint, or the API's error)."""
    if not query:
        st.info(HINT)
        return
    if not user:
        st.warning("Renseignez votre identifiant médecin (barre latérale) : chaque recherche est journalisée.")
        return
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        st.warning("La date de début est postérieure à la date de fin.")
        return

    offset = current_offset(query, filters)
    try:
        page = run_search(client, query, filters, offset, force)
    except api.ApiError as exc:
        st.error(render.api_error_text(exc))
        return

    st.caption(render.summary_line(page.total, page.took_ms, page.mode))
    if not page.results:
        st.info("Aucun document ne correspond. Essayez d'autres termes, le mode sémantique ou moins de filtres.")
        return
    for rank, hit in enumerate(page.results, start=offset + 1):
        show_hit(client, hit, rank)
    show_pagination(page, offset, filters.limit)


# --------------------------------------------------------------------------- document view


def document_view(client: api.MedsearchClient, doc_id: str) -> None:
    """Full document: header, image, sections (or plain text) and source metadata."""
    st.button("← Retour aux résultats", key="back", on_click=_close_document)
    try:
        doc = client.document(doc_id)
    except api.ApiError as exc:
        st.error(render.api_error_text(exc))
        return

    st.markdown(render.document_header_html(doc), unsafe_allow_html=True)
    if doc.kind == "image":
        image = thumbnail(client, doc.id)
        if image is not None:
            st.image(image, width=480)
    if doc.sections:
        for section in doc.sections:
            if section.title:
                st.subheader(section.title)
            st.markdown(render.text_html(section.text), unsafe_allow_html=True)
    elif doc.text:
        st.markdown(render.text_html(doc.text), unsafe_allow_html=True)
    else:
        st.info("Ce document n'a pas de texte indexé.")

    with st.expander("Métadonnées"):
        st.text(f"Source : {doc.source_path or '—'}")
        if doc.metadata:
            st.json(doc.metadata, expanded=True)


# --------------------------------------------------------------------------- entry point


def main() -> None:
    """Build the page for one Streamlit run."""
    st.set_page_config(page_title="medsearch", page_icon="🩺", layout="wide")
    st.markdown(render.PAGE_CSS, unsafe_allow_html=True)
    api_url, default_user, timeout = api.settings_from_env()
    user = sidebar_identity(default_user)
    filters = sidebar_filters()
    with api.make_client(api_url, user, timeout) as client:
        sidebar_stats(client, api_url)
        query, force = search_box()
        doc_id = st.query_params.get("doc")
        if doc_id:
            document_view(client, doc_id)
        else:
            search_view(client, user, query, filters, force)


main()
