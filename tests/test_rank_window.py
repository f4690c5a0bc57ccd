"""Paging through /search reads one ranking: every page is cut from the fused ranking of one rank window
(``search.rank_window``), not from a ranking as deep as the page (the legs were searched
``max(candidates, 4 x (offset + limit))`` passages deep, so from page 3 on each page came from another RRF
fusion: demo index, « épanchement pleural », 12 pages of 10: 3 documents shown twice, 3 of 87 never)."""

from __future__ import annotations

from pathlib import Path

import pytest

from search_api.models import SearchRequest
from tests.engine_support import engine_over_reports

#: 200 short reports, 150 of them about an effusion (worded differently: BM25 and the hash vectors order them
#: differently), the others not: the lexical leg matches 150 documents, the dense leg ranks all 200
_FINDINGS = ["small", "moderate", "large", "left", "right", "bilateral", "loculated", "layering"]
_OTHER = ["heart", "mediastinum", "lungs", "spine", "aorta", "diaphragm"]
REPORTS = {
    **{f"M{i:02d}": f"{' '.join(_FINDINGS[j % 8] for j in range(i % 5 + 1))} pleural effusion {'effusion ' * (i % 3)}"
                    f"{_OTHER[i % 6]} {_FINDINGS[(i * 7) % 8]} seen on image {i}." for i in range(150)},
    **{f"N{i:02d}": f"The {_OTHER[i % 6]} is normal, {_OTHER[(i + 1) % 6]} unremarkable, image {i}." for i in range(50)},
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    # a small window: page 3 of 10 (offset + limit = 30) already went past it (30 x 4 > 12 passages)
    return engine_over_reports(tmp_path_factory.mktemp("window"), REPORTS, search={"rank_window": 12})


def _pages(engine, mode: str, query: str, limit: int = 10) -> list[list[str]]:  # noqa: ANN001
    """The pages a physician reads, as the portal offers them: up to max(total, ranked) results."""
    out: list[list[str]] = []
    available = 1
    while len(out) * limit < available:
        response = engine.search(SearchRequest(q=query, mode=mode, offset=len(out) * limit, limit=limit))
        out.append([r.id for r in response.results])
        available = max(available, response.total, response.ranked)
    return out


@pytest.mark.parametrize("mode", ["hybrid", "lexical", "dense"])
def test_pages_of_ten_read_one_ranking(engine, mode: str) -> None:  # noqa: ANN001
    query = "pleural effusion"
    pages = _pages(engine, mode, query)
    shown = [doc_id for page in pages for doc_id in page]
    assert len(shown) == len(set(shown)), [d for d in set(shown) if shown.count(d) > 1]  # no document on two pages
    if mode != "dense":
        matching = {f"report:{d}.txt" for d in REPORTS if d.startswith("M")}
        assert matching <= set(shown), sorted(matching - set(shown))  # every matching document on some page
    # in the order of one ranking: the pages end to end are the one page of 100 (the most a page holds)
    whole = [r.id for r in engine.search(SearchRequest(q=query, mode=mode, limit=100)).results]
    assert shown[:100] == whole


def test_every_page_searches_the_window_first(engine, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """Pages within the window's fused ranking search each leg at the window's depth, whatever the page."""
    depths: list[int] = []
    search = engine.backend.lexical_search_counted

    def spy(text, depth, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        depths.append(depth)
        return search(text, depth, *args, **kwargs)

    monkeypatch.setattr(engine.backend, "lexical_search_counted", spy)
    ranked = engine.search(SearchRequest(q="pleural effusion", mode="hybrid", limit=1)).ranked
    for offset in range(ranked):
        depths.clear()
        response = engine.search(SearchRequest(q="pleural effusion", mode="hybrid", offset=offset, limit=1))
        assert depths == [12] and response.ranked == ranked, (offset, depths)


def test_rank_window_reads_its_former_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """``search.candidates`` (the leg depth's former name) set in a deployment still sets the window."""
    from indexer.settings import SearchSettings, Settings

    assert Settings().search.rank_window == 100 and SearchSettings(candidates=40).rank_window == 40
    monkeypatch.setenv("MEDSEARCH_SEARCH__CANDIDATES", "50")
    assert Settings().search.rank_window == 50
    monkeypatch.setenv("MEDSEARCH_SEARCH__RANK_WINDOW", "60")
    assert Settings().search.rank_window == 60


@pytest.mark.parametrize("kept_ranking", [True, False], ids=["ranking-kept", "no-ranking-kept"])
@pytest.mark.parametrize("mode", ["hybrid", "lexical"])
def test_deeper_tiers_rank_without_counting_again(engine, mode: str, kept_ranking: bool, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """A page past the window does not count again: the exact totals are the window's one counted search's.
    The deeper tiers' lexical heads are cut from that search's ranking of every match when the backend kept
    it (the embedded one: no search at all), else asked of a pruned top-k search (a backend that did not,
    as Elasticsearch). Why: each deeper tier ran a counted full-depth search again (~2× the head alone,
    #14 item 3) and its counts were dropped. The page is the same either way."""
    from dataclasses import replace

    query = "pleural effusion"
    first = engine.search(SearchRequest(q=query, mode=mode, limit=10))
    whole = [r.id for r in engine.search(SearchRequest(q=query, mode=mode, limit=100)).results]
    counted: list[int] = []
    heads: list[int] = []
    search_counted, search = engine.backend.lexical_search_counted, engine.backend.lexical_search

    def counted_spy(text, depth, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        counted.append(depth)
        matches = search_counted(text, depth, *args, **kwargs)
        return matches if kept_ranking else replace(matches, deeper=None)

    def head_spy(text, depth, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        heads.append(depth)
        return search(text, depth, *args, **kwargs)

    monkeypatch.setattr(engine.backend, "lexical_search_counted", counted_spy)
    monkeypatch.setattr(engine.backend, "lexical_search", head_spy)
    deep = engine.search(SearchRequest(q=query, mode=mode, offset=60, limit=10))
    assert counted == [12], counted
    assert heads == [] if kept_ranking else (heads and all(depth > 12 for depth in heads)), heads
    assert (deep.total, deep.total_patients, deep.total_affirmed) == (first.total, first.total_patients, first.total_affirmed)
    assert first.total == 150 and len(deep.results) == 10
    # the same page as the one ranking cut end to end (test_pages_of_ten_read_one_ranking's reference)
    assert [r.id for r in deep.results] == whole[60:70]
