"""HTTP client for the medsearch search API, used by the Streamlit portal.

The portal talks to the API over HTTP only (it never imports ``indexer`` or ``search_api``) so that
it can run on another host, behind the hospital reverse proxy, with no index files or models. This
module is the single place that knows the wire format: the app only sees the typed objects below and
one exception type, :class:`ApiError`, whose message is readable enough to show a physician as is.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

DEFAULT_API_URL = "http://127.0.0.1:8000"
DEFAULT_USER = "demo-physician"
DEFAULT_TIMEOUT_S = 10.0
# An image search uploads a file, decodes it and may run CLIP: give it longer than a text search.
UPLOAD_TIMEOUT_S = 60.0
# The API's defaults for the clinical switches of /search (search_api.models.SearchRequest).
SEARCH_DEFAULTS: dict[str, bool] = {"include_negated": False, "expand": True, "clinical": True}
EXPORT_TIMEOUT_S = 60.0
RENDER_WINDOWS: tuple[str, ...] = ("default", "lung", "bone", "brain", "soft")

# Printable ASCII except "%": kept verbatim in the X-User header, everything else is percent-encoded
# (see :func:`encode_user_header`).
_HEADER_SAFE_CHARS = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in "%")


class ApiError(Exception):
    """The API answered with an error, or could not be reached.

    ``status`` is the HTTP status code, or ``None`` when no response came back (connection refused,
    timeout): the UI words those two cases differently.
    """

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(f"{status}: {message}" if status is not None else message)
        self.status = status
        self.message = message


def _opt_int(value: Any) -> int | None:
    """Optional integers from JSON: missing/null stay None, anything unparsable too (never crash a page)."""
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _opt_float(value: Any) -> float | None:
    """Optional floats from JSON, same tolerance as :func:`_opt_int`."""
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _str_tuple(values: Any) -> tuple[str, ...]:
    """A JSON list of strings as a tuple (None or a non-list reads as empty)."""
    return tuple(str(v) for v in values) if isinstance(values, list) else ()


@dataclass(frozen=True)
class Explanation:
    """Why a document came: its rank in each retrieval leg (None = that leg did not retrieve it)."""

    lexical_rank: int | None = None
    dense_rank: int | None = None
    dense_similarity: float | None = None

    @classmethod
    def from_json(cls, data: Any) -> Explanation | None:
        """Build from ``results[].explanation``; None when the API sent none (older servers)."""
        if not isinstance(data, Mapping):
            return None
        return cls(
            lexical_rank=_opt_int(data.get("lexical_rank")),
            dense_rank=_opt_int(data.get("dense_rank")),
            dense_similarity=_opt_float(data.get("dense_similarity")),
        )


@dataclass(frozen=True)
class LinkedReport:
    """A report tied to an image (same accession, or same patient and date), shown under the image."""

    id: str
    title: str = ""
    date: str | None = None
    conclusion: str = ""
    url: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LinkedReport:
        """Build from one ``linked_reports[]`` item."""
        return cls(
            id=str(data["id"]),
            title=str(data.get("title") or ""),
            date=data.get("date"),
            conclusion=str(data.get("conclusion") or ""),
            url=str(data.get("url") or ""),
        )


def _linked_reports(values: Any) -> tuple[LinkedReport, ...]:
    """Parse a ``linked_reports`` list, skipping malformed items rather than failing the whole page."""
    if not isinstance(values, list):
        return ()
    return tuple(LinkedReport.from_json(item) for item in values if isinstance(item, Mapping) and "id" in item)


@dataclass(frozen=True)
class ExpandedTerm:
    """A concept recognised in the query and the phrases it was expanded to (``expanded_terms[]``).

    An ambiguous abbreviation (« IR ») comes back once per sense, each flagged ``ambiguous``: the UI
    groups them by ``source_text`` so the physician sees every meaning that was searched.
    """

    source_text: str
    concept_id: str = ""
    terms: tuple[str, ...] = ()
    ambiguous: bool = False
    alternatives: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExpandedTerm:
        """Build from one ``expanded_terms[]`` item."""
        return cls(
            source_text=str(data.get("source_text") or ""),
            concept_id=str(data.get("concept_id") or ""),
            terms=_str_tuple(data.get("terms")),
            ambiguous=bool(data.get("ambiguous")),
            alternatives=_str_tuple(data.get("alternatives")),
        )


@dataclass(frozen=True)
class Interpretation:
    """How the API understood the query: « sans épanchement pleural » asks for *negated* mentions."""

    polarity: str = "affirmed"
    affirmed_terms: tuple[str, ...] = ()
    negated_terms: tuple[str, ...] = ()
    #: what the query asks about relatives (« antécédents familiaux de cancer du sein »): family mentions only
    family_terms: tuple[str, ...] = ()
    #: French words the lexicon does not know, also searched in English (« densité » → density)
    cognates: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: single letters typed as free words, not searched (« x » of « 2 x 3 cm »)
    ignored_terms: tuple[str, ...] = ()
    #: a comparison query's value check (« FEVG < 40 % »): the number is compared, not searched as a word
    compared_value: str = ""

    @classmethod
    def from_json(cls, data: Any) -> Interpretation | None:
        """Build from ``interpretation``; None when absent (clinical=false, or an older API)."""
        if not isinstance(data, Mapping):
            return None
        cognates = data.get("cognates")
        return cls(
            polarity=str(data.get("polarity") or "affirmed"),
            affirmed_terms=_str_tuple(data.get("affirmed_terms")),
            negated_terms=_str_tuple(data.get("negated_terms")),
            family_terms=_str_tuple(data.get("family_terms")),
            cognates=tuple((str(word), _str_tuple(english)) for word, english in cognates.items())
            if isinstance(cognates, Mapping) else (),
            ignored_terms=_str_tuple(data.get("ignored_terms")),
            compared_value=str(data.get("compared_value") or ""),
        )


@dataclass(frozen=True)
class SearchHit:
    """One ranked document in a result page (fields as in the API contract).

    Every field after ``url`` is newer than the first API version and optional: ``context`` is the
    clinical status of the highlighted mention (affirmed, negated, hypothetical, family), the image
    fields are empty for other kinds.
    """

    id: str
    kind: str
    title: str
    score: float
    snippet: str = ""
    date: str | None = None
    patient_id: str | None = None
    language: str = "und"
    modality: str | None = None
    section: str = ""
    url: str = ""
    context: str | None = None
    relatives: tuple[str, ...] = ()  # a family mention's relatives (« mother »): the label says « (mère) »
    explanation: Explanation | None = None
    methods: tuple[str, ...] = ()
    linked_reports: tuple[LinkedReport, ...] = ()
    caption: str | None = None
    thumbnail_url: str | None = None
    lexical_match: bool = True  # the query's words occur in it (False: found by meaning only)
    semantic_only: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SearchHit:
        """Build from one ``results[]`` item, tolerating missing optional fields."""
        return cls(
            id=str(data["id"]),
            kind=str(data.get("kind", "")),
            title=str(data.get("title") or ""),
            score=float(data.get("score") or 0.0),
            snippet=str(data.get("snippet") or ""),
            date=data.get("date"),
            patient_id=data.get("patient_id"),
            language=str(data.get("language") or "und"),
            modality=data.get("modality"),
            section=str(data.get("section") or ""),
            url=str(data.get("url") or ""),
            context=data.get("context") or None,
            relatives=_str_tuple(data.get("relatives")),
            explanation=Explanation.from_json(data.get("explanation")),
            methods=_str_tuple(data.get("methods")),
            linked_reports=_linked_reports(data.get("linked_reports")),
            caption=data.get("caption") or None,
            thumbnail_url=data.get("thumbnail_url") or None,
            lexical_match=bool(data.get("lexical_match", True)),
            semantic_only=bool(data.get("semantic_only", False)),
        )


@dataclass(frozen=True)
class SearchPage:
    """A page of results plus the totals needed for pagination, and how the query was understood."""

    query: str
    total: int
    took_ms: float
    mode: str
    results: list[SearchHit]
    interpretation: Interpretation | None = None
    expanded_terms: list[ExpandedTerm] = field(default_factory=list)
    #: distinct patients among the ``total`` documents (None: an API that does not count them)
    total_patients: int | None = None
    #: of those, the documents / patients matching through an affirmed mention (what a one-criterion cohort
    #: counts; the others match only through a suspicion); None: an API that does not count them
    total_affirmed: int | None = None
    total_patients_affirmed: int | None = None
    #: False when no document contains the query's words: every result is a semantic neighbour
    term_match: bool = True
    #: results available to page through (term matches, then semantic neighbours); 0 = unknown
    ranked: int = 0
    semantic_only: bool = False  # no result contains the query's words: all are semantic suggestions
    #: the query with its misspelled words corrected (« Essayez avec l'orthographe : … »), None: none
    suggestion: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SearchPage:
        """Build from the ``GET /search`` body."""
        return cls(
            query=str(data.get("query", "")),
            total=int(data.get("total") or 0),
            took_ms=float(data.get("took_ms") or 0.0),
            mode=str(data.get("mode", "")),
            results=[SearchHit.from_json(item) for item in data.get("results") or []],
            interpretation=Interpretation.from_json(data.get("interpretation")),
            expanded_terms=[
                ExpandedTerm.from_json(item) for item in data.get("expanded_terms") or [] if isinstance(item, Mapping)
            ],
            total_patients=_opt_int(data.get("total_patients")),
            total_affirmed=_opt_int(data.get("total_affirmed")),
            total_patients_affirmed=_opt_int(data.get("total_patients_affirmed")),
            term_match=bool(data.get("term_match", True)),
            ranked=_opt_int(data.get("ranked")) or 0,
            semantic_only=bool(data.get("semantic_only", False)),
            suggestion=data.get("suggestion") if isinstance(data.get("suggestion"), str) and data.get("suggestion") else None,
        )


@dataclass(frozen=True)
class ImageHit:
    """One image found by ``POST /search/image``: similarity scores, what scored it, linked reports."""

    id: str
    title: str = ""
    score: float = 0.0
    date: str | None = None
    patient_id: str | None = None
    modality: str | None = None
    body_part: str | None = None
    methods: tuple[str, ...] = ()
    descriptor_similarity: float | None = None
    clip_similarity: float | None = None
    linked_reports: tuple[LinkedReport, ...] = ()
    caption: str | None = None
    thumbnail_url: str | None = None
    render_url: str | None = None
    url: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImageHit:
        """Build from one ``results[]`` item of the image search, tolerating missing fields."""
        return cls(
            id=str(data["id"]),
            title=str(data.get("title") or ""),
            score=float(data.get("score") or 0.0),
            date=data.get("date"),
            patient_id=data.get("patient_id"),
            modality=data.get("modality"),
            body_part=data.get("body_part"),
            methods=_str_tuple(data.get("methods")),
            descriptor_similarity=_opt_float(data.get("descriptor_similarity")),
            clip_similarity=_opt_float(data.get("clip_similarity")),
            linked_reports=_linked_reports(data.get("linked_reports")),
            caption=data.get("caption") or None,
            thumbnail_url=data.get("thumbnail_url") or None,
            render_url=data.get("render_url") or None,
            url=str(data.get("url") or ""),
        )


@dataclass(frozen=True)
class ImageSearchPage:
    """The ``POST /search/image`` body: similar images, and their reports once each."""

    query: str | None
    took_ms: float
    total: int
    results: list[ImageHit]
    reports: list[LinkedReport] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImageSearchPage:
        """Build from the ``POST /search/image`` body."""
        return cls(
            query=data.get("query") or None,
            took_ms=float(data.get("took_ms") or 0.0),
            total=int(data.get("total") or 0),
            results=[ImageHit.from_json(item) for item in data.get("results") or [] if isinstance(item, Mapping)],
            reports=list(_linked_reports(data.get("reports"))),
        )


@dataclass(frozen=True)
class DocumentSection:
    """A titled part of a document, as shown in the document view."""

    title: str
    text: str


@dataclass(frozen=True)
class DocumentDetail:
    """A full document (``GET /documents/{id}``)."""

    id: str
    kind: str
    title: str
    text: str = ""
    patient_id: str | None = None
    date: str | None = None
    language: str = "und"
    source_path: str = ""
    modality: str | None = None
    sections: list[DocumentSection] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DocumentDetail:
        """Build from the ``GET /documents/{id}`` body."""
        return cls(
            id=str(data["id"]),
            kind=str(data.get("kind", "")),
            title=str(data.get("title") or ""),
            text=str(data.get("text") or ""),
            patient_id=data.get("patient_id"),
            date=data.get("date"),
            language=str(data.get("language") or "und"),
            source_path=str(data.get("source_path") or ""),
            modality=data.get("modality"),
            sections=[
                DocumentSection(title=str(s.get("title") or ""), text=str(s.get("text") or ""))
                for s in data.get("sections") or []
            ],
            metadata=dict(data.get("metadata") or {}),
        )


@dataclass(frozen=True)
class IndexStats:
    """What is in the index, for the sidebar (``GET /stats``)."""

    documents: int
    passages: int
    by_kind: dict[str, int]
    indexed_at: str | None
    encoder: str
    index_age_seconds: float | None = None  # optional: computed by the server, immune to clock skew

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IndexStats:
        """Build from the ``GET /stats`` body."""
        age = data.get("index_age_seconds")
        return cls(
            documents=int(data.get("documents") or 0),
            passages=int(data.get("passages") or 0),
            by_kind={str(k): int(v) for k, v in (data.get("by_kind") or {}).items()},
            indexed_at=data.get("indexed_at"),
            encoder=str(data.get("encoder") or ""),
            index_age_seconds=float(age) if age is not None else None,
        )


def encode_user_header(user: str) -> str:
    """Make a user name safe for the ``X-User`` header without losing it.

    HTTP header values are ASCII in practice (httpx refuses anything else) but French names carry
    accents (« Dr Hélène Müller »). Printable ASCII other than ``%`` is sent verbatim, so ordinary
    logins are unchanged; everything else is percent-encoded UTF-8, which the API recovers with
    ``urllib.parse.unquote``.
    """
    return quote(user.strip(), safe=_HEADER_SAFE_CHARS)


def error_message(response: httpx.Response) -> str:
    """Extract a human-readable message from an error response body.

    FastAPI sends ``{"detail": "..."}`` for HTTPException and ``{"detail": [{"loc": [...],
    "msg": "..."}, ...]}`` for validation errors; proxies may send HTML or nothing at all.
    """
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:300] if text and not text.lstrip().startswith("<") else response.reason_phrase
    detail = body.get("detail", body) if isinstance(body, dict) else body
    return _detail_to_text(detail) or response.reason_phrase


def _detail_to_text(detail: Any) -> str:
    """Flatten a FastAPI ``detail`` (string, pydantic error list, or anything) into one line."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        return "; ".join(_pydantic_error_to_text(item) for item in detail)
    if isinstance(detail, dict) and "msg" in detail:
        return _pydantic_error_to_text(detail)
    return str(detail) if detail else ""


def _pydantic_error_to_text(error: Any) -> str:
    """``{"loc": ["query", "q"], "msg": "Value error, ..."}`` -> ``"q: ..."``.

    The "query"/"body" location prefix and pydantic's "Value error, " prefix are noise to a reader.
    """
    if not isinstance(error, dict):
        return str(error)
    loc = [str(part) for part in error.get("loc") or [] if part not in ("query", "body", "path", "header")]
    msg = str(error.get("msg", error)).removeprefix("Value error, ")
    return f"{'.'.join(loc)}: {msg}" if loc else msg


def _iso(value: date | str | None) -> str | None:
    """Dates go on the wire as YYYY-MM-DD; strings are trusted to be in that form already."""
    if value is None or value == "":
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def _filter_params(
    patient_id: str | None, date_from: date | str | None, date_to: date | str | None
) -> list[tuple[str, str]]:
    """The patient/date filters shared by text and image search, without the empty ones."""
    optional = {"patient_id": (patient_id or "").strip() or None, "date_from": _iso(date_from), "date_to": _iso(date_to)}
    return [(name, value) for name, value in optional.items() if value is not None]


def _extra_filter_params(
    include_family: bool | None, departments: Iterable[str], modalities: Iterable[str]
) -> list[tuple[str, str]]:
    """The newer /search filters, sent only when set (older servers never see them)."""
    params = [] if include_family is None else [("include_family", "true" if include_family else "false")]
    params += [("departments", d) for d in departments if d.strip()]
    params += [("modalities", m) for m in modalities if m.strip()]
    return params


def _search_params(
    q: str, *, kinds: Iterable[str] = (), patient_id: str | None = None, date_from: date | str | None = None,
    date_to: date | str | None = None, language: str | None = None, mode: str = "hybrid",
    include_negated: bool = False, expand: bool = True, include_family: bool | None = None,
    departments: Iterable[str] = (), modalities: Iterable[str] = (), limit: int = 10, offset: int = 0,
) -> list[tuple[str, str]]:
    """Query-string parameters of a search (the same for ``/search`` and ``/search/patients``)."""
    params: list[tuple[str, str]] = [("q", q)] + [("kinds", k) for k in kinds]
    params += _filter_params(patient_id, date_from, date_to)
    params += [("language", language)] if language else []
    params.append(("mode", mode))
    params += _switch_params(include_negated=include_negated, expand=expand)
    params += _extra_filter_params(include_family, departments, modalities)
    return params + [("limit", str(limit)), ("offset", str(offset))]


def _switch_params(**switches: bool) -> list[tuple[str, str]]:
    """Boolean switches that differ from the API defaults (``SEARCH_DEFAULTS``), as "true"/"false"."""
    return [(name, "true" if value else "false") for name, value in switches.items() if value != SEARCH_DEFAULTS[name]]


class MedsearchClient:
    """Typed, synchronous client for the medsearch API.

    One instance holds one connection pool; use it as a context manager (or call :meth:`close`).
    ``transport`` lets tests plug in ``httpx.MockTransport`` instead of a real server.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_API_URL,
        user: str = DEFAULT_USER,
        timeout: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
        token: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.user = user
        self.timeout = timeout
        headers = {"X-User": encode_user_header(user), "Accept": "application/json"}  # X-User: display only
        if token:  # what the API authenticates (the logged-in user's Bearer token)
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport, headers=headers)

    def __enter__(self) -> MedsearchClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def health(self) -> bool:
        """True when the API answers ``{"status": "ok"}``."""
        return self._get_json("/health").get("status") == "ok"

    def whoami(self) -> dict[str, Any]:
        """The API's view of the caller: ``user``, ``role``, ``view`` (identified / deidentified)."""
        return self._get_json("/auth/me")

    def stats(self) -> IndexStats:
        """Index counts and freshness for the sidebar."""
        return IndexStats.from_json(self._get_json("/stats"))

    def search(
        self,
        q: str,
        *,
        kinds: Iterable[str] = (),
        patient_id: str | None = None,
        date_from: date | str | None = None,
        date_to: date | str | None = None,
        language: str | None = None,
        mode: str = "hybrid",
        include_negated: bool = False,
        expand: bool = True,
        clinical: bool = True,
        limit: int = 10,
        offset: int = 0,
        include_family: bool | None = None,
        departments: Iterable[str] = (),
        modalities: Iterable[str] = (),
    ) -> SearchPage:
        """Run one search; empty filters are left out so the API applies no constraint.

        The clinical switches are sent only when they differ from the API's defaults: URLs and audit
        lines stay short for the common case, and a server that predates them is not affected.
        """
        params: list[tuple[str, str]] = [("q", q)]
        params += [("kinds", kind) for kind in kinds]
        params += _filter_params(patient_id, date_from, date_to)
        if language:
            params.append(("language", language))
        params.append(("mode", mode))
        params += _switch_params(include_negated=include_negated, expand=expand, clinical=clinical)
        params += _extra_filter_params(include_family, departments, modalities)
        params += [("limit", str(limit)), ("offset", str(offset))]
        return SearchPage.from_json(self._request_json("GET", "/search", params=params))

    # -- patient-centred endpoints (plain JSON dicts: the pages read them field by field) ------
    def search_patients(self, q: str, **filters: Any) -> dict[str, Any]:
        """``GET /search/patients``: patients ranked by their best documents, with exact counts."""
        return self._get_json("/search/patients", params=_search_params(q, **filters))

    def patient(self, patient_id: str) -> dict[str, Any]:
        """``GET /patients/{id}``: identity block (as the role allows), age, counts, stays."""
        return self._get_json(f"/patients/{quote(patient_id, safe='')}")

    def timeline(self, patient_id: str, kinds: Iterable[str] = (), q: str | None = None,
                 include_negated: bool = False) -> dict[str, Any]:
        """``GET /patients/{id}/timeline``: dated documents grouped by stay, query matches marked."""
        params = [("kinds", k) for k in kinds] + ([("q", q)] if q and q.strip() else [])
        params += [("include_negated", "true")] if include_negated else []
        return self._get_json(f"/patients/{quote(patient_id, safe='')}/timeline", params=params)

    def break_glass(self, patient_id: str, motive: str, reason: str) -> dict[str, Any]:
        """``POST /access/break-glass``: a time-limited, audited access to one patient outside the scope."""
        return self._request_json("POST", "/access/break-glass",
                                  json={"patient_id": patient_id, "motive": motive, "reason": reason})

    def my_grants(self) -> list[dict[str, Any]]:
        """``GET /access/break-glass``: the caller's valid break-the-glass grants."""
        return list(self._get_json("/access/break-glass").get("grants", []))

    def end_grant(self, grant_id: str) -> None:
        """``DELETE /access/break-glass/{id}``: end one of one's own grants early, or (admin, auditor)
        revoke anyone's after review."""
        self._request_raw("DELETE", f"/access/break-glass/{quote(grant_id, safe='')}")

    def links(self, doc_id: str) -> dict[str, Any]:
        """``GET /documents/{id}/links``: an image's reports, a report's images."""
        return self._get_json(f"{self._document_path(doc_id)}/links")

    def similar(self, doc_id: str, limit: int = 5) -> SearchPage:
        """``GET /documents/{id}/similar``: documents close in meaning, the document left out."""
        return SearchPage.from_json(self._get_json(f"{self._document_path(doc_id)}/similar", params=[("limit", str(limit))]))

    def highlight(self, doc_id: str, q: str, include_negated: bool = False) -> dict[str, Any]:
        """``GET /documents/{id}/highlight``: sections with the query's terms marked, the best one."""
        params = [("q", q)] + ([("include_negated", "true")] if include_negated else [])
        return self._get_json(f"{self._document_path(doc_id)}/highlight", params=params)

    def evaluate_cohort(self, definition: Mapping[str, Any]) -> dict[str, Any]:
        return self._request_json("POST", "/cohorts/evaluate", json=dict(definition), timeout=EXPORT_TIMEOUT_S)

    def cohorts(self) -> list[dict[str, Any]]:
        return self._request_list("GET", "/cohorts")

    def save_cohort(self, name: str, definition: Mapping[str, Any], watch: bool = False) -> dict[str, Any]:
        """``watch``: re-evaluated by the API after each indexation, new patients counted in ``cohorts()``."""
        return self._request_json("POST", "/cohorts", json={"name": name, "definition": dict(definition), "watch": watch},
                                  timeout=EXPORT_TIMEOUT_S)

    def update_cohort(self, cohort_id: int, name: str, definition: Mapping[str, Any], watch: bool | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "definition": dict(definition)}
        if watch is not None:
            body["watch"] = watch
        return self._request_json("PUT", f"/cohorts/{int(cohort_id)}", json=body)

    def run_cohort(self, cohort_id: int) -> dict[str, Any]:
        return self._request_json("POST", f"/cohorts/{int(cohort_id)}/run", timeout=EXPORT_TIMEOUT_S)

    def set_decision(self, cohort_id: int, patient_id: str, status: str, reason: str | None = None) -> dict[str, Any]:
        """A patient's screening decision: ``included`` / ``excluded`` / ``to_review``, with a reason
        (who and when: set by the API). Answers the decision as stored."""
        return self._request_json("PUT", f"/cohorts/{int(cohort_id)}/decisions/{quote(patient_id, safe='')}",
                                  json={"status": status, "reason": reason or None})

    def clear_decision(self, cohort_id: int, patient_id: str) -> None:
        self._request_raw("DELETE", f"/cohorts/{int(cohort_id)}/decisions/{quote(patient_id, safe='')}")

    def set_decisions(self, cohort_id: int, decisions: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Several decisions at once (``status: None`` clears one): all or none. Answers them all."""
        return self._request_list("POST", f"/cohorts/{int(cohort_id)}/decisions",
                                  json={"decisions": [dict(d) for d in decisions]})

    def delete_cohort(self, cohort_id: int) -> None:
        self._request_raw("DELETE", f"/cohorts/{int(cohort_id)}")

    def export_cohort(self, cohort_id: int, fmt: str = "csv", with_excluded: bool = False) -> bytes:
        """The saved cohort as a CSV or Excel file (bytes, to hand to a download button); *with_excluded*:
        also a row per patient decided excluded (the screening log)."""
        params = [("format", fmt)] + ([("with_excluded", "true")] if with_excluded else [])
        return self._request_raw("GET", f"/cohorts/{int(cohort_id)}/export", params=params,
                                 timeout=EXPORT_TIMEOUT_S).content

    def saved_searches(self) -> list[dict[str, Any]]:
        return self._request_list("GET", "/saved-searches")

    def save_search(self, name: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return self._request_json("POST", "/saved-searches", json={"name": name, "params": dict(params)})

    def delete_search(self, search_id: int) -> None:
        self._request_raw("DELETE", f"/saved-searches/{int(search_id)}")

    def audit(
        self, user: str | None = None, action: str | None = None, patient_id: str | None = None,
        date_from: date | str | None = None, date_to: date | str | None = None, limit: int = 50, offset: int = 0,
    ) -> dict[str, Any]:
        """``GET /audit`` (admins): ``{"total", "entries"}``, newest first; empty filters are not sent."""
        optional = {"user": (user or "").strip() or None, "action": (action or "").strip() or None,
                    "patient_id": (patient_id or "").strip() or None, "date_from": _iso(date_from), "date_to": _iso(date_to)}
        params = [(name, value) for name, value in optional.items() if value is not None]
        params += [("limit", str(limit)), ("offset", str(offset))]
        return self._get_json("/audit", params=params)

    def audit_export(
        self, user: str | None = None, action: str | None = None, patient_id: str | None = None,
        date_from: date | str | None = None, date_to: date | str | None = None, break_glass: bool = False,
    ) -> bytes:
        """``GET /audit/export``: every matching entry as CSV, oldest first (whole for auditors, metadata
        for admins); the API audits each call, so call it on a click, not on every rerun. *break_glass*:
        only the grants and what was read under them."""
        optional = {"user": (user or "").strip() or None, "action": (action or "").strip() or None,
                    "patient_id": (patient_id or "").strip() or None, "date_from": _iso(date_from), "date_to": _iso(date_to),
                    "break_glass": "true" if break_glass else None}
        params = [(name, value) for name, value in optional.items() if value is not None]
        return self._request_raw("GET", "/audit/export", params=params, timeout=EXPORT_TIMEOUT_S).content

    def break_glass_grants(self, user: str | None = None, active_only: bool = False) -> dict[str, Any]:
        """``GET /audit/break-glass`` (admin, auditor): ``{"total", "redacted", "grants"}``, newest first.
        Each call is itself audited, so the screen caches it. An admin's grants come without
        ``patient_id`` and ``reason`` (``redacted``)."""
        params = [("user", user.strip())] if user and user.strip() else []
        params += [("active", "true")] if active_only else []
        return self._get_json("/audit/break-glass", params=params)

    def _request_list(self, method: str, path: str, **kwargs: Any) -> list[dict[str, Any]]:
        """A request whose JSON body is a list (of objects)."""
        body = _json_body(self._request_raw(method, path, **kwargs), list, "liste JSON attendue")
        return [item for item in body if isinstance(item, dict)]

    def _request_raw(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; every failure becomes an :class:`ApiError`, a success returns the response."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise ApiError(None, f"l'API n'a pas répondu à temps ({self.base_url})") from exc
        except httpx.HTTPError as exc:
            raise ApiError(None, f"API injoignable ({self.base_url}) : {exc}") from exc
        if response.is_error:
            raise ApiError(response.status_code, error_message(response))
        return response

    def search_image(
        self,
        file_bytes: bytes,
        filename: str,
        content_type: str | None = None,
        q: str | None = None,
        *,
        patient_id: str | None = None,
        date_from: date | str | None = None,
        date_to: date | str | None = None,
        limit: int = 10,
    ) -> ImageSearchPage:
        """Images similar to an uploaded PNG, JPEG or DICOM, optionally also matching text ``q``.

        Sent as multipart (the file plus form fields). The API sniffs the type from the bytes, so a
        missing or generic content type (browsers send ``application/octet-stream`` for .dcm) is fine.
        Refusals come back as :class:`ApiError` with the API's reason (400 empty, 413 too large,
        415 unsupported format, 422 unreadable or invalid filters).
        """
        form = dict(_filter_params(patient_id, date_from, date_to))
        if q and q.strip():
            form["q"] = q.strip()
        form["limit"] = str(limit)
        files = {"file": (filename or "image", file_bytes, content_type or "application/octet-stream")}
        body = self._request_json("POST", "/search/image", data=form, files=files, timeout=max(self.timeout, UPLOAD_TIMEOUT_S))
        return ImageSearchPage.from_json(body)

    def document(self, doc_id: str) -> DocumentDetail:
        """Full document for the document view; raises ``ApiError(404, ...)`` if unknown."""
        return DocumentDetail.from_json(self._get_json(self._document_path(doc_id)))

    def thumbnail(self, doc_id: str) -> bytes | None:
        """PNG thumbnail of an image document, or None when there is none.

        Thumbnails are decorative: any failure (404, server error, network) yields None rather than
        an exception, so one missing image never hides a result page.
        """
        return self._get_image(f"{self._document_path(doc_id, '/images')}/thumbnail")

    def render(self, doc_id: str, window: str = "default", frame: int | None = None) -> bytes | None:
        """Full-size PNG of an image with a display window (lung, bone...), or None if it cannot be shown.

        Same "decorative" policy as :meth:`thumbnail`: the document view still shows the report text
        when rendering fails. ``frame`` is left out for the API's default (the middle frame).
        """
        params = [("window", window)] + ([("frame", str(frame))] if frame is not None else [])
        return self._get_image(f"{self._document_path(doc_id, '/images')}/render", params=params)

    def _get_image(self, path: str, params: list[tuple[str, str]] | None = None) -> bytes | None:
        """GET picture bytes; None on any failure or when the body is not an image."""
        try:
            response = self._http.get(path, params=params)
        except httpx.HTTPError:
            return None
        content_type = response.headers.get("content-type", "")
        if response.status_code != 200 or not content_type.startswith("image/") or not response.content:
            return None
        return response.content

    @staticmethod
    def _document_path(doc_id: str, prefix: str = "/documents") -> str:
        """Percent-encode the id so ids containing '/', '?' or '#' cannot escape the path."""
        return f"{prefix}/{quote(doc_id, safe='')}"

    def _get_json(self, path: str, params: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        """GET and decode JSON (see :meth:`_request_json`)."""
        return self._request_json("GET", path, params=params)

    def _request_json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """Send a request and decode its JSON object, turning every failure into an :class:`ApiError`."""
        return _json_body(self._request_raw(method, path, **kwargs), dict, "objet JSON attendu")


def settings_from_env(environ: Mapping[str, str] | None = None) -> tuple[str, str, float]:
    """(api_url, default user, timeout) from ``MEDSEARCH_UI__*`` variables, like the rest of medsearch."""
    env = os.environ if environ is None else environ
    api_url = env.get("MEDSEARCH_UI__API_URL") or DEFAULT_API_URL
    user = env.get("MEDSEARCH_UI__USER") or DEFAULT_USER
    try:
        timeout = float(env.get("MEDSEARCH_UI__TIMEOUT") or DEFAULT_TIMEOUT_S)
    except ValueError:
        timeout = DEFAULT_TIMEOUT_S
    return api_url, user, timeout


DEFAULT_UPLOAD_MB = 20  # the API's images.max_upload_mb default


def upload_limit_mb(environ: Mapping[str, str] | None = None) -> int:
    """The largest image the portal lets through: the API's ``images.max_upload_mb`` (its environment
    variable ``MEDSEARCH_IMAGES__MAX_UPLOAD_MB`` when the portal is given it, else the API's default).

    Why: Streamlit's own limit (200 MB) let a physician pick a 100 MB DICOM that the API then refused (413)."""
    env = os.environ if environ is None else environ
    try:
        return max(1, int(float(env.get("MEDSEARCH_IMAGES__MAX_UPLOAD_MB") or DEFAULT_UPLOAD_MB)))
    except ValueError:
        return DEFAULT_UPLOAD_MB


def make_client(base_url: str, user: str, timeout: float = DEFAULT_TIMEOUT_S, token: str | None = None) -> MedsearchClient:
    """The factory the app calls on every run.

    It is a module-level function on purpose: the app looks it up at call time, so tests can
    monkeypatch it to return a client wired to ``httpx.MockTransport``.
    """
    return MedsearchClient(base_url, user, timeout, token=token)


@dataclass(frozen=True)
class Login:
    """A local-account login: the Bearer token and who it names."""

    token: str
    user: str
    role: str
    expires_in: int
    roles: tuple[str, ...] = ()
    name: str = ""  # the account's display name (« Dr Marie Martin »), empty when it has none


def login(
    base_url: str, username: str, password: str, timeout: float = DEFAULT_TIMEOUT_S,
    transport: httpx.BaseTransport | None = None,
) -> Login:
    """``POST /auth/login`` (the demo's local accounts); :class:`ApiError` on a wrong password."""
    try:
        with httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport) as http:
            response = http.post("/auth/login", json={"username": username, "password": password})
    except httpx.HTTPError as exc:
        raise ApiError(None, f"API injoignable ({exc.__class__.__name__})") from exc
    if response.is_error:
        raise ApiError(response.status_code, error_message(response))
    body = response.json()
    return Login(
        str(body["access_token"]), str(body["user"]), str(body["role"]), int(body.get("expires_in") or 0),
        tuple(str(r) for r in body.get("roles") or ()), str(body.get("name") or ""),
    )


def _json_body(response: httpx.Response, expected: type, what: str) -> Any:
    """The decoded JSON body of a successful *response*, which must be an *expected* (list or dict)."""
    try:
        body = response.json()
    except ValueError as exc:
        raise ApiError(response.status_code, "réponse de l'API illisible (JSON attendu)") from exc
    if not isinstance(body, expected):
        raise ApiError(response.status_code, f"réponse de l'API inattendue ({what})")
    return body
