"""The portal's screening of a saved cohort: counts per status, a decision (« inclus / exclu / à
revoir ») and reason per patient sent to the API, « À revoir seulement », the excluded put back,
the export with the excluded (screening log)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ui_support import APP_PATH, patch_client

WHEN = "2026-12-03T14:00:00+00:00"


def _decision(status: str, reason: str | None = None, patient: str | None = None) -> dict[str, Any]:
    labels = {"included": "inclus", "excluded": "exclu", "to_review": "à revoir"}
    out = {"status": status, "label": labels[status], "reason": reason, "decided_by": "ide.durand", "decided_at": WHEN}
    return {**out, "patient_id": patient} if patient else out


RESULT = {
    "name": "Essai", "total": 3, "excluded": ["P004"], "new": 0, "left": [],
    "patients": [
        {"patient_id": "P001", "evidence": [], "decision": _decision("to_review", "ECG à relire")},
        {"patient_id": "P002", "evidence": [], "decision": None},
        {"patient_id": "P003", "evidence": [], "decision": _decision("included")},
    ],
    "decisions": [_decision("to_review", "ECG à relire", "P001"), _decision("included", None, "P003"),
                  _decision("excluded", "refus", "P004")],
    "counts": {"included": 1, "excluded": 1, "to_review": 1, "undecided": 1},
}


class Fake:
    def __init__(self) -> None:
        self.cohorts = [{"id": 2, "name": "Essai", "definition": {"criteria": [{"q": "embolie"}]},
                         "members": ["P001", "P002", "P003"], "updated_at": "2026-01-01T00:00:00",
                         "last_run_at": "2026-01-01T00:00:00", "watch": False, "new_patients": 0, "decisions": []}]
        self.sent: list[tuple[str, str, Any, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body = json.loads(request.content) if request.content else None
        self.sent.append((request.method, path, body, str(request.url.query, "ascii")))
        if path == "/cohorts" and request.method == "GET":
            return httpx.Response(200, json=self.cohorts)
        if path == "/cohorts/2/run":
            return httpx.Response(200, json=json.loads(json.dumps(RESULT)))
        if path.startswith("/cohorts/2/decisions/") and request.method == "PUT":
            patient = path.rsplit("/", 1)[-1]
            return httpx.Response(200, json=_decision(body["status"], body.get("reason"), patient))
        if path.startswith("/cohorts/2/decisions/") and request.method == "DELETE":
            return httpx.Response(204)
        if path.endswith("/export"):
            return httpx.Response(200, content=b"patient_id\r\n")
        return httpx.Response(404, json={"detail": "introuvable"})

    def calls(self, method: str, prefix: str) -> list[tuple[str, Any, str]]:
        return [(p, b, q) for m, p, b, q in self.sent if m == method and p.startswith(prefix)]


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> Fake:
    recorder = Fake()
    patch_client(monkeypatch, recorder)
    return recorder


def _rerun_page():  # noqa: ANN202
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.query_params["page"] = "cohorts"
    at.run()
    assert not at.exception, at.exception
    at.button(key="cohort_rerun").click().run()
    assert not at.exception, at.exception
    return at


def _patients(at) -> list[str]:  # noqa: ANN001
    return [e.label for e in at.expander if e.label.startswith("👤")]


def _markdown(at) -> str:  # noqa: ANN001
    return "\n".join(str(m.value) for m in at.markdown)


def test_counts_statuses_and_review_filter(fake: Fake) -> None:
    at = _rerun_page()
    assert "Inclus : 1 · Exclus : 1 · À revoir : 1 · Sans décision : 1" in _markdown(at)
    labels = _patients(at)
    assert [label.split(" ")[1] for label in labels] == ["P001", "P002", "P003"]
    assert "❓ à revoir" in labels[0] and "✅ inclus" in labels[2] and "inclus" not in labels[1]
    assert at.selectbox(key="cohort-rerun-status-P001").value == "to_review"
    assert at.text_input(key="cohort-rerun-reason-P001").value == "ECG à relire"
    assert any("par ide.durand le 03/12/2026" in c.value and "ECG à relire" in c.value for c in at.caption)
    assert any(e.label == "⛔ Exclus (1)" for e in at.expander)
    assert "refus" in _markdown(at)

    at.toggle(key="cohort-rerun-review-only").set_value(True).run()
    assert not at.exception, at.exception
    assert [label.split(" ")[1] for label in _patients(at)] == ["P001"]


def test_a_decision_is_sent_and_shown(fake: Fake) -> None:
    at = _rerun_page()
    at.selectbox(key="cohort-rerun-status-P002").set_value("excluded")
    at.text_input(key="cohort-rerun-reason-P002").input("refus de participer")
    submit = [b for b in at.button if b.label == "Enregistrer la décision"][1]  # P002's form
    submit.click().run()
    assert not at.exception, at.exception
    assert fake.calls("PUT", "/cohorts/2/decisions/") == [
        ("/cohorts/2/decisions/P002", {"status": "excluded", "reason": "refus de participer"}, "")]
    assert [label.split(" ")[1] for label in _patients(at)] == ["P001", "P003"]  # excluded: out of the list
    assert "Inclus : 1 · Exclus : 2 · À revoir : 1 · Sans décision : 0" in _markdown(at)
    assert any(e.label == "⛔ Exclus (2)" for e in at.expander)
    assert not fake.calls("POST", "/cohorts/2/run")[1:]  # no re-run: the « nouveau » flags stay

    at.button(key="cohort-rerun-back-P004").click().run()
    assert not at.exception, at.exception
    assert fake.calls("DELETE", "/cohorts/2/decisions/") == [("/cohorts/2/decisions/P004", None, "")]
    assert "Exclus : 1" in _markdown(at)


def test_export_with_the_excluded(fake: Fake) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.query_params["page"] = "cohorts"
    at.run()
    at.checkbox(key="cohort_export_excluded").check().run()
    assert not at.exception, at.exception
    assert {q for _, _, q in fake.calls("GET", "/cohorts/2/export")} >= {"format=csv&with_excluded=true",
                                                                           "format=xlsx&with_excluded=true"}
