"""Break-the-glass endpoints: a clinician opens, lists and ends their grants; the DPO reviews them all.

* ``POST /access/break-glass`` {patient_id, motive, reason}: a restricted clinician's grant (201).
  403 for any other role (researchers' pseudonymised view, admins, auditors) and for API keys; 409
  for an unrestricted clinician (nothing to break); 429 past ``security.break_glass_max_active``
  valid grants; 404 when the site turned the feature off. The patient id is not looked up: the
  same 201 for an id that exists, one that does not, and one of another unit (no oracle).
* ``GET /access/break-glass``: the caller's valid grants (the portal's banner).
* ``DELETE /access/break-glass/{id}``: its owner ends it early, an admin or the auditor revokes it;
  anyone else gets 404, as for an id that does not exist.
* ``GET /audit/break-glass``: every grant, for the review (auditor: whole; admin: without the
  patient and the reason, as :mod:`search_api.security.audit_read` redacts the audit).
"""

# No `from __future__ import annotations`: FastAPI resolves the endpoints' annotations at runtime.
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from search_api.security.break_glass import MAX_REASON_CHARS, MIN_REASON_CHARS, Grant, Motive
from search_api.security.identity import SecurityContext, breaks_glass, current_principal
from search_api.security.roles import require_role
from search_api.security.scope import Principal, Role

#: what an admin without the auditor role does not see of a grant (whom it was about, and why)
ADMIN_WITHHELD = ("patient_id", "reason")


class BreakGlassRequest(BaseModel):
    patient_id: str = Field(min_length=1, max_length=64, pattern=r"^\s*[A-Za-z0-9._:/-]+\s*$",
                            description="The patient's id (IPP) as the hospital writes it")
    motive: Motive = Field(description="urgence, garde/astreinte, transfert, continuité des soins, autre")
    reason: str = Field(min_length=MIN_REASON_CHARS, max_length=MAX_REASON_CHARS,
                        description=f"Why this access is needed, in words ({MIN_REASON_CHARS} characters at least): "
                                    "read by the DPO")


class GrantList(BaseModel):
    total: int
    redacted: bool = False
    grants: list[dict[str, Any]]


def _context(request: Request) -> SecurityContext:
    return request.app.state.security


def _refuse(request: Request, principal: Principal, status: int, detail: str, reason: str) -> HTTPException:
    """An audited refusal (the 403/404 handler would write a vaguer one)."""
    _context(request).audit_denied(request, principal, reason, action_asked="break_glass", status=status)
    return HTTPException(status_code=status, detail=detail)


def break_glass_router() -> APIRouter:
    router = APIRouter(tags=["security"])

    @router.post("/access/break-glass", status_code=201)
    def break_glass(body: BreakGlassRequest, request: Request,
                    principal: Annotated[Principal, Depends(current_principal)]) -> dict[str, Any]:
        """Open a time-limited access to one patient outside the caller's scope (« bris de glace »)."""
        context = _context(request)
        settings = context.settings
        if not settings.break_glass_enabled or context.grants is None:
            raise HTTPException(status_code=404, detail="L'accès exceptionnel (bris de glace) n'est pas activé sur ce site.")
        if Role.CLINICIAN not in principal.roles or principal.via != "jwt":
            raise _refuse(request, principal, 403, "Seul un clinicien connecté en son nom peut demander un accès "
                          "exceptionnel (bris de glace).", "break_glass requires a clinician signed in as a person")
        if not breaks_glass(principal, settings):
            raise HTTPException(status_code=409, detail="Votre accès n'est restreint ni à des services ni à des patients : "
                                "vous voyez déjà ce dossier, le bris de glace est inutile.")
        if len(principal.grants) >= settings.break_glass_max_active:
            raise _refuse(request, principal, 429, f"Vous avez déjà {len(principal.grants)} accès exceptionnels en cours "
                          "(le maximum) : attendez leur fin ou terminez-en un.", "too many active break_glass grants")
        grant = context.grants.create(principal.user, body.patient_id, body.motive, body.reason,
                                      settings.break_glass_minutes)
        context.record(request, principal, "break_glass", grant_id=grant.id, patient_id=grant.patient_id,
                       motive=grant.motive, justification=grant.reason, expires_at=grant.expires_at.isoformat(),
                       break_glass=[grant.id])
        return grant.as_dict(context.grants.clock())

    @router.get("/access/break-glass", response_model=GrantList)
    def my_grants(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> GrantList:
        """The caller's valid grants (those :func:`current_principal` attached to this request)."""
        now = _context(request).grants.clock()
        grants = [g.as_dict(now) for g in principal.grants]
        return GrantList(total=len(grants), grants=grants)

    @router.delete("/access/break-glass/{grant_id}", status_code=204, response_class=Response)
    def revoke(grant_id: str, request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> Response:
        """End a grant: its owner (done early), an admin or the auditor (after review)."""
        context = _context(request)
        grant: Grant | None = context.grants.get(grant_id[:64]) if context.grants is not None else None
        reviewer = bool(principal.roles & {Role.ADMIN, Role.AUDITOR})
        if grant is None or not (reviewer or grant.user == principal.user):
            raise HTTPException(status_code=404, detail="aucun accès exceptionnel de ce nom")
        ended = context.grants.revoke(grant.id, principal.user)
        context.record(request, principal, "break_glass_revoke", grant_id=grant.id, grant_user=grant.user,
                       patient_id=grant.patient_id, revoked_at=ended.revoked_at.isoformat() if ended and ended.revoked_at
                       else None)
        return Response(status_code=204)

    @router.get("/audit/break-glass", response_model=GrantList)
    def review(
        request: Request,
        reader: Annotated[Principal, Depends(require_role(Role.ADMIN, Role.AUDITOR))],
        user: Annotated[str | None, Query(max_length=256)] = None,
        patient_id: Annotated[str | None, Query(max_length=64, description="auditors only")] = None,
        active: Annotated[bool | None, Query(description="only valid (true) or ended (false) grants")] = None,
    ) -> GrantList:
        """Every break-the-glass grant, newest first, for the DPO's review; what was read under one is in
        ``GET /audit?break_glass=true`` (entries marked with the grant ids)."""
        context = _context(request)
        full = Role.AUDITOR in reader.roles
        if patient_id and not full:
            raise _refuse(request, reader, 403, "filtering by patient needs the auditor role (DPO)",
                          "the patient filter requires the auditor role")
        now = context.grants.clock()
        grants = [g.as_dict(now) for g in context.grants.all(user, patient_id)]
        if active is not None:
            grants = [g for g in grants if g["active"] is active]
        if not full:
            grants = [{k: v for k, v in g.items() if k not in ADMIN_WITHHELD} for g in grants]
        context.record(request, reader, "audit_read", filters={"user": user, "patient_id": patient_id, "active": active,
                                                               "of": "break_glass"}, redacted=not full, rows=len(grants))
        return GrantList(total=len(grants), redacted=not full, grants=grants)

    return router
