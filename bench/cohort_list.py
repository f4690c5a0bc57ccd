"""Cost of ``GET /cohorts`` for a restricted or researcher caller vs an unrestricted one, in process.

Why: what saved cohorts stored (members, the watch's news) is shown only within the caller's current
rights (:func:`search_api.cohorts.visible_patients`): for a caller restricted to care units or
patients, or a researcher, listing cohorts reads the index for the stored patients; an identified
caller without restriction skips it. This measures that extra cost with *cohorts* saved, watched
cohorts per caller, each with *members* stored members and a refresh's news, on a synthetic index
whose patients each belong to one of four care units (the restricted caller has one of them).

The callers' requests are interleaved (unrestricted, unit-restricted, the same with a care unit
that changes every round, researcher, then again), in FastAPI's TestClient (routing, authentication,
JSON), wall-clock and process CPU per request, the first *skip* rounds left out. The changing unit
(one no document has: same patients visible) keeps the API from answering from what it read for
the same units in the same index generation: what the first listing after a publication costs.

    python -m bench.cohort_list --passages 10000 --cohorts 20 --rounds 60   # builds var/bench/cohort-list-10k once
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.build import label
from bench.lexical_overhead import HashEncoder

UNITS = ("Cardiologie", "Pneumologie", "Neurologie", "Radiologie")


def unit_of(patient: str) -> str:
    """Each synthetic patient's one care unit (a restricted caller then sees about a quarter of them)."""
    return UNITS[int(patient[1:]) % len(UNITS)]


def build(passages: int, root: Path = Path("var/bench")) -> Path:
    """Synthetic reports (:func:`bench.synthetic.reports`) with a ``Service`` line, hash vectors
    (cohorts and the visibility check read the lexical side and the metadata only)."""
    from bench.synthetic import reports
    from indexer.backend.factory import open_backend
    from indexer.pipeline import index_paths
    from indexer.settings import Settings

    index_dir = root / f"cohort-list-{label(passages)}"
    if open_backend(Settings(index={"dir": index_dir})).exists():
        return index_dir
    sources = root / f"cohort-list-sources-{label(passages)}"
    sources.mkdir(parents=True, exist_ok=True)
    for report in reports(passages // 3):
        text = report.to_text().replace("\n", f"\nService : {unit_of(report.patient_id)}\n", 1)
        (sources / f"{report.id}.txt").write_text(text, encoding="utf-8")
    index_paths([sources], Settings(index={"dir": index_dir}), HashEncoder(), rebuild=True)
    return index_dir


def run(index_dir: Path, n_cohorts: int = 20, members: int = 40, rounds: int = 60, skip: int = 5) -> dict:
    work = Path(tempfile.mkdtemp(prefix="medsearch-cohort-list-"))
    os.environ["MEDSEARCH_SECURITY__SECRETS_DIR"] = str(work / "secrets")
    os.environ["MEDSEARCH_SECURITY__RATE_LIMIT_PER_MINUTE"] = "0"
    from fastapi.testclient import TestClient

    from indexer.backend.filters import DocumentFilter
    from indexer.settings import Settings
    from search_api.app import create_app
    from search_api.cohort_watch import _deid_registry
    from search_api.engine_factory import build_engine
    from search_api.security.secrets import signing_key
    from search_api.security.tokens import issue_token
    from search_api.user_data import UserDataStore
    from search_api.viewer import Viewer

    settings = Settings(index={"dir": index_dir.resolve()}, api={"audit_log": work / "audit.log", "user_data": work / "user.sqlite"})
    client = TestClient(create_app(settings, encoder=HashEncoder()))
    engine = build_engine(settings, HashEncoder(), clip=False)
    backend = engine.backend
    patients = sorted({d.patient_id for d in backend.document_summaries(backend.document_ids_where(DocumentFilter())).values()
                       if d.patient_id})
    pseudonym = Viewer(_deid_registry(settings).for_engine(engine)).patient_out  # a researcher's cohorts store these

    issuer, key = settings.security.local_issuer, signing_key(settings.security.secrets_dir)
    callers = {
        "unrestricted": ("dr.all", ["clinician"], None, str),
        "one unit": ("dr.unit", ["clinician"], [UNITS[0]], str),
        "one unit, first read": ("dr.unit", ["clinician"], [UNITS[0]], str),
        "researcher": ("dr.research", ["researcher"], None, pseudonym),
    }
    store, rng = UserDataStore(settings.api.user_data), random.Random(3)
    headers = {}
    for name, (user, roles, units, shown) in callers.items():
        headers[name] = {"Authorization": f"Bearer {issue_token(key, issuer, user, roles, 24 * 60, units=units)}"}
        if name == "one unit, first read":
            continue  # dr.unit's cohorts
        for i in range(n_cohorts):
            chosen = [shown(p) for p in rng.sample(patients, members + 5)]
            cohort = store.add_cohort(user, f"cohorte {i}", {"criteria": [{"q": "embolie pulmonaire"}]}, chosen[:members], watch=True)
            store.record_refresh(cohort["id"], chosen, chosen[members:], cohort["members"])
    store.close()

    wall: dict[str, list[float]] = {name: [] for name in callers}
    cpu: dict[str, list[float]] = {name: [] for name in callers}
    shown_members: dict[str, int] = {}
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    for i in range(rounds + skip):
        fresh = issue_token(key, issuer, "dr.unit", ["clinician"], 60, units=[UNITS[0], f"Unité vide {i}"])
        headers["one unit, first read"] = {"Authorization": f"Bearer {fresh}"}
        for name in callers:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get("/cohorts", headers=headers[name])
            elapsed, elapsed_cpu = (time.perf_counter() - started) * 1000, (time.process_time() - started_cpu) * 1000
            response.raise_for_status()
            listed = response.json()
            assert len(listed) == n_cohorts, listed
            shown_members[name] = sum(len(c["members"]) for c in listed)
            if i >= skip:  # the first ones load the index and fill the read caches
                wall[name].append(elapsed)
                cpu[name].append(elapsed_cpu)
    return {
        "index": str(index_dir), "patients": len(patients), "cohorts": n_cohorts, "members_per_cohort": members,
        "rounds": rounds, "loadavg_before": load_before, "loadavg_after": Path("/proc/loadavg").read_text().split()[:3],
        "callers": {name: {"wall_p50_ms": round(statistics.median(wall[name]), 2),
                           "cpu_p50_ms": round(statistics.median(cpu[name]), 2),
                           "members_shown": shown_members[name]} for name in callers},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=10_000)
    parser.add_argument("--cohorts", type=int, default=20)
    parser.add_argument("--members", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    print(json.dumps(run(build(args.passages), args.cohorts, args.members, args.rounds), indent=1))
