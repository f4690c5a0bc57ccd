"""medsearch portal: the Streamlit front end physicians use to search the hospital corpus.

Run with ``streamlit run ui/app.py``. Configuration comes from the environment, like the rest of
medsearch: ``MEDSEARCH_UI__API_URL`` (default http://127.0.0.1:8000) and ``MEDSEARCH_UI__TIMEOUT``
(seconds). Users log in (:mod:`ui.auth`: the hospital's OIDC provider, or a local account) and the
portal sends their token to the API.

The app only talks HTTP to the search API through :mod:`ui.client`; all HTML is produced by the pure
:mod:`ui.render` module. The open document is kept in the ``?doc=ID`` query parameter so a physician
can bookmark or share a link to it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import astuple, dataclass
from datetime import date
from pathlib import Path
from typing import Any

# `streamlit run ui/app.py` puts ui/ (not the repository root) on sys.path; make `ui` importable.
_REPO_ROOT = Path(__file__).resolve().parent.parent
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

import streamlit as st  # noqa: E402
from streamlit.runtime.uploaded_file_manager import UploadedFile  # noqa: E402

from ui import auth  # noqa: E402  (module import: tests patch auth.sidebar_login)
from ui import client as api  # noqa: E402  (module import: tests patch api.make_client)
from ui import render  # noqa: E402

PAGE_SIZES = (10, 20, 50)
STATS_TTL_S = 60.0
THUMBNAIL_CACHE_MAX = 200
RENDER_CACHE_MAX = 24  # full-size renders are heavier than thumbnails
VIEW_TEXT = "text"
VIEW_IMAGE = "image"
VIEW_LABELS = {VIEW_TEXT: "🔎 Recherche texte", VIEW_IMAGE: "🖼️ Recherche par image"}
# Streamlit's uploader filters on file extensions; DICOM exports often have none (« IM000001 »), so
# any file is accepted and the API, which sniffs the bytes, answers 415 for what it cannot read.
UPLOAD_HELP = "PNG, JPEG ou DICOM (.dcm, ou fichier sans extension exporté du PACS)."
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
    include_negated: bool = False
    expand: bool = True


# --------------------------------------------------------------------------- sidebar


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
    include_negated, expand = sidebar_clinical()
    return SearchFilters(
        tuple(kinds), date_from, date_to, patient_id, language, mode, int(limit), include_negated, expand
    )


def sidebar_clinical() -> tuple[bool, bool]:
    """Clinical-language switches: by default « épanchement » finds only *affirmed* mentions, expanded."""
    sb = st.sidebar
    sb.subheader("Langage clinique")
    include_negated = sb.toggle(
        "Inclure les mentions niées / antécédents familiaux",
        value=False,
        key="include_negated",
        help="Par défaut, « absence d'épanchement » ou « mère diabétique » ne répondent pas à « épanchement » "
        "ou « diabète ».",
    )
    expand = sb.toggle(
        "Étendre aux synonymes et abréviations",
        value=True,
        key="expand",
        help="« IDM » cherche aussi « infarctus du myocarde », « myocardial infarction »…",
    )
    return include_negated, expand


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


def _on_query_change() -> None:
    """Typing a text query leaves the document view and shows the text results."""
    _close_document()
    st.session_state["view"] = VIEW_TEXT


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
        include_negated=filters.include_negated,
        expand=filters.expand,
        limit=filters.limit,
        offset=offset,
    )
    st.session_state["search_cache"] = (key, page)
    return page


def _cached(name: str, key: tuple[Any, ...], limit: int, fetch: Callable[[], bytes | None]) -> bytes | None:
    """Per-session picture cache (bounded): a page of images would otherwise refetch on every rerun."""
    cache: dict[tuple[Any, ...], bytes | None] = st.session_state.setdefault(name, {})
    if key not in cache:
        if len(cache) >= limit:
            cache.clear()
        cache[key] = fetch()
    return cache[key]


def thumbnail(client: api.MedsearchClient, doc_id: str) -> bytes | None:
    """Image thumbnail, remembered per session."""
    return _cached("thumbnails", (client.base_url, doc_id), THUMBNAIL_CACHE_MAX, lambda: client.thumbnail(doc_id))


def rendered(client: api.MedsearchClient, doc_id: str, window: str, frame: int | None) -> bytes | None:
    """Windowed full-size render, remembered per session (switching windows back and forth is common)."""
    key = (client.base_url, doc_id, window, frame)
    return _cached("renders", key, RENDER_CACHE_MAX, lambda: client.render(doc_id, window, frame))


def show_linked_reports(reports: tuple[api.LinkedReport, ...], key_prefix: str) -> None:
    """The reports tied to an image, each with a button to read it in the document view."""
    for report in reports:
        st.markdown(render.linked_report_html(report), unsafe_allow_html=True)
        st.button(
            "Ouvrir le compte rendu", key=f"{key_prefix}-report-{report.id}", on_click=_open_document, args=(report.id,)
        )


def show_hit(client: api.MedsearchClient, hit: api.SearchHit, rank: int) -> None:
    """One result card, with its thumbnail for images and a button to open the document."""
    with st.container(border=True):
        body: Any = st
        image = thumbnail(client, hit.id) if hit.kind == "image" else None
        if image is not None:
            thumb_col, body = st.columns([1, 5])
            thumb_col.image(image, width=140)
        with body.container():
            st.markdown(render.result_card_html(hit, rank), unsafe_allow_html=True)
            show_linked_reports(hit.linked_reports, key_prefix=f"hit-{rank}")
            st.button("Ouvrir le document", key=f"open-{rank}-{hit.id}", on_click=_open_document, args=(hit.id,))


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
        "Recherche", key="q", placeholder=PLACEHOLDER, max_chars=1000, on_change=_on_query_change
    )
    force = button_col.button("Rechercher", type="primary", key="search", on_click=_on_query_change)
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

    show_understanding(page, filters)
    st.caption(render.summary_line(page.total, page.took_ms, page.mode))
    if not page.results:
        st.info("Aucun document ne correspond. Essayez d'autres termes, le mode sémantique ou moins de filtres.")
        return
    for rank, hit in enumerate(page.results, start=offset + 1):
        show_hit(client, hit, rank)
    show_pagination(page, offset, filters.limit)


def show_understanding(page: api.SearchPage, filters: SearchFilters) -> None:
    """How the query was understood (polarity) and what it was expanded to, under the search box."""
    understood = render.interpretation_html(page.interpretation, filters.include_negated)
    chips = render.expanded_terms_html(page.expanded_terms)
    if understood or chips:
        st.markdown(understood + chips, unsafe_allow_html=True)


# --------------------------------------------------------------------------- image search view


def image_search_view(client: api.MedsearchClient, user: str, filters: SearchFilters) -> None:
    """Search by an uploaded image (plus optional text and the sidebar's patient/date filters).

    Only the search is explicit (a button): each one is audited, and the physician may want to type
    the optional text first. The last page is kept in the session so that opening a result and
    coming back redraws it without a new upload.
    """
    st.subheader("Recherche par image")
    uploaded = st.file_uploader("Image de référence", key="image_upload", help=UPLOAD_HELP)
    text = st.text_input(
        "Texte à retrouver aussi (facultatif)", key="image_q", max_chars=1000,
        placeholder="ex. épanchement pleural", help="Filtre les images dont le compte rendu, la légende ou "
        "l'en-tête DICOM contient ce texte.",
    ).strip()
    st.caption("Les filtres patient et dates de la barre latérale s'appliquent aussi.")
    clicked = st.button("Rechercher des images similaires", type="primary", key="image_search", disabled=uploaded is None)
    if clicked and uploaded is not None:
        if not user:
            st.warning("Renseignez votre identifiant médecin (barre latérale) : chaque recherche est journalisée.")
            return
        run_image_search(client, uploaded, text, filters)
    stored = st.session_state.get("image_page")
    if stored is not None and stored[0] == (client.base_url, client.user):  # not another physician's results
        show_image_results(client, stored[1])


def run_image_search(client: api.MedsearchClient, uploaded: UploadedFile, text: str, filters: SearchFilters) -> None:
    """POST the upload; keep the page in the session, or show the API's refusal (400/413/415/422)."""
    st.session_state.pop("image_page", None)
    try:
        page = client.search_image(
            uploaded.getvalue(),
            uploaded.name,
            uploaded.type or None,
            text or None,
            patient_id=filters.patient_id or None,
            date_from=filters.date_from,
            date_to=filters.date_to,
            limit=filters.limit,
        )
    except api.ApiError as exc:
        st.error(render.api_error_text(exc))
        return
    st.session_state["image_page"] = ((client.base_url, client.user), page)


def show_image_results(client: api.MedsearchClient, page: api.ImageSearchPage) -> None:
    """Similar images: thumbnail, scores, methods, linked reports and a button to open each."""
    noun = "image similaire" if page.total == 1 else "images similaires"
    st.caption(f"{page.total} {noun} · {page.took_ms:.0f} ms")
    if not page.results:
        st.info("Aucune image similaire. Essayez sans texte ou avec moins de filtres.")
        return
    for rank, hit in enumerate(page.results, start=1):
        with st.container(border=True):
            thumb_col, body = st.columns([1, 5])
            image = thumbnail(client, hit.id)
            if image is not None:
                thumb_col.image(image, width=140)
            with body:
                st.markdown(render.image_hit_card_html(hit, rank), unsafe_allow_html=True)
                show_linked_reports(hit.linked_reports, key_prefix=f"img-{rank}")
                st.button("Ouvrir l'image", key=f"open-img-{rank}-{hit.id}", on_click=_open_document, args=(hit.id,))


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
        image_viewer(client, doc)
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


def frame_count(doc: api.DocumentDetail) -> int:
    """Number of frames of an image (``metadata.frames``), 1 when unknown or unreadable."""
    try:
        return max(int(doc.metadata.get("frames") or 1), 1)
    except (TypeError, ValueError):
        return 1


def image_viewer(client: api.MedsearchClient, doc: api.DocumentDetail) -> None:
    """The image at full size, with a display window (DICOM) and a frame picker (multi-frame).

    Frames are numbered from 1 on screen, as in PACS viewers, and from 0 on the wire. The thumbnail
    stands in when rendering fails, so the view never loses its picture altogether.
    """
    window = "default"
    if doc.metadata.get("format", "dicom") == "dicom":
        window = st.radio(
            "Fenêtrage", list(render.WINDOW_LABELS), format_func=render.WINDOW_LABELS.__getitem__,
            horizontal=True, key="render_window",
        )
    frame = None
    frames = frame_count(doc)
    if frames > 1:
        number = st.number_input(
            f"Coupe (1–{frames})", min_value=1, max_value=frames, value=frames // 2 + 1, step=1,
            key=f"frame-{doc.id}",
        )
        frame = int(number) - 1
    image = rendered(client, doc.id, window, frame) or thumbnail(client, doc.id)
    if image is None:
        st.info("Image indisponible pour l'instant (fichier source absent ou illisible).")
        return
    caption = render.WINDOW_LABELS.get(window, window) + (f" · coupe {frame + 1}/{frames}" if frame is not None else "")
    st.image(image, width=512, caption=caption)


# --------------------------------------------------------------------------- entry point


def keep_widget_state(*keys: str) -> None:
    """Keep these widgets' values while the document view hides them.

    Streamlit drops the state of a widget absent from a run; re-assigning the key before the widget
    is drawn is the documented way to keep it, so coming back from a document opened from the image
    search lands on the image search again, with its text.
    """
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def main() -> None:
    """Build the page for one Streamlit run."""
    st.set_page_config(page_title="medsearch", page_icon="🩺", layout="wide")
    keep_widget_state("view", "image_q")
    st.markdown(render.PAGE_CSS, unsafe_allow_html=True)
    api_url, _, timeout = api.settings_from_env()
    login = auth.sidebar_login(api_url, timeout)
    if login is None:
        return
    user = login.user
    filters = sidebar_filters()
    with api.make_client(api_url, user, timeout, token=login.token) as client:
        if "admin" in (login.roles or (login.role,)):  # index statistics are the admins' (API: GET /stats)
            sidebar_stats(client, api_url)
        query, force = search_box()
        doc_id = st.query_params.get("doc")
        if doc_id:
            document_view(client, doc_id)
            return
        view = st.radio(
            "Type de recherche", list(VIEW_LABELS), format_func=VIEW_LABELS.__getitem__, horizontal=True,
            key="view", label_visibility="collapsed",
        )
        if view == VIEW_IMAGE:
            image_search_view(client, user, filters)
        else:
            search_view(client, user, query, filters, force)


main()
