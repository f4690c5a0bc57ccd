"""Wire the security layer into a FastAPI app: context on ``app.state``, headers, CORS, routes, errors."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from indexer.settings import Settings
from search_api.security.audit import AuditLog, AuditUnavailable
from search_api.security.headers import install_headers
from search_api.security.identity import SecurityContext
from search_api.security.rights import RightsRecorder
from search_api.security.router import security_router
from search_api.security.secrets import pseudonym_key
from search_api.security.views import DeidRegistry


def install_security(app: FastAPI, settings: Settings) -> SecurityContext:
    """Create the security context of *app* and install its middleware, routes and error handlers."""
    s = settings.security
    audit = AuditLog(settings.api.audit_log, rotate_bytes=int(s.audit_rotate_mb * 1e6))
    context = SecurityContext(s, audit)
    context.deid = DeidRegistry(pseudonym_key(s.secrets_dir), s.deid_dates)
    context.rights = RightsRecorder.at(s, settings.api.user_data)  # OIDC users' rights, for the cohort watch
    app.state.security = context
    app.state.audit = audit
    install_headers(app, s.cors_origins)
    app.include_router(security_router())

    @app.exception_handler(AuditUnavailable)
    async def _audit_unavailable(_: Request, exc: AuditUnavailable) -> JSONResponse:
        """No audit line, no answer: the data is not returned (HDS traceability)."""
        return JSONResponse(status_code=503, content={"detail": str(exc)}, headers={"Cache-Control": "no-store"})

    return context
