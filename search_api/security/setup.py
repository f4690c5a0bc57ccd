"""Wire the security layer into a FastAPI app: context on ``app.state``, headers, CORS, routes, errors."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from indexer.settings import Settings
from search_api.security.audit import AuditLog, AuditUnavailable
from search_api.security.break_glass import GrantStore
from search_api.security.break_glass_router import break_glass_router
from search_api.security.headers import install_headers
from search_api.security.identity import SecurityContext
from search_api.security.rights import RightsRecorder
from search_api.security.router import security_router
from search_api.security.secrets import pseudonym_key
from search_api.security.views import DeidRegistry

log = logging.getLogger("medsearch.security")

#: logged at start-up when local accounts stay usable beside the hospital's OIDC provider
BOTH_LOGINS_WARNING = (
    "security.local_login is true while security.jwt_issuer is set: local accounts (%s) can sign in beside the "
    "hospital's identity provider, outside its MFA, leaver process and lockout; keep it only for a break-glass "
    "account, or remove security.local_login to turn local login off"
)


def install_security(app: FastAPI, settings: Settings) -> SecurityContext:
    """Create the security context of *app* and install its middleware, routes and error handlers."""
    s = settings.security
    if s.jwt_issuer and s.local_login_enabled:
        log.warning(BOTH_LOGINS_WARNING, s.users_path)
    audit = AuditLog(settings.api.audit_log, rotate_bytes=int(s.audit_rotate_mb * 1e6))
    context = SecurityContext(s, audit)
    context.deid = DeidRegistry(pseudonym_key(s.secrets_dir), s.deid_dates)
    context.rights = RightsRecorder.at(s, settings.api.user_data)  # OIDC users' rights, for the cohort watch
    context.grants = GrantStore(settings.api.user_data)  # break-the-glass grants, kept with the users' data
    app.state.security = context
    app.state.audit = audit
    install_headers(app, s.cors_origins)
    app.include_router(security_router())
    app.include_router(break_glass_router())

    @app.exception_handler(AuditUnavailable)
    async def _audit_unavailable(_: Request, exc: AuditUnavailable) -> JSONResponse:
        """No audit line, no answer: the data is not returned (HDS traceability)."""
        return JSONResponse(status_code=503, content={"detail": str(exc)}, headers={"Cache-Control": "no-store"})

    @app.exception_handler(StarletteHTTPException)
    async def _refusals_are_audited(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Every refused attempt of an identified caller is audited: a 403 or a 404 answered after the
        caller was authenticated (another user's cohort or saved search, a document, image, patient or
        timeline outside the scope, or an id that does not exist: the API answers both alike, the
        audit records the attempt) gets a ``denied`` entry naming the path and the status, unless the
        code that refused already wrote one with its reason (:meth:`SecurityContext.audit_denied`).
        Without this, probing ids through ``/documents/{id}/links``, ``/patients/{id}`` or
        ``/cohorts/{id}`` left no trace (only ``GET /documents/{id}`` and the images audited theirs)."""
        principal = getattr(request.state, "principal", None)
        if exc.status_code in (403, 404) and principal is not None and not getattr(request.state, "denied_audited", False):
            try:
                context.audit_denied(request, principal, "not found or outside the user's scope" if exc.status_code == 404
                                     else "forbidden", status=exc.status_code, method=request.method)
            except AuditUnavailable as unavailable:
                return await _audit_unavailable(request, unavailable)
        return await http_exception_handler(request, exc)

    return context
