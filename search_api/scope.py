"""Who is asking and what they may see: the ONE place every patient-centred endpoint gets them from.

Every endpoint of :mod:`search_api.patients`, :mod:`search_api.cohorts` and
:mod:`search_api.saved_searches` takes its access scope from :func:`request_scope` and its user
from :func:`current_user` (FastAPI dependencies), and combines the scope with the user's own filters
through :func:`within_scope`. Both come from the authenticated principal
(:func:`search_api.security.current_principal`: 401 without a verified identity); no endpoint
reads a store around the filter, so the access rules apply to these views unchanged.

:func:`identity_policy` is the hook for de-identification: it returns the function applied to a
patient's identity block before it leaves the API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any

from fastapi import Depends, HTTPException

from indexer.backend.filters import DocumentFilter
from search_api.security import Principal, current_principal


#: identity block (name, birth date, sex, age...) → what this caller may see of it
IdentityPolicy = Callable[[dict[str, Any]], dict[str, Any]]


def current_user(principal: Annotated[Principal, Depends(current_principal)]) -> str:
    """The authenticated caller's name: the owner of saved searches and cohorts, and the audit log's subject."""
    return principal.user


def request_scope(principal: Annotated[Principal, Depends(current_principal)]) -> DocumentFilter:
    """The caller's access restriction as a filter (applied inside every retrieval leg).

    These patient-centred screens (patient view, timeline, cohorts, document links) show identified
    data; their de-identified researcher version does not exist yet, so a researcher is refused here
    (403) rather than shown names: least privilege until it does.
    """
    if principal.deidentified:
        raise HTTPException(status_code=403, detail="cet écran n'est pas disponible en vue pseudonymisée (rôle chercheur)")
    return principal.scope.apply(DocumentFilter())


def identity_policy() -> IdentityPolicy:
    """What of a patient's identity the caller may see (researchers never reach these screens)."""
    return lambda identity: identity


def within_scope(wanted: DocumentFilter, scope: DocumentFilter) -> DocumentFilter:
    """The user's filter *wanted* narrowed by the access *scope* (its restriction fields win)."""
    patients = scope.allowed_patients if scope.allowed_patients is not None else wanted.allowed_patients
    departments = scope.allowed_departments if scope.allowed_departments is not None else wanted.allowed_departments
    return replace(wanted, allowed_patients=patients, allowed_departments=departments)
