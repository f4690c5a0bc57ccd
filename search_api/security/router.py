"""Security endpoints: local login, who am I, the local issuer's JWKS, and the audit log (admins: metadata;
auditors: whole entries, :mod:`search_api.security.audit_read`)."""

# No `from __future__ import annotations`: FastAPI resolves the endpoints' annotations at runtime.
import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from search_api.security.audit_read import AuditQuery, matching_entries, redacted, to_csv, to_patient_report_csv
from search_api.security.identity import SecurityContext, current_principal
from search_api.security.roles import require_role
from search_api.security.scope import Principal, Role
from search_api.security.tokens import issue_token, local_jwks


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user: str
    name: str | None = Field(default=None, description="The account's display name (« Dr Marie Martin »), when it has one")
    role: str
    roles: list[str]


class WhoAmI(BaseModel):
    user: str
    name: str | None = Field(default=None, description="Display name: the token's ``name`` claim (local accounts, "
                             "OIDC providers), else ``given_name`` + ``family_name``")
    role: str
    roles: list[str]
    view: str = Field(description="identified, deidentified (researchers) or none (patient documents hidden)")
    units: list[str] | None = None
    patients: list[str] | None = None
    via: str


class AuditPage(BaseModel):
    total: int
    redacted: bool = Field(False, description="entries hold metadata only (the reader is not an auditor)")
    entries: list[dict[str, Any]]


def display_name(claims: dict[str, Any]) -> str | None:
    """Who the token names, for the portal's « Connecté : Dr … » (OIDC standard claims: ``name``, else
    ``given_name`` + ``family_name``); None for API keys and tokens without a name."""
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get(k) for k in ("given_name", "family_name")]
        name = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    return name.strip() or None


def security_router() -> APIRouter:
    router = APIRouter(tags=["security"])

    @router.post("/auth/login", response_model=TokenResponse)
    def login(body: LoginRequest, request: Request) -> TokenResponse:
        """Local accounts (demo): a short-lived token signed by the API's own key."""
        context: SecurityContext = request.app.state.security
        settings = context.settings
        if not settings.local_login_enabled or context.local_key is None:
            raise HTTPException(status_code=404, detail="local login is disabled: sign in through the hospital's provider")
        try:
            context.login_limiter.check(f"login:{context.client(request)}:{body.username}")
            if (retry := context.failed_logins.retry_after(f"account:{body.username}")) is not None:
                raise HTTPException(status_code=429, detail="too many failed logins for this account: retry in a minute",
                                    headers={"Retry-After": str(retry)})
        except HTTPException as throttled:  # a guesser slowed down is something the DPO must be able to see
            context.audit.record(body.username, "login_throttled", client=context.client(request))
            raise throttled
        user = context.users.check(body.username, body.password)
        if user is None:
            context.failed_logins.hit(f"account:{body.username}")
            context.audit.record(body.username, "login_failed", client=context.client(request))
            raise HTTPException(status_code=401, detail="wrong username or password", headers={"WWW-Authenticate": "Bearer"})
        token = issue_token(
            context.local_key, settings.local_issuer, user.username, user.roles, settings.token_minutes,
            units=user.units, patients=user.patients, name=user.display_name,
            roles_claim=settings.roles_claim, units_claim=settings.units_claim, patients_claim=settings.patients_claim,
        )
        principal = Principal(user.username, frozenset(Role(r) for r in user.roles))
        context.audit.record(user.username, "login", role=principal.role, client=context.client(request))
        return TokenResponse(
            access_token=token, expires_in=settings.token_minutes * 60, user=user.username, name=user.display_name,
            role=principal.role, roles=user.roles,
        )

    @router.get("/auth/me", response_model=WhoAmI)
    def whoami(principal: Annotated[Principal, Depends(current_principal)]) -> WhoAmI:
        return WhoAmI(
            user=principal.user, name=display_name(principal.claims), role=principal.role, roles=sorted(r.value for r in principal.roles),
            view=principal.view.value, units=list(principal.units) if principal.units is not None else None,
            patients=list(principal.patients) if principal.patients is not None else None, via=principal.via,
        )

    @router.get("/auth/jwks.json")
    def jwks(request: Request) -> dict[str, Any]:
        """The local issuer's public key, for services that verify the API's tokens themselves."""
        context: SecurityContext = request.app.state.security
        if context.local_key is None:
            raise HTTPException(status_code=404, detail="no local issuer")
        return local_jwks(context.local_key)

    def audit_query(
        request: Request,
        reader: Annotated[Principal, Depends(require_role(Role.ADMIN, Role.AUDITOR))],
        user: Annotated[str | None, Query(max_length=256)] = None,
        patient_id: Annotated[str | None, Query(max_length=64, description="auditors only: who accessed this patient")] = None,
        action: Annotated[str | None, Query(max_length=64)] = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        break_glass: Annotated[bool, Query(description="only break-the-glass grants and the accesses made under them")] = False,
    ) -> tuple[Principal, AuditQuery]:
        """The reader and their criteria; 422 on an inverted period, 403 (audited) when an admin without
        the auditor role asks who accessed a patient (that answer is the patient's access history)."""
        if date_from and date_to and date_from > date_to:
            raise HTTPException(status_code=422, detail="date_from must be on or before date_to")
        if patient_id and Role.AUDITOR not in reader.roles:
            request.app.state.security.audit_denied(request, reader, "the patient filter requires the auditor role",
                                                    filters={"patient_id": patient_id})
            raise HTTPException(status_code=403, detail="filtering the audit by patient needs the auditor role (DPO)")
        return reader, AuditQuery(user, patient_id, action, date_from, date_to, break_glass)

    @router.get("/audit", response_model=AuditPage)
    def audit(
        request: Request,
        asked: Annotated[tuple[Principal, AuditQuery], Depends(audit_query)],
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> AuditPage:
        """Audit entries, newest first, filtered by user, patient, action and period (UTC dates).

        Auditors read whole entries; admins without that role read the metadata of each (who, when,
        action, client, outcome), with the names of the withheld fields in ``redacted``."""
        reader, query = asked
        full = Role.AUDITOR in reader.roles
        context: SecurityContext = request.app.state.security
        context.record(request, reader, "audit_read", filters=query.as_filters(), redacted=not full)
        matched = matching_entries(context.audit.path, query)
        page = matched[offset : offset + limit]
        return AuditPage(total=len(matched), redacted=not full, entries=page if full else [redacted(e) for e in page])

    @router.get("/audit/export", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
    def audit_export(
        request: Request,
        asked: Annotated[tuple[Principal, AuditQuery], Depends(audit_query)],
        report: Annotated[Literal["entries", "patient"], Query(
            description="entries: the DPO's working file; patient: the access report to hand to the patient "
                        "(needs patient_id; no query text, no other patient)")] = "entries",
    ) -> Response:
        """Every matching entry (no paging) as CSV, oldest first: the DPO's register of accesses, or with
        ``patient_id`` and ``report=patient`` a patient's access report (GDPR right of access). Redacted as
        ``/audit`` for admins (who cannot filter by patient)."""
        reader, query = asked
        if report == "patient" and not query.patient_id:
            raise HTTPException(status_code=422, detail="report=patient needs patient_id")
        full = Role.AUDITOR in reader.roles
        context: SecurityContext = request.app.state.security
        matched = matching_entries(context.audit.path, query)
        matched.reverse()
        context.record(request, reader, "audit_export", filters=query.as_filters(), redacted=not full,
                       format="csv", report=report, rows=len(matched))
        if report == "patient":
            body = to_patient_report_csv(matched, str(query.patient_id))
        else:
            body = to_csv(matched if full else [redacted(e) for e in matched])
        return Response(body, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="medsearch-audit.csv"', "Cache-Control": "no-store",
        })

    return router

