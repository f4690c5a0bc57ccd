"""Who is asking and what they may see: the ONE place every patient-centred endpoint gets them from.

Every endpoint of :mod:`search_api.patients` and :mod:`search_api.saved_searches` takes its access
scope from :func:`request_scope` (:mod:`search_api.cohorts`: :func:`research_scope`, the same without
break-the-glass grants) and its user
from :func:`current_user` (FastAPI dependencies), and combines the scope with the user's own filters
through :func:`within_scope`. Both come from the authenticated principal
(:func:`search_api.security.current_principal`: 401 without a verified identity); no endpoint
reads a store around the filter, so the access rules apply to these views unchanged.

:func:`patient_viewer` is the de-identification hook: the :class:`~search_api.viewer.Viewer` every
patient-centred response (and every patient or document id a caller sends) goes through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any

from fastapi import Depends, Request

from indexer.backend.filters import DocumentFilter
from search_api.security import Principal, current_principal
from search_api.viewer import IDENTIFIED, Viewer


def current_user(principal: Annotated[Principal, Depends(current_principal)]) -> str:
    """The authenticated caller's name: the owner of saved searches and cohorts, and the audit log's subject."""
    return principal.user


def request_scope(principal: Annotated[Principal, Depends(current_principal)]) -> DocumentFilter:
    """The caller's access restriction as a filter (applied inside every retrieval leg).

    Researchers get these screens too, in the de-identified view: their scope is the same filter,
    and what leaves the API goes through :func:`patient_viewer`'s :class:`~search_api.viewer.Viewer`.
    """
    return principal.scope.apply(DocumentFilter())


def research_scope(principal: Annotated[Principal, Depends(current_principal)]) -> DocumentFilter:
    """The caller's access restriction for research (cohorts: evaluation, runs, exports): the standing
    scope, without break-the-glass grants. A grant opens one patient for their care; it must not put
    that patient in a cohort's counts, members or CSV (:mod:`search_api.security.break_glass`)."""
    return scope_for(principal)


def scope_for(principal: Principal) -> DocumentFilter:
    """*principal*'s standing access scope as a filter (no break-the-glass grant): :func:`research_scope`'s,
    and the cohort watch's for a cohort's owner (:mod:`search_api.cohort_watch`), so both read the index
    through the same rule."""
    return principal.scope.standing.apply(DocumentFilter())


def viewer_for(principal: Principal, deid: Any, engine: Any) -> Viewer:
    """*principal*'s :class:`Viewer` over *engine*'s index: identified, or de-identified with *deid*'s
    (a :class:`~search_api.security.views.DeidRegistry`) keyed de-identifier of that generation."""
    if not principal.deidentified:
        return IDENTIFIED
    return Viewer(deid.for_engine(engine))


def patient_viewer(engine: Callable[[], Any]) -> Callable[..., Viewer]:
    """A dependency giving the caller's :class:`~search_api.viewer.Viewer` over *engine*'s index:
    as is for clinicians, de-identified (pseudonyms, shifted dates, masked text) for researchers,
    with the same keyed de-identifier as ``/search`` and ``/documents`` (one per index generation)."""

    def viewer(http: Request, principal: Annotated[Principal, Depends(current_principal)]) -> Viewer:
        if not principal.deidentified:
            return IDENTIFIED
        return viewer_for(principal, http.app.state.security.deid, engine())

    return viewer


def within_scope(wanted: DocumentFilter, scope: DocumentFilter) -> DocumentFilter:
    """The user's filter *wanted* narrowed by the access *scope* (its restriction fields win, its
    break-the-glass exception with them)."""
    patients = scope.allowed_patients if scope.allowed_patients is not None else wanted.allowed_patients
    departments = scope.allowed_departments if scope.allowed_departments is not None else wanted.allowed_departments
    granted = scope.granted_patients if scope.allowed_patients is not None or scope.allowed_departments is not None \
        else wanted.granted_patients
    return replace(wanted, allowed_patients=patients, allowed_departments=departments, granted_patients=granted)
