"""The portal's client against the real API app (no server, no mock): the wire contract end to end.

The other UI tests use hand-written fakes, which can drift from ``search_api``. Here
:class:`ui.client.MedsearchClient` talks to ``create_app`` over the index that ``conftest`` builds
from the fixture folder, through Starlette's test transport, so a renamed field or parameter on
either side fails here. The raw JSON keys are also checked against the client's typed objects, so
a field the API adds and the portal does not know yet is noticed.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from conftest import IMG_T001, RPT_T001

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from auth_support import auth, token  # noqa: E402

from search_api.app import create_app  # noqa: E402
from ui.client import ApiError, ImageHit, MedsearchClient, SearchHit  # noqa: E402


@pytest.fixture(scope="module")
def http(indexed, encoder) -> TestClient:  # noqa: ANN001 - conftest fixtures
    return TestClient(create_app(indexed[0], encoder=encoder), headers=auth("clinician", "dr-contrat"))


class ViaTestClient(httpx.BaseTransport):
    """Forward the portal client's requests to a Starlette TestClient (whose own transport only
    works inside a TestClient) and hand back a plain, fully read response."""

    def __init__(self, http: TestClient) -> None:
        self.http = http

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        answer = self.http.request(request.method, str(request.url), headers=headers, content=request.read())
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


@pytest.fixture()
def client(http: TestClient) -> Iterator[MedsearchClient]:
    with MedsearchClient(
        "http://testserver", "dr-contrat", 30.0, transport=ViaTestClient(http), token=token("clinician", "dr-contrat")
    ) as ui_client:
        yield ui_client


def _fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_text_search_fields_are_all_known_to_the_portal(http: TestClient) -> None:
    body = http.get("/search", params={"q": "épanchement pleural"}).json()
    assert body["results"]
    for result in body["results"]:
        assert set(result) <= _fields(SearchHit), set(result) - _fields(SearchHit)


def test_negated_query_and_expansion_round_trip(client: MedsearchClient) -> None:
    page = client.search("sans épanchement pleural", include_negated=False, expand=True)
    assert page.interpretation is not None and page.interpretation.polarity == "negated"
    assert "épanchement pleural" in page.interpretation.negated_terms
    assert any(t.source_text.lower() == "épanchement pleural" and t.terms for t in page.expanded_terms)
    assert all(hit.explanation is not None for hit in page.results)


def test_switches_change_what_the_api_does(client: MedsearchClient) -> None:
    expanded = client.search("IR", expand=True)
    assert {t.concept_id for t in expanded.expanded_terms} >= {"renal_failure", "respiratory_failure"}
    assert all(t.ambiguous for t in expanded.expanded_terms if t.source_text == "IR")
    assert client.search("IR", expand=False).expanded_terms == []
    assert client.search("épanchement pleural", clinical=False).interpretation is None


def test_image_search_upload_render_and_refusal(client: MedsearchClient, source_folder: Path) -> None:
    ct = (source_folder / "images" / "IMG-T001.dcm").read_bytes()
    page = client.search_image(ct, "IMG-T001.dcm", "application/dicom", "épanchement pleural")
    first = page.results[0]
    assert first.id == IMG_T001 and "descriptor" in first.methods
    assert [r.id for r in first.linked_reports] == [RPT_T001] and first.linked_reports[0].conclusion
    assert client.render(first.id, "lung") is not None
    assert client.render(first.id, "bone", frame=7) is None  # a single-frame image: 422, shown as "no picture"
    with pytest.raises(ApiError) as info:
        client.search_image(b"pas une image" * 20, "notes.txt", "text/plain")
    assert info.value.status == 415 and "PNG" in info.value.message


def test_image_search_fields_are_all_known_to_the_portal(http: TestClient, source_folder: Path) -> None:
    ct = (source_folder / "images" / "IMG-T001.dcm").read_bytes()
    response = http.post("/search/image", files={"file": ("ct.dcm", ct)})
    results = response.json()["results"]
    assert results and all(set(r) <= _fields(ImageHit) for r in results), set(results[0]) - _fields(ImageHit)


def test_audit_screen_calls_against_the_real_api(http: TestClient, client: MedsearchClient) -> None:
    """The admins' audit screen: its filters are the API's parameters, its rows read the API's entries,
    and a clinician is refused (403, in French)."""
    from datetime import datetime, timedelta, timezone

    from ui.audit_page import audit_rows
    from ui.render import api_error_text

    client.search("épanchement pleural")
    today = datetime.now(timezone.utc).date()
    with MedsearchClient(
        "http://testserver", "admin-contrat", 30.0, transport=ViaTestClient(http), token=token("admin", "admin-contrat")
    ) as admin:
        body = admin.audit(user="dr-contrat", action="search", date_from=today, date_to=today, limit=2)
        assert body["total"] >= 1 and 1 <= len(body["entries"]) <= 2
        assert {(e["user"], e["action"]) for e in body["entries"]} == {("dr-contrat", "search")}
        rows = audit_rows(body["entries"])
        # an admin reads the entry's metadata only: the query text is the auditor's (DPO review)
        assert rows[0]["Action"] == "Recherche" and rows[0]["Rôle"] == "clinicien" and "épanchement pleural" not in rows[0]["Cible"]
        assert admin.audit(action="search", date_from=today + timedelta(days=1))["total"] == 0
        with pytest.raises(ApiError) as info:
            admin.audit(date_from=today + timedelta(days=1), date_to=today)
        assert info.value.status == 422 and "la date de début" in api_error_text(info.value)
    with MedsearchClient(
        "http://testserver", "dpo-contrat", 30.0, transport=ViaTestClient(http), token=token("auditor", "dpo-contrat")
    ) as auditor:
        rows = audit_rows(auditor.audit(user="dr-contrat", action="search", date_from=today, date_to=today, limit=2)["entries"])
        assert rows[0]["Action"] == "Recherche" and "épanchement pleural" in rows[0]["Cible"]
    with pytest.raises(ApiError) as info:
        client.audit()
    assert info.value.status == 403 and "votre rôle ne donne pas accès" in api_error_text(info.value)


def test_break_glass_review_calls_against_the_real_api(indexed, encoder, tmp_path: Path) -> None:  # noqa: ANN001
    """The audit screen's « Bris de glace » tab: the list and its filters, the admin's redaction shown as
    « masqué », the break-glass CSV export and the revocation, on a site with its own grant store."""
    from ui.break_glass_review import MASKED, grant_rows

    base = indexed[0]
    settings = base.model_copy(update={"api": base.api.model_copy(
        update={"audit_log": tmp_path / "audit.log", "user_data": tmp_path / "user_data.sqlite"})})
    site = TestClient(create_app(settings, encoder=encoder))

    def as_(role: str, user: str, **kwargs) -> MedsearchClient:  # noqa: ANN003
        return MedsearchClient("http://testserver", user, 30.0, transport=ViaTestClient(site), token=token(role, user, **kwargs))

    reason = "Patient admis aux urgences cette nuit, antécédents à vérifier"
    with as_("clinician", "dr-bdg", units=["Urgences"]) as dr:
        grant = dr.break_glass("P900001", "urgence", reason)
        dr.patient("P900001")
    with as_("auditor", "dpo-contrat") as dpo, as_("admin", "admin-contrat") as admin:
        body = dpo.break_glass_grants(user="dr-bdg", active_only=True)
        assert body["redacted"] is False and [g["id"] for g in body["grants"]] == [grant["id"]]
        row = grant_rows(body["grants"])[0]
        assert (row["Utilisateur"], row["Patient"], row["Motif"], row["Justification"], row["Actif"]) == (
            "dr-bdg", "P900001", "Urgence", reason, "oui")
        admin_body = admin.break_glass_grants()
        assert admin_body["redacted"] is True
        row = grant_rows(admin_body["grants"])[0]
        assert (row["Utilisateur"], row["Patient"], row["Justification"]) == ("dr-bdg", MASKED, MASKED)
        csv = dpo.audit_export("dr-bdg", break_glass=True).decode()
        assert grant["id"] in csv and "patient_view" in csv
        dpo.end_grant(grant["id"])
        assert dpo.break_glass_grants(user="dr-bdg", active_only=True)["total"] == 0
        assert grant_rows(dpo.break_glass_grants(user="dr-bdg")["grants"])[0]["Actif"] == "révoqué"
