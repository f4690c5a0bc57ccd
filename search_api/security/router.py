"""Security endpoints: local login, who am I, the local issuer's JWKS, and the audit log for admins."""

# No `from __future__ import annotations`: FastAPI resolves the endpoints' annotations at runtime.
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from search_api.security.audit import iter_entries
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
        if not settings.local_login or context.local_key is None:
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

    @router.get("/audit", response_model=AuditPage)
    def audit(
        request: Request,
        admin: Annotated[Principal, Depends(require_role(Role.ADMIN))],
        user: Annotated[str | None, Query(max_length=256)] = None,
        patient_id: Annotated[str | None, Query(max_length=64)] = None,
        action: Annotated[str | None, Query(max_length=64)] = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> AuditPage:
        """Audit entries, newest first, filtered by user, patient, action and period (UTC dates)."""
        context: SecurityContext = request.app.state.security
        if date_from and date_to and date_from > date_to:
            raise HTTPException(status_code=422, detail="date_from must be on or before date_to")
        context.record(request, admin, "audit_read", filters={
            "user": user, "patient_id": patient_id, "action": action,
            "date_from": date_from.isoformat() if date_from else None, "date_to": date_to.isoformat() if date_to else None,
        })
        wanted_patient = patient_id.casefold() if patient_id else None
        matched = []
        for entry in iter_entries(context.audit.path):
            if user and entry.get("user") != user:
                continue
            if action and entry.get("action") != action:
                continue
            if wanted_patient and wanted_patient not in {str(p).casefold() for p in _patients_of(entry)}:
                continue
            day = str(entry.get("ts", ""))[:10]
            if date_from and day < date_from.isoformat():
                continue
            if date_to and day > date_to.isoformat():
                continue
            matched.append(entry)
        matched.reverse()
        return AuditPage(total=len(matched), entries=matched[offset : offset + limit])

    return router


def _patients_of(entry: dict[str, Any]) -> list[Any]:
    patients = [entry.get("patient_id")] if entry.get("patient_id") else []
    patients += entry.get("patients") or []
    filters = entry.get("filters") or {}
    if isinstance(filters, dict) and filters.get("patient_id"):
        patients.append(filters["patient_id"])
    return patients
