"""Credentials for tests: tokens of the API's own issuer (the key lives in the session's secrets dir,
which ``conftest`` points ``MEDSEARCH_SECURITY__SECRETS_DIR`` at)."""

from __future__ import annotations

from indexer.settings import SecuritySettings, Settings
from search_api.security.secrets import signing_key
from search_api.security.tokens import issue_token


def token(
    role: str | list[str] = "clinician", user: str = "dr.martin", units: list[str] | None = None,
    patients: list[str] | None = None, minutes: int = 30, security: SecuritySettings | None = None,
) -> str:
    security = security or Settings().security
    roles = [role] if isinstance(role, str) else list(role)
    return issue_token(
        signing_key(security.secrets_dir), security.local_issuer, user, roles, minutes, units=units, patients=patients
    )


def auth(role: str | list[str] = "clinician", user: str = "dr.martin", **kwargs) -> dict[str, str]:  # noqa: ANN003
    """``Authorization`` header of a user with *role* (and optional ``units`` / ``patients`` restriction)."""
    return {"Authorization": f"Bearer {token(role, user, **kwargs)}"}


CLINICIAN_USER = "dr.martin"
