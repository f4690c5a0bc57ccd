"""The search's query-string parameters, declared once: a FastAPI dependency that builds a
:class:`~search_api.models.SearchRequest` from them.

``GET /search`` and ``GET /search/patients`` take the same query and filters (``POST`` takes the same
fields as JSON); declaring them in each endpoint let the two drift apart. Validation is the
request model's (blank or over-long query, inverted or out-of-range dates...): its
``ValidationError`` reaches the app's handler and answers 422 like a bad JSON body; ``limit`` and
``offset`` also carry their bounds here so the OpenAPI schema (and the schemathesis fuzz) shows them.
"""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
from typing import Annotated

from fastapi import HTTPException, Query, Request

from indexer.schema import DocumentKind
from search_api.models import MAX_LIMIT, MAX_OFFSET, SearchMode, SearchRequest


def search_query(
    http: Request,
    q: Annotated[str, Query(description="Query text (French or English)")],
    kinds: Annotated[list[DocumentKind], Query(description="Only these document kinds (repeatable)")] = [],  # noqa: B006 - FastAPI needs a literal default
    departments: Annotated[list[str], Query(description="Care units, any of them (repeatable)")] = [],  # noqa: B006
    modalities: Annotated[list[str], Query(description="Image modalities, any of them (repeatable)")] = [],  # noqa: B006
    patient_id: Annotated[str | None, Query(description="One patient (case-insensitive; researchers: a PSN- pseudonym)")] = None,
    date_from: Annotated[str | None, Query(description="Documents dated on or after (YYYY-MM-DD)")] = None,
    date_to: Annotated[str | None, Query(description="Documents dated on or before (YYYY-MM-DD)")] = None,
    language: str | None = None,
    mode: SearchMode = "hybrid",
    include_negated: bool = False,
    include_family: bool | None = None,
    expand: bool = True,
    clinical: bool = True,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> SearchRequest:
    """The :class:`SearchRequest` of a ``GET`` search (dates and language checked by the model: 422).

    An unknown parameter answers 422, as an unknown field of the ``POST`` body does: a misspelt filter
    (« kind=report », « patientId=P000026 », « date_start=... ») was dropped in silence and the search
    ran unfiltered (a script asking for one patient's reports got everyone's documents)."""
    unknown = sorted(set(http.query_params) - SEARCH_QUERY_PARAMS)
    if unknown:
        raise HTTPException(status_code=422, detail=[
            {"loc": ["query", name], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"} for name in unknown
        ])
    return SearchRequest.model_validate({
        "q": q, "kinds": kinds, "departments": departments, "modalities": modalities, "patient_id": patient_id,
        "date_from": date_from, "date_to": date_to, "language": language, "mode": mode,
        "include_negated": include_negated, "include_family": include_family, "expand": expand, "clinical": clinical,
        "limit": limit, "offset": offset,
    })


#: the parameters :func:`search_query` reads (its own signature's, but the request)
SEARCH_QUERY_PARAMS = frozenset(name for name in search_query.__annotations__ if name not in ("http", "return"))
