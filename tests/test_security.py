"""Access control end to end (issue #12): who may call, what each role sees, and what is refused.

Runs the real app over the fixture index (conftest ``indexed``): reports of P900001 (Radiologie,
with its CT series), P900002 (Urgences), P900003 (Cardiologie, plus a FHIR record), P900004
(Radiology), and articles/figures without a patient.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import jwt
import pytest
from auth_support import auth, token
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from conftest import ART_T01, FIG_T01, IMG_T001, RPT_T001, RPT_T002, RPT_T003
from indexer.settings import Settings
from search_api.app import create_app
from search_api.security.keys import KeyStore
from search_api.security.users import UserStore

P1, P2 = "P900001", "P900002"


def _app_settings(indexed, tmp_path: Path, **security) -> Settings:  # noqa: ANN001, ANN003
    base: Settings = indexed[0]
    secrets_dir = base.security.secrets_dir
    return base.model_copy(update={
        "api": base.api.model_copy(update={"audit_log": tmp_path / "audit.log"}),
        "security": base.security.model_copy(update={"secrets_dir": secrets_dir, **security}),
    })


@pytest.fixture(scope="module")
def app(indexed, encoder, tmp_path_factory):  # noqa: ANN001, ANN201
    return create_app(_app_settings(indexed, tmp_path_factory.mktemp("sec")), encoder=encoder)


@pytest.fixture(scope="module")
def http(app) -> TestClient:  # noqa: ANN001
    return TestClient(app)


def _ids(response) -> list[str]:  # noqa: ANN001
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["results"]]


def _search(http: TestClient, headers: dict, **params) -> dict:  # noqa: ANN003
    response = http.get("/search", params={"limit": 100, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# -- authentication ----------------------------------------------------------------------------
def _forged(claims: dict, key, alg: str, kid: str = "medsearch-local-1") -> str:  # noqa: ANN001
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def _claims(**over) -> dict:  # noqa: ANN003
    now = int(time.time())
    return {"iss": "medsearch-local", "aud": "medsearch", "sub": "mallory", "preferred_username": "mallory",
            "iat": now, "exp": now + 600, "realm_access": {"roles": ["clinician"]}, **over}


def test_no_or_bad_credentials_get_401_and_x_user_is_ignored(http: TestClient) -> None:
    assert http.get("/health").status_code == 200
    for headers in ({}, {"X-User": "Pr Imposteur"}, {"Authorization": "Bearer not.a.jwt"},
                    {"Authorization": "Basic dXNlcjpwYXNz"}, {"X-API-Key": "msk_nope_nope"}):
        response = http.get("/search", params={"q": "épanchement"}, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
        assert "results" not in response.json()
    assert http.get(f"/documents/{RPT_T001}").status_code == 401
    assert http.get(f"/images/{IMG_T001}/thumbnail").status_code == 401


def test_expired_wrongly_signed_alg_none_and_confused_tokens_are_refused(http: TestClient, indexed) -> None:  # noqa: ANN001
    good = auth("clinician")
    assert http.get("/search", params={"q": "fracture"}, headers=good).status_code == 200
    other_key = ec.generate_private_key(ec.SECP256R1())
    public_pem = http.app.state.security.local_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    refused = {
        "expired": token("clinician", minutes=-5),
        "wrongly signed": _forged(_claims(), other_key, "ES256"),
        "alg none": jwt.encode(_claims(), None, algorithm="none"),
        "alg none, upper": ".".join([
            jwt.utils.base64url_encode(json.dumps({"alg": "NONE", "typ": "JWT"}).encode()).decode(),
            jwt.utils.base64url_encode(json.dumps(_claims()).encode()).decode(), "",
        ]),
        "HS256 keyed with the public key": _hs256_with(public_pem, _claims()),
        "RS256 from an unknown key": _forged(_claims(), rsa_key, "RS256"),
        "unknown issuer": _forged(_claims(iss="https://evil.example"), other_key, "ES256"),
        "wrong audience": _hs_free_local(http, _claims(aud="another-app")),
        "no exp": _hs_free_local(http, {k: v for k, v in _claims().items() if k != "exp"}),
        "not yet valid": _hs_free_local(http, _claims(nbf=now + 3600, iat=now)),
    }
    for name, bad in refused.items():
        response = http.get("/search", params={"q": "fracture"}, headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, name
        assert response.json()["detail"] == "invalid or expired token", name
    assert http.get("/search", params={"q": "fracture"}, headers={"Authorization": f"Bearer {_hs_free_local(http, _claims())}"}).status_code == 200


def _hs256_with(secret: bytes, claims: dict) -> str:
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "medsearch-local-1"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = b64(hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


def _hs_free_local(http: TestClient, claims: dict) -> str:
    """A token signed with the API's real local key (so only the claims can make it fail)."""
    return _forged(claims, http.app.state.security.local_key, "ES256")


def test_external_oidc_issuer_with_jwks_file_and_keycloak_claims(indexed, encoder, tmp_path: Path) -> None:  # noqa: ANN001
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "kc-1", "use": "sig", "alg": "RS256"}]}))
    issuer = "https://keycloak.example/realms/medsearch"
    settings = _app_settings(indexed, tmp_path, jwt_issuer=issuer, jwt_audience="medsearch", jwks_file=tmp_path / "jwks.json")
    client = TestClient(create_app(settings, encoder=encoder))
    now = int(time.time())
    claims = {"iss": issuer, "aud": ["medsearch", "account"], "sub": "f3a1", "preferred_username": "dr.kc",
              "iat": now, "exp": now + 300, "realm_access": {"roles": ["clinician", "offline_access"]}, "patients": [P2],
              "given_name": "Marie", "family_name": "Keycloak"}  # Keycloak's profile claims: the portal's « Connecté : »
    good = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "kc-1"})
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {good}"}).json()
    assert me == {"user": "dr.kc", "name": "Marie Keycloak", "role": "clinician", "roles": ["clinician"],
                  "view": "identified", "units": None, "patients": [P2], "via": "jwt"}
    found = _search(client, {"Authorization": f"Bearer {good}"}, q="fracture bassin", kinds="report")
    assert {r["patient_id"] for r in found["results"]} == {P2}
    wrong_aud = jwt.encode({**claims, "aud": "account"}, key, algorithm="RS256", headers={"kid": "kc-1"})
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {wrong_aud}"}).status_code == 401
    no_role = jwt.encode({**claims, "realm_access": {"roles": ["offline_access"]}}, key, algorithm="RS256", headers={"kid": "kc-1"})
    assert client.get("/search", params={"q": "x"}, headers={"Authorization": f"Bearer {no_role}"}).status_code == 403


def test_external_identity_named_like_a_local_account_or_a_service_is_refused(indexed, encoder, tmp_path: Path) -> None:  # noqa: ANN001
    """Saved searches, cohorts and the audit are keyed by user name: Keycloak's « admin » must not be the
    local « admin », nor a token's name a service account's."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "kc-1", "use": "sig", "alg": "RS256"}]}))
    issuer = "https://keycloak.example/realms/medsearch"
    users = UserStore(tmp_path / "users.json")
    users.add("dr.local", ["admin"], password="x" * 16)
    settings = _app_settings(indexed, tmp_path, jwt_issuer=issuer, jwks_file=tmp_path / "jwks.json", users_file=tmp_path / "users.json",
                             local_login=True)  # a break-glass local account beside OIDC (off unless set)
    client = TestClient(create_app(settings, encoder=encoder))
    now = int(time.time())

    def token(name: str) -> dict:
        claims = {"iss": issuer, "sub": "f3a1", "preferred_username": name, "iat": now, "exp": now + 300,
                  "realm_access": {"roles": ["clinician"]}}
        return {"Authorization": f"Bearer {jwt.encode(claims, key, algorithm='RS256', headers={'kid': 'kc-1'})}"}

    for name in ("dr.local", "key:etl", "system:cohort-watch"):
        refused = client.get("/auth/me", headers=token(name))
        assert refused.status_code == 403 and "already used" in refused.json()["detail"], name
    assert client.get("/auth/me", headers=token("dr.other")).json()["user"] == "dr.other"
    users.add("dr.other", ["clinician"], password="y" * 16)  # an account created later: the file is re-read
    assert client.get("/auth/me", headers=token("dr.other")).status_code == 403
    # the local account itself still signs in through the API's own issuer
    login = client.post("/auth/login", json={"username": "dr.local", "password": "x" * 16})
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}).json()["user"] == "dr.local"
    denied = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert sum(e["action"] == "denied" and e["reason"].startswith("identity name clash") for e in denied) == 4


def test_api_keys_hashed_usable_and_revocable(http: TestClient, app) -> None:  # noqa: ANN001
    store: KeyStore = app.state.security.keys
    key = store.create("pacs-bridge", ["clinician"], units=["Urgences"])
    assert key not in store.path.read_text() and "$argon2id$" in store.path.read_text()
    found = _search(http, {"X-API-Key": key}, q="fracture")
    assert found["results"] and {r["patient_id"] for r in found["results"] if r["patient_id"]} == {P2}
    assert http.get("/search", params={"q": "x"}, headers={"X-API-Key": key[:-2] + "xx"}).status_code == 401
    assert store.revoke("pacs-bridge")
    assert http.get("/search", params={"q": "x"}, headers={"X-API-Key": key}).status_code == 401
    entries = app.state.audit.entries()
    assert any(e["user"] == "key:pacs-bridge" and e["action"] == "search" for e in entries)


def test_keys_cli_prints_the_key_once_and_revokes(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from indexer.cli import app as cli
    from indexer.settings import get_settings

    monkeypatch.setenv("MEDSEARCH_SECURITY__SECRETS_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        created = runner.invoke(cli, ["keys", "create", "--name", "etl", "--role", "researcher", "--unit", "Cardiologie"])
        assert created.exit_code == 0, created.output
        key = created.stdout.strip().splitlines()[0]
        assert key.startswith("msk_") and key not in (tmp_path / "api_keys.json").read_text()
        assert KeyStore(tmp_path / "api_keys.json").authenticate(key).units == ("Cardiologie",)
        assert runner.invoke(cli, ["keys", "revoke", "etl"]).exit_code == 0
        assert KeyStore(tmp_path / "api_keys.json").authenticate(key) is None
        assert runner.invoke(cli, ["keys", "revoke", "etl"]).exit_code == 1
    finally:
        get_settings.cache_clear()


def test_local_login_with_argon2_users(http: TestClient, app) -> None:  # noqa: ANN001
    users: UserStore = app.state.security.users
    password = users.add("dr.demo", ["clinician"], units=["Radiologie"])
    assert password not in users.path.read_text()
    assert http.post("/auth/login", json={"username": "dr.demo", "password": "wrong"}).status_code == 401
    assert http.post("/auth/login", json={"username": "nobody", "password": "x"}).status_code == 401
    login = http.post("/auth/login", json={"username": "dr.demo", "password": password})
    assert login.status_code == 200 and login.json()["role"] == "clinician"
    me = http.get("/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}).json()
    assert (me["user"], me["units"], me["view"]) == ("dr.demo", ["Radiologie"], "identified")


def test_login_and_whoami_give_the_display_name(http: TestClient, app) -> None:  # noqa: ANN001
    """The portal showed only the login (« clinicien »), not who it is (« Dr Démo Clinicien »)."""
    users: UserStore = app.state.security.users
    password = users.add("dr.nom", ["clinician", "admin"], display_name="Dr Marie Martin")
    login = http.post("/auth/login", json={"username": "dr.nom", "password": password}).json()
    assert (login["user"], login["name"]) == ("dr.nom", "Dr Marie Martin")
    me = http.get("/auth/me", headers={"Authorization": f"Bearer {login['access_token']}"}).json()
    assert (me["user"], me["name"], me["roles"]) == ("dr.nom", "Dr Marie Martin", ["admin", "clinician"])
    unnamed = http.get("/auth/me", headers=auth("clinician")).json()
    assert unnamed["name"] is None


def test_display_name_from_oidc_claims() -> None:
    from search_api.security.router import display_name

    assert display_name({"name": " Dr Marie Martin "}) == "Dr Marie Martin"
    assert display_name({"given_name": "Marie", "family_name": "Martin"}) == "Marie Martin"
    assert display_name({"name": "", "family_name": "Martin"}) == "Martin"
    assert display_name({"sub": "x"}) is None


# -- roles and scope ---------------------------------------------------------------------------
def test_role_gates(http: TestClient) -> None:
    assert http.get("/stats", headers=auth("clinician")).status_code == 403
    assert http.get("/stats", headers=auth("researcher")).status_code == 403
    assert http.get("/stats", headers=auth("admin")).status_code == 200
    assert http.get("/audit", headers=auth("clinician")).status_code == 403
    assert http.get("/audit", headers=auth("admin")).status_code == 200
    # an admin alone sees no patient document: operations, not care
    found = _search(http, auth("admin"), q="épanchement pleural")
    assert found["results"] and all(r["patient_id"] is None for r in found["results"])
    assert http.get(f"/documents/{RPT_T001}", headers=auth("admin")).status_code == 404


@pytest.mark.parametrize("mode", ["lexical", "dense", "hybrid"])
def test_each_role_on_the_same_query_sees_its_scope_in_every_leg(http: TestClient, mode: str) -> None:
    query = {"q": "hanche épanchement", "mode": mode}
    everyone = _search(http, auth("clinician"), **query)
    all_patients = {r["patient_id"] for r in everyone["results"] if r["patient_id"]}
    assert {P1, P2} <= all_patients
    only_p1 = _search(http, auth("clinician", patients=[P1]), **query)
    assert {r["patient_id"] for r in only_p1["results"] if r["patient_id"]} == {P1}
    urgences = _search(http, auth("clinician", units=["Urgences"]), **query)
    assert {r["patient_id"] for r in urgences["results"] if r["patient_id"]} == {P2}
    nothing = _search(http, auth("clinician", patients=[]), **query)
    assert all(r["patient_id"] is None for r in nothing["results"])
    # totals (exact counts of the documents containing the query's terms) count only what the user
    # may see: the unrestricted term matches, less those of the patients outside the scope
    lexical = _search(http, auth("clinician"), q=query["q"], mode="lexical")
    matched = [r for r in lexical["results"] if r["explanation"]["lexical_rank"] is not None]
    assert everyone["total"] == len(matched) and any(r["patient_id"] not in (None, P1) for r in matched)
    assert only_p1["total"] == sum(1 for r in matched if r["patient_id"] in (None, P1))
    assert nothing["total"] == sum(1 for r in matched if r["patient_id"] is None)
    # pages are full: a restricted first page of 2 is the first 2 of its own ranking, not a filtered page
    page = _search(http, auth("clinician", patients=[P1]), **query, limit=2)
    assert [r["id"] for r in page["results"]] == [r["id"] for r in only_p1["results"]][:2]


def test_out_of_scope_documents_and_images_answer_404_like_missing_ones(http: TestClient, app) -> None:  # noqa: ANN001
    p1_only = auth("clinician", patients=[P1])
    assert http.get(f"/documents/{RPT_T001}", headers=p1_only).status_code == 200
    assert http.get(f"/documents/{ART_T01}", headers=p1_only).status_code == 200  # no patient: visible
    outside = http.get(f"/documents/{RPT_T002}", headers=p1_only)
    missing = http.get("/documents/report:ACC0000000", headers=p1_only)
    assert outside.status_code == missing.status_code == 404
    assert outside.json()["detail"].replace(RPT_T002, "X") == missing.json()["detail"].replace("report:ACC0000000", "X")
    urgences = auth("clinician", units=["Urgences"])
    for path in (f"/images/{IMG_T001}/thumbnail", f"/images/{IMG_T001}/render"):
        assert http.get(path, headers=urgences).status_code == 404
        assert http.get(path, headers=p1_only).status_code == 200
    assert http.get(f"/images/{FIG_T01}/thumbnail", headers=urgences).status_code == 200
    denied = [e for e in app.state.audit.entries() if e["action"] == "denied"]
    assert any(e.get("document_id") == RPT_T002 for e in denied)


def test_image_search_stays_in_scope(http: TestClient, source_folder: Path) -> None:
    ct = (source_folder / "images" / "IMG-T001.dcm").read_bytes()
    allowed = http.post("/search/image", files={"file": ("q.dcm", ct)}, headers=auth("clinician", patients=[P1]))
    assert allowed.status_code == 200 and IMG_T001 in [r["id"] for r in allowed.json()["results"]]
    refused = http.post("/search/image", files={"file": ("q.dcm", ct)}, data={"q": "épanchement pleural"},
                        headers=auth("clinician", units=["Urgences"]))
    assert refused.status_code == 200
    assert all(r["patient_id"] is None for r in refused.json()["results"])
    assert all(r["id"] != RPT_T001 for r in refused.json()["reports"])


def test_researcher_sees_pseudonyms_and_can_filter_by_them(http: TestClient) -> None:
    researcher = auth("researcher", "r.search")
    found = _search(http, researcher, q="épanchement pleural", kinds="report")
    first = next(r for r in found["results"] if r["patient_id"])
    assert first["patient_id"].startswith("PSN-") and P1 not in json.dumps(found)
    same = _search(http, researcher, q="épanchement pleural", kinds="report", patient_id=first["patient_id"])
    assert same["results"] and {r["patient_id"] for r in same["results"]} == {first["patient_id"]}
    assert _search(http, researcher, q="épanchement pleural", patient_id=P1)["results"] == []  # real IPPs do not work
    document = http.get(first["url"], headers=researcher)
    assert document.status_code == 200 and document.json()["patient_id"] == first["patient_id"]
    assert document.json()["source_path"] == "" and "identifying" not in document.json()["metadata"]
    clinician_view = http.get(f"/documents/{RPT_T001}", headers=auth("clinician")).json()
    assert document.json()["date"] != clinician_view["date"]  # shifted
    record = http.get("/documents/record:P900003", headers=researcher)
    assert record.status_code == 404  # a record addressed by its real IPP: no confirmation it exists


def test_researcher_date_filters_are_refused_not_answered_on_real_dates(http: TestClient, source_folder: Path) -> None:
    """A researcher sees shifted dates; a filter on the index's real dates would reveal them by bisection."""
    researcher, clinician = auth("researcher", "r.dates"), auth("clinician")
    window = {"q": "épanchement pleural", "date_from": "2000-01-01", "date_to": "2030-12-31"}
    assert http.get("/search", params=window, headers=clinician).status_code == 200
    for response in (
        http.get("/search", params=window, headers=researcher),
        http.post("/search", json=window, headers=researcher),
        http.get("/search/patients", params=window, headers=researcher),
        http.post("/search/image", files={"file": ("q.dcm", (source_folder / "images" / "IMG-T001.dcm").read_bytes())},
                  data={"date_from": "2000-01-01"}, headers=researcher),
    ):
        assert response.status_code == 422, response.text
        assert "de-identified view" in response.json()["detail"]
    assert http.get("/search", params={"q": "épanchement pleural"}, headers=researcher).status_code == 200


# -- audit -------------------------------------------------------------------------------------
def test_audit_chain_verifies_and_catches_edits_removals_and_insertions(http: TestClient, app, tmp_path: Path) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from indexer.cli import app as cli
    from search_api.security.audit import verify_chain

    http.get("/search", params={"q": "fracture"}, headers=auth("clinician"))
    http.get(f"/documents/{RPT_T001}", headers=auth("clinician"))
    log = app.state.audit.path
    assert verify_chain(log).ok
    runner = CliRunner()
    assert runner.invoke(cli, ["audit", "verify", str(log)]).exit_code == 0
    pristine = log.read_text(encoding="utf-8").splitlines(keepends=True)
    for name, lines in {
        "edited": [pristine[0].replace('"fracture"', '"fractures"') if '"fracture"' in pristine[0] else pristine[0].replace('"seq": 1', '"seq": 1, "x": 1')] + pristine[1:],
        "removed": pristine[:1] + pristine[2:],
        "inserted": pristine[:2] + [pristine[1]] + pristine[2:],
        "truncated": pristine[:-1],
    }.items():
        copy = tmp_path / name / "audit.log"
        copy.parent.mkdir()
        copy.write_text("".join(lines), encoding="utf-8")
        (copy.parent / "audit.log.head").write_text(log.with_name("audit.log.head").read_text())
        assert not verify_chain(copy).ok, name
        assert runner.invoke(cli, ["audit", "verify", str(copy)]).exit_code == 1, name
    searches = http.get("/audit", params={"action": "search", "user": "dr.martin"}, headers=auth("admin")).json()
    assert searches["total"] >= 1 and all(e["action"] == "search" for e in searches["entries"])
    reads = http.get("/audit", params={"patient_id": P1, "action": "document_read"}, headers=auth("auditor", "dpo")).json()
    assert reads["entries"] and all(e["patient_id"] == P1 for e in reads["entries"])
    assert http.get("/audit", params={"date_from": "2000-01-01", "date_to": "2000-12-31"}, headers=auth("admin")).json()["total"] == 0


def test_audit_rotation_keeps_the_chain(tmp_path: Path) -> None:
    from search_api.security.audit import AuditLog, verify_chain

    log = AuditLog(tmp_path / "audit.log", rotate_bytes=600)
    for i in range(12):
        log.record("u", "search", role="clinician", query=f"q{i}")
    rotated = sorted(tmp_path.glob("audit.log.2*"))
    assert len(rotated) >= 2
    result = verify_chain(tmp_path / "audit.log")
    assert result.ok and result.entries == 12 and result.files == len(rotated) + 1
    again = AuditLog(tmp_path / "audit.log", rotate_bytes=600)  # a restart continues the chain
    again.record("u", "search", query="after restart")
    assert verify_chain(tmp_path / "audit.log").ok
    rotated[0].unlink()  # a whole rotated file removed
    assert not verify_chain(tmp_path / "audit.log").ok


def test_no_audit_no_answer(indexed, encoder, tmp_path: Path) -> None:  # noqa: ANN001
    settings = _app_settings(indexed, tmp_path)
    client = TestClient(create_app(settings, encoder=encoder))
    audit_path = settings.api.audit_log
    audit_path.mkdir(parents=True)  # the audit "file" is a directory: every append fails
    response = client.get("/search", params={"q": "épanchement pleural"}, headers=auth("clinician"))
    assert response.status_code == 503 and "audit log cannot be written" in response.json()["detail"]
    assert "results" not in response.json()
    assert client.get(f"/documents/{RPT_T003}", headers=auth("clinician")).status_code == 503


# -- abuse -------------------------------------------------------------------------------------
def test_security_headers_and_no_cors_by_default(http: TestClient) -> None:
    response = http.get("/search", params={"q": "fracture"}, headers={**auth("clinician"), "Origin": "https://evil.example"})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in response.headers
    assert "cdn.jsdelivr.net" in http.get("/docs").headers["content-security-policy"]


def test_cors_origins_from_config_and_rate_limit(indexed, encoder, tmp_path: Path) -> None:  # noqa: ANN001
    settings = _app_settings(indexed, tmp_path, cors_origins=["https://portal.chu.example"], rate_limit_per_minute=3)
    client = TestClient(create_app(settings, encoder=encoder))
    preflight = client.options("/search", headers={"Origin": "https://portal.chu.example", "Access-Control-Request-Method": "GET",
                                                   "Access-Control-Request-Headers": "authorization"})
    assert preflight.headers["access-control-allow-origin"] == "https://portal.chu.example"
    other = client.options("/search", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in other.headers
    me = auth("clinician", "dr.fast")
    statuses = [client.get("/auth/me", headers=me).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get("/auth/me", headers=auth("clinician", "dr.other")).status_code == 200  # per identity


def test_researcher_sees_no_accession_number_dicom_uid_or_path_in_ids(http: TestClient) -> None:
    """Found trying the demo portal as a researcher: result cards read « § Compte rendu
    report:ACC0000114 », the image view « id image:1.2.826… », and the cohort CSV's document column
    « report:ACC0000049 » or « report:reports/RPT-00087.txt »: RIS accession numbers, DICOM UIDs and
    source paths, the identifiers the metadata already drops. Researchers get keyed ids instead, that
    the API maps back when they open, link or re-use them."""
    researcher = auth("researcher", "r.ids")
    found = _search(http, researcher, q="épanchement pleural", include_negated="true", limit=50)
    shown = json.dumps(found)
    assert found["results"] and "ACC900" not in shown and IMG_T001 not in shown and RPT_T001 not in shown
    leaks = [m.group(0) for m in re.finditer(r".{120}(?:1\.2\.826|reports/).{60}", shown)]
    assert not leaks, leaks
    keyed = [r for r in found["results"] if r["patient_id"] and ":DOC-" in r["id"]]
    assert keyed, [r["id"] for r in found["results"]]
    for result in keyed:
        document = http.get(result["url"], headers=researcher)
        assert document.status_code == 200 and document.json()["id"] == result["id"]
        assert "ACC900" not in json.dumps(document.json()) and "1.2.826" not in json.dumps(document.json())
    image = next((r for r in keyed if r["kind"] == "image"), None)
    if image is not None:
        assert http.get(image["thumbnail_url"], headers=researcher).status_code == 200
    clinician = _search(http, auth("clinician"), q="épanchement pleural", include_negated="true", limit=50)
    assert RPT_T001 in _ids_of(clinician)  # clinicians keep the real ids


def _ids_of(body: dict) -> list[str]:
    return [r["id"] for r in body["results"]]


def test_researcher_image_search_answers_de_identified(http: TestClient, source_folder: Path) -> None:
    """Found trying the demo portal as a researcher: « Recherche par image » answered « Erreur de l'API
    (500) » as soon as a patient's image was among the results (the de-identified view read a
    ``snippet`` that image results do not have)."""
    researcher = auth("researcher", "r.images")
    response = http.post("/search/image", files={"file": ("q.dcm", (source_folder / "images" / "IMG-T001.dcm").read_bytes())},
                         headers=researcher)
    assert response.status_code == 200, response.text
    body = response.json()
    patients = [r for r in body["results"] if r["patient_id"]]
    assert patients and all(r["patient_id"].startswith("PSN-") for r in patients)
    assert P1 not in response.text and "ACC900" not in response.text and IMG_T001 not in response.text
