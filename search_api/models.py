"""Request and response schemas of the HTTP API (pydantic): the contract the portal relies on."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import computed_field, AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from indexer.clinical import ExpandedTerm
from indexer.clinical.context import split_reading
from indexer.schema import MAX_DATE, MIN_DATE, DocumentKind, Section, date_in_range
from indexer.text.ligatures import spell_ligatures

SearchMode = Literal["hybrid", "lexical", "dense"]
#: a numeric id in a path (cohort, saved search, job): within SQLite's INTEGER range, or the lookup
#: itself fails with a 500 (found by the schemathesis fuzz); out of range = 422
RowId = Annotated[int, Path(ge=0, le=2**63 - 1)]
MAX_QUERY_CHARS = 1000
MAX_LIMIT = 100
MAX_OFFSET = 10_000


def _supported_date(value: dt.date) -> dt.date:
    if not date_in_range(value):
        raise ValueError(f"date outside the supported range {MIN_DATE.isoformat()} .. {MAX_DATE.isoformat()}")
    return value


#: A filter date: refused with a 422 outside the range the index can store (it used to answer 500).
FilterDate = Annotated[dt.date, AfterValidator(_supported_date)]


class SearchRequest(BaseModel):
    """A search: free text plus structured filters. Same fields for ``GET`` (query string) and ``POST`` (JSON)."""

    # A misspelt filter in a POST body (« kind », « patientId ») was dropped in silence and the search ran
    # unfiltered: a script asking for one patient's documents got everyone's. Unknown fields answer 422.
    model_config = ConfigDict(extra="forbid")

    q: str = Field(description="Query in medical language, French or English", examples=["épanchement pleural"])
    kinds: list[DocumentKind] = Field(default_factory=list, description="Restrict to these document kinds")
    patient_id: str | None = Field(default=None, max_length=64)
    date_from: FilterDate | None = None
    date_to: FilterDate | None = None
    language: Literal["fr", "en"] | None = None
    mode: SearchMode = "hybrid"
    include_negated: bool = Field(
        default=False, description="Also match negated mentions (« absence de fracture »)"
    )
    include_family: bool | None = Field(
        default=None,
        description="Also match family-history mentions (« mère diabétique »); default: same as include_negated",
    )
    departments: list[str] = Field(default_factory=list, description="Care units / departments (any of them)")
    modalities: list[str] = Field(default_factory=list, description="Image modalities: CT, MR, CR... (any of them)")
    expand: bool = Field(default=True, description="Expand abbreviations and synonyms through the bilingual lexicon")
    clinical: bool = Field(
        default=True,
        description="Clinical understanding (negation-aware matching, « sans X » queries, expansion); "
        "false = plain keyword + vector search, as a baseline",
    )
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)

    @field_validator("q")
    @classmethod
    def _query_not_blank(cls, value: str) -> str:
        value = spell_ligatures(value).strip()  # « ﬁbrose » pasted from a PDF is « fibrose »
        if not value:
            raise ValueError("the query is empty: type a finding, a diagnosis or an exam")
        if len(value) > MAX_QUERY_CHARS:
            raise ValueError(f"the query is too long ({len(value)} characters, at most {MAX_QUERY_CHARS})")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate ("\ud800" in JSON): not text any engine can read
            raise ValueError(f"the query contains an invalid character at position {exc.start}") from exc
        return value

    @model_validator(mode="after")
    def _dates_in_order(self) -> SearchRequest:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from must be on or before date_to")
        return self


class MatchExplanation(BaseModel):
    """Why a document came: its rank in each retrieval leg (None = not retrieved by that leg)."""

    lexical_rank: int | None = None
    dense_rank: int | None = None
    dense_similarity: float | None = None


ImageMethod = Literal["report_text", "caption", "metadata", "descriptor", "clip"]


class LinkedReport(BaseModel):
    """A report tied to an image (same accession, or same patient and date), shown with the image."""

    id: str
    title: str
    date: dt.date | None = None
    conclusion: str = ""
    url: str


RELATIVES_DESCRIPTION = ("For a family-history mention (context « family »): the relatives it is about, as its cues "
                         "name them (mother, father, sister, brother, grandmother...; indexer/configs/clinical/"
                         "context_triggers.yaml ``relatives``); empty when the text names none")


def split_mention_context(data: Any) -> Any:
    """A result row whose ``context`` is a snippet's reading (« family:mother »,
    :func:`indexer.clinical.context.reading`) as the API shows it: ``context`` the status alone (its
    values unchanged for clients), ``relatives`` the relatives."""
    if isinstance(data, dict):
        context = data.get("context")
        if isinstance(context, str) and ":" in context:
            status, relatives = split_reading(context)
            data = {**data, "context": status, "relatives": list(relatives)}
    return data


class SearchResult(BaseModel):
    id: str
    kind: DocumentKind
    title: str
    date: dt.date | None
    patient_id: str | None
    language: str
    modality: str | None
    score: float
    snippet: str = Field(description="HTML: escaped text, matched terms in <mark>")
    context: str | None = Field(
        default=None, description="Clinical context of the highlighted mention: affirmed, negated, hypothetical, family"
    )
    relatives: list[str] = Field(default_factory=list, description=RELATIVES_DESCRIPTION)
    section: str
    url: str
    explanation: MatchExplanation
    # Image results only (empty otherwise): what scored the image, and what describes it.
    methods: list[ImageMethod] = Field(
        default_factory=list,
        description="image results: report_text / caption / metadata (DICOM header) matched the query, "
        "or descriptor / clip (pixel similarity, CLIP) scored it",
    )
    linked_reports: list[LinkedReport] = Field(default_factory=list)
    caption: str | None = None
    thumbnail_url: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _mention_relatives(cls, data: Any) -> Any:
        return split_mention_context(data)

    @computed_field(description="The query's words (or a recognised concept's forms) occur in this document: "
                    "the lexical leg found it (an image's ``methods`` say which text scored it, lexically or not)")
    @property
    def lexical_match(self) -> bool:
        return self.explanation.lexical_rank is not None

    @computed_field(description="Found only by meaning (dense vectors or pixels), no query word in it: show it "
                    "as a semantic suggestion, not as a match")
    @property
    def semantic_only(self) -> bool:
        return not self.lexical_match


class QueryInterpretation(BaseModel):
    """How the query was understood: « sans épanchement pleural » asks for *negated* mentions."""

    polarity: Literal["affirmed", "negated"]
    affirmed_terms: list[str] = Field(default_factory=list)
    negated_terms: list[str] = Field(default_factory=list)
    family_terms: list[str] = Field(
        default_factory=list,
        description="What the query asks about the patient's relatives (« antécédents familiaux de cancer du sein » → "
        "« cancer du sein »): searched in family-history mentions only",
    )
    cognates: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Query words the lexicon does not know, also searched as these English cognates "
        "(« densité » → density: regular French → English endings, kept only when the index's English documents use them)",
    )
    ignored_terms: list[str] = Field(
        default_factory=list,
        description="Single letters typed as free words (« x » of « 2 x 3 cm », « a ») that were not searched: a "
        "letter matches any passage holding it as a token. Quote them (« \"vitamine D\" ») to search them; a query "
        "made only of such letters searches nothing (no result) and portals say so",
    )
    compared_value: str | None = Field(
        default=None,
        description="A comparison query's value check (« FEVG < 40 % »): its label is searched, and only documents whose "
        "text gives the label a value satisfying the comparison match and are counted (search_api.value_comparison)",
    )


class SearchResponse(BaseModel):
    query: str
    mode: SearchMode
    interpretation: QueryInterpretation | None = None
    expanded_terms: list[ExpandedTerm] = Field(
        default_factory=list, description="Concepts recognised in the query and the terms they were expanded to"
    )
    total: int = Field(
        description="Exact number of documents containing the query's terms within the filters "
        "(the same on every page and for every page size)"
    )
    total_patients: int = Field(default=0, description="Distinct patients among those documents")
    total_affirmed: int | None = Field(
        default=None,
        description="Of ``total``, the documents that match through an affirmed mention (what a one-criterion "
        "cohort of the same query counts): the others match only through a suspicion or hypothesis "
        "(« suspicion d'embolie pulmonaire »), which a search ranks lower but a cohort leaves out. "
        "Equal to ``total`` when the search does not ask for hypothetical mentions",
    )
    total_patients_affirmed: int | None = Field(
        default=None, description="Distinct patients among the ``total_affirmed`` documents (a cohort's count)"
    )
    term_match: bool = Field(
        default=True,
        description="False when no document contains the query's words: every result then comes from "
        "semantic similarity alone",
    )
    ranked: int = Field(default=0, description="Results available to page through (term matches and semantic neighbours): "
                        "the rank window's fused ranking; a page past its end extends it (then larger)")
    took_ms: float
    results: list[SearchResult]
    suggestion: str | None = Field(
        default=None,
        description="The query with its misspelled words corrected (« pneumothorx » → « pneumothorax »), when a word "
        "matches no passage and a close known spelling matches documents the caller may see; null otherwise. "
        "The results are those of the query as typed: portals offer this as « Essayez avec l'orthographe : … »",
    )

    @computed_field(description="No result contains the query's words: every result is a semantic suggestion "
                    "from the dense leg (« IR » where no document says it). Portals should say so above the list")
    @property
    def semantic_only(self) -> bool:
        return bool(self.results) and not (self.term_match and any(r.lexical_match for r in self.results))


class DocumentResponse(BaseModel):
    id: str
    kind: DocumentKind
    title: str
    text: str
    patient_id: str | None
    date: dt.date | None
    language: str
    modality: str | None
    source_path: str
    sections: list[Section]
    metadata: dict[str, Any]


class StatsResponse(BaseModel):
    documents: int
    passages: int
    by_kind: dict[str, int]
    encoder: str
    indexed_at: str | None
    index_age_seconds: float | None
