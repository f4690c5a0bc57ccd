"""bench.cohort_list: its three callers list the same saved cohorts, each within their own rights (so the
benchmark times the visibility check it claims to: a unit-restricted caller sees fewer members, a
researcher the pseudonyms their cohorts stored)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cohort_list import build, run


def test_each_caller_lists_its_cohorts_within_its_rights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDSEARCH_SECURITY__SECRETS_DIR", str(tmp_path / "secrets"))  # run() sets it: restored after
    monkeypatch.setenv("MEDSEARCH_SECURITY__RATE_LIMIT_PER_MINUTE", "0")
    index_dir = build(1500, root=tmp_path)  # 500 reports, 25 patients in four care units
    result = run(index_dir, n_cohorts=3, members=4, rounds=2, skip=1)
    shown = {name: facts["members_shown"] for name, facts in result["callers"].items()}
    assert result["patients"] == 25
    assert shown["unrestricted"] == shown["researcher"] == 3 * (4 + 5)  # members and the refresh's news
    assert 0 < shown["one unit"] == shown["one unit, first read"] < shown["unrestricted"]
    assert all(facts["wall_p50_ms"] > 0 for facts in result["callers"].values())
