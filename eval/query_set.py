"""Loading and validating ``eval/queries.yaml`` (see ``eval/build_queries.py`` for how it is made).

The evaluation runner reads the file through :func:`load_queries` so that a hand edit that breaks the
format (a grade of 3, an unknown category, a duplicate id) fails loudly instead of skewing metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

Category = Literal["plain", "negation", "abbreviation", "synonym", "cross_lingual", "hypothesis", "brief", "family", "relatives"]
DEFAULT_PATH = Path(__file__).resolve().parent / "queries.yaml"


class EvalQuery(BaseModel):
    """One labelled query: ``relevant`` maps document id → grade (2 = fully, 1 = partially relevant)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    query: str = Field(min_length=1)
    language: Literal["fr", "en"]
    category: Category
    concept: str | None = None
    ambiguous: bool = False
    relevant: dict[str, Literal[1, 2]]
    #: "hypothesis" queries: documents where the finding is only hypothetical (« suspicion de », "rule
    #: out"); they must rank below every document that affirms it
    hypothetical: list[str] = Field(default_factory=list)
    #: "brief" queries (the product brief's examples): documents that must rank below every relevant one
    #: (the same exam ruling the finding out: « contrôle post-pose de VVC : pas de pneumothorax »); "family"
    #: queries: the documents where only the patient has the finding
    below: list[str] = Field(default_factory=list)

    @field_validator("relevant")
    @classmethod
    def _not_empty(cls, value: dict[str, int]) -> dict[str, int]:
        if not value:
            raise ValueError("a query needs at least one relevant document")
        return value


def load_queries(path: str | Path = DEFAULT_PATH) -> list[EvalQuery]:
    """Every query of the file, validated; raises ValueError naming the faulty query."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    queries: list[EvalQuery] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw.get("queries", [])):
        label = entry.get("id", f"#{index}") if isinstance(entry, dict) else f"#{index}"
        try:
            query = EvalQuery.model_validate(entry)
        except ValueError as error:
            raise ValueError(f"query {label!r}: {error}") from error
        if query.id in seen:
            raise ValueError(f"query {query.id!r}: duplicate id")
        seen.add(query.id)
        queries.append(query)
    return queries
