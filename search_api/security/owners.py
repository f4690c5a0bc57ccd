"""A saved cohort's owner as a :class:`Principal`, without a request: for the cohort watch.

The watch (:mod:`search_api.cohort_watch`) re-evaluates cohorts after an index publication, with no
caller; it must read the index exactly as the owner would through the API. So the owner's principal
is rebuilt from the stores the API authenticates against, by the API's own functions: a local
account's claims (as ``/auth/login`` signs them) through
:func:`~search_api.security.identity.principal_from_claims`, a service account's key record through
:meth:`~search_api.security.keys.KeyRecord.principal`. Anything else is refused with a reason:

- an unknown name (account removed), a revoked key, an account without any medsearch role (how a
  local account is disabled): the API would refuse them too;
- an identity of the hospital's OIDC provider: its roles, units and patients exist only in its
  tokens, so the watch cannot know its scope today (it does not guess, nor keep an old copy).
"""

from __future__ import annotations

from dataclasses import dataclass

from indexer.settings import SecuritySettings
from search_api.security.identity import principal_from_claims
from search_api.security.keys import KeyStore
from search_api.security.scope import Principal
from search_api.security.tokens import local_claims
from search_api.security.users import UserStore

KEY_PREFIX = "key:"  # a service account's user name (KeyRecord.principal)


@dataclass(frozen=True)
class OwnerLookup:
    principal: Principal | None
    reason: str | None = None  # why there is none


def owner_principal(owner: str, settings: SecuritySettings) -> OwnerLookup:
    """*owner*'s principal as the API would build it now, or why it cannot be (skipped by the watch)."""
    if owner.startswith(KEY_PREFIX):
        record = KeyStore(settings.keys_file or settings.secrets_dir / "api_keys.json").records().get(owner[len(KEY_PREFIX):])
        if record is None:
            return OwnerLookup(None, "owner unknown: no such API key")
        if record.revoked:
            return OwnerLookup(None, f"owner disabled: API key revoked on {record.revoked}")
        principal = record.principal()
    else:
        user = UserStore(settings.users_file or settings.secrets_dir / "users.json").users().get(owner)
        if user is None:
            return OwnerLookup(None, "owner unknown: not a local account nor an API key (an OIDC identity's "
                                     "roles and units are only known from its tokens)")
        claims = local_claims(
            settings.local_issuer, user.username, user.roles, settings.token_minutes, units=user.units,
            patients=user.patients, name=user.display_name, roles_claim=settings.roles_claim,
            units_claim=settings.units_claim, patients_claim=settings.patients_claim,
        )
        principal = principal_from_claims(claims, settings)
    if not principal.roles:
        return OwnerLookup(None, "owner disabled: no medsearch role")
    return OwnerLookup(principal)
