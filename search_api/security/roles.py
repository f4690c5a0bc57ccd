"""Role checks as FastAPI dependencies: ``Depends(require_role(Role.ADMIN))``.

A caller without the role gets 403 (authenticated, not allowed), and the denial is audited; a caller
without valid credentials gets 401 from :func:`~search_api.security.identity.current_principal` first.
"""

# No `from __future__ import annotations`: FastAPI resolves the dependency's annotations at runtime.
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from search_api.security.identity import current_principal
from search_api.security.scope import Principal, Role


def require_role(*roles: Role) -> Callable[..., Principal]:
    """A dependency returning the principal when it holds any of *roles*, else answering 403."""
    wanted = frozenset(roles)
    names = " or ".join(sorted(r.value for r in wanted))

    def dependency(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.roles & wanted:
            request.app.state.security.audit_denied(request, principal, f"requires the {names} role")
            raise HTTPException(status_code=403, detail=f"this needs the {names} role")
        return principal

    return dependency
