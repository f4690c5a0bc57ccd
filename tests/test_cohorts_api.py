"""Cohorts and saved searches over the fixture index: criteria, evidence, time relation, hand-made
changes, re-runs (who is new), CSV / Excel exports, per-user ownership."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from conftest import IMG_T001, RPT_T001, RPT_T003
from search_api.app import create_app
from conftest import IMG_T001, RPT_T001, RPT_T003
from auth_support import auth

DR = auth("clinician", "dr.martin")
OTHER = auth("clinician", "dr.durand")


@pytest.fixture(scope="module")
def client(indexed, encoder) -> TestClient:
    settings, _ = indexed
    return TestClient(create_app(settings, encoder=encoder))


def members(client: TestClient, definition: dict) -> list[str]:  # noqa: ANN001
    response = client.post("/cohorts/evaluate", json=definition, headers=DR)
    assert response.status_code == 200, response.text
    return [p["patient_id"] for p in response.json()["patients"]]


def test_query_criterion_gives_patients_with_evidence(client: TestClient) -> None:
    body = client.post("/cohorts/evaluate", json={"criteria": [{"q": "épanchement pleural"}]}, headers=DR).json()
    assert [p["patient_id"] for p in body["patients"]] == ["P900001"]
    evidence = body["patients"][0]["evidence"]
    assert {e["doc_id"] for e in evidence} == {RPT_T001, IMG_T001}
    assert all("<mark>" in e["snippet"] and e["criterion"] == 0 for e in evidence)


def test_must_not_negation_and_structured_filters(client: TestClient) -> None:
    everyone = members(client, {"criteria": [{"kinds": ["report"]}]})
    assert everyone == ["P900001", "P900002", "P900003", "P900004"]
    # « sans embolie pulmonaire »: patients whose report says the embolism is absent
    assert members(client, {"criteria": [{"q": "sans embolie pulmonaire"}]}) == ["P900001"]
    assert members(client, {"criteria": [{"q": "embolie pulmonaire"}]}) == []  # only ever negated
    assert members(client, {"criteria": [{"kinds": ["report"]}, {"q": "fracture", "include": "must_not"}]}) == [
        "P900001", "P900003", "P900004"]
    assert members(client, {"criteria": [{"departments": ["cardiologie"]}]}) == ["P900003"]
    assert members(client, {"criteria": [{"modalities": ["ct"], "body_parts": ["chest"]}]}) == ["P900001"]
    assert members(client, {"criteria": [{"modalities": ["TDM"], "body_parts": ["chest"]}]}) == ["P900001"]  # CT's name
    assert members(client, {"criteria": [{"q": "épanchement pleural", "modalities": ["scanner"]}]}) == ["P900001"]
    assert members(client, {"criteria": [{"kinds": ["report"], "date_from": "2024-06-01"}]}) == ["P900003", "P900004"]
    assert members(client, {"criteria": [{"kinds": ["report"]}], "sex": "male"}) == ["P900001", "P900003"]  # record / DICOM sex


def test_age_at_document_date(client: TestClient) -> None:
    # P900003 was born on 11/02/1962: 62 at his letter of 20/06/2024
    assert members(client, {"criteria": [{"q": "infarctus", "age_min": 60, "age_max": 65}]}) == ["P900003"]
    assert members(client, {"criteria": [{"q": "infarctus", "age_min": 63}]}) == []


def test_time_relation_between_criteria(client: TestClient) -> None:
    # the record's last dated entry (18/06/2024) and the letter (20/06/2024) are two days apart
    definition = {
        "criteria": [{"kinds": ["record"]}, {"q": "infarctus du myocarde", "kinds": ["report"]}],
        "relation": {"first": 0, "then": 1, "within_days": 3},
    }
    assert members(client, definition) == ["P900003"]
    assert members(client, {**definition, "relation": {"first": 0, "then": 1, "within_days": 1}}) == []
    assert members(client, {**definition, "relation": {"first": 1, "then": 0, "within_days": 30}}) == []


@pytest.mark.parametrize(
    "definition",
    [
        {"criteria": []},
        {"criteria": [{}]},
        {"criteria": [{"q": "x", "include": "must_not"}]},
        {"criteria": [{"q": "x"}], "relation": {"first": 0, "then": 3, "within_days": 2}},
        {"criteria": [{"q": "x", "age_min": 70, "age_max": 60}]},
    ],
)
def test_invalid_definitions_are_refused(client: TestClient, definition: dict) -> None:  # noqa: ANN001
    assert client.post("/cohorts/evaluate", json=definition, headers=DR).status_code == 422


@pytest.mark.parametrize(
    ("definition", "where"),
    [
        ({"criteria": [{"query": "pneumothorax"}]}, ["body", "criteria", 0, "query"]),
        ({"criteria": [{"q": "pneumothorax", "kind": ["image"]}]}, ["body", "criteria", 0, "kind"]),
        ({"criteria": [{"q": "pneumothorax"}], "sexe": "female"}, ["body", "sexe"]),
        ({"criteria": [{"q": "a"}, {"q": "b"}], "relation": {"first": 0, "then": 1, "days": 3}},
         ["body", "relation", "days"]),
    ],
)
def test_misspelt_cohort_fields_are_refused_by_name(client: TestClient, definition: dict, where: list) -> None:  # noqa: ANN001
    """« query » for « q » was dropped in silence: the criterion was refused as having « no query and no
    filter », and « kind » for « kinds » ran the criterion over every kind of document."""
    response = client.post("/cohorts/evaluate", json=definition, headers=DR)
    assert response.status_code == 422
    assert {"loc": where, "type": "extra_forbidden"} in [
        {"loc": error["loc"], "type": error["type"]} for error in response.json()["detail"]
    ]


def test_save_edit_rerun_and_export(client: TestClient) -> None:
    definition = {"criteria": [{"label": "compte rendu", "kinds": ["report"], "date_from": "2024-05-01"}]}
    saved = client.post("/cohorts", json={"name": "Suivi 2024", "definition": definition}, headers=DR)
    assert saved.status_code == 201, saved.text
    cohort = saved.json()
    assert cohort["members"] == ["P900002", "P900003", "P900004"]
    assert [c["name"] for c in client.get("/cohorts", headers=DR).json()] == ["Suivi 2024"]
    assert client.get("/cohorts", headers=OTHER).json() == []
    assert client.get(f"/cohorts/{cohort['id']}", headers=OTHER).status_code == 404

    # by hand: exclude P900004, include P900001 (outside the dates) → P900001 is new at the next run
    edited = {**definition, "excluded": ["P900004"], "included": ["P900001"]}
    assert client.put(f"/cohorts/{cohort['id']}", json={"name": "Suivi 2024", "definition": edited}, headers=DR).status_code == 200
    run = client.post(f"/cohorts/{cohort['id']}/run", headers=DR).json()
    assert [(p["patient_id"], p["new"], p["by_hand"]) for p in run["patients"]] == [
        ("P900001", True, True), ("P900002", False, False), ("P900003", False, False)]
    assert run["excluded"] == ["P900004"] and run["left"] == ["P900004"] and run["new"] == 1
    again = client.post(f"/cohorts/{cohort['id']}/run", headers=DR).json()
    assert again["new"] == 0 and again["left"] == []

    exported = client.get(f"/cohorts/{cohort['id']}/export", params={"format": "csv"}, headers=DR)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert 'filename="Suivi_2024.csv"' in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["patient_id", "sexe", "âge (aujourd'hui)", "inclusion"]
    assert [r[0] for r in rows[1:]] == ["P900001", "P900002", "P900003"]
    assert rows[1][3] == "manuelle" and rows[3][1] == "homme"
    assert rows[3][5:7] in ([RPT_T003, "20/06/2024"],)

    from openpyxl import load_workbook

    xlsx = client.get(f"/cohorts/{cohort['id']}/export", params={"format": "xlsx"}, headers=DR)
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert sheet.title == "Suivi 2024" and [v[0] for v in values] == ["patient_id", "P900001", "P900002", "P900003"]

    assert client.delete(f"/cohorts/{cohort['id']}", headers=OTHER).status_code == 404
    assert client.delete(f"/cohorts/{cohort['id']}", headers=DR).status_code == 204
    assert client.get(f"/cohorts/{cohort['id']}/export", headers=DR).status_code == 404


def test_cohorts_need_an_identified_user(client: TestClient) -> None:
    assert client.post("/cohorts/evaluate", json={"criteria": [{"q": "fracture"}]}).status_code == 401
    assert client.get("/cohorts").status_code == 401


def test_saved_searches_are_per_user(client: TestClient) -> None:
    params = {"q": "épanchement pleural", "kinds": ["report"], "patient_id": ""}
    created = client.post("/saved-searches", json={"name": "Épanchements", "params": params}, headers=DR)
    assert created.status_code == 201
    saved = created.json()
    assert saved["params"] == {"q": "épanchement pleural", "kinds": ["report"]}
    assert [s["name"] for s in client.get("/saved-searches", headers=DR).json()] == ["Épanchements"]
    assert client.get("/saved-searches", headers=OTHER).json() == []
    assert client.delete(f"/saved-searches/{saved['id']}", headers=OTHER).status_code == 404
    assert client.post("/saved-searches", json={"name": "vide", "params": {"q": " "}}, headers=DR).status_code == 422
    assert client.get("/saved-searches").status_code == 401
    assert client.delete(f"/saved-searches/{saved['id']}", headers=DR).status_code == 204
    assert client.get("/saved-searches", headers=DR).json() == []


def test_saving_under_an_existing_name_replaces_the_search(client: TestClient, tmp_path) -> None:  # noqa: ANN001
    """One entry per name and user: the API replaces (it was the portal, deleting after saving: another
    client, or a failure between the two requests, left two « EP test »)."""
    def save(name: str, q: str, who: dict = DR) -> object:  # noqa: ANN001
        return client.post("/saved-searches", json={"name": name, "params": {"q": q}}, headers=who)

    first, other = save("EP test", "embolie pulmonaire"), save("Fractures", "fracture")
    assert (first.status_code, other.status_code) == (201, 201)
    theirs = save("EP test", "pneumothorax", OTHER)  # another user's search of the same name
    again = save("  ep   TEST ", "embolie pulmonaire segmentaire")  # case and spacing aside: the same name
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"] and again.json()["name"] == "ep TEST"
    listed = client.get("/saved-searches", headers=DR).json()
    assert [(s["id"], s["name"], s["params"]["q"]) for s in listed] == [
        (first.json()["id"], "ep TEST", "embolie pulmonaire segmentaire"), (other.json()["id"], "Fractures", "fracture")]
    assert [(s["name"], s["params"]["q"]) for s in client.get("/saved-searches", headers=OTHER).json()] == [("EP test", "pneumothorax")]
    assert save("EP test 2", "embolie").status_code == 201  # a different name is a new search
    assert len(client.get("/saved-searches", headers=DR).json()) == 3
    for s in client.get("/saved-searches", headers=DR).json() + [theirs.json()]:
        client.delete(f"/saved-searches/{s['id']}", headers=DR if s["id"] != theirs.json()["id"] else OTHER)
    assert client.get("/saved-searches", headers=DR).json() == []


def test_older_duplicates_of_a_name_are_folded_into_one(tmp_path) -> None:  # noqa: ANN001
    """Searches saved twice under one name before the API replaced them: the next save keeps one."""
    from search_api.user_data import UserDataStore

    store = UserDataStore(tmp_path / "u.sqlite")
    for q in ("a", "b"):  # as the old code stored them: two rows, one name
        store._db.execute("INSERT INTO saved_searches (owner, name, params, created_at) VALUES (?,?,?,?)",
                          ("dr", "EP", f'{{"q": "{q}"}}', "2024-01-01"))
    saved, replaced = store.add_search("dr", "EP", {"q": "c"})
    assert replaced and [(s["id"], s["params"]) for s in store.searches("dr")] == [(saved["id"], {"q": "c"})]
    assert saved["id"] == 1


def test_the_openapi_description_says_a_same_name_save_replaces(client: TestClient) -> None:
    post = client.get("/openapi.json").json()["paths"]["/saved-searches"]["post"]
    assert "replaces" in post["description"] and {"200", "201"} <= set(post["responses"])


def test_saved_search_params_are_checked_when_saved(client: TestClient) -> None:
    """A saved search holds the portal URL's search fields: an unknown field, a 100 kB query or a nested
    value answers 422 naming it when saved (it was stored, and failed only when reopened)."""
    def save(params: dict) -> object:  # noqa: ANN001
        return client.post("/saved-searches", json={"name": "x", "params": params}, headers=DR)

    too_long = save({"q": "épanchement " * 10_000})
    assert too_long.status_code == 422 and "q : trop long" in too_long.text
    unknown = save({"q": "fracture", "patientId": "P900001"})
    assert unknown.status_code == 422 and "patientId" in unknown.text
    assert save({"q": "fracture", "kinds": [{"a": 1}]}).status_code == 422
    assert save({"q": "fracture", "kinds": ["report"] * 51}).status_code == 422
    assert client.get("/saved-searches", headers=DR).json() == []  # nothing stored by the refused ones
    ok = save({"q": "fracture", "kinds": ["report", "image"], "date_from": "2024-01-01", "include_negated": "1", "limit": "20"})
    assert ok.status_code == 201, ok.text
    assert client.delete(f"/saved-searches/{ok.json()['id']}", headers=DR).status_code == 204


def test_export_of_a_cohort_named_in_french_typography(client: TestClient) -> None:
    """« Suivi d’EP — cœur » (typographic apostrophe, dash, ligature: what a French keyboard or
    autocorrect types) answered 500 on both exports: the name went as is into the Latin-1 header."""
    definition = {"criteria": [{"label": "compte rendu", "kinds": ["report"], "date_from": "2024-05-01"}]}
    cohort = client.post("/cohorts", json={"name": "Suivi d’EP — cœur", "definition": definition}, headers=DR).json()
    for fmt in ("csv", "xlsx"):
        exported = client.get(f"/cohorts/{cohort['id']}/export", params={"format": fmt}, headers=DR)
        assert exported.status_code == 200, exported.text
        disposition = exported.headers["content-disposition"]
        assert f'filename="Suivi_d_EP_coeur.{fmt}"' in disposition
        assert f"filename*=UTF-8''Suivi_d_EP_c%C5%93ur.{fmt}" in disposition
    client.delete(f"/cohorts/{cohort['id']}", headers=DR)


def test_xlsx_export_dates_are_date_cells(client: TestClient) -> None:
    """The workbook held « 20/06/2024 » as text: Excel sorted it by day, and no date filter worked."""
    import datetime as dt

    from openpyxl import load_workbook

    definition = {"criteria": [{"label": "compte rendu", "kinds": ["report"], "date_from": "2024-06-15"}]}
    cohort = client.post("/cohorts", json={"name": "Dates", "definition": definition}, headers=DR).json()
    xlsx = client.get(f"/cohorts/{cohort['id']}/export", params={"format": "xlsx"}, headers=DR)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    header = [c.value for c in sheet[1]]
    column = header.index("compte rendu : date")
    dated = [row[column] for row in sheet.iter_rows(min_row=2)]
    assert dated and all(isinstance(c.value, dt.datetime) and c.number_format == "DD/MM/YYYY" for c in dated)
    rows = list(csv.reader(io.StringIO(
        client.get(f"/cohorts/{cohort['id']}/export", headers=DR).content.decode("utf-8-sig")), delimiter=";"))
    assert [c.value.strftime("%d/%m/%Y") for c in dated] == [r[column] for r in rows[1:]]
    client.delete(f"/cohorts/{cohort['id']}", headers=DR)


def test_exported_passages_are_never_read_as_formulas() -> None:
    """A passage opening a list (« - Insuffisance cardiaque à FEVG altérée ») showed #NOM? in Excel
    (read as a formula), and a text « =HYPERLINK(...) » would have been one (CSV injection)."""
    import datetime as dt

    from openpyxl import load_workbook

    from search_api.cohorts import to_csv, to_xlsx

    header = ["patient_id", "EP : date", "EP : extrait"]
    rows = [["P1", dt.date(2024, 6, 20), "- Insuffisance cardiaque à FEVG altérée"],
            ["P2", "", '=HYPERLINK("http://x","clic")'], ["P3", "", "+33 4 72 00 00 00"], ["P4", "", "@SUM(A1)"]]
    cells = list(csv.reader(io.StringIO(to_csv(header, rows).decode("utf-8-sig")), delimiter=";"))
    assert [r[2] for r in cells[1:]] == ["'- Insuffisance cardiaque à FEVG altérée", '\'=HYPERLINK("http://x","clic")',
                                         "'+33 4 72 00 00 00", "'@SUM(A1)"]
    assert cells[1][1] == "20/06/2024"
    sheet = load_workbook(io.BytesIO(to_xlsx("EP", header, rows))).active
    assert [(c.value, c.data_type) for c in sheet["C"][1:3]] == [
        ("- Insuffisance cardiaque à FEVG altérée", "s"), ('=HYPERLINK("http://x","clic")', "s")]


@pytest.mark.parametrize("name", ["   ", "\t \n"])
def test_blank_names_are_refused(client: TestClient, name: str) -> None:
    """A saved search named with spaces only was stored as « »: the save answered 500, and so did
    every later list of the user's saved searches (the portal's sidebar included)."""
    saved = client.post("/saved-searches", json={"name": name, "params": {"q": "embolie pulmonaire"}}, headers=DR)
    assert saved.status_code == 422 and "vide" in saved.text
    assert client.get("/saved-searches", headers=DR).status_code == 200
    cohort = client.post("/cohorts", json={"name": name, "definition": {"criteria": [{"q": "fracture"}]}}, headers=DR)
    assert cohort.status_code == 422 and "vide" in cohort.text
    assert "" not in [c["name"] for c in client.get("/cohorts", headers=DR).json()]


@pytest.mark.parametrize(
    ("params", "said"),
    [
        ({"q": "EP", "date_from": "2023-13-45"}, "date invalide"),
        ({"q": "EP", "date_to": "01/02/2023"}, "date invalide"),
        ({"q": "EP", "date_from": "2024-01-01", "date_to": "2023-01-01"}, "date_from doit précéder date_to"),
        ({"q": "EP", "kinds": ["report", "pdf"]}, "type de document inconnu pdf"),
        ({"q": "EP", "language": "de"}, "language"),
        ({"q": "EP", "mode": "bm25"}, "mode"),
        ({"q": "EP", "limit": "1000"}, "limit"),
    ],
)
def test_saved_search_filters_are_checked_when_saved(client: TestClient, params: dict, said: str) -> None:  # noqa: ANN001
    """« date_from : 2023-13-45 » was saved (201); reopened, the portal dropped the date in silence and
    searched without it (and an unknown kind made /search answer 422)."""
    saved = client.post("/saved-searches", json={"name": "filtres", "params": params}, headers=DR)
    assert saved.status_code == 422 and said in saved.text, saved.text


def test_saved_search_with_the_portals_url_form_is_kept(client: TestClient) -> None:
    params = {"q": "embolie pulmonaire", "kinds": ["report", "image"], "date_from": "2023-01-01", "date_to": "2023-12-31",
              "language": "fr", "mode": "lexical", "limit": "20", "include_negated": "true", "group": "patients"}
    saved = client.post("/saved-searches", json={"name": "EP 2023", "params": params}, headers=DR)
    assert saved.status_code == 201, saved.text
    assert saved.json()["params"] == params
    assert client.delete(f"/saved-searches/{saved.json()['id']}", headers=DR).status_code == 204
