"""Access control for the medsearch API: identity, roles, scope, de-identification, audit, abuse limits.

How a router uses it::

    from search_api.security import Principal, Role, current_principal, require_role

    @router.get("/patients/{pid}/timeline")
    def timeline(pid: str, request: Request, principal: Annotated[Principal, Depends(current_principal)]):
        where = principal.scope.apply(DocumentFilter(patient_id=pid))   # restriction inside retrieval
        ...
        request.app.state.security.record(request, principal, "timeline", patient_id=pid, returned=ids)

    @router.get("/jobs")
    def jobs(admin: Annotated[Principal, Depends(require_role(Role.ADMIN))]): ...

``principal.deidentified`` says whether the response must go through the researcher view
(:mod:`search_api.security.views`); a single document outside ``principal.scope.admits`` answers 404.
"""

from search_api.security.audit import AuditLog, AuditUnavailable
from search_api.security.identity import SecurityContext, current_principal
from search_api.security.roles import require_role
from search_api.security.scope import AccessScope, Principal, Role, View

__all__ = [
    "AccessScope", "AuditLog", "AuditUnavailable", "Principal", "Role", "SecurityContext", "View",
    "current_principal", "require_role",
]
