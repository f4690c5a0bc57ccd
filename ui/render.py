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
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo

from ui.client import (
    ApiError,
    DocumentDetail,
    ExpandedTerm,
    Explanation,
    ImageHit,
    ImageSearchPage,
    IndexStats,
    Interpretation,
    LinkedReport,
    SearchHit,
)


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

# Clinical context of the highlighted mention: "affirmed" needs no label (it is what a search means).
CONTEXT_LABELS: dict[str, str] = {
    "negated": "nié",
    "hypothetical": "hypothèse",
    "family": "antécédent familial",
}
CONTEXT_COLORS: dict[str, str] = {"negated": "#c62828", "hypothetical": "#ef6c00", "family": "#6a1b9a"}
#: a family mention's relatives as the API names them (indexer/configs/clinical/context_triggers.yaml
#: ``relatives``), in French: « antécédent familial (mère) »
RELATIVE_LABELS: dict[str, str] = {
    "mother": "mère", "father": "père", "parents": "parents", "brother": "frère", "sister": "sœur",
    "siblings": "fratrie", "twin": "jumeau", "son": "fils", "daughter": "fille", "children": "enfants",
    "grandmother": "grand-mère", "grandfather": "grand-père", "grandparents": "grands-parents",
    "great-grandmother": "arrière-grand-mère", "great-grandfather": "arrière-grand-père",
    "aunt": "tante", "uncle": "oncle", "cousin": "cousin(e)", "maternal side": "côté maternel",
    "paternal side": "côté paternel",
}

# What scored an image result, in the API's order (search_api.image_results._METHOD_ORDER).
METHOD_LABELS: dict[str, str] = {
    "report_text": "compte rendu",
    "caption": "légende",
    "metadata": "en-tête DICOM",
    "descriptor": "similarité visuelle",
    "clip": "CLIP",
}

# Display windows of GET /images/{id}/render, in the order shown in the document view.
WINDOW_LABELS: dict[str, str] = {
    "default": "Défaut",
    "lung": "Poumon",
    "bone": "Os",
    "brain": "Cerveau",
    "soft": "Tissus mous",
}

EXPANSION_TERMS_SHOWN = 3
CONCLUSION_EXCERPT_CHARS = 220

def uploader_css(max_mb: int) -> str:
    """French for the file uploader's own English (button « Upload », « 20MB per file »), by CSS on
    Streamlit's ``data-testid`` hooks: the text is hidden and the French drawn in its place, with the
    limit the widget enforces (*max_mb*: the API's, :func:`ui.client.upload_limit_mb`; the French said
    « 200 Mo maximum », Streamlit's default, where the API refuses past 20 Mo).

    Why CSS: Streamlit has no setting for these texts (no translation), and patching its JavaScript is
    not maintainable; the test ids are the hooks Streamlit's own tests use. If they change, the
    English comes back (tests/test_e2e_browser.py reads the French)."""
    zone = '[data-testid="stFileUploaderDropzone"]'
    return (
        "<style>"
        f'{zone} button [data-testid="stMarkdownContainer"] p{{font-size:0}}'
        f'{zone} button [data-testid="stMarkdownContainer"] p::after{{content:"Parcourir";font-size:.9rem}}'
        f'{zone} [data-testid="stFileUploaderDropzoneInstructions"] span{{font-size:0}}'
        f'{zone} [data-testid="stFileUploaderDropzoneInstructions"] span::after'
        f'{{content:"Glissez-déposez un fichier ici · {int(max_mb)} Mo maximum";font-size:.8rem}}'
        "</style>"
    )


#: The page's language: Streamlit's index.html says lang="en", so screen readers read the French with an
#: English voice and browsers offer to translate « from English ». A constant script (no user input).
FRENCH_PAGE_SCRIPT = "<script>document.documentElement.lang='fr';</script>"


PAGE_CSS = (
    "<style>"
    ".ms-card{line-height:1.45;scroll-margin-top:4.5rem}"  # a card scrolled back to clears the top bar
    ".ms-head{font-size:1.05rem;margin-bottom:.2rem}"
    ".ms-rank{color:#757575;margin-right:.3rem}"
    ".ms-title{font-weight:600}"
    ".ms-meta{color:#616161;font-size:.85rem;margin-bottom:.35rem}"
    ".ms-snippet{font-size:.95rem}"
    ".ms-snippet mark,.ms-text mark{background:#fff176;padding:0 .1em;border-radius:2px}"
    ".ms-badge{display:inline-block;color:#fff;border-radius:.6rem;padding:.05rem .55rem;"
    "font-size:.75rem;font-weight:600;vertical-align:middle;margin-right:.4rem}"
    ".ms-text{white-space:normal;font-size:.95rem}"
    ".ms-ctx{display:inline-block;border:1px solid;border-radius:.6rem;padding:0 .45rem;font-size:.75rem;"
    "font-weight:600;margin-right:.35rem;vertical-align:middle}"
    ".ms-why{color:#9e9e9e;font-size:.78rem;margin-top:.2rem}"
    ".ms-method{display:inline-block;background:#ede7f6;color:#4527a0;border-radius:.6rem;padding:0 .45rem;"
    "font-size:.75rem;margin-right:.3rem}"
    ".ms-understood{font-size:.92rem;margin:.2rem 0 .3rem}"
    ".ms-chip{display:inline-block;background:#e3f2fd;color:#0d47a1;border-radius:1rem;padding:.05rem .6rem;"
    "font-size:.82rem;margin:0 .3rem .3rem 0}"
    ".ms-chip-ambiguous{background:#fff3e0;color:#e65100;border:1px dashed #e65100}"
    ".ms-report{border-left:3px solid #1565c0;padding-left:.5rem;margin:.3rem 0;font-size:.88rem}"
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


def format_timestamp(value: str | None, zone: tzinfo | None = None) -> str:
    """An API timestamp (UTC) → « 03/12/2026 12:59 CET »: the day and time in the portal's time zone
    (*zone*: the machine's), named. A cohort's « Dernière exécution » showed the UTC date alone: no
    time for two runs a day, and a run at 00:30 in Lyon dated the day before."""
    if not value:
        return "jamais"
    stamp = _parse_timestamp(str(value))
    if stamp is None:
        return str(value)
    local = stamp.astimezone(zone)
    return f"{local.strftime('%d/%m/%Y %H:%M')} {local.tzname() or ''}".strip()


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


def result_anchor(rank: int) -> str:
    """Element id of the result card ranked *rank* (where « ← Retour aux résultats » brings the reader)."""
    return f"ms-result-{int(rank)}"


def timeline_anchor(group: int, position: int) -> str:
    """Element id of a timeline entry (where « ← Retour au patient » brings the reader)."""
    return f"ms-tl-{int(group)}-{int(position)}"


def result_card_html(hit: SearchHit, rank: int) -> str:
    """One result: rank, badge, title, metadata line, highlighted snippet; its element id is
    :func:`result_anchor`, so that coming back from the document or patient shows it again."""
    title = esc(hit.title) if hit.title else f"<em>(sans titre)</em> {esc(hit.id)}"
    meta = _meta_items(hit.date, hit.patient_id, hit.language, hit.modality)
    if hit.section:
        meta.append(f"§ {esc(hit.section)}")
    meta.append(f"score {esc(format_score(hit.score))}")
    return _one_line(
        f'<div class="ms-card" id="{result_anchor(rank)}">'
        f'<div class="ms-head"><span class="ms-rank">{rank}.</span>{badge_html(hit.kind)}'
        f'<span class="ms-title">{title}</span></div>'
        f'<div class="ms-meta">{" · ".join(meta)}</div>'
        f"{methods_html(hit.methods)}"
        f'<div class="ms-snippet">{semantic_only_html() if is_semantic_only(hit) else ""}'
        f"{context_label_html(hit.context, hit.relatives)}{safe_snippet(hit.snippet)}</div>"
        f"{_caption_html(hit.caption)}"
        f"{explanation_html(hit.explanation)}"
        "</div>"
    )


def context_label_html(context: str | None, relatives: Iterable[object] | None = None) -> str:
    """Small label before the snippet when its highlighted mention is not affirmed.

    Without it, « absence d'<mark>épanchement</mark> » looks like a hit for the finding: the label
    makes negated, hypothetical and family-history mentions impossible to misread at a glance; a
    family mention says whose (« antécédent familial (mère) »: the API's ``relatives``).
    Unknown statuses (a newer API) are shown verbatim rather than dropped.
    """
    if not context or context == "affirmed":
        return ""
    label = CONTEXT_LABELS.get(context, context)
    named = [RELATIVE_LABELS.get(str(r), str(r)) for r in relatives or () if r]
    if named and context == "family":
        label = f"{label} ({', '.join(named)})"
    color = CONTEXT_COLORS.get(context, UNKNOWN_KIND_COLOR)
    return (
        f'<span class="ms-ctx ms-ctx-{esc(context)}" style="color:{color};border-color:{color}" '
        f'title="Contexte clinique de la mention surlignée">{esc(label)}</span>'
    )


def explanation_text(explanation: Explanation | None) -> str:
    """"mots-clés #2 · sémantique #5": which retrieval leg found the document, and how high.

    Physicians trust a ranking they can read: a document found only semantically (no keyword in
    common) is worth knowing about. Empty when the API gave no explanation.
    """
    if explanation is None:
        return ""
    parts = []
    if explanation.lexical_rank is not None:
        parts.append(f"mots-clés #{explanation.lexical_rank}")
    if explanation.dense_rank is not None:
        parts.append(f"sémantique #{explanation.dense_rank}")
    return " · ".join(parts)


def explanation_html(explanation: Explanation | None) -> str:
    """The discreet "why" line under a result's snippet (nothing when there is nothing to say)."""
    text = explanation_text(explanation)
    return f'<div class="ms-why">Pourquoi : {esc(text)}</div>' if text else ""


def method_label(method: str) -> str:
    """French name of what scored an image ("descriptor" -> "similarité visuelle")."""
    return METHOD_LABELS.get(method, method)


def methods_html(methods: Iterable[str]) -> str:
    """Badges naming what scored an image result (report text, caption, DICOM header, pixels, CLIP)."""
    badges = "".join(f'<span class="ms-method">{esc(method_label(m))}</span>' for m in methods if m)
    return f'<div class="ms-methods">Trouvée par : {badges}</div>' if badges else ""


def _caption_html(caption: str | None) -> str:
    """A figure's caption under the snippet (escaped: it comes from the article source)."""
    return f'<div class="ms-meta">Légende : {esc(caption)}</div>' if caption else ""


def excerpt(text: str, limit: int = CONCLUSION_EXCERPT_CHARS) -> str:
    """First *limit* characters of a text on one line, cut at a word boundary with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] or flat[:limit]
    return cut.rstrip(" ,;:.") + "…"


def linked_report_html(report: LinkedReport) -> str:
    """A report tied to an image: title, date and an excerpt of its conclusion."""
    title = esc(report.title) if report.title else f"<em>(sans titre)</em> {esc(report.id)}"
    date_part = f" · {esc(format_date(report.date))}" if report.date else ""
    conclusion = f"<div>{esc(excerpt(report.conclusion))}</div>" if report.conclusion.strip() else ""
    return _one_line(
        f'<div class="ms-report">{badge_html("report")}<b>{title}</b>{date_part}{conclusion}</div>'
    )


def image_hit_card_html(hit: ImageHit, rank: int) -> str:
    """One result of a search by image: similarity scores and what scored it."""
    title = esc(hit.title) if hit.title else f"<em>(sans titre)</em> {esc(hit.id)}"
    meta = _meta_items(hit.date, hit.patient_id, "und", hit.modality)
    if hit.body_part:
        meta.append(esc(body_part_label(hit.body_part)))
    # the fused rank score (RRF, ~0.016 for the first), not a similarity: named so, beside the similarities
    meta.append(f"score de classement {esc(format_score(hit.score))}")
    return _one_line(
        '<div class="ms-card">'
        f'<div class="ms-head"><span class="ms-rank">{rank}.</span>{badge_html("image")}'
        f'<span class="ms-title">{title}</span></div>'
        f'<div class="ms-meta">{" · ".join(meta)}</div>'
        f"{methods_html(hit.methods)}"
        f"{_similarity_html(hit)}"
        f"{_caption_html(hit.caption)}"
        "</div>"
    )


def _similarity_html(hit: ImageHit) -> str:
    """Cosine similarities of the pixel legs, when the API reports them."""
    parts = []
    if hit.descriptor_similarity is not None:
        parts.append(f"similarité visuelle {similarity_text(hit.descriptor_similarity)}")
    if hit.clip_similarity is not None:
        parts.append(f"CLIP {similarity_text(hit.clip_similarity)}")
    if not parts:
        return ""
    return (f'<div class="ms-why" title="{esc(SIMILARITY_HELP)}">{esc(" · ".join(parts))}</div>')


#: what the similarity figures are, as a tooltip on them
SIMILARITY_HELP = "Similarité cosinus avec l'image de référence (1 = pixels identiques), propre à chaque image."
IDENTICAL_SIMILARITY = 0.9999  # the API rounds to 4 decimals: 1.0 is the uploaded picture itself (or a copy)


def similarity_text(value: float) -> str:
    """A cosine similarity to the query image, in French (« 0,998 »), truncated to three decimals so a
    different image never reads « 1,00 »; « identique » for the picture itself.

    Why: the demo's phantoms of one body part are 0.998 alike, and shown with two decimals (rounded)
    three different radiographs read « similarité visuelle 1.00 », as if each were the query image."""
    if value >= IDENTICAL_SIMILARITY:
        return "1,000 (image identique)"
    truncated = math.floor(max(value, -1.0) * 1000) / 1000
    return f"{truncated:.3f}".replace(".", ",")


def interpretation_html(interpretation: Interpretation | None, include_negated: bool = False) -> str:
    """How the query was understood, in one sentence under the search box.

    « sans épanchement pleural » silently returning *negated* mentions would surprise a physician;
    saying so (« Recherche des mentions **niées** de : épanchement pleural ») makes it explicit.
    """
    if interpretation is None:
        return ""
    affirmed = [t for t in interpretation.affirmed_terms if t.strip()]
    negated = [t for t in interpretation.negated_terms if t.strip()]
    family = [t for t in interpretation.family_terms if t.strip()]
    if interpretation.polarity == "negated":
        sentence = f"Recherche des mentions <b>niées</b> de : {_terms(negated or affirmed)}"
    elif not affirmed and family:  # « antécédents familiaux de cancer du sein »: the relatives' mentions only
        sentence = f"Recherche des <b>antécédents familiaux</b> de : {_terms(family)}"
        if negated:
            sentence += f", avec mention <b>niée</b> de : {_terms(negated)}"
    elif not affirmed and not negated:
        return ""
    else:
        scope = "toutes les mentions (y compris niées et familiales)" if include_negated else "mentions <b>affirmées</b>"
        sentence = f"Recherche des {scope} de : {_terms(affirmed)}" if affirmed else "Recherche"
        if negated:
            sentence += f", avec mention <b>niée</b> de : {_terms(negated)}"
        if family:
            sentence += f", et <b>antécédents familiaux</b> de : {_terms(family)}"
    return _one_line(f'<div class="ms-understood">🧠 {sentence}{_compared(interpretation)}{_cognates(interpretation)}'
                     f'{_ignored(interpretation)}</div>')


def _compared(interpretation: Interpretation) -> str:
    """« ; valeur comparée : FEVG < 40 % »: the physician sees the number is checked, not searched as a word."""
    return f" ; valeur comparée : {esc(interpretation.compared_value)}" if interpretation.compared_value else ""


def _ignored(interpretation: Interpretation) -> str:
    """« ; lettre seule non cherchée : x (entre guillemets pour la chercher) »: why « 2 x 3 cm » did not search « x »."""
    letters = interpretation.ignored_terms
    if not letters:
        return ""
    label = "lettre seule non cherchée" if len(letters) == 1 else "lettres seules non cherchées"
    return f" ; {label} : {_terms(letters)} (entre guillemets pour la chercher)"


def _cognates(interpretation: Interpretation) -> str:
    """« ; aussi cherché en anglais : densité → density »: a physician sees why English reports match
    a French word the lexicon does not know (and can spot a wrong equivalent)."""
    pairs = [f"{esc(word)} → {_terms(english)}" for word, english in interpretation.cognates if english]
    return f" ; aussi cherché en anglais : {'; '.join(pairs)}" if pairs else ""


def _terms(terms: Iterable[str]) -> str:
    """Escaped query terms joined for a sentence."""
    return ", ".join(esc(t) for t in terms)


def expansion_groups(terms: Iterable[ExpandedTerm]) -> list[tuple[str, list[ExpandedTerm]]]:
    """Expanded terms grouped by the query text they came from, in query order.

    An ambiguous abbreviation comes back once per sense; grouping puts « IR » once on screen with
    all its meanings instead of two unrelated-looking chips.
    """
    groups: dict[str, list[ExpandedTerm]] = {}
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    for term in terms:
        # The same concept comes back once per clause that mentions it (« IDM … sans IDM »): one chip.
        key = (term.source_text.casefold(), term.concept_id, term.terms)
        if key in seen:
            continue
        seen.add(key)
        groups.setdefault(term.source_text, []).append(term)
    return list(groups.items())


def expansion_chip_html(source_text: str, senses: list[ExpandedTerm]) -> str:
    """One chip: « IDM → infarctus du myocarde, … » or, flagged, « IR : ambigu — rénale / respiratoire »."""
    if len(senses) > 1 or any(sense.ambiguous for sense in senses):
        meanings = " / ".join(esc(_sense_name(sense)) for sense in senses)
        return (
            f'<span class="ms-chip ms-chip-ambiguous" title="Abréviation ambiguë : tous les sens sont recherchés">'
            f"⚠ {esc(source_text)} : ambigu — {meanings}</span>"
        )
    sense = senses[0]
    others = [t for t in sense.terms if t.casefold() != source_text.casefold()]
    if not others:
        return ""
    shown = ", ".join(esc(t) for t in others[:EXPANSION_TERMS_SHOWN])
    more = "…" if len(others) > EXPANSION_TERMS_SHOWN else ""
    return (
        f'<span class="ms-chip" title="{esc(", ".join(others))}">'
        f"{esc(source_text)} → {shown}{more}</span>"
    )


def _sense_name(term: ExpandedTerm) -> str:
    """A concept's display name: its first term (the French preferred name), else its id."""
    return term.terms[0] if term.terms else term.concept_id.replace("_", " ")


def expanded_terms_html(terms: Iterable[ExpandedTerm]) -> str:
    """The chips line "Synonymes recherchés : …" (empty when nothing was expanded)."""
    chips = "".join(expansion_chip_html(source, senses) for source, senses in expansion_groups(terms))
    return _one_line(f'<div class="ms-chips">Termes élargis : {chips}</div>') if chips else ""


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


def _listed(value: object) -> list[str]:
    """A metadata value as a list of non-empty strings (FHIR authors are a list, a custodian one name)."""
    items = value if isinstance(value, (list, tuple)) else [value]
    return [str(item).strip() for item in items if item is not None and str(item).strip()]


def provenance_items(metadata: Mapping[str, object], title: str = "") -> list[tuple[str, str]]:
    """(label, value) pairs saying who wrote a letter and where: type (when not the title already),
    author, department, institution (FHIR DocumentReference: ``report_type``, ``author``, ``department``,
    ``custodian``). Why: a FHIR discharge letter showed no author nor ward outside the raw « Métadonnées »
    JSON; a physician reads a letter by who signed it."""
    items: list[tuple[str, str]] = []
    kind = ", ".join(_listed(metadata.get("report_type")))
    if kind and kind.casefold() != title.strip().casefold():
        items.append(("Type", kind))
    authors = _listed(metadata.get("author"))
    if authors:
        items.append(("Auteur" if len(authors) == 1 else "Auteurs", ", ".join(authors)))
    if _listed(metadata.get("department")):
        items.append(("Service", ", ".join(_listed(metadata.get("department")))))
    institution = _listed(metadata.get("custodian")) or _listed(metadata.get("institution"))
    if institution:
        items.append(("Établissement", ", ".join(dict.fromkeys(institution))))
    return items


def provenance_html(metadata: Mapping[str, object], title: str = "") -> str:
    """« Auteur : Dr Anne Moreau · Service : Cardiologie · Établissement : CHU de Bordeaux » ("" if none)."""
    items = provenance_items(metadata, title)
    if not items:
        return ""
    return '<div class="ms-meta">' + " · ".join(f"{esc(label)} : <b>{esc(value)}</b>" for label, value in items) + "</div>"


def short_file_name(path: str) -> str:
    """A path's folder and file name, Windows or POSIX (« D:\\exports\\rattrapage\\CR_123.txt » →
    « rattrapage/CR_123.txt »). Why the folder: the copies of an export usually share the file name
    (« CR_123.txt » shown alone looked like the document itself)."""
    parts = [part for part in re.split(r"[\\/]", path) if part]
    return "/".join(parts[-2:]) or path


def duplicate_sources_html(metadata: Mapping[str, object]) -> str:
    """« Aussi présent dans : CR_123.txt, CR_123 (1).txt », each short name with its full path as tooltip
    ("" when the document was found in one file only). Why: a document exported twice is indexed once
    (indexer/sources/duplicates.py); the archivist checking an export must see where the copies are.
    Researchers never get ``duplicate_sources`` (search_api/security/deid.py): nothing shown to them."""
    paths = _listed(metadata.get("duplicate_sources"))
    if not paths:
        return ""
    names = ", ".join(f'<span title="{esc(path)}"><code>{esc(short_file_name(path))}</code></span>' for path in paths)
    return f'<div class="ms-meta ms-duplicates">Aussi présent dans : {names}</div>'


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


def image_count_line(page: ImageSearchPage) -> str:
    """What the number means. Without text, ``total`` is only the size of the API's candidate pool
    (every image is someone's nearest neighbour: « 100 images similaires » for 10 shown, 200 at 50 a
    page); with text it counts the images whose report, caption or header has its words."""
    shown = len(page.results)
    if page.query:
        noun = "images dont le texte correspond" if page.total > 1 else "image dont le texte correspond"
        return f"{page.total} {noun} · {shown} affichée" + ("s" if shown > 1 else "")
    return "L'image la plus proche" if shown == 1 else f"Les {shown} images les plus proches"


def api_error_text(error: ApiError) -> str:
    """French sentence for an :class:`ApiError`, distinguishing 'unreachable' from 'refused'; the
    API's own message is translated (:mod:`ui.messages`)."""
    from ui.messages import french

    error = ApiError(error.status, french(error.message))
    if error.status is None:
        return f"Le service de recherche est indisponible : {error.message}"
    if error.status == 404:
        return f"Introuvable (404) : {error.message}"
    if error.status == 422:
        return f"Requête invalide (422) : {error.message}"
    if error.status == 400:
        return f"Requête refusée (400) : {error.message}"
    if error.status == 413:
        return f"Fichier trop volumineux (413) : {error.message}"
    if error.status == 415:
        return f"Format non pris en charge (415) : {error.message}"
    if error.status == 503:
        return f"Recherche momentanément indisponible (503) : {error.message}"
    return f"Erreur de l'API ({error.status}) : {error.message}"


# --------------------------------------------------------------------------- patient-centred views

SEX_LABELS: dict[str, str] = {"male": "homme", "female": "femme"}
GROUP_LABELS: dict[str, str] = {"documents": "📄 Documents", "patients": "👤 Patients"}
SEMANTIC_ONLY_LABEL = "sémantique seulement"
#: CT presets that fit a body part (HU windows mean nothing on MR, US or radiographs)
_BODY_WINDOWS: dict[str, tuple[str, ...]] = {
    "head": ("default", "brain", "bone", "soft"),
    "brain": ("default", "brain", "bone", "soft"),
    "skull": ("default", "brain", "bone", "soft"),
    "chest": ("default", "lung", "soft", "bone"),
    "thorax": ("default", "lung", "soft", "bone"),
    "lung": ("default", "lung", "soft", "bone"),
    "abdomen": ("default", "soft", "bone"),
    "pelvis": ("default", "soft", "bone"),
}
_LIMB_PARTS = ("knee", "hip", "shoulder", "ankle", "wrist", "hand", "foot", "elbow", "spine", "leg", "arm", "femur")


def window_choices(modality: str | None, body_part: str | None) -> tuple[str, ...]:
    """Display windows worth offering for an image: CT presets that fit its body part; none but the
    header's own window for other modalities (no brain window on a knee radiograph)."""
    if (modality or "").upper() != "CT":
        return ("default",)
    part = (body_part or "").strip().lower()
    if part in _BODY_WINDOWS:
        return _BODY_WINDOWS[part]
    if any(limb in part for limb in _LIMB_PARTS):
        return ("default", "bone", "soft")
    return tuple(WINDOW_LABELS)


def is_semantic_only(hit: SearchHit) -> bool:
    """Found by meaning alone: the lexical leg did not retrieve it (none of the query's words)."""
    explanation = hit.explanation
    return explanation is not None and explanation.lexical_rank is None and explanation.dense_rank is not None


def semantic_only_html() -> str:
    return (
        '<span class="ms-ctx" style="color:#455a64;border-color:#455a64" '
        'title="Ce document ne contient pas les termes de la requête (tous ses concepts, ou la moitié pour une longue requête) : proposé par proximité de sens">'
        f"{SEMANTIC_ONLY_LABEL}</span>"
    )


#: the spelling suggestion's wording (« Essayez avec l'orthographe : pneumothorax »)
SUGGESTION_PREFIX = "Essayez avec l'orthographe :"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def suggestion_label(suggestion: str) -> str:
    """The label of the button that re-runs the search with the API's corrected query: the prefix, then
    the query in bold, its characters escaped (a query is user text, not markdown)."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", suggestion)
    return f"{SUGGESTION_PREFIX} **{escaped}**"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("s" if count != 1 else "")


def counts_line(total: int, patients: int | None, took_ms: float, mode: str, semantic: int | None = None,
                affirmed: tuple[int | None, int | None] = (None, None)) -> str:
    """« 57 documents · 12 patients · 31 ms · mode hybride »: exact counts of term matches.

    *semantic*: no document has the query's words and this many are proposed by meaning; said as
    such, since « 0 documents · 0 patients » above a list ending « Résultats 1–10 sur 51 » read as a
    contradiction. *affirmed*: (documents, patients) matching through an affirmed mention; when fewer
    than the totals, said next to them (« dont 23 documents · 7 patients avec mention affirmée »): a
    search also counts suspected findings, a cohort of the same query does not, and a physician comparing
    « 33 documents · 12 patients » with a cohort of 7 patients was told nothing about why."""
    parts = [_plural(total, "document")]
    if semantic:
        parts = [f"{semantic} document" + ("s" if semantic > 1 else "") + " proposé" + ("s" if semantic > 1 else "")
                 + " par proximité de sens"]
        patients = None
    if patients is not None:
        parts.append(_plural(patients, "patient"))
    docs_affirmed, patients_affirmed = affirmed
    if not semantic and docs_affirmed is not None and docs_affirmed < total:
        detail = _plural(docs_affirmed, "document") + (
            f" · {_plural(patients_affirmed, 'patient')}" if patients_affirmed is not None and patients is not None else "")
        parts[-1] += f" (dont {detail} avec mention affirmée)"
    mode_label = MODE_LABELS.get(mode, mode).split(" (")[0].lower()
    return " · ".join([*parts, f"{took_ms:.0f} ms", f"mode {mode_label}"])


def active_filters_html(items: Iterable[tuple[str, str]]) -> str:
    """The filters in force, as chips above the results (nothing when there are none)."""
    chips = "".join(
        f'<span class="ms-chip ms-filter"><b>{esc(name)}</b> : {esc(value)}</span>' for name, value in items if value
    )
    return _one_line(f'<div class="ms-filters">Filtres actifs : {chips}</div>') if chips else ""


def patient_card_html(patient: Mapping[str, object]) -> str:
    """One patient of the grouped results: id, number of matching documents (and how many affirm the
    finding, when not all do), rank."""
    count = int(patient.get("matching_documents") or 0)  # type: ignore[call-overload]
    noun = "document correspondant" if count == 1 else "documents correspondants"
    return _one_line(
        '<div class="ms-card">'
        f'<div class="ms-head"><span class="ms-rank">{esc(patient.get("rank"))}.</span>'
        f'<span class="ms-title">👤 Patient {esc(patient.get("patient_id"))}</span></div>'
        f'<div class="ms-meta">{count} {noun}{_patient_affirmed_text(patient, count)}</div></div>'
    )


def _patient_affirmed_text(patient: Mapping[str, object], count: int) -> str:
    """« , dont 1 avec mention affirmée » or « — aucune mention affirmée (suspicion seulement) »; nothing
    when every matching document affirms (or the API is older and does not say).

    Why: the patients view listed 12 patients where a cohort of the same query held 7; the physician
    must see which patients are there only for a suspected finding."""
    affirmed = patient.get("affirmed_documents")
    if not isinstance(affirmed, int) or not count or affirmed >= count:
        return ""
    if affirmed == 0:
        return " — aucune mention affirmée (suspicion seulement)"
    return f", dont {affirmed} avec mention affirmée"


def patient_hit_html(hit: Mapping[str, object]) -> str:
    """One of a patient's best documents: badge, title, date and snippet."""
    kind = str(hit.get("kind") or "")
    semantic = semantic_only_html() if hit.get("semantic_only") else ""
    return _one_line(
        f'<div class="ms-report">{badge_html(kind)}<b>{esc(hit.get("title") or hit.get("id"))}</b>'
        f' · {esc(format_date(hit.get("date")))}'  # type: ignore[arg-type]
        f'<div class="ms-snippet">{semantic}{context_label_html(hit.get("context"), hit.get("relatives"))}'  # type: ignore[arg-type]
        f'{safe_snippet(str(hit.get("snippet") or ""))}</div></div>'
    )


def identity_age_text(identity: Mapping[str, object]) -> str:
    """« 64 ans », or for a researcher (the API counts the age on the last document, in shifted dates)
    « 63 ans au 12/03/2024 (dernier document) »: an age beside shifted dates must say which day it is on."""
    age_on = identity.get("age_on")
    if age_on and str(age_on) != date.today().isoformat():
        return f"{identity['age']} ans au {format_date(str(age_on))} (dernier document)"
    return f"{identity['age']} ans"


def cohort_age_text(patient: Mapping[str, object]) -> str:
    """A cohort member's age: today's for an identified patient; for a pseudonymised one (``PSN-…``) the
    API counts it on the member's last evidence document (never on today, which is not shifted)."""
    if patient.get("age") is None:
        return ""
    pseudonymised = str(patient.get("patient_id") or "").startswith("PSN-")
    return f"{patient['age']} ans" + (" (dernier document retenu)" if pseudonymised else "")


def identity_html(patient: Mapping[str, object]) -> str:
    """Identity block of the patient view: name, sex, birth date, age (withheld fields left out)."""
    identity = patient.get("identity") or {}
    assert isinstance(identity, Mapping)
    parts = []
    if identity.get("name"):
        parts.append(f"<b>{esc(identity['name'])}</b>")
    if identity.get("sex"):
        parts.append(esc(SEX_LABELS.get(str(identity["sex"]), identity["sex"])))
    if identity.get("birth_date"):
        parts.append(f"né(e) le {esc(format_date(str(identity['birth_date'])))}")
    if identity.get("age") is not None:
        parts.append(esc(identity_age_text(identity)))
    counts = patient.get("by_kind") or {}
    assert isinstance(counts, Mapping)
    kinds = " ".join(f"{badge_html(str(k))}{esc(v)}" for k, v in _ordered_counts({str(k): int(v) for k, v in counts.items()}))
    first, last = patient.get("first_date"), patient.get("last_date")
    span = f"du {esc(format_date(first))} au {esc(format_date(last))}" if first and last else ""  # type: ignore[arg-type]
    return _one_line(
        '<div class="ms-card ms-identity">'
        f'<div class="ms-head"><span class="ms-title">👤 Patient {esc(patient.get("patient_id"))}</span></div>'
        f'<div class="ms-meta">{" · ".join(parts) or "identité non communiquée"}</div>'
        f'<div class="ms-meta">{esc(patient.get("documents"))} documents {span} {kinds}</div></div>'
    )


#: A stay's kind as FHIR gives it (``Encounter.class``: HL7 v3 ActCode, whose display names are English
#: by the standard: « inpatient encounter »), by display or by code, in the physician's words.
STAY_CLASS_LABELS: dict[str, str] = {
    "inpatient encounter": "hospitalisation", "imp": "hospitalisation",
    "inpatient acute": "hospitalisation (soins aigus)", "acute": "hospitalisation (soins aigus)",
    "inpatient non-acute": "hospitalisation (soins non aigus)", "nonac": "hospitalisation (soins non aigus)",
    "emergency": "urgences", "emer": "urgences",
    "ambulatory": "consultation externe", "amb": "consultation externe",
    "short stay": "hospitalisation de courte durée", "ss": "hospitalisation de courte durée",
    "observation encounter": "mise en observation", "obsenc": "mise en observation",
    "home health": "hospitalisation à domicile", "hh": "hospitalisation à domicile",
    "virtual": "téléconsultation", "vr": "téléconsultation",
    "pre-admission": "pré-admission", "prenc": "pré-admission",
    "field": "intervention hors établissement", "fld": "intervention hors établissement",
}


def stay_label(label: object) -> str:
    """French name of a stay's kind; a kind the hospital spelt itself (already French) is kept."""
    text = str(label or "").strip()
    return STAY_CLASS_LABELS.get(text.lower(), text)


def stay_header(stay: Mapping[str, object] | None) -> str:
    """« Séjour hospitalisation · 18/06/2024 → 20/06/2024 · Syndrome coronarien aigu » (plain text)."""
    if not stay:
        return "Hors séjour connu"
    label = f"Séjour {stay_label(stay.get('label'))}".strip()
    start, end = stay.get("start"), stay.get("end")
    dates = format_date(start) if start else ""  # type: ignore[arg-type]
    if end and end != start:
        dates += f" → {format_date(end)}"  # type: ignore[arg-type]
    parts = [label, dates, str(stay.get("reason") or ""), str(stay.get("unit") or "")]
    return " · ".join(p for p in parts if p)


#: DICOM body parts examined, as a French physician names them (the header's code otherwise shown as is)
BODY_PART_LABELS: dict[str, str] = {
    "CHEST": "thorax", "HEAD": "tête", "BRAIN": "cerveau", "SKULL": "crâne", "ABDOMEN": "abdomen",
    "PELVIS": "bassin", "KNEE": "genou", "HIP": "hanche", "SPINE": "rachis", "CSPINE": "rachis cervical",
    "TSPINE": "rachis dorsal", "LSPINE": "rachis lombaire", "SHOULDER": "épaule", "HEART": "cœur",
    "ANKLE": "cheville", "WRIST": "poignet", "HAND": "main", "FOOT": "pied", "ELBOW": "coude", "NECK": "cou",
    "BREAST": "sein", "LUNG": "poumon", "ABDOMENPELVIS": "abdomen-pelvis", "CHESTABDOMEN": "thorax-abdomen",
}


def body_part_label(code: object) -> str:
    """« CHEST » → « thorax »; an unknown code as it came."""
    text = str(code or "").strip()
    return BODY_PART_LABELS.get(text.upper().replace(" ", "").replace("_", ""), text)


#: an icon per kind of a record's dated entry (fhir_records: « Problème », « Traitement »…), so that a
#: timeline of a hundred lines is scanned by eye; an unknown kind gets the generic one
ENTRY_ICONS: dict[str, str] = {
    "Problème": "🩺", "Résultat": "🧪", "Examen": "🔬", "Traitement": "💊", "Acte": "🏥",
    "Allergie": "⚠️", "Intolérance": "⚠️", "Suspicion d'allergie": "⚠️",
}
DEFAULT_ENTRY_ICON = "📌"


def entry_label_html(kind: str) -> str:
    """« 💊 Traitement » in bold: a record entry's kind with its icon (the kind as the API says it)."""
    return f"<b>{ENTRY_ICONS.get(kind.strip(), DEFAULT_ENTRY_ICON)} {esc(kind)}</b>"


def timeline_entry_html(entry: Mapping[str, object], anchor: str = "") -> str:
    """One document on the timeline: date, badge, title, details; query matches starred with their passage.
    *anchor*: its element id (:func:`timeline_anchor`), where « ← Retour au patient » brings the reader."""
    details = [esc(format_date(entry.get("date")))]  # type: ignore[arg-type]
    if entry.get("entry"):  # one of a record's own dated entries (problem, result, exam)
        details.insert(0, entry_label_html(str(entry["entry"])))
    for key in ("modality", "body_part", "department"):
        if entry.get(key):
            details.append(esc(body_part_label(entry[key]) if key == "body_part" else entry[key]))
    if entry.get("age") is not None:
        details.append(f"{esc(entry['age'])} ans")
    star = '<span class="ms-match" title="Contient les termes de la requête">★</span> ' if entry.get("matched") else ""
    snippet = ""
    if entry.get("matched") and entry.get("snippet"):
        snippet = (
            f'<div class="ms-snippet">{context_label_html(entry.get("context"), entry.get("relatives"))}'  # type: ignore[arg-type]
            f'{safe_snippet(str(entry["snippet"]))}</div>'
        )
    return _one_line(
        f'<div class="ms-card ms-timeline{" ms-matched" if entry.get("matched") else ""}"'
        f'{f" id={chr(34)}{esc(anchor)}{chr(34)}" if anchor else ""}>'
        f'<div class="ms-head">{star}{badge_html(str(entry.get("kind") or ""))}'
        f'<span class="ms-title">{esc(entry.get("title") or entry.get("id"))}</span></div>'
        f'<div class="ms-meta">{" · ".join(details)}</div>{snippet}</div>'
    )


def evidence_html(evidence: Mapping[str, object]) -> str:
    """A cohort member's evidence for one criterion: criterion label, document, date, the stay it falls
    in (criteria with stay dates), passage."""
    snippet = str(evidence.get("snippet") or "")
    return _one_line(
        f'<div class="ms-report"><span class="ms-chip">{esc(evidence.get("label"))}</span>'
        f'{badge_html(str(evidence.get("kind") or ""))}<b>{esc(evidence.get("title") or evidence.get("doc_id"))}</b>'
        f' · {esc(format_date(evidence.get("date")))}'  # type: ignore[arg-type]
        + (f' · <i>{esc(stay_header(stay))}</i>' if isinstance(stay := evidence.get("stay"), Mapping) else "")
        + (f'<div class="ms-snippet">{safe_snippet(snippet)}</div>' if snippet else "")
        + "</div>"
    )


def highlighted_section_html(section_html: str, anchor: bool) -> str:
    """A section of the document view, already escaped and marked by the API; the best one anchored."""
    body = safe_snippet(section_html.replace("\n", "\x00")).replace("\x00", "<br>")
    anchor_attr = ' id="ms-best-match"' if anchor else ""
    return f'<div class="ms-text{" ms-best" if anchor else ""}"{anchor_attr}>{body}</div>'


PATIENT_CSS = (
    "<style>"
    ".ms-filters{font-size:.88rem;margin:.2rem 0 .4rem}"
    ".ms-filter{background:#f1f8e9;color:#33691e}"
    ".ms-match{color:#f9a825;font-size:1.1rem}"
    ".ms-matched{border-left:4px solid #f9a825;padding-left:.5rem}"
    ".ms-best{background:#fffde7;border-left:4px solid #f9a825;padding:.3rem .5rem}"
    ".ms-identity .ms-title{font-size:1.2rem}"
    "</style>"
)
