"""Leak rate of the researchers' de-identified view on the whole demo corpus (issue #12 item 3).

The demo generator knows every identifier it wrote: each patient's IPP, given and family name and
birth date (``indexer.demo.model.plan_cohort``, same seed as ``medsearch demo-corpus``), and the
staff names it draws (« Dr Prénom Nom » from its name lists). This script reads the whole corpus
*through the API as a researcher*: every document is reached by paging dense searches (a dense leg
ranks every passage), then read with ``GET /documents/{id}``; a set of labelled physician queries
adds hybrid results (titles, snippets, linked reports). In everything returned it counts:

* patient names: given + family name together (either order, any case), or the family name in
  capitals as letters write it (« M. BONNET Denis »);
* staff names: « Dr/Pr <first name> <last name> » with names from the generator's lists;
* IPPs: any patient id of the cohort, anywhere (ids, urls, text);
* exact birth dates: in every format the generator writes (ISO, dd/mm/yyyy, yyyymmdd);
* identifiers that link back to the hospital's systems: accession numbers (``ACC0000123``), DICOM UIDs and
  source paths, in document ids and urls too (« report:ACC0000114 » was a researcher's result id).

The patient-centred screens are crawled too (:func:`crawl_patients`): for every patient the caller
met, ``/patients/{id}``, its timeline with a query marked, ``/search/patients``, the cohort endpoints
(evaluate, save, re-run, CSV export) and each document's ``/links``, ``/highlight`` and ``/similar``.

The same run as a clinician is the control: it must find the identifiers (the measure can fail).

    python -m eval.deid_leak --index var/index [--queries 40]     # over the demo index (make demo)
    python -m eval.deid_leak --build data/demo                     # index the corpus first, in a temp dir,
                                                                   # with the configured (real) encoder
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient


def _identifiers(seed: int, n_patients: int) -> tuple[dict[str, re.Pattern[str]], dict[str, tuple[str, ...]]]:
    from indexer.demo import vocabulary as V
    from indexer.demo.model import plan_cohort

    cohort = plan_cohort(seed, n_patients)

    def alternation(words: set[str], flags: int = 0) -> re.Pattern[str]:
        return re.compile(r"\b(?:" + "|".join(sorted(words, key=len, reverse=True)) + r")\b", flags)

    full = {rf"{re.escape(p.given)}\s+{re.escape(p.family_name)}" for p in cohort.patients}
    full |= {rf"{re.escape(p.family_name)}\s+{re.escape(p.given)}" for p in cohort.patients}
    firsts = "|".join(map(re.escape, V.FIRST_NAMES_F + V.FIRST_NAMES_M))
    lasts = "|".join(map(re.escape, V.LAST_NAMES))
    return {  # one pattern per kind of identifier: a document is scanned five times, not 1,000
        "patient_full_name": alternation(full, re.IGNORECASE),
        "patient_family_name_caps": alternation({re.escape(p.family_name.upper()) for p in cohort.patients}),
        "ipp": alternation({re.escape(p.ipp) for p in cohort.patients}),
        "staff_name": re.compile(rf"\b(?:Dr|Pr)\.?\s+(?:{firsts})\s+(?:{lasts})\b"),
        # identifiers that link back to the hospital's systems, in ids and urls too (the generator writes
        # accession numbers ACC0000123, DICOM UIDs of 7+ dotted numbers, files of its patient folders; an
        # article's figure path names no one)
        "accession": re.compile(r"\bACC\d{7}\b"),
        "dicom_uid": re.compile(r"(?<![\d.])\d+(?:\.\d+){6,}(?![\d.])"),
        "source_path": re.compile(r"\b(?:reports|images|records)(?:/|%2F)[\w.-]+\.(?:txt|md|pdf|dcm|png|jpe?g|json|xml)\b"),
    }, {  # each patient's own birth date, as the generator writes it (another patient's may equal a shifted date)
        p.ipp: (p.birth.isoformat(), p.birth.strftime("%d/%m/%Y"), p.birth.strftime("%Y%m%d")) for p in cohort.patients
    }


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


def count_leaks(blob: str, ids: tuple[dict[str, Any], dict[str, tuple[str, ...]]], patient: str | None) -> Counter:
    """Identifier occurrences in *blob*, a text of *patient*'s (real id; None: no patient)."""
    patterns, births = ids
    found = Counter({name: len(pattern.findall(blob)) for name, pattern in patterns.items()})
    found["birth_date"] = sum(blob.count(form) for form in births.get(patient or "", ()))
    return found


def crawl(client: TestClient, headers: dict[str, str], queries: list[str], passages: int) -> tuple[dict[str, Any], list[Any]]:
    """Every document reachable by the caller (paged dense searches + document reads) and hybrid results.

    A page at *offset* draws (offset + 100) x 4 passages from the dense leg, so paging on until that
    depth covers all *passages* reaches every document (a page can be empty before that).
    """
    seen: dict[str, Any] = {}
    results: list[Any] = []
    for kind in (None, "report", "record", "image", "article"):  # per kind too: each pool is smaller
        offset = 0
        while offset <= min(10_000 - 100, passages // 4 + 100):
            params = {"q": "patient", "mode": "dense", "limit": 100, "offset": offset, **({"kinds": kind} if kind else {})}
            page = client.get("/search", params=params, headers=headers)
            page.raise_for_status()
            body = page.json()
            if not body["results"] and offset > body["total"]:
                break
            results += body["results"]
            for r in body["results"]:
                seen.setdefault(r["id"], None)
            offset += 100
    for q in queries:
        body = client.get("/search", params={"q": q, "limit": 50}, headers=headers)
        body.raise_for_status()
        results += body.json()["results"]
    for doc_id in list(seen):
        response = client.get(f"/documents/{doc_id}", headers=headers)
        response.raise_for_status()
        seen[doc_id] = response.json()
    return seen, results


def crawl_patients(
    client: TestClient, headers: dict[str, str], patients: dict[str, str | None], documents: list[tuple[str, str | None]],
    queries: list[str],
) -> list[tuple[str, str | None]]:
    """(response text, real patient id or None) of every patient-centred screen the caller can open.

    *patients*: patient id as the caller sees it → real id (for the birth-date check); *documents*:
    (document id as seen, real patient id). Every answer must be 200 (a researcher's screens exist).
    """
    out: list[tuple[str, str | None]] = []

    def get(path: str, real: str | None, **params: Any) -> Any:
        response = client.get(path, params=params, headers=headers)
        allowed = (200, 422) if path.endswith("/similar") else (200,)  # 422: a document without text to compare
        assert response.status_code in allowed, (path, response.status_code, response.text[:200])
        out.append((response.text, real))
        return response

    for shown, real in patients.items():
        get(f"/patients/{shown}", real)
        get(f"/patients/{shown}/timeline", real, q=queries[0] if queries else "patient")
    for q in queries:
        body = get("/search/patients", None, q=q, limit=50).json()
        for result in body["patients"]:
            out.append((json.dumps(result, ensure_ascii=False), patients.get(result["patient_id"])))
    for doc_id, real in documents:
        for what in ("links", "highlight", "similar"):
            get(f"/documents/{doc_id}/{what}", real, **({"q": queries[0]} if what == "highlight" and queries else {}))
    definition = {"criteria": [{"kinds": ["report"]}], "included": list(patients)[:1]}
    evaluated = client.post("/cohorts/evaluate", json=definition, headers=headers)
    assert evaluated.status_code == 200, evaluated.text[:200]
    for member in evaluated.json()["patients"]:
        out.append((json.dumps(member, ensure_ascii=False), patients.get(member["patient_id"])))
    saved = client.post("/cohorts", json={"name": "leak check", "definition": definition}, headers=headers)
    assert saved.status_code == 201, saved.text[:200]
    out.append((saved.text, None))
    cohort = saved.json()["id"]
    rerun = client.post(f"/cohorts/{cohort}/run", headers=headers)
    out.append((rerun.text, None))
    for row in get(f"/cohorts/{cohort}/export", None, format="csv").content.decode("utf-8-sig").splitlines()[1:]:
        out.append((row, patients.get(row.split(";", 1)[0])))
    client.delete(f"/cohorts/{cohort}", headers=headers)
    return out


def measure(
    client: TestClient, headers: dict[str, str], ids: Any, queries: list[str],
    real_patient: Callable[[str | None], str | None], passages: int, patient_screens_documents: int = 60,
) -> dict[str, Any]:
    """Crawl as the caller of *headers*; *real_patient* maps the patient id the caller sees to the real one."""
    documents, results = crawl(client, headers, queries, passages)
    per_doc = {
        doc_id: count_leaks("\n".join(_texts(doc)) + "\n" + doc_id, ids, real_patient(doc.get("patient_id")))
        for doc_id, doc in documents.items()
    }
    patient_docs = [d for d, doc in documents.items() if doc.get("patient_id")]
    totals: Counter = Counter()
    for leaks in per_doc.values():
        totals.update(leaks)
    for result in results:
        totals.update(count_leaks("\n".join(_texts(result)), ids, real_patient(result.get("patient_id"))))
    leaking = [d for d, leaks in per_doc.items() if sum(leaks.values())]
    patients = {doc["patient_id"]: real_patient(doc["patient_id"]) for doc in documents.values() if doc.get("patient_id")}
    screens = crawl_patients(
        client, headers, patients,
        [(d, real_patient(doc.get("patient_id"))) for d, doc in list(documents.items())[:patient_screens_documents]],
        queries[:5],
    )
    screens_leaking = 0
    for text, real in screens:
        leaks = count_leaks(text, ids, real)
        totals.update(leaks)
        screens_leaking += bool(sum(leaks.values()))
    return {
        "documents_read": len(documents),
        "patient_documents_read": len(patient_docs),
        "search_results_checked": len(results),
        "patients_opened": len(patients),
        "patient_screen_responses": len(screens),
        "patient_screen_responses_with_a_leak": screens_leaking,
        "documents_with_a_leak": len(leaking),
        "leak_rate": round(len(leaking) / max(1, len(patient_docs)), 4),
        "identifier_occurrences": dict(sorted(totals.items())),
        "examples": leaking[:5],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=Path("var/index"))
    parser.add_argument("--build", type=Path, default=None, help="index this demo corpus first (temp dir, the configured encoder)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--queries", type=int, default=40, help="labelled queries run in hybrid mode as well")
    parser.add_argument("--json", type=Path, default=None, help="write the report here too")
    args = parser.parse_args(argv)

    import yaml

    from indexer.settings import Settings
    from search_api.app import create_app
    from search_api.security.deid import Deidentifier
    from search_api.security.secrets import pseudonym_key, signing_key
    from search_api.security.tokens import issue_token

    scratch = Path(tempfile.mkdtemp(prefix="medsearch-deid-"))
    settings = Settings(
        index={"dir": scratch / "index" if args.build else args.index}, api={"audit_log": scratch / "audit.log"},
        security={"secrets_dir": scratch / "secrets", "rate_limit_per_minute": 0},
    )
    encoder = None
    if args.build:
        from indexer.encoders import load_encoder
        from indexer.pipeline import index_paths

        encoder = load_encoder(settings.encoder)
        built = index_paths([args.build], settings, encoder)
        print(f"indexed {args.build} with {encoder.name}: {built.documents_added} documents, "
              f"{built.passages_added} passages, {len(built.skipped)} skipped", file=sys.stderr)
    queries_file = Path(__file__).with_name("queries.yaml")
    queries = [q["query"] for q in yaml.safe_load(queries_file.read_text(encoding="utf-8"))["queries"]][: args.queries]
    ids = _identifiers(args.seed, args.patients)
    key = signing_key(settings.security.secrets_dir)

    def bearer(role: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + issue_token(key, settings.security.local_issuer, f"eval-{role}", [role], 120)}

    started = time.perf_counter()
    # the evaluator holds the pseudonym key (it made the secrets dir): it can map pseudonyms back to
    # check each document against its own patient's birth date; the researcher cannot
    pseudonyms = Deidentifier(pseudonym_key(settings.security.secrets_dir), list(ids[1]))
    with TestClient(create_app(settings, encoder=encoder)) as client:
        stats = client.get("/stats", headers=bearer("admin")).json()
        passages = int(stats["passages"])
        report = {
            "index": {"documents": stats["documents"], "by_kind": stats["by_kind"], "passages": passages, "encoder": stats["encoder"]},
            "researcher": measure(client, bearer("researcher"), ids, queries, lambda p: pseudonyms.real_patient(p or ""), passages),
            "clinician (control)": measure(client, bearer("clinician"), ids, queries, lambda p: p, passages),
        }
    report["seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    researcher = report["researcher"]
    return 0 if researcher["documents_with_a_leak"] == 0 and not any(researcher["identifier_occurrences"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
