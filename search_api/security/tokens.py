"""Bearer JWTs: verification (PyJWT) against the configured OIDC issuer's JWKS or the API's own key,
and issuing the API's own short-lived tokens (``/auth/login``, tests).

Which key verifies a token is chosen by its (unverified) ``iss``: the hospital's issuer uses its
JWKS (a local file, or a URL fetched and cached by :class:`jwt.PyJWKClient`), the local issuer uses
the API's signing key. Signature, ``exp``/``nbf``/``iat``, ``iss`` and (when configured) ``aud`` are
checked by PyJWT. Algorithms come from an allow-list of asymmetric ones: ``alg: none`` and HMAC
algorithms are refused before any key is looked at (an HS256 token "signed" with a public key is the
classic confusion attack).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from indexer.settings import ASYMMETRIC_ALGORITHMS as _ASYMMETRIC
from indexer.settings import ConfigError, SecuritySettings
LOCAL_KID = "medsearch-local-1"
#: longer tokens are refused before any decoding: a Keycloak token with many roles is 2–4 KB; a 2 MB
#: « token » used to cost ~0.4 s of base64 and JSON work per unauthenticated request
MAX_TOKEN_CHARS = 16_384
#: the issuer's JWKS endpoint must answer within this (PyJWT's default, 30 s, held the client's lock:
#: while a fetch hung, every token verification of the API waited behind it)
JWKS_FETCH_TIMEOUT_S = 5
LOCAL_AUDIENCE = "medsearch"


#: after an attempt to fetch the issuer's JWKS, no other for this long (unknown ``kid``, failed fetch):
#: a token with a made-up kid, or any token while the issuer is down, no longer makes the API call the
#: issuer once per request (PyJWT's own cooldown only follows a *successful* fetch)
JWKS_MIN_FETCH_INTERVAL_S = 10.0


class _ThrottledJWKClient(jwt.PyJWKClient):
    """:class:`jwt.PyJWKClient` fetching at most once every :data:`JWKS_MIN_FETCH_INTERVAL_S`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last_attempt: float | None = None

    def fetch_data(self) -> Any:
        now = time.monotonic()
        if self._last_attempt is not None and now - self._last_attempt < JWKS_MIN_FETCH_INTERVAL_S:
            raise jwt.PyJWKClientConnectionError("the issuer's JWKS was fetched moments ago: not fetched again")
        self._last_attempt = now
        return super().fetch_data()


class TokenError(Exception):
    """Any reason a token is not accepted (the client only ever sees a generic 401)."""


@dataclass
class TokenVerifier:
    settings: SecuritySettings
    local_key: ec.EllipticCurvePrivateKey | None = None

    def __post_init__(self) -> None:
        self.algorithms = [a for a in self.settings.jwt_algorithms if a in _ASYMMETRIC]
        self._jwks: jwt.PyJWKSet | None = None
        self._jwks_client: jwt.PyJWKClient | None = None
        if self.settings.jwks_file:
            try:
                self._jwks = jwt.PyJWKSet.from_json(self.settings.jwks_file.read_text(encoding="utf-8"))
            except (OSError, ValueError, jwt.PyJWTError) as exc:  # missing, unreadable, not a JWKS
                raise ConfigError(
                    f"security.jwks_file ({self.settings.jwks_file}, MEDSEARCH_SECURITY__JWKS_FILE): cannot read "
                    f"the issuer's keys: {type(exc).__name__}: {exc}"
                ) from exc
        elif self.settings.jwks_url:
            self._jwks_client = _ThrottledJWKClient(self.settings.jwks_url, cache_keys=True, lifespan=300,
                                                    timeout=JWKS_FETCH_TIMEOUT_S)

    def _external_key(self, token: str, header: dict[str, Any]) -> Any:
        kid = header.get("kid")
        if self._jwks is not None:
            matches = [k for k in self._jwks.keys if (kid is None or k.key_id == kid) and k.algorithm_name in (None, header.get("alg"))]
            if not matches:
                raise TokenError("no key of the issuer's JWKS matches the token's kid")
            return matches[0].key
        if self._jwks_client is not None:
            try:
                return self._jwks_client.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientError as exc:
                raise TokenError(f"JWKS: {exc}") from exc
        raise TokenError("no JWKS configured for the external issuer")

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or :class:`TokenError`."""
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenError(f"token longer than {MAX_TOKEN_CHARS} characters")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
            if not isinstance(unverified, dict):
                raise TokenError("claims are not an object")
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise TokenError(f"malformed token: {exc}") from exc
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise TokenError(f"algorithm {alg!r} is not accepted")
        issuer = unverified.get("iss")
        audience: str | None
        if self.local_key is not None and issuer == self.settings.local_issuer:
            key: Any = self.local_key.public_key()
            audience, algorithms = LOCAL_AUDIENCE, ["ES256"]  # the local issuer signs with one EC key only
            if alg != "ES256":
                raise TokenError(f"algorithm {alg!r} is not the local issuer's")
        elif self.settings.jwt_issuer and issuer == self.settings.jwt_issuer:
            key = self._external_key(token, header)
            audience, algorithms = self.settings.jwt_audience, self.algorithms
        else:
            raise TokenError("unknown issuer")
        try:
            return jwt.decode(
                token,
                key,
                algorithms=algorithms,
                issuer=issuer,
                audience=audience,
                leeway=self.settings.jwt_leeway_s,
                options={"require": ["exp", "iat", "iss"], "verify_aud": audience is not None},
            )
        except (jwt.PyJWTError, TypeError, ValueError) as exc:  # TypeError: key of another family than alg
            raise TokenError(str(exc)) from exc


def claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by dotted path (``realm_access.roles``), None when absent."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def issue_token(
    key: ec.EllipticCurvePrivateKey, issuer: str, username: str, roles: list[str], minutes: int,
    units: list[str] | None = None, patients: list[str] | None = None, name: str | None = None,
    roles_claim: str = "realm_access.roles", units_claim: str = "units", patients_claim: str = "patients",
) -> str:
    """A token of the API's own issuer, shaped like Keycloak's (roles under ``realm_access.roles``)."""
    claims = local_claims(issuer, username, roles, minutes, units, patients, name, roles_claim, units_claim, patients_claim)
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": LOCAL_KID})


def local_claims(
    issuer: str, username: str, roles: list[str], minutes: int, units: list[str] | None = None,
    patients: list[str] | None = None, name: str | None = None, roles_claim: str = "realm_access.roles",
    units_claim: str = "units", patients_claim: str = "patients",
) -> dict[str, Any]:
    """The claims of a local account's token: what ``/auth/login`` signs, and what the cohort watch
    reads a local owner's principal from (:mod:`search_api.security.owners`) without a token."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer, "aud": LOCAL_AUDIENCE, "sub": username, "preferred_username": username,
        "iat": now, "nbf": now, "exp": now + minutes * 60, "jti": uuid.uuid4().hex,
    }
    if name:
        claims["name"] = name
    set_claim(claims, roles_claim, list(roles))
    if units is not None:
        set_claim(claims, units_claim, list(units))
    if patients is not None:
        set_claim(claims, patients_claim, list(patients))
    return claims


def set_claim(claims: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    target = claims
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


def local_jwks(key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    """The local issuer's public key as a JWKS (served at ``/auth/jwks.json`` for other services)."""
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**jwk, "kid": LOCAL_KID, "use": "sig", "alg": "ES256"}]}
