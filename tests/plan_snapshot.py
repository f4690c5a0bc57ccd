"""Snapshot of :func:`search_api.query_plan.plan_query` over every labelled query, for the test that
checks a faster query planner gives the very same plans (#14 item 3).

The queries: ``eval/queries.yaml`` (demo corpus, French and English), the Open-i finding queries of
``eval/openi.py`` in both languages (held-out ones included), 100 synthetic physician queries
(``bench.synthetic``, the lexical benchmark's generator) and hand-picked negation / syntax cases.
Each is planned with the default request, with negated and family mentions included, and with the
dense leg's translation on. A plan is stored as the SHA-256 of its canonical JSON (the fixture stays
small); a mismatch prints the new plan.

An *intended* change of plans (a new lexicon entry, a new parsing rule) changes the snapshot:
regenerate it, and review ``git diff`` of the fixture's query list, with

    PYTHONPATH=$PWD python tests/plan_snapshot.py --write
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import asdict, fields
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "query_plans.json"

EXTRA_QUERIES = (
    "-fracture", "fracture but no dislocation", "no pneumothorax", "pas de fracture ni de luxation",
    "patients without pleural effusion", "pneumothorax sans épanchement pleural", "sans épanchement pleural",
    "suspicion d'embolie pulmonaire", "ABSENCE D'EPANCHEMENT PLEURAL", "IDM", "IR", "NOT: épanchement pleural",
    "NOT:fracture NOT:luxation", "NOT:fracture, luxation", "NOT:pleural effusion", "not:fracture",
    "Pas d'épanchement", "embolie pulmonaire éliminée", "pas de changement de la fracture",
    "patients with no evidence of pulmonary embolism", "pulmonary embolism ruled out", "rule out pneumonia",
    "triple negative breast cancer", "pneumothorax NOT:épanchement pleural", "mère diabétique",
    "antécédents familiaux de cancer du sein", "family history of breast cancer", "Pneumothorax : non",
    "Effusion: no. Cardiomegaly.", "épanchement pleural. Pas de pneumothorax", "fièvre, toux; pas de dyspnée",
    "absence de fracture du col du fémur", "no acute cardiopulmonary abnormality", "pas d'IDM ni d'AVC",
    "HTA sans diabète", "BPCO exacerbation without pneumonia", "Dr. Martin: pneumopathie?",
    "opacité   basale\tdroite", "3,5 cm nodule", "l'épanchement", "œdème pulmonaire", "peut-être une fracture",
)


def _queries() -> list[tuple[str, str | None]]:
    """(query text, its labelled language or None)."""
    import yaml

    from bench.synthetic import queries as synthetic
    from eval.openi import HOLDOUT_QUERIES, QUERIES

    root = Path(__file__).resolve().parents[1]
    labelled = yaml.safe_load((root / "eval" / "queries.yaml").read_text(encoding="utf-8"))["queries"]
    out = [(q["query"], q.get("language")) for q in labelled]
    for query in (*QUERIES, *HOLDOUT_QUERIES):
        out += [(query.en, "en"), (query.fr, "fr")]
    out += [(text, None) for text in synthetic(100, seed=7)]
    out += [(text, None) for text in EXTRA_QUERIES]
    return list(dict.fromkeys(out))


VARIANTS: dict[str, tuple[dict, bool]] = {  # name → (SearchRequest fields, dense_translation)
    "default": ({}, False),
    "negated+family": ({"include_negated": True}, False),
    "translated": ({}, True),
}


def _canonical(plan) -> str:  # noqa: ANN001 - QueryPlan
    def plain(value):  # noqa: ANN001, ANN202
        if hasattr(value, "model_dump"):
            return value.model_dump(mode="json")
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    out = {f.name: plain(getattr(plan, f.name)) for f in fields(plan)}
    # fields added after the snapshot, left out while empty (so the old digests still compare): the free
    # words' cognates (#14 item 5; plan_query only finds some when given an index's cognate look-up)
    if not out.get("cognates"):
        out.pop("cognates", None)
    if out.get("dense_english") is None:  # search.dense_english_vector's second text (plan_query's english_vector)
        out.pop("dense_english", None)
    if not out.get("family_relatives"):  # the relatives a family query names (« cancer du sein chez la mère »)
        out.pop("family_relatives", None)
    if isinstance(out.get("interpretation"), dict) and not out["interpretation"].get("cognates"):
        out["interpretation"].pop("cognates", None)
    if isinstance(out.get("interpretation"), dict) and not out["interpretation"].get("family_terms"):
        out["interpretation"].pop("family_terms", None)  # what a query asks about relatives (plan_query's family_cues)
    if isinstance(out.get("interpretation"), dict) and not out["interpretation"].get("ignored_terms"):
        out["interpretation"].pop("ignored_terms", None)  # single letters not searched (query_plan.without_single_letters)
    if out.get("comparison") is None:  # « FEVG < 40 % »: the value a query compares (search_api.value_comparison)
        out.pop("comparison", None)
    if isinstance(out.get("interpretation"), dict) and out["interpretation"].get("compared_value") is None:
        out["interpretation"].pop("compared_value", None)
    return json.dumps(out, ensure_ascii=False, sort_keys=True)


def plans() -> dict[str, str]:
    """``"<variant>\\t<query>"`` → canonical JSON of its plan."""
    from search_api.models import SearchRequest
    from search_api.query_plan import plan_query

    out = {}
    for text, _language in _queries():
        for name, (extra, translate) in VARIANTS.items():
            out[f"{name}\t{text}"] = _canonical(plan_query(SearchRequest(q=text, **extra), dense_translation=translate))
    return out


def digest(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:20]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help=f"write {FIXTURE}")
    parser.add_argument("--dump", type=Path, help="write the full plans as JSON here (to diff two versions)")
    args = parser.parse_args()
    current = plans()
    if args.dump:
        args.dump.write_text(json.dumps(current, ensure_ascii=False, indent=0), encoding="utf-8")
    if args.write:
        FIXTURE.write_text(json.dumps({k: digest(v) for k, v in current.items()}, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"{len(current)} plans")
