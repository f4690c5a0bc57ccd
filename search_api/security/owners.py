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
  tokens, so its principal is rebuilt, by the same function, from the **rights snapshot** the API
  kept when it last verified one of its tokens (:mod:`search_api.security.rights`), and only while
  that snapshot is younger than the configured maximum age (``api.watch_rights_max_age_hours``):
  without one, of another issuer, or too old, the owner is skipped (« reconnectez-vous »). What the
  owner is then shown is filtered again by their current rights (:func:`search_api.cohorts.visible_patients`).

Each lookup says which source it used (:attr:`OwnerLookup.source`), for the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from indexer.settings import SecuritySettings
from search_api.security.identity import principal_from_claims
from search_api.security.keys import KeyStore
from search_api.security.rights import parse_time
from search_api.security.scope import Principal
from search_api.security.tokens import local_claims
from search_api.security.users import UserStore

KEY_PREFIX = "key:"  # a service account's user name (KeyRecord.principal)


@dataclass(frozen=True)
class OwnerLookup:
    principal: Principal | None
    reason: str | None = None  # why there is none
    source: str | None = None  # where its rights come from: account, key, rights snapshot of <time>


#: the reason an OIDC owner's snapshot is too old (shown on the cohort, ``refresh_error``)
STALE_RIGHTS = "droits de l'utilisateur trop anciens : reconnectez-vous"


def owner_principal(owner: str, settings: SecuritySettings, snapshots: Any = None,
                    max_age: timedelta | None = None, now: datetime | None = None) -> OwnerLookup:
    """*owner*'s principal as the API would build it now, or why it cannot be (skipped by the watch).

    *snapshots*: the user-data store holding OIDC users' rights snapshots (None: OIDC owners are
    skipped); *max_age*: the oldest snapshot used (None or zero: none is)."""
    if owner.startswith(KEY_PREFIX):
        record = KeyStore(settings.keys_path).records().get(owner[len(KEY_PREFIX):])
        if record is None:
            return OwnerLookup(None, "owner unknown: no such API key")
        if record.revoked:
            return OwnerLookup(None, f"owner disabled: API key revoked on {record.revoked}")
        principal, source = record.principal(), "key"
    else:
        user = UserStore(settings.users_path).users().get(owner)
        if user is None:
            return _from_snapshot(owner, settings, snapshots, max_age, now or datetime.now(timezone.utc))
        claims = local_claims(
            settings.local_issuer, user.username, user.roles, settings.token_minutes, units=user.units,
            patients=user.patients, name=user.display_name, roles_claim=settings.roles_claim,
            units_claim=settings.units_claim, patients_claim=settings.patients_claim,
        )
        principal, source = principal_from_claims(claims, settings), "account"
    return _enabled(principal, source)


def _enabled(principal: Principal, source: str) -> OwnerLookup:
    if not principal.roles:
        return OwnerLookup(None, "owner disabled: no medsearch role", source)
    return OwnerLookup(principal, source=source)


def _from_snapshot(owner: str, settings: SecuritySettings, snapshots: Any, max_age: timedelta | None,
                   now: datetime) -> OwnerLookup:
    """An OIDC owner's principal from the rights their last verified token carried, if recent enough."""
    snapshot = snapshots.rights_snapshot(owner) if snapshots is not None else None
    if snapshot is None:
        return OwnerLookup(None, "owner unknown: not a local account, an API key, nor an OIDC user whose "
                                 "rights the API has seen (no rights snapshot: reconnectez-vous)")
    source = f"rights snapshot of {snapshot['seen_at']}"
    if not settings.jwt_issuer or snapshot["issuer"] != settings.jwt_issuer:
        return OwnerLookup(None, f"rights snapshot of another OIDC issuer ({snapshot['issuer']}): reconnectez-vous", source)
    seen = parse_time(snapshot["seen_at"])
    if not max_age or now - seen > max_age:
        hours = max_age.total_seconds() / 3600 if max_age else 0
        return OwnerLookup(None, f"{STALE_RIGHTS} (droits vus le {snapshot['seen_at']}, au-delà de {hours:g} h)", source)
    principal = principal_from_claims(snapshot["claims"], settings)
    if principal.user != owner:  # the configured user claim changed since: not this owner's rights
        return OwnerLookup(None, "rights snapshot of another user name: reconnectez-vous", source)
    return _enabled(principal, source)
