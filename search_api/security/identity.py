"""Who is calling: the ``current_principal`` dependency every data endpoint depends on.

Credentials, in order: ``Authorization: Bearer <JWT>`` (the hospital's OIDC provider, or the API's
own ``/auth/login``), then ``X-API-Key`` (service accounts). ``X-User`` is ignored: a header anyone
can set identifies no one. The rights in a verified token of the hospital's OIDC provider are kept
(:mod:`search_api.security.rights`: the cohort watch's only source for such users). Missing or bad credentials answer 401 (``WWW-Authenticate: Bearer``),
a valid identity without any medsearch role 403; both are audited as denied attempts. An identified
caller then passes the per-identity rate limit (429).
"""

# No `from __future__ import annotations`: FastAPI resolves the dependency's annotations at runtime.
import logging
import sqlite3
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from indexer.settings import SecuritySettings
from search_api.security.audit import AuditLog
from search_api.security.keys import KeyStore
from search_api.security.ratelimit import RateLimiter
from search_api.security.scope import Principal, Role
from search_api.security.secrets import signing_key
from search_api.security.tokens import TokenError, TokenVerifier, claim
from search_api.security.users import UserStore

log = logging.getLogger("medsearch.security")
bearer_scheme = HTTPBearer(auto_error=False, description="A JWT from the hospital's OIDC provider or POST /auth/login")
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="A service account key (medsearch keys create)")
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}
#: wrong passwords an account name may receive in a minute, from all addresses together, before
#: ``/auth/login`` answers 429 for it (the per-address limit alone let a guesser rotate addresses)
FAILED_LOGINS_PER_MINUTE = 10


def _strings(value: Any) -> tuple[str, ...] | None:
    """A claim holding a list (or a comma-separated string) as a tuple; None when absent."""
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return ()


def principal_from_claims(claims: dict[str, Any], settings: SecuritySettings) -> Principal:
    """A token's principal: user name, medsearch roles, care units and patients from configured claims."""
    known = {r.value for r in Role}
    roles = frozenset(Role(r) for r in (_strings(claim(claims, settings.roles_claim)) or ()) if r in known)
    user = claims.get(settings.user_claim) or claims.get("sub") or "unknown"
    return Principal(
        user=str(user),
        roles=roles,
        units=_strings(claim(claims, settings.units_claim)),
        patients=_strings(claim(claims, settings.patients_claim)),
        via="jwt",
        claims=claims,
    )


def breaks_glass(principal: Principal, settings: SecuritySettings) -> bool:
    """Whether *principal* may hold break-the-glass grants: the feature is on, they are a clinician (the
    identified view: a researcher's pseudonymised role cannot), a person (not an API key) and restricted
    (an unrestricted clinician already sees every patient)."""
    return (settings.break_glass_enabled and Role.CLINICIAN in principal.roles and principal.via == "jwt"
            and not principal.scope.standing.unrestricted)


def client_address(request: Request) -> str | None:
    """The caller's address for the audit (None when the transport gives none, e.g. in-process tests)."""
    return request.client.host if request.client else None


@dataclass
class SecurityContext:
    """Everything the security dependencies need, kept on ``app.state.security``."""

    settings: SecuritySettings
    audit: AuditLog
    verifier: TokenVerifier = field(init=False)
    keys: KeyStore = field(init=False)
    users: UserStore = field(init=False)
    limiter: RateLimiter = field(init=False)
    login_limiter: RateLimiter = field(init=False)
    failed_logins: RateLimiter = field(init=False)  # failures per account name, whatever the client address
    deid: Any = None  # search_api.security.views.DeidRegistry, set by install_security
    rights: Any = None  # search_api.security.rights.RightsRecorder (OIDC users' rights), set by install_security
    grants: Any = None  # search_api.security.break_glass.GrantStore (break-the-glass grants), set by install_security

    def __post_init__(self) -> None:
        s = self.settings
        self.local_key = signing_key(s.secrets_dir) if s.local_login_enabled else None
        self.verifier = TokenVerifier(s, self.local_key)
        self.keys = KeyStore(s.keys_path)
        self.users = UserStore(s.users_path)
        self.limiter = RateLimiter(s.rate_limit_per_minute)
        self.login_limiter = RateLimiter(min(s.rate_limit_per_minute, 20) if s.rate_limit_per_minute else 0)
        self.failed_logins = RateLimiter(min(s.rate_limit_per_minute, FAILED_LOGINS_PER_MINUTE) if s.rate_limit_per_minute else 0)

    # -- authentication ------------------------------------------------------------------------
    def authenticate(self, request: Request, token: str | None, api_key: str | None) -> Principal:
        if token:
            try:
                claims = self.verifier.verify(token)
            except TokenError as exc:
                self._failed(request, "bearer", str(exc))
                raise HTTPException(status_code=401, detail="invalid or expired token", headers=_UNAUTHORIZED) from exc
            principal = principal_from_claims(claims, self.settings)
            if claims.get("iss") != self.settings.local_issuer and (clash := self._name_clash(principal.user)):
                # saved searches, cohorts, rights snapshots and the audit are keyed by user name: an external
                # identity named like a local account or a service must not read or act as it
                self.audit_denied(request, principal, f"identity name clash: {clash}")
                raise HTTPException(status_code=403, detail=f"this identity's name is already used by {clash}: "
                                    "ask the administrator to rename one of them")
            if self.rights is not None:  # before the role check: a withdrawn role must reach the watch too
                self.rights.seen(principal.user, claims)
        elif api_key:
            found = self.keys.authenticate(api_key)
            if found is None:
                self._failed(request, "api_key", "unknown, wrong or revoked key")
                raise HTTPException(status_code=401, detail="invalid API key", headers=_UNAUTHORIZED)
            principal = found
        else:
            self._failed(request, None, "no credentials")
            raise HTTPException(
                status_code=401, detail="authentication required: a Bearer token or an X-API-Key", headers=_UNAUTHORIZED
            )
        if not principal.roles:
            self.audit_denied(request, principal, "no medsearch role")
            raise HTTPException(status_code=403, detail="this identity has no medsearch role")
        return principal

    def with_grants(self, principal: Principal) -> Principal:
        """*principal* with its valid break-the-glass grants: the ONE place a grant joins the scope (every
        endpoint reads ``principal.scope``, so search, counts, patients, documents and images follow).
        Only a restricted clinician signed in as a person (not an API key) can hold grants."""
        if self.grants is None or not breaks_glass(principal, self.settings):
            return principal
        try:
            grants = self.grants.active_for(principal.user)
        except sqlite3.Error as exc:  # the standing scope still works: an unreadable store must not lock everyone out
            log.warning("break-the-glass grants cannot be read (%s): the standing scope applies", exc)
            return principal
        return replace(principal, grants=grants) if grants else principal

    def _name_clash(self, user: str) -> str | None:
        """What else an external (OIDC) identity's *user* name already names here, if anything: a local
        account (users file), an API key's service account (``key:…``) or the system (``system:…``)."""
        if user.startswith(("key:", "system:")):
            return "a service account"
        return "a local account" if user in self.users.names() else None

    # -- audit helpers -------------------------------------------------------------------------
    client = staticmethod(client_address)

    def _failed(self, request: Request, method: str | None, reason: str) -> None:
        self.audit.record(
            "anonymous", "auth_failed", method=method, reason=reason, path=request.url.path, client=self.client(request)
        )

    def audit_denied(self, request: Request, principal: Principal, reason: str, **details: Any) -> None:
        request.state.denied_audited = True  # the 403/404 handler (security.setup) must not write a second entry
        self.audit.record(
            principal.user, "denied", role=principal.role, reason=reason, path=request.url.path,
            client=self.client(request), **details,
        )

    def record(self, request: Request, principal: Principal, action: str, **details: Any) -> None:
        """Audit one access of *principal* (raises AuditUnavailable: the request must then fail)."""
        self.audit.record(principal.user, action, role=principal.role, client=self.client(request), **details)


def current_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)] = None,
    api_key: Annotated[str | None, Security(api_key_scheme)] = None,
) -> Principal:
    """The authenticated caller (401/403 otherwise), counted against its rate limit (429)."""
    context: SecurityContext = request.app.state.security
    principal = context.authenticate(request, bearer.credentials if bearer else None, api_key)
    context.limiter.check(f"{principal.via}:{principal.user}")
    principal = context.with_grants(principal)
    request.state.principal = principal
    return principal
