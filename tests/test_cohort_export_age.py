"""The cohort export says on which day its age column is counted (research associate's walkthrough).

The header was « age »: a researcher's file showed 81 for a patient of a cohort asked for 18–80 (the
criterion's age is at the document date, 78 then; the column is at the last evidence document, 2023),
which read as a broken age filter."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from auth_support import auth
from search_api.app import create_app


@pytest.fixture(scope="module")
def client(indexed, encoder) -> TestClient:  # noqa: ANN001
    settings, _ = indexed
    return TestClient(create_app(settings, encoder=encoder))


@pytest.mark.parametrize(("role", "user", "header"), [
    ("clinician", "dr.age", "âge (aujourd'hui)"),
    ("researcher", "arc.age", "âge (dernier document retenu)"),
])
def test_the_age_column_says_its_day(client: TestClient, role: str, user: str, header: str) -> None:
    who = auth(role, user)
    saved = client.post("/cohorts", json={"name": "Âges", "definition": {"criteria": [{"q": "infarctus"}]}}, headers=who)
    assert saved.status_code == 201, saved.text
    exported = client.get(f"/cohorts/{saved.json()['id']}/export", params={"format": "csv"}, headers=who)
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["patient_id", "sexe", header]
    assert len(rows) == 2 and rows[1][2].isdigit()  # P900003, born 11/02/1962
