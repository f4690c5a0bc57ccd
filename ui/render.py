"""Pure rendering helpers for the portal: HTML fragments, labels and date formatting.

Nothing here imports Streamlit or does I/O, so every escaping rule can be unit-tested. That matters
because the app renders these fragments with ``unsafe_allow_html=True``: document titles, patient
ids and texts come from hospital sources and must never be able to inject markup, while the API's
snippets must keep their ``<mark>`` highlighting.

All fragments are single-line on purpose: Streamlit feeds them through Markdown, where a blank
line ends a raw-HTML block and the rest would be parsed as Markdown (``*``, ``_``, ``1.``...).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone

from ui.client import ApiError, DocumentDetail, IndexStats, SearchHit


@dataclass(frozen=True)
class KindStyle:
    """How one document kind is named and coloured everywhere in the UI."""

    label: str  # singular, on badges
    plural: str  # in filters and stats
    color: str  # badge background; white text must stay readable on it


KIND_STYLES: dict[str, KindStyle] = {
    "image": KindStyle("Image", "Imagerie", "#7b1fa2"),
    "report": KindStyle("Compte rendu", "Comptes rendus", "#1565c0"),
    "record": KindStyle("Dossier patient", "Dossiers patients", "#2e7d32"),
    "article": KindStyle("Article", "Articles scientifiques", "#e65100"),
}
UNKNOWN_KIND_COLOR = "#616161"
KINDS: tuple[str, ...] = tuple(KIND_STYLES)

LANGUAGE_LABELS: dict[str, str] = {"": "Toutes", "fr": "Français", "en": "English"}
MODE_LABELS: dict[str, str] = {
    "hybrid": "Hybride (lexical + sémantique)",
    "lexical": "Lexical (mots exacts)",
    "dense": "Sémantique (dense)",
}

PAGE_CSS = (
    "<style>"
    ".ms-card{line-height:1.45}"
    ".ms-head{font-size:1.05rem;margin-bottom:.2rem}"
    ".ms-rank{color:#757575;margin-right:.3rem}"
    ".ms-title{font-weight:600}"
    ".ms-meta{color:#616161;font-size:.85rem;margin-bottom:.35rem}"
    ".ms-snippet{font-size:.95rem}"
    ".ms-snippet mark,.ms-text mark{background:#fff176;padding:0 .1em;border-radius:2px}"
    ".ms-badge{display:inline-block;color:#fff;border-radius:.6rem;padding:.05rem .55rem;"
    "font-size:.75rem;font-weight:600;vertical-align:middle;margin-right:.4rem}"
    ".ms-text{white-space:normal;font-size:.95rem}"
    "</style>"
)

_MARK_SPLIT = re.compile(r"(</?mark>)", re.IGNORECASE)


def esc(value: object) -> str:
    """HTML-escape any value (None becomes an empty string)."""
    return html.escape("" if value is None else str(value), quote=True)


def _one_line(fragment: str) -> str:
    """Drop line breaks so the fragment stays one raw-HTML block for Streamlit's Markdown."""
    return re.sub(r"[\r\n]+", " ", fragment)


def kind_label(kind: str) -> str:
    """French singular label for a kind ("report" -> "Compte rendu"); unknown kinds shown as is."""
    style = KIND_STYLES.get(kind)
    return style.label if style else kind or "?"


def kind_plural(kind: str) -> str:
    """French plural label, used by the kinds filter and the stats."""
    style = KIND_STYLES.get(kind)
    return style.plural if style else kind or "?"


def badge_html(kind: str) -> str:
    """Coloured pill naming the kind, so physicians spot images vs reports at a glance."""
    style = KIND_STYLES.get(kind)
    color = style.color if style else UNKNOWN_KIND_COLOR
    return (
        f'<span class="ms-badge ms-badge-{esc(kind)}" style="background:{color}">'
        f"{esc(kind_label(kind))}</span>"
    )


def format_date(value: str | date | None) -> str:
    """ISO date (or datetime) -> French DD/MM/YYYY; unparsable values are shown verbatim."""
    if value is None or value == "":
        return "date inconnue"
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    try:
        return date.fromisoformat(str(value)[:10]).strftime("%d/%m/%Y")
    except ValueError:
        return str(value)


def _parse_timestamp(value: str) -> datetime | None:
    """ISO 8601 -> aware datetime; a naive timestamp is taken as UTC (what servers usually log)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def format_age(indexed_at: str | None, now: datetime | None = None) -> str:
    """How long ago the index was built ("il y a 3 h"): stale indexes must be visible."""
    if not indexed_at:
        return "jamais indexé"
    stamp = _parse_timestamp(indexed_at)
    if stamp is None:
        return indexed_at
    return format_age_seconds(((now or datetime.now(timezone.utc)) - stamp).total_seconds())


def format_age_seconds(seconds: float) -> str:
    """An age in seconds as a short French phrase; negative ages (clock skew) read "à l'instant"."""
    if seconds < 60:
        return "à l'instant"
    if seconds < 3600:
        return f"il y a {int(seconds // 60)} min"
    if seconds < 86400:
        return f"il y a {int(seconds // 3600)} h"
    return f"il y a {int(seconds // 86400)} j"


def safe_snippet(snippet: str) -> str:
    """Keep ``<mark>`` highlighting but neutralise any other markup.

    The API already escapes snippets; this is defence in depth. Text between mark tags is unescaped
    then re-escaped, which leaves a correctly escaped snippet unchanged (no ``&amp;amp;``) and turns
    any raw ``<script>`` into inert text.
    """
    parts = _MARK_SPLIT.split(snippet or "")
    out = []
    for part in parts:
        lowered = part.lower()
        if lowered in ("<mark>", "</mark>"):
            out.append(lowered)
        else:
            out.append(html.escape(html.unescape(part), quote=False))
    return _balance_marks(_one_line("".join(out)))


def _balance_marks(fragment: str) -> str:
    """Close a ``<mark>`` left open (snippet cut mid-highlight) so it cannot bleed into the page."""
    opened = fragment.count("<mark>") - fragment.count("</mark>")
    return fragment + "</mark>" * max(opened, 0)


def format_score(score: float) -> str:
    """Scores are fusion scores (often ~0.03): four significant digits is enough to compare."""
    return f"{score:.4g}"


def _meta_items(hit_date: str | None, patient_id: str | None, language: str, modality: str | None) -> list[str]:
    """Escaped metadata items shared by result cards and the document header."""
    items = [f"📅 {esc(format_date(hit_date))}"]
    if patient_id:
        items.append(f"👤 Patient {esc(patient_id)}")
    if language and language != "und":
        items.append(esc(language.upper()))
    if modality:
        items.append(f"🩻 {esc(modality)}")
    return items


def result_card_html(hit: SearchHit, rank: int) -> str:
    """One result: rank, badge, title, metadata line, highlighted snippet."""
    title = esc(hit.title) if hit.title else f"<em>(sans titre)</em> {esc(hit.id)}"
    meta = _meta_items(hit.date, hit.patient_id, hit.language, hit.modality)
    if hit.section:
        meta.append(f"§ {esc(hit.section)}")
    meta.append(f"score {esc(format_score(hit.score))}")
    return _one_line(
        '<div class="ms-card">'
        f'<div class="ms-head"><span class="ms-rank">{rank}.</span>{badge_html(hit.kind)}'
        f'<span class="ms-title">{title}</span></div>'
        f'<div class="ms-meta">{" · ".join(meta)}</div>'
        f'<div class="ms-snippet">{safe_snippet(hit.snippet)}</div>'
        "</div>"
    )


def document_header_html(doc: DocumentDetail) -> str:
    """Title block of the document view."""
    title = esc(doc.title) if doc.title else f"<em>(sans titre)</em> {esc(doc.id)}"
    meta = _meta_items(doc.date, doc.patient_id, doc.language, doc.modality)
    return _one_line(
        '<div class="ms-card">'
        f'<div class="ms-head">{badge_html(doc.kind)}<span class="ms-title">{title}</span></div>'
        f'<div class="ms-meta">{" · ".join(meta)} · id {esc(doc.id)}</div>'
        "</div>"
    )


def text_html(text: str) -> str:
    """Plain document text -> escaped HTML with line breaks kept (and no blank lines)."""
    escaped = esc(text.replace("\r\n", "\n").replace("\r", "\n").strip())
    return f'<div class="ms-text">{escaped.replace(chr(10), "<br>")}</div>'


def page_label(offset: int, shown: int, total: int) -> str:
    """"Résultats 11–20 sur 57" (French typographic en dash)."""
    if total <= 0 or shown <= 0:
        return "Aucun résultat"
    return f"Résultats {offset + 1}–{offset + shown} sur {total}"


def summary_line(total: int, took_ms: float, mode: str) -> str:
    """Result count, latency and retrieval mode, in one caption."""
    noun = "résultat" if total == 1 else "résultats"
    mode_label = MODE_LABELS.get(mode, mode).split(" (")[0].lower()
    return f"{total} {noun} · {took_ms:.0f} ms · mode {mode_label}"


def stats_html(stats: IndexStats, now: datetime | None = None) -> str:
    """Sidebar index summary: totals, per-kind counts with badges, index age and encoder."""
    rows = "".join(
        f"<li>{badge_html(kind)}{count}</li>" for kind, count in _ordered_counts(stats.by_kind)
    )
    return _one_line(
        '<div class="ms-stats">'
        f"<div><b>{stats.documents}</b> documents · {stats.passages} passages</div>"
        f'<ul style="list-style:none;padding-left:0;margin:.3rem 0">{rows}</ul>'
        f"<div>Indexé {esc(_stats_age(stats, now))}</div>"
        f'<div style="color:#757575;font-size:.8rem">Encodeur : {esc(stats.encoder)}</div>'
        "</div>"
    )


def _stats_age(stats: IndexStats, now: datetime | None) -> str:
    """Prefer the server-computed age (no client/server clock or timezone mismatch)."""
    if stats.index_age_seconds is not None and stats.indexed_at:
        return format_age_seconds(stats.index_age_seconds)
    return format_age(stats.indexed_at, now)


def _ordered_counts(by_kind: Mapping[str, int]) -> list[tuple[str, int]]:
    """Known kinds in their usual order first, then any kind the UI does not know yet."""
    known = [(kind, by_kind[kind]) for kind in KINDS if kind in by_kind]
    extra = sorted((kind, count) for kind, count in by_kind.items() if kind not in KIND_STYLES)
    return known + extra


def api_error_text(error: ApiError) -> str:
    """French sentence for an :class:`ApiError`, distinguishing 'unreachable' from 'refused'."""
    if error.status is None:
        return f"Le service de recherche est indisponible : {error.message}"
    if error.status == 404:
        return f"Introuvable (404) : {error.message}"
    if error.status == 422:
        return f"Requête invalide (422) : {error.message}"
    return f"Erreur de l'API ({error.status}) : {error.message}"
