"""The query planner is on every search's path (#14 item 3: lexical search within 3× a bare Tantivy
query), so it was made cheaper: the negation cues of both languages found over one segmentation and
one tokenization of the query. Speed must not change a single plan: every labelled query (eval,
Open-i in both languages, the benchmark's queries, negation and syntax cases), under three request
variants, must plan exactly as in the snapshot taken before (``tests/plan_snapshot.py``)."""

from __future__ import annotations

import json

import pytest

from plan_snapshot import FIXTURE, digest, plans


def test_plans_equal_the_snapshot() -> None:
    expected = json.loads(FIXTURE.read_text(encoding="utf-8"))
    current = plans()
    assert current.keys() == expected.keys(), "the query list changed: regenerate (tests/plan_snapshot.py --write)"
    changed = {key: plan for key, plan in current.items() if digest(plan) != expected[key]}
    assert not changed, (
        f"{len(changed)} of {len(current)} plans changed, e.g. {next(iter(changed.items()))}; if intended, "
        "regenerate with `PYTHONPATH=$PWD python tests/plan_snapshot.py --write` and say so in the commit"
    )


@pytest.mark.parametrize("text", ["pneumothorax sans épanchement pleural", "no pneumothorax", "NOT:fracture, luxation"])
def test_the_snapshot_can_fail(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A planner that drops the negation would be caught (the digests really depend on the plan)."""
    import indexer.clinical.query as query

    expected = json.loads(FIXTURE.read_text(encoding="utf-8"))
    monkeypatch.setattr(query, "_natural_clauses", lambda q, start, end, language, *args, **kwargs: [])
    monkeypatch.setattr(query, "_clause", lambda *args, **kwargs: None)
    from search_api.models import SearchRequest
    from search_api.query_plan import plan_query
    from plan_snapshot import _canonical

    assert digest(_canonical(plan_query(SearchRequest(q=text)))) != expected[f"default\t{text}"]
