"""The normalised document model every source is turned into.

Every parser (reports, FHIR records, articles, images) returns :class:`Document` objects; everything
downstream (passage splitting, encoders, the three stores, the API) only ever sees this shape. Keeping
it in one place is what lets a new source kind be added without touching retrieval.
"""

from __future__ import annotations

import hashlib
import datetime as dt
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field, field_validator


#: Dates the index can store: Tantivy keeps dates as signed 64-bit nanoseconds since 1970, i.e.
#: 1677-09-21 .. 2262-04-11. Anything outside (« 01/03/3024 », an article from 1628) is dropped by the
#: parsers with a warning, and the API refuses such filter dates with a 422.
MIN_DATE = dt.date(1678, 1, 1)
MAX_DATE = dt.date(2261, 12, 31)


def date_in_range(value: dt.date) -> bool:
    """Whether *value* can be stored and filtered on (see :data:`MIN_DATE`, :data:`MAX_DATE`)."""
    return MIN_DATE <= value <= MAX_DATE


class DocumentKind(str, Enum):
    """The four families of data a physician searches across."""

    IMAGE = "image"
    REPORT = "report"
    RECORD = "record"
    ARTICLE = "article"


class Section(BaseModel):
    """A titled part of a document (e.g. « Indication », « Conclusion », "Abstract")."""

    title: str = ""
    text: str


class Document(BaseModel):
    """One searchable unit: a report, a patient record, an article, or an image (series).

    ``text`` is the full plain text used for lexical and dense indexing; ``sections`` keeps its
    structure when the source has one so passages can carry their section name. ``metadata`` holds
    source-specific fields (DICOM header values, FHIR codes, article authors...) as plain JSON.
    """

    id: str = Field(min_length=1, description="Stable identifier, unique across the corpus")
    kind: DocumentKind
    title: str = ""
    text: str = ""
    patient_id: str | None = None
    date: dt.date | None = None
    language: str = Field(default="und", description="ISO 639-1 code ('fr', 'en') or 'und'")
    source_path: str = ""
    sections: list[Section] = Field(default_factory=list)
    modality: str | None = Field(default=None, description="DICOM modality (CT, MR, CR, US...) for images; for a report, "
                                 "its linked study's, else the one its exam title names (indexer.linking.report_modality)")
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("date")
    @classmethod
    def _date_the_index_can_store(cls, value: dt.date | None) -> dt.date | None:
        """Last line of defence: a date no store can hold is dropped, never allowed to abort a run
        (parsers drop it first, with a warning naming the file)."""
        return value if value is None or date_in_range(value) else None

    @field_validator("patient_id")
    @classmethod
    def _blank_patient_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    def content_hash(self) -> str:
        """Hash of everything that affects indexing, so an unchanged document can be skipped on reindex."""
        payload = self.model_dump_json(exclude={"source_path"})
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class Passage(BaseModel):
    """A slice of a document's text: the unit that is embedded and matched, then grouped back per document."""

    doc_id: str
    ordinal: int = Field(ge=0, description="Position of the passage inside its document")
    text: str
    section: str = ""
