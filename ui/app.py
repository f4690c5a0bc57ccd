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
from ui import break_glass, nav, render, url_state  # noqa: E402
from ui.audit_page import audit_view  # noqa: E402
from ui.cohort_page import cohort_view  # noqa: E402
from ui.patient_page import _no_select_all, patient_view  # noqa: E402

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
MAX_QUERY_CHARS = 1000  # the API's limit (search_api.models.MAX_QUERY_CHARS)
HEALTH_TTL_S = 10.0
PAGE_LABELS = {"search": "🔎 Recherche", "cohorts": "👥 Cohortes"}
ADMIN_PAGE_LABELS = {"audit": "🛡️ Journal d'audit"}  # admins (metadata) and auditors (whole entries): 403 to others
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
    include_family: bool = False
    departments: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.replace(";", ",").split(",") if part.strip())


# --------------------------------------------------------------------------- sidebar


def sidebar_filters(deidentified: bool = False) -> SearchFilters:
    """Filter widgets; their keys keep values across reruns and the document view.

    *deidentified* (a researcher without the clinician role): no date widgets, since the API refuses
    date filters in that view (they would apply to the real dates it hides); cohorts filter dates."""
    sb = st.sidebar
    sb.header("Filtres")
    kinds = sb.multiselect(
        "Types de documents", render.KINDS, format_func=render.kind_plural, key="kinds",
        placeholder="Tous les types", **_no_select_all(),
    )
    if deidentified:
        date_from = date_to = None
        sb.caption("Vue dé-identifiée : dates décalées par patient ; filtrez les dates dans les cohortes.")
    else:
        # one under the other: side by side, the sidebar's half-width cut the year (« 31 / 12 / 202 »)
        date_from = sb.date_input("Du", min_value=OLDEST_DATE, format="DD/MM/YYYY", key="date_from")
        date_to = sb.date_input("Au", min_value=OLDEST_DATE, format="DD/MM/YYYY", key="date_to")
    # a researcher filters by pseudonym: a real IPP finds nothing in the de-identified view
    patient_label = "Pseudonyme patient (PSN-…)" if deidentified else "Identifiant patient (IPP)"
    patient_id = sb.text_input(patient_label, key="patient_id").strip()
    departments = _split(sb.text_input("Services", key="departments_text", placeholder="ex. Radiologie, Urgences"))
    modalities = _split(sb.text_input("Modalités d'imagerie", key="modalities_text", placeholder="ex. IRM, scanner, CT"))
    language = sb.selectbox(
        "Langue", list(render.LANGUAGE_LABELS), format_func=render.LANGUAGE_LABELS.__getitem__, key="language"
    )
    mode = sb.radio(
        "Mode de recherche", list(render.MODE_LABELS), format_func=render.MODE_LABELS.__getitem__, key="mode"
    )
    limit = sb.selectbox("Résultats par page", PAGE_SIZES, key="limit")
    include_negated, include_family, expand = sidebar_clinical()
    return SearchFilters(
        tuple(kinds), date_from, date_to, patient_id, language, mode, int(limit), include_negated, expand,
        include_family, departments, modalities,
    )


def sidebar_clinical() -> tuple[bool, bool, bool]:
    """Clinical-language switches: by default « épanchement » finds only *affirmed* mentions, expanded;
    negated mentions and family history each have their own switch."""
    sb = st.sidebar
    sb.subheader("Langage clinique")
    include_negated = sb.toggle(
        "Inclure les mentions niées",
        key="include_negated",
        help="Par défaut, « absence d'épanchement » ne répond pas à « épanchement ».",
    )
    include_family = sb.toggle(
        "Inclure les antécédents familiaux",
        key="include_family",
        help="Par défaut, « mère diabétique » ne répond pas à « diabète ».",
    )
    expand = sb.toggle(
        "Étendre aux synonymes et abréviations",
        key="expand",
        help="« IDM » cherche aussi « infarctus du myocarde », « myocardial infarction »…",
    )
    return include_negated, include_family, expand


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


_open_document = nav.open_document
_close_document = nav.close_document


def _on_query_change() -> None:
    """Typing a text query leaves the document and patient views and shows the text results.

    A pasted query longer than the API accepts is cut at the limit, with a message, rather than
    refused (or silently emptied by the browser)."""
    nav.close_patient()
    if st.query_params.get("page") in ("cohorts", "audit"):
        nav.open_page("search")
    st.session_state["view"] = VIEW_TEXT
    query = st.session_state.get("q") or ""
    if len(query) > MAX_QUERY_CHARS:
        st.session_state["q"] = query[:MAX_QUERY_CHARS].rsplit(" ", 1)[0] or query[:MAX_QUERY_CHARS]
        st.session_state["query_trimmed"] = len(query)


def _use_suggestion(suggestion: str) -> None:
    """« Essayez avec l'orthographe » callback: the corrected query into the search box, searched as if typed
    (the URL follows the box: :func:`write_search_state`)."""
    st.session_state["q"] = suggestion
    _on_query_change()


def show_suggestion(suggestion: str | None, key: str) -> None:
    """The API's corrected query as a link-styled button. The results shown stay those of the query as
    typed: the physician sees what was searched and chooses to search the correction."""
    if suggestion:
        st.button(render.suggestion_label(suggestion), key=key, type="tertiary", on_click=_use_suggestion, args=(suggestion,))


def _set_offset(offset: int) -> None:
    """Pagination callback."""
    st.session_state["offset"] = max(offset, 0)


# --------------------------------------------------------------------------- search view


def current_offset(query: str, filters: SearchFilters, listing: str = "documents") -> int:
    """Offset of the page to show; back to the first page whenever the query, a filter or the listing
    (documents or patients) changes: page 2 of the documents is not page 2 of the patients, and
    carrying it over hid the best-ranked patients (the list began at « 11. »)."""
    signature = (query, astuple(filters), listing)
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
        **_new_filter_args(filters),
    )
    st.session_state["search_cache"] = (key, page)
    return page


def _new_filter_args(filters: SearchFilters) -> dict[str, Any]:
    """Family history, care units and modalities: sent only when used (the family switch is sent
    whenever one of the two context switches is on, since the API's default follows the other)."""
    family = filters.include_family if (filters.include_family or filters.include_negated) else None
    args: dict[str, Any] = {"include_family": family} if family is not None else {}
    if filters.departments:
        args["departments"] = filters.departments
    if filters.modalities:
        args["modalities"] = filters.modalities
    return args


def active_filters(filters: SearchFilters) -> list[tuple[str, str]]:
    """(name, value) of every filter in force, for the line above the results."""
    items = [
        ("Types", ", ".join(render.kind_plural(k) for k in filters.kinds)),
        ("Patient", filters.patient_id),
        ("Du", render.format_date(filters.date_from) if filters.date_from else ""),
        ("Au", render.format_date(filters.date_to) if filters.date_to else ""),
        ("Langue", render.LANGUAGE_LABELS.get(filters.language, filters.language) if filters.language else ""),
        ("Services", ", ".join(filters.departments)),
        ("Modalités", ", ".join(filters.modalities)),
        ("Mode", render.MODE_LABELS[filters.mode].split(" (")[0] if filters.mode != "hybrid" else ""),
        ("Mentions niées", "incluses" if filters.include_negated else ""),
        ("Antécédents familiaux", "inclus" if filters.include_family else ""),
        ("Synonymes", "désactivés" if not filters.expand else ""),
    ]
    return [(name, value) for name, value in items if value]


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
            buttons = st.columns([1, 1, 3])
            anchor = render.result_anchor(rank)
            buttons[0].button("Ouvrir le document", key=f"open-{rank}-{hit.id}", on_click=_open_document,
                              args=(hit.id, anchor))
            if hit.patient_id:
                buttons[1].button("Dossier patient", key=f"patient-{rank}-{hit.id}", on_click=nav.open_patient,
                                  args=(hit.patient_id, anchor))


def show_pagination(page: api.SearchPage, offset: int, limit: int) -> None:
    """Previous / next buttons around a "Résultats 11–20 sur 57" label.

    ``total`` counts the documents that contain the query's words; the list may go on with semantic
    neighbours (``ranked``), which stay reachable page by page."""
    available = max(page.total, page.ranked)
    prev_col, label_col, next_col = st.columns([1, 3, 1])
    prev_col.button(
        "◀ Précédent", key="page-prev", disabled=offset <= 0, on_click=_set_offset, args=(offset - limit,)
    )
    label_col.markdown(render.page_label(offset, len(page.results), available))
    next_col.button(
        "Suivant ▶",
        key="page-next",
        disabled=offset + len(page.results) >= available,
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
    query = query_col.text_input("Recherche", key="q", placeholder=PLACEHOLDER, on_change=_on_query_change)
    force = button_col.button("Rechercher", type="primary", key="search", on_click=_on_query_change)
    trimmed = st.session_state.pop("query_trimmed", None)
    if trimmed:
        st.warning(f"Requête trop longue ({trimmed} caractères) : elle a été tronquée à {MAX_QUERY_CHARS} caractères.")
    query = (query or "").strip()
    if len(query) > MAX_QUERY_CHARS:  # typed past the limit without leaving the box
        st.warning(f"Requête trop longue ({len(query)} caractères) : seuls les {MAX_QUERY_CHARS} premiers sont cherchés.")
        query = query[:MAX_QUERY_CHARS]
    return query, force


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

    filters_line = render.active_filters_html(active_filters(filters))
    if filters_line:
        st.markdown(filters_line, unsafe_allow_html=True)
    group = st.radio("Afficher", list(render.GROUP_LABELS), format_func=render.GROUP_LABELS.__getitem__,
                     horizontal=True, key="group", label_visibility="collapsed")
    if group == "patients":
        patients_view(client, query, filters, force)
        return
    offset = current_offset(query, filters)
    try:
        page = run_search(client, query, filters, offset, force)
    except api.ApiError as exc:
        st.error(render.api_error_text(exc))
        return

    show_understanding(page, filters)
    show_suggestion(page.suggestion, "suggestion")
    semantic = max(page.ranked, len(page.results)) if not page.term_match and page.results else None
    st.caption(render.counts_line(page.total, page.total_patients, page.took_ms, page.mode, semantic,
                                  (page.total_affirmed, page.total_patients_affirmed)))
    if not page.term_match and page.results:
        st.warning(
            "Aucun document ne contient tous les termes de la requête. Les résultats ci-dessous sont proposés "
            "par proximité de sens (« sémantique seulement ») : vérifiez qu'ils répondent à votre question."
        )
    if not page.results:
        st.info("Aucun document ne correspond. Essayez d'autres termes, le mode sémantique ou moins de filtres.")
        return
    for rank, hit in enumerate(page.results, start=offset + 1):
        show_hit(client, hit, rank)
    show_pagination(page, offset, filters.limit)


def patients_view(client: api.MedsearchClient, query: str, filters: SearchFilters, force: bool) -> None:
    """The same query, grouped by patient: each patient's number of matching documents and best passages."""
    offset = current_offset(query, filters, "patients")
    key = (client.base_url, client.user, query, astuple(filters), offset, "patients")
    cached = st.session_state.get("patients_cache")
    if force or cached is None or cached[0] != key:
        try:
            body = client.search_patients(
                query, kinds=filters.kinds, patient_id=filters.patient_id or None, date_from=filters.date_from,
                date_to=filters.date_to, language=filters.language or None, mode=filters.mode,
                include_negated=filters.include_negated, expand=filters.expand, limit=filters.limit, offset=offset,
                **_new_filter_args(filters),
            )
        except api.ApiError as exc:
            st.error(render.api_error_text(exc))
            return
        st.session_state["patients_cache"] = (key, body)
    else:
        body = cached[1]
    affirmed = (body.get("total_affirmed"), body.get("total_patients_affirmed"))
    st.caption(render.counts_line(body["total"], body["total_patients"], 0, filters.mode, affirmed=affirmed)
               .replace(" · 0 ms", ""))
    show_suggestion(body.get("suggestion") if isinstance(body.get("suggestion"), str) else None, "suggestion-patients")
    if not body["term_match"] and body["patients"]:
        st.warning("Aucun document ne contient tous les termes de la requête : patients proposés par proximité de sens.")
    if not body["patients"]:
        st.info("Aucun patient ne correspond.")
        return
    for patient in body["patients"]:
        with st.container(border=True):
            st.markdown(render.patient_card_html(patient), unsafe_allow_html=True)
            for hit in patient["best"]:
                st.markdown(render.patient_hit_html(hit), unsafe_allow_html=True)
            st.button("Voir le patient", key=f"see-patient-{patient['patient_id']}", on_click=nav.open_patient,
                      args=(patient["patient_id"],))
    prev_col, label_col, next_col = st.columns([1, 3, 1])
    prev_col.button("◀ Précédent", key="ppage-prev", disabled=offset <= 0, on_click=_set_offset,
                    args=(offset - filters.limit,))
    label_col.markdown(f"Patients {offset + 1}–{offset + len(body['patients'])} sur {body['total_patients'] or len(body['patients'])}")
    next_col.button("Suivant ▶", key="ppage-next", disabled=offset + len(body["patients"]) >= body["total_patients"],
                    on_click=_set_offset, args=(offset + filters.limit,))


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
    max_mb = api.upload_limit_mb()
    st.markdown(render.uploader_css(max_mb), unsafe_allow_html=True)
    uploaded = st.file_uploader("Image de référence", key="image_upload", help=UPLOAD_HELP, max_upload_size=max_mb)
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
    st.caption(f"{render.image_count_line(page)} · {page.took_ms:.0f} ms")
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


def document_view(client: api.MedsearchClient, doc_id: str, query: str = "", include_negated: bool = False) -> None:
    """Full document: header, image, links to its reports / images, sections with the query's
    matches highlighted (scrolled to), similar documents and source metadata."""
    back = nav.back_label(st.query_params.to_dict())
    st.button(back, key="back", on_click=_close_document)
    try:
        doc = client.document(doc_id)
    except api.ApiError as exc:
        st.error(render.api_error_text(exc))
        return

    st.markdown(render.document_header_html(doc), unsafe_allow_html=True)
    document_provenance(doc)
    if doc.patient_id:
        st.button(f"👤 Dossier du patient {doc.patient_id}", key="doc-patient", on_click=nav.open_patient,
                  args=(doc.patient_id,))
    if doc.kind == "image":
        image_viewer(client, doc)
    document_links(client, doc)
    highlighted = _highlighted(client, doc, query, include_negated)
    if highlighted is not None:
        best = highlighted.get("best_section")
        for index, section in enumerate(highlighted.get("sections") or []):
            if section.get("title"):
                st.subheader(section["title"])
            st.markdown(render.highlighted_section_html(str(section.get("html") or ""), index == best),
                        unsafe_allow_html=True)
        if best is not None:
            scroll_to_best_match()
    elif doc.sections:
        for section in doc.sections:
            if section.title:
                st.subheader(section.title)
            st.markdown(render.text_html(section.text), unsafe_allow_html=True)
    elif doc.text:
        st.markdown(render.text_html(doc.text), unsafe_allow_html=True)
    else:
        st.info("Ce document n'a pas de texte indexé.")

    similar_documents(client, doc)
    with st.expander("Métadonnées"):
        st.text(f"Source : {doc.source_path or '—'}")
        if doc.metadata:
            st.json(doc.metadata, expanded=True)


def document_provenance(doc: api.DocumentDetail) -> None:
    """Who wrote the document and where (FHIR letters), and the other export files it was found in
    (``duplicate_sources``, absent for researchers): under the header, not only in the raw metadata."""
    for fragment in (render.provenance_html(doc.metadata, doc.title), render.duplicate_sources_html(doc.metadata)):
        if fragment:
            st.markdown(fragment, unsafe_allow_html=True)


def _highlighted(client: api.MedsearchClient, doc: api.DocumentDetail, query: str, include_negated: bool) -> dict | None:
    """The document's sections with the query's terms marked by the API (None: no query, or an API
    without ``/highlight``: the plain text is shown)."""
    if not query:
        return None
    try:
        body = client.highlight(doc.id, query, include_negated)
    except api.ApiError:
        return None
    return body if any(s.get("html") for s in body.get("sections") or []) else None


def scroll_to_best_match() -> None:
    """Scroll the page to the highlighted best passage (a zero-height component runs the script in
    an iframe of the same origin, which may reach the page)."""
    import streamlit.components.v1 as components

    components.html(
        "<script>setTimeout(function(){var d=window.parent.document;var e=d.getElementById('ms-best-match');"
        "if(e){e.scrollIntoView({behavior:'smooth',block:'center'});}},300);</script>",
        height=0,
    )


def document_links(client: api.MedsearchClient, doc: api.DocumentDetail) -> None:
    """Report ↔ image, both ways: a report's images (thumbnails) and an image's reports."""
    if doc.kind not in ("image", "report"):
        return
    try:
        links = client.links(doc.id)
    except api.ApiError:
        return
    if links.get("images"):
        st.markdown("**Images de cet examen**")
        columns = st.columns(min(len(links["images"]), 4))
        for index, image in enumerate(links["images"]):
            column = columns[index % len(columns)]
            picture = thumbnail(client, image["id"])
            if picture is not None:
                column.image(picture, width=140, caption=image.get("title") or image["id"])
            column.button("Ouvrir l'image", key=f"link-img-{image['id']}", on_click=_open_document, args=(image["id"],))
    for report in links.get("reports") or []:
        st.markdown(
            f"**Compte rendu** : {render.esc(report.get('title') or report['id'])} · {render.esc(render.format_date(report.get('date')))}",
            unsafe_allow_html=True,
        )
        st.button("Ouvrir le compte rendu", key=f"link-report-{report['id']}", on_click=_open_document, args=(report["id"],))


def similar_documents(client: api.MedsearchClient, doc: api.DocumentDetail) -> None:
    """« Trouver des documents similaires »: by meaning for any document, and by pixels for images."""
    st.divider()
    label = "Trouver des images similaires" if doc.kind == "image" else "Trouver des documents similaires"
    if st.button(label, key="similar"):
        st.session_state["similar_results"] = (doc.id, _similar(client, doc))
    stored = st.session_state.get("similar_results")
    if stored is None or stored[0] != doc.id:
        return
    results = stored[1]
    if isinstance(results, api.ApiError):
        st.error(render.api_error_text(results))
        return
    if not results:
        st.info("Aucun document similaire.")
    for index, (hit_id, title, meta) in enumerate(results):
        cols = st.columns([5, 1], vertical_alignment="center")
        cols[0].markdown(f"{render.esc(title)} <span class='ms-meta'>· {render.esc(meta)}</span>", unsafe_allow_html=True)
        cols[1].button("Ouvrir", key=f"similar-{index}-{hit_id}", on_click=_open_document, args=(hit_id,))


def _similar(client: api.MedsearchClient, doc: api.DocumentDetail) -> list[tuple[str, str, str]] | api.ApiError:
    """(id, title, details) of similar documents: pixel similarity for images (their picture sent to
    the image search), the dense leg over the document's text otherwise."""
    try:
        if doc.kind == "image":
            picture = rendered(client, doc.id, "default", None) or thumbnail(client, doc.id)
            if picture is not None:
                page = client.search_image(picture, f"{doc.id}.png", "image/png", limit=6)
                return [(h.id, h.title or h.id, f"{render.format_date(h.date)} · similarité visuelle "
                                                       f"{render.similarity_text(h.descriptor_similarity or 0.0)}")
                        for h in page.results if h.id != doc.id][:5]
        page = client.similar(doc.id, limit=5)
        return [(h.id, h.title or h.id, f"{render.kind_label(h.kind)} · {render.format_date(h.date)}") for h in page.results]
    except api.ApiError as exc:
        return exc


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
    choices = render.window_choices(doc.modality, doc.metadata.get("body_part"))
    if doc.metadata.get("format", "dicom") == "dicom" and len(choices) > 1:
        if st.session_state.get("render_window") not in choices:
            st.session_state["render_window"] = "default"
        window = st.radio(
            "Fenêtrage", list(choices), format_func=render.WINDOW_LABELS.__getitem__,
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


def load_search_state() -> None:
    """Search fields from the URL on a session's first run (a shared link), defaults otherwise.

    Widgets then take their values from the session state only (none is given a ``value=``), so a
    link, a saved search and the user's own changes all go through the same keys."""
    if not st.session_state.get("_url_loaded"):
        params = {key: st.query_params.get_all(key) for key in (*url_state.SEARCH_FIELDS, *url_state.ALIASES.values())}
        for key, value in url_state.from_params(params).items():
            st.session_state[key] = value
        st.session_state["_url_loaded"] = True
    for key, value in url_state.defaults().items():
        st.session_state.setdefault(key, value)


def write_search_state() -> None:
    """The current search into the URL (navigation parameters kept), so the address bar is a link
    to these very results."""
    wanted = {key: st.query_params.get_all(key) for key in nav.SCREEN_KEYS if key in st.query_params}
    wanted.update(url_state.to_params(st.session_state))
    current = {key: st.query_params.get_all(key) for key in st.query_params}
    normalised = {k: v if isinstance(v, list) else [v] for k, v in wanted.items()}
    if normalised != current:
        st.query_params.from_dict(wanted)


def _apply_saved(params: dict[str, Any]) -> None:
    """Callback: open a saved search (its fields into the widgets, back to the results)."""
    for key, value in url_state.from_saved(params).items():
        st.session_state[key] = value
    st.session_state["view"] = VIEW_TEXT
    nav.open_page("search")


def sidebar_saved_searches(client: api.MedsearchClient) -> None:
    """Named saved searches of the signed-in user: open, delete, save the current one."""
    with st.sidebar.expander("⭐ Recherches enregistrées"):
        try:
            saved = client.saved_searches()
        except api.ApiError as exc:
            if exc.status is not None and exc.status not in (401, 404):
                st.caption(render.api_error_text(exc))
            saved = []
        for item in saved:
            cols = st.columns([3, 1], gap="small")  # [4, 1] left the 🗑 button a sliver in the sidebar
            cols[0].button(item["name"], key=f"saved-open-{item['id']}", on_click=_apply_saved, args=(item["params"],),
                           use_container_width=True)
            if cols[1].button("🗑", key=f"saved-del-{item['id']}", help="Supprimer"):
                try:
                    client.delete_search(item["id"])
                    st.rerun()
                except api.ApiError as exc:
                    st.caption(render.api_error_text(exc))
        if st.session_state.pop("saved_name_clear", False):
            st.session_state["saved_name"] = ""
        name = st.text_input("Nom", key="saved_name", placeholder="ex. EP post-opératoires")
        params = url_state.saved_params(st.session_state)
        if st.button("Enregistrer la recherche actuelle", key="saved_add", disabled=not (name.strip() and params.get("q"))):
            try:
                # saving again under the same name replaces that search: the API does it (one request)
                client.save_search(name.strip(), params)
                st.session_state["saved_name_clear"] = True  # emptied on the next run, before the box is drawn
                st.rerun()
            except api.ApiError as exc:
                st.caption(render.api_error_text(exc))


def api_banner(client: api.MedsearchClient) -> None:
    """A visible banner when the search service cannot be reached (checked at most every 10 s)."""
    cached = st.session_state.get("health_cache")
    if cached is None or cached[0] != client.base_url or time.monotonic() - cached[1] > HEALTH_TTL_S:
        try:
            client.health()
            down = None
        except api.ApiError as exc:
            down = exc.message if exc.status is None or exc.status >= 500 else None
        cached = (client.base_url, time.monotonic(), down)
        st.session_state["health_cache"] = cached
    if cached[2]:
        st.error(f"⚠️ Le service de recherche est injoignable : les résultats ne peuvent pas s'afficher. ({cached[2]})")


def french_page() -> None:
    """Declare the page French (Streamlit's page says ``lang="en"``; it has no setting for it). st.html runs the
    constant script in the page itself, not in an iframe: one line, no layout."""
    st.html(render.FRENCH_PAGE_SCRIPT, unsafe_allow_javascript=True)


def show_screen_from_its_top() -> None:
    """On a change of screen, scroll to its top, or back to the element left (:func:`nav.scroll_on_screen_change`);
    on a phone, once logged in, close the sidebar that holds the login form (:func:`nav.close_sidebar_on_phone`).
    st.html runs the script in the page itself (no iframe), with no height."""
    for script in (nav.close_sidebar_on_phone(st.session_state),
                   nav.scroll_on_screen_change(st.query_params.to_dict(), st.session_state)):
        if script:
            st.html(script, unsafe_allow_javascript=True)


def main() -> None:
    """Build the page for one Streamlit run."""
    st.set_page_config(page_title="medsearch", page_icon="🩺", layout="wide")
    french_page()
    keep_widget_state("view", "image_q", "group", "timeline_kinds")
    load_search_state()
    st.markdown(render.PAGE_CSS + render.PATIENT_CSS, unsafe_allow_html=True)
    api_url, _, timeout = api.settings_from_env()
    login = auth.sidebar_login(api_url, timeout)
    if login is None:
        return
    user = login.user
    roles = set(login.roles or (login.role,))
    labels = {**PAGE_LABELS, **(ADMIN_PAGE_LABELS if roles & {"admin", "auditor"} else {})}
    page = st.query_params.get("page", "search")
    page = page if page in labels else "search"  # « ?page=audit » from a non-admin is the search
    st.sidebar.radio("Écran", list(labels), index=list(labels).index(page),
                     format_func=labels.__getitem__, key=f"page-nav-{page}", horizontal=True,
                     on_change=lambda: nav.open_page(st.session_state[f"page-nav-{page}"]))
    deidentified = "researcher" in roles and "clinician" not in roles
    filters = sidebar_filters(deidentified=deidentified)
    with api.make_client(api_url, user, timeout, token=login.token) as client:
        api_banner(client)
        break_glass.banner(client)  # « bris de glace »: while an exceptional access lasts
        sidebar_saved_searches(client)
        break_glass.sidebar_entry(client)
        if "admin" in roles:  # index statistics are the admins' (API: GET /stats)
            sidebar_stats(client, api_url)
        query, force = search_box()
        write_search_state()
        show_screen_from_its_top()
        doc_id = st.query_params.get("doc")
        if doc_id:
            document_view(client, doc_id, query, filters.include_negated)
            return
        patient_id = st.query_params.get("patient")
        if patient_id:
            patient_view(client, patient_id, query, filters.include_negated, thumbnail)
            return
        if page == "cohorts":
            cohort_view(client, deidentified)
            return
        if page == "audit":
            audit_view(client)
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
