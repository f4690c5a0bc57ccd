"""Who is asking and what they may see: the ONE place every patient-centred endpoint gets them from.

Every endpoint of :mod:`search_api.patients`, :mod:`search_api.cohorts` and
:mod:`search_api.saved_searches` takes its access scope from :func:`request_scope` and its user
from :func:`current_user` (FastAPI dependencies), and combines the scope with the user's own filters
through :func:`within_scope`. The access layer narrows what a caller sees by overriding these
dependencies (``app.dependency_overrides`` or by replacing them here); nothing else has to change,
because no endpoint reads a store around the filter.

:func:`identity_policy` is the hook for de-identification: it returns the function applied to a
patient's identity block before it leaves the API (identity today; a researcher's scope can map it
to pseudonymous fields).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import Header

from indexer.backend.filters import DocumentFilter

ANONYMOUS = "anonymous"

#: identity block (name, birth date, sex, age...) → what this caller may see of it
IdentityPolicy = Callable[[dict[str, Any]], dict[str, Any]]


def current_user(x_user: Annotated[str | None, Header(description="Authenticated user name")] = None) -> str:
    """The caller's name: the owner of saved searches and cohorts, and the audit log's subject."""
    return unquote((x_user or "").strip()) or ANONYMOUS


def request_scope() -> DocumentFilter:
    """The caller's access restriction as a filter (unrestricted until authentication lands)."""
    return DocumentFilter()


def identity_policy() -> IdentityPolicy:
    """What of a patient's identity the caller may see (everything until de-identification lands)."""
    return lambda identity: identity


def within_scope(wanted: DocumentFilter, scope: DocumentFilter) -> DocumentFilter:
    """The user's filter *wanted* narrowed by the access *scope* (its restriction fields win)."""
    patients = scope.allowed_patients if scope.allowed_patients is not None else wanted.allowed_patients
    departments = scope.allowed_departments if scope.allowed_departments is not None else wanted.allowed_departments
    return replace(wanted, allowed_patients=patients, allowed_departments=departments)
