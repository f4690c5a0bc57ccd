"""The admins' audit log screen (« 🛡️ Journal d'audit »), driven by Streamlit's AppTest over a fake
``GET /audit``: the entries as a French table, the filters sent as query parameters, paging, the
entry hidden from non-admins, and the API's refusals in French."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from ui import auth as ui_auth  # noqa: E402
from ui import client as api  # noqa: E402
from ui.audit_page import audit_rows  # noqa: E402
from ui_support import patch_client, run_app  # noqa: E402

ENTRIES = [
    {"seq": 7, "ts": "2026-12-01T10:15:02.123+00:00", "user": "dr.martin", "role": "clinician", "action": "document_read",
     "document_id": "report:CR-12", "patient_id": "IPP0042", "client": "10.0.0.5", "prev": "a" * 64, "hash": "b" * 64},
    {"seq": 6, "ts": "2026-12-01T10:14:00.000+00:00", "user": "dr.martin", "role": "clinician", "action": "search",
     "query": "embolie pulmonaire", "filters": {}, "returned": ["r1", "r2"], "patients": ["IPP0042", "IPP0043"],
     "prev": "c" * 64, "hash": "a" * 64},
    {"seq": 5, "ts": "2026-12-01T09:00:00.000+00:00", "user": "chercheur1", "role": "researcher", "action": "denied",
     "reason": "requires the admin role", "path": "/audit", "prev": "d" * 64, "hash": "c" * 64},
]


GRANTS = [
    {"id": "bg-2", "user": "dr.durand", "patient_id": "IPP0099", "motive": "urgence",
     "reason": "Patient inconscient aux urgences, antécédents nécessaires", "created_at": "2026-12-03T08:00:00+00:00",
     "expires_at": "2026-12-03T12:00:00+00:00", "revoked_at": None, "revoked_by": None, "active": True},
    {"id": "bg-1", "user": "dr.martin", "patient_id": "IPP0042", "motive": "transfert",
     "reason": "Transfert depuis la réanimation cette nuit", "created_at": "2026-12-01T22:10:00+00:00",
     "expires_at": "2026-12-02T02:10:00+00:00", "revoked_at": "2026-12-01T23:00:00+00:00", "revoked_by": "dpo",
     "active": False},
]


class FakeAuditApi:
    """``/audit`` answers a page of ENTRIES (total 120, to page through), or *error* when set;
    ``/audit/break-glass`` the GRANTS (or *grants*), without patient and reason when *redacted*."""

    def __init__(self, error: tuple[int, str] | None = None, redacted: bool = False,
                 grants: list[dict] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.error = error
        self.redacted = redacted
        self.grants = GRANTS if grants is None else grants

    def reviews(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == "/audit/break-glass"]

    def deletes(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "DELETE"]

    def _grants(self) -> httpx.Response:
        grants = [{k: v for k, v in g.items() if not (self.redacted and k in ("patient_id", "reason"))} for g in self.grants]
        return httpx.Response(200, json={"total": len(grants), "redacted": self.redacted, "grants": grants})

    def audits(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == "/audit"]

    def exports(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == "/audit/export"]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/health":
            return httpx.Response(200, json={"status": "ok"})
        if path == "/saved-searches":
            return httpx.Response(200, json=[])
        if path == "/stats":
            return httpx.Response(200, json={"documents": 0, "by_kind": {}, "by_language": {}, "backend": "embedded"})
        if path == "/audit":
            if self.error:
                return httpx.Response(self.error[0], json={"detail": self.error[1]})
            return httpx.Response(200, json={"total": 120, "entries": ENTRIES, "redacted": self.redacted})
        if path == "/audit/break-glass":
            return self._grants()
        if path.startswith("/access/break-glass/") and request.method == "DELETE":
            return httpx.Response(404, json={"detail": "aucun accès exceptionnel de ce nom"}) if self.error else httpx.Response(204)
        if path == "/audit/export":
            return httpx.Response(200, text="seq,ts,user\r\n7,2026-12-01,dr.martin\r\n", headers={"content-type": "text/csv"})
        if path == "/search":
            return httpx.Response(200, json={"query": "", "mode": "hybrid", "total": 0, "took_ms": 1.0, "results": []})
        return httpx.Response(404, json={"detail": "Not Found"})


def _app(monkeypatch: pytest.MonkeyPatch, fake: FakeAuditApi, roles: tuple[str, ...] = (), page: str = "audit"):  # noqa: ANN202
    """The app on ``?page=page``, logged in as ui_support's clinician-admin or with *roles*."""
    patch_client(monkeypatch, fake)
    if roles:
        monkeypatch.setattr(ui_auth, "sidebar_login",
                            lambda api_url, timeout: api.Login("tok", "someone", roles[0], 1800, roles))
    return run_app(page=page)


def _screens(at) -> list[str]:  # noqa: ANN001
    radio = next(r for r in at.sidebar.radio if r.label == "Écran")
    return list(radio.options)


def test_admin_sees_the_screen_and_the_api_events(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeAuditApi()
    at = _app(monkeypatch, fake)
    assert "🛡️ Journal d'audit" in _screens(at)
    table = at.dataframe[0].value
    assert list(table["N°"]) == ["7", "6", "5"]
    first = table.iloc[0]
    assert (first["Date (UTC)"], first["Utilisateur"], first["Rôle"]) == ("01/12/2026 10:15:02", "dr.martin", "clinicien")
    assert (first["Action"], first["Cible"], first["Patient(s)"]) == (
        "Lecture d'un document", "document report:CR-12", "IPP0042")
    assert first["Résultat"] == "Autorisé"
    assert table.iloc[1]["Cible"] == "requête « embolie pulmonaire » · 2 résultats"
    assert table.iloc[1]["Patient(s)"] == "IPP0042, IPP0043"
    assert table.iloc[2]["Résultat"] == "Refusé : rôle admin requis"
    assert any("Événements 1–3 sur 120" in str(m.value) for m in at.markdown)
    assert any("medsearch audit verify" in str(c.value) for c in at.caption)
    sent = fake.audits()[-1].url.params
    assert (sent["limit"], sent["offset"]) == ("50", "0") and "user" not in sent and "action" not in sent


def test_filters_and_paging_are_sent_as_query_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import date

    fake = FakeAuditApi()
    at = _app(monkeypatch, fake)
    at.button(key="audit-next").click().run()
    assert fake.audits()[-1].url.params["offset"] == "50"
    at.text_input(key="audit_user").input("dr.martin")
    at.selectbox(key="audit_action").set_value("document_read")
    at.text_input(key="audit_patient").input("IPP0042")
    at.date_input(key="audit_from").set_value(date(2026, 11, 1))
    at.date_input(key="audit_to").set_value(date(2026, 12, 1))
    at.selectbox(key="audit_limit").set_value(25).run()
    assert not at.exception
    sent = fake.audits()[-1].url.params
    assert dict(sent) == {"user": "dr.martin", "action": "document_read", "patient_id": "IPP0042",
                          "date_from": "2026-11-01", "date_to": "2026-12-01", "limit": "25", "offset": "0"}
    calls = len(fake.audits())
    at.run()  # a rerun without any change does not read the log again (each read is itself audited)
    assert len(fake.audits()) == calls
    at.button(key="audit_refresh").click().run()
    assert len(fake.audits()) == calls + 1


@pytest.mark.parametrize("roles", [("clinician",), ("researcher",)])
def test_non_admins_get_no_audit_screen(monkeypatch: pytest.MonkeyPatch, roles: tuple[str, ...]) -> None:
    fake = FakeAuditApi()
    at = _app(monkeypatch, fake, roles)  # even with ?page=audit in the URL
    assert _screens(at) == ["🔎 Recherche", "👥 Cohortes"]
    assert not fake.audits()
    assert not at.dataframe


def test_an_api_refusal_is_shown_in_french(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeAuditApi(error=(403, "this needs the admin role"))
    at = _app(monkeypatch, fake)
    assert [e.value for e in at.error] == [
        "Journal d'audit indisponible. Erreur de l'API (403) : votre rôle ne donne pas accès à cette fonction"]
    fake.error = (422, "date_from must be on or before date_to")
    at.button(key="audit_refresh").click().run()
    assert "la date de début doit précéder la date de fin" in at.error[0].value


def test_rows_keep_unknown_actions_and_roles_as_the_api_wrote_them() -> None:
    rows = audit_rows([{"seq": 1, "ts": "pas une date", "user": "svc", "role": None, "action": "new_thing",
                        "patients": ["P1", "P2", "P3", "P4", "P5"]}])
    assert rows[0]["Action"] == "new_thing" and rows[0]["Date (UTC)"] == "pas une date" and rows[0]["Rôle"] == ""
    assert rows[0]["Patient(s)"] == "P1, P2, P3 (+2)"


def test_an_auditor_gets_the_screen_and_an_admin_is_told_what_is_withheld(monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.audit_page import REDACTED_NOTE

    at = _app(monkeypatch, FakeAuditApi(), ("auditor",))
    assert "🛡️ Journal d'audit" in _screens(at) and at.dataframe
    assert REDACTED_NOTE not in [c.value for c in at.caption]
    at = _app(monkeypatch, FakeAuditApi(redacted=True), ("admin",))
    assert REDACTED_NOTE in [c.value for c in at.caption]


def test_the_export_is_asked_on_click_only_with_the_filters(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeAuditApi()
    at = _app(monkeypatch, fake, ("auditor",))
    at.text_input(key="audit_patient").input("IPP0042").run()
    assert not fake.exports()  # each export is an audit entry: never on a rerun
    at.button(key="audit_export").click().run()
    assert [dict(r.url.params) for r in fake.exports()] == [{"patient_id": "IPP0042"}]
    assert at.get("download_button")  # the file is offered
    at.button(key="audit_refresh").click().run()
    assert len(fake.exports()) == 1


def _grant_table(at):  # noqa: ANN001, ANN202
    return next(d.value for d in at.dataframe if "Justification" in d.value.columns)


def test_an_auditor_sees_break_glass_grants_with_patient_and_justification(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeAuditApi()
    at = _app(monkeypatch, fake, ("auditor",))
    assert not at.exception and [t.label for t in at.tabs] == ["Journal", "🚨 Bris de glace"]
    table = _grant_table(at)
    first = table.iloc[0]
    assert (first["Date (UTC)"], first["Utilisateur"], first["Patient"], first["Motif"]) == (
        "03/12/2026 08:00:00", "dr.durand", "IPP0099", "Urgence")
    assert first["Justification"].startswith("Patient inconscient") and first["Actif"] == "oui"
    assert first["Fin (UTC)"] == "03/12/2026 12:00:00"
    assert (table.iloc[1]["Actif"], table.iloc[1]["Fin (UTC)"]) == ("révoqué", "01/12/2026 23:00:00")
    assert at.button(key="bga-revoke-bg-2") and not [b for b in at.button if b.key == "bga-revoke-bg-1"]
    calls = len(fake.reviews())
    at.text_input(key="bga_user").input("dr.durand")
    at.checkbox(key="bga_active").check().run()
    assert dict(fake.reviews()[-1].url.params) == {"user": "dr.durand", "active": "true"}
    at.run()  # each list is an audit_read entry: not asked again on a plain rerun
    assert len(fake.reviews()) == calls + 1


def test_an_admin_sees_patient_and_justification_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.break_glass_review import REDACTED_NOTE

    at = _app(monkeypatch, FakeAuditApi(redacted=True), ("admin",))
    table = _grant_table(at)
    assert set(table["Patient"]) == {"masqué"} and set(table["Justification"]) == {"masqué"}
    assert list(table["Utilisateur"]) == ["dr.durand", "dr.martin"]
    assert REDACTED_NOTE in [c.value for c in at.caption]


def test_revoke_asks_for_confirmation_then_deletes_the_grant(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeAuditApi()
    at = _app(monkeypatch, fake, ("auditor",))
    at.button(key="bga-revoke-bg-2").click().run()
    assert not fake.deletes() and at.warning  # nothing is revoked before the confirmation
    at.button(key="bga-cancel").click().run()
    assert not fake.deletes() and not [b for b in at.button if b.key == "bga-confirm"]
    at.button(key="bga-revoke-bg-2").click().run()
    calls = len(fake.reviews())
    at.button(key="bga-confirm").click().run()
    assert not at.exception
    assert [r.url.path for r in fake.deletes()] == ["/access/break-glass/bg-2"]
    assert len(fake.reviews()) == calls + 1  # listed again after the revocation
    assert "Accès exceptionnel révoqué." in [s.value for s in at.success]


def test_no_grant_shows_the_empty_state(monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.break_glass_review import EMPTY_TEXT

    at = _app(monkeypatch, FakeAuditApi(grants=[]), ("auditor",))
    assert EMPTY_TEXT in [i.value for i in at.info]


def test_the_break_glass_export_is_asked_on_click_only(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeAuditApi()
    at = _app(monkeypatch, fake, ("auditor",))
    at.text_input(key="bga_user").input("dr.durand").run()
    assert not fake.exports()
    at.button(key="bga_export").click().run()
    assert [dict(r.url.params) for r in fake.exports()] == [{"user": "dr.durand", "break_glass": "true"}]
    assert any(d.proto.label == "⬇ Télécharger le CSV" for d in at.get("download_button"))
    at.button(key="bga_refresh").click().run()
    assert len(fake.exports()) == 1


def test_a_refused_revocation_is_shown_and_not_hidden_by_a_rerun(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeAuditApi()
    at = _app(monkeypatch, fake, ("auditor",))
    at.button(key="bga-revoke-bg-2").click().run()
    fake.error = (404, "x")  # the DELETE is refused from now on (e.g. already revoked elsewhere)
    at.button(key="bga-confirm").click().run()
    assert len(fake.deletes()) == 1 and not at.success
    assert any(e.value.startswith("Révocation impossible.") for e in at.error)
