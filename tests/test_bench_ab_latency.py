"""bench.ab_latency: a setting flipped on one server only (``--b-env``) reaches that server and not the
other, so "one tree, one setting off" A/Bs (what dense translation costs) compare what they claim to."""

from __future__ import annotations

import textwrap
from pathlib import Path

import httpx
import pytest

from bench.ab_latency import parse_env, server

FAKE_APP = textwrap.dedent(
    """
    import os

    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route


    def create_app():
        async def stats(request):
            return JSONResponse({"tree": TREE, "flag": os.environ.get("MEDSEARCH_SEARCH__DENSE_TRANSLATION"),
                                 "index": os.environ.get("MEDSEARCH_INDEX__DIR")})

        return Starlette(routes=[Route("/stats", stats)])
    """
)


def _fake_tree(root: Path, name: str) -> Path:
    """A source tree whose ``search_api.app:create_app`` reports its name and the setting it sees."""
    package = root / name / "search_api"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text(f"TREE = {name!r}\n" + FAKE_APP)
    return root / name


def test_parse_env_keeps_equals_in_values_and_rejects_bare_words() -> None:
    assert parse_env(["MEDSEARCH_SEARCH__DENSE_TRANSLATION=false", "X=a=b", "EMPTY="]) == {
        "MEDSEARCH_SEARCH__DENSE_TRANSLATION": "false", "X": "a=b", "EMPTY": ""}
    assert parse_env([]) == {}
    with pytest.raises(ValueError):
        parse_env(["MEDSEARCH_SEARCH__DENSE_TRANSLATION"])
    with pytest.raises(ValueError):
        parse_env(["=false"])


def test_extra_env_reaches_only_its_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDSEARCH_SEARCH__DENSE_TRANSLATION", raising=False)
    index_dir = tmp_path / "index"
    tree_a, tree_b = _fake_tree(tmp_path, "tree_a"), _fake_tree(tmp_path, "tree_b")
    work = tmp_path / "work"
    with server(tree_a, index_dir, work, "a") as url_a, \
            server(tree_b, index_dir, work, "b", extra_env={"MEDSEARCH_SEARCH__DENSE_TRANSLATION": "false"}) as url_b:
        seen = [httpx.get(f"{url}/stats", timeout=30).json() for url in (url_a, url_b)]
    assert seen == [
        {"tree": "tree_a", "flag": None, "index": str(index_dir.resolve())},
        {"tree": "tree_b", "flag": "false", "index": str(index_dir.resolve())},
    ]


def test_seed_one_sends_bench_latency_queries() -> None:
    """``--seed 1``: the first mode's requests are the very queries ``bench.latency`` sends in its first
    single-client row (same pool, same 10 warm-up queries), so the two commands' p50s compare."""
    from bench.synthetic import queries

    requests, modes = 100, 2
    latency_pool = queries(2 * requests * modes + 2 * 10)  # bench.latency.run's pool (seed 1)
    ab_pool = queries(requests * modes + 20, seed=1)  # bench.ab_latency.run's pool with --seed 1
    assert ab_pool[10 : 10 + requests] == latency_pool[10 : 10 + requests]
    assert queries(requests * modes + 20, seed=11)[10 : 10 + requests] != latency_pool[10 : 10 + requests]
