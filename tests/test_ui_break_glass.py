"""The portal's « bris de glace » (ui/break_glass.py), driven by Streamlit's AppTest over a fake API: a
restricted clinician opening a patient outside their scope gets the form (motive, reason, the traced
and reviewed warning), the request the API receives, then the patient view and the banner."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from ui import break_glass  # noqa: E402
from ui_support import markdown, patch_client, run_app  # noqa: E402

P1 = "P900001"
REASON = "Patient transféré de Cardiologie cette nuit, traitement à vérifier"
GRANT = {"id": "g1", "user": "dr-house", "patient_id": P1, "motive": "transfert", "reason": REASON,
         "created_at": "2026-12-03T22:00:00+00:00", "expires_at": "2026-12-04T02:00:00+00:00", "active": True}


class Fake:
    """The API of a clinician restricted to Urgences: P900001 answers 404 until a grant is made."""

    def __init__(self, units: list[str] | None = ["Urgences"]) -> None:  # noqa: B006
        self.units = units
        self.grants: list[dict] = []
        self.posted: list[dict] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:  # noqa: PLR0911
        path = request.url.path
        if path == "/health":
            return httpx.Response(200, json={"status": "ok"})
        if path == "/auth/me":
            return httpx.Response(200, json={"user": "dr-house", "role": "clinician", "roles": ["clinician"],
                                             "view": "identified", "units": self.units, "patients": None, "via": "jwt"})
        if path == "/saved-searches":
            return httpx.Response(200, json=[])
        if path == "/access/break-glass" and request.method == "POST":
            self.posted.append(json.loads(request.content))
            self.grants.append(GRANT)
            return httpx.Response(201, json=GRANT)
        if path == "/access/break-glass":
            return httpx.Response(200, json={"total": len(self.grants), "redacted": False, "grants": self.grants})
        if path == f"/patients/{P1}" and self.grants:
            return httpx.Response(200, json={
                "patient_id": P1, "documents": 1, "by_kind": {"report": 1}, "first_date": "2024-06-18",
                "last_date": "2024-06-18", "departments": ["Cardiologie"], "stays": [],
                "identity": {"name": "Jean EXEMPLE", "birth_date": "1962-02-11", "sex": "male", "age": 64}})
        if path == f"/patients/{P1}/timeline" and self.grants:
            return httpx.Response(200, json={"patient_id": P1, "query": None, "total": 0, "matched": 0, "groups": []})
        return httpx.Response(404, json={"detail": "aucun patient visible"})


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Fake:
    api = Fake()
    patch_client(monkeypatch, api)
    return api


def _warnings(at) -> str:  # noqa: ANN001
    return "\n".join(str(w.value) for w in at.warning)


def test_a_restricted_clinician_breaks_the_glass_and_the_patient_view_opens(fake: Fake) -> None:
    at = run_app(patient=P1)
    assert "revu par le délégué à la protection des données" in _warnings(at)  # the warning before anything
    at.selectbox(key="bg-motive").set_value("transfert")
    at.text_area(key="bg-reason").input(REASON)
    at.checkbox(key="bg-confirm").check()
    next(b for b in at.button if "bris de glace" in str(b.label)).click().run()
    assert not at.exception, at.exception
    assert fake.posted == [{"patient_id": P1, "motive": "transfert", "reason": REASON}]
    assert "Jean EXEMPLE" in markdown(at)
    assert f"Accès exceptionnel (bris de glace) au dossier {P1}" in _warnings(at)  # the banner


def test_the_form_asks_for_a_reason_and_the_certification_first(fake: Fake) -> None:
    at = run_app(patient=P1)
    at.text_area(key="bg-reason").input("urgence")
    next(b for b in at.button if "bris de glace" in str(b.label)).click().run()
    assert fake.posted == [] and any("caractères au moins" in str(e.value) for e in at.error)


def test_no_form_for_an_unrestricted_clinician(monkeypatch: pytest.MonkeyPatch) -> None:
    patch_client(monkeypatch, Fake(units=None))
    at = run_app(patient=P1)
    assert not [t for t in at.text_area if t.key == "bg-reason"]


def test_the_banner_names_the_patient_the_end_and_the_motive() -> None:
    text = break_glass.banner_text(GRANT)
    assert P1 in text and "04/12 02:00 UTC" in text and "Transfert du patient" in text and "DPO" in text
