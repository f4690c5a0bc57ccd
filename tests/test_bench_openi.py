"""The Open-i XML reader and the query/relevance rules, on a tiny inline report (no package needed)."""

from __future__ import annotations

from pathlib import Path

from eval.openi import QUERIES, OpenIQuery, OpenIReport, build_qrels, parse_report_xml, write_corpus

SAMPLE = """<?xml version="1.0" encoding="utf-8"?>
<eCitation>
   <uId id="CXR42"/>
   <MedlineCitation><Article><Abstract>
      <AbstractText Label="COMPARISON">None.</AbstractText>
      <AbstractText Label="INDICATION">Shortness of   breath</AbstractText>
      <AbstractText Label="FINDINGS">Heart size is enlarged. Small left pleural effusion.</AbstractText>
      <AbstractText Label="IMPRESSION">Cardiomegaly with effusion.</AbstractText>
   </Abstract></Article></MedlineCitation>
   <MeSH>
      <major>Cardiomegaly/mild</major>
      <major>Pleural Effusion/left/small</major>
      <automatic>sternotomy</automatic>
   </MeSH>
</eCitation>"""


def test_parse_report_xml() -> None:
    report = parse_report_xml(SAMPLE)
    assert report.id == "CXR42"
    assert report.sections["INDICATION"] == "Shortness of breath"
    assert report.mesh_major == ("Cardiomegaly/mild", "Pleural Effusion/left/small")
    text = report.text()
    assert "Findings:\nHeart size is enlarged." in text and "Comparison" not in text
    assert "Cardiomegaly/mild" not in text  # labels stay hidden from the index


def test_query_matching_and_qrels(tmp_path: Path) -> None:
    aorta = OpenIQuery("tortuous-aorta", "tortuous aorta", "aorte déroulée", ("aorta", "aorta, thoracic"), "tortuous")
    assert aorta.matches("Aorta, Thoracic/tortuous/mild") and not aorta.matches("Aorta/ectatic")
    reports = [parse_report_xml(SAMPLE), OpenIReport("CXR7", {"FINDINGS": "Normal."}, ("normal",))]
    qrels = build_qrels(reports, QUERIES, min_relevant=1)
    assert qrels["cardiomegaly"] == {"CXR42"} and qrels["pleural-effusion"] == {"CXR42"}
    assert "opacity" not in qrels  # no labelled report: dropped
    assert all(q.fr and q.en for q in QUERIES) and len({q.id for q in QUERIES}) == len(QUERIES)
    assert write_corpus(reports, tmp_path) == 2
    assert (tmp_path / "CXR7.txt").read_text().startswith("Exam: Chest radiograph\n\nFindings:\nNormal.")


def test_query_sets_are_disjoint_and_keep_their_thresholds() -> None:
    """The three French-lever sets (eval52, holdout, holdout2): distinct ids, no finding (heading + qualifier)
    in two sets, each set's own minimum of labelled reports, and pooled they are the 91 queries."""
    from eval.openi import HOLDOUT2_MIN_RELEVANT, HOLDOUT2_QUERIES, HOLDOUT_QUERIES, query_sets

    every = [*QUERIES, *HOLDOUT_QUERIES, *HOLDOUT2_QUERIES]
    assert len({q.id for q in every}) == len(every) == 91
    findings = [{(h, q.qualifier) for h in q.headings} for q in every]
    assert all(not (a & b) for i, a in enumerate(findings) for b in findings[i + 1:])
    assert all(q.fr and q.en for q in HOLDOUT2_QUERIES) and HOLDOUT2_MIN_RELEVANT == 4
    # a finding labelled in 4 reports is kept in holdout2 (≥ 4), not in eval52 (≥ 15)
    device = next(q for q in HOLDOUT2_QUERIES if q.id == "medical-device")
    reports = [OpenIReport(f"R{i}", {"FINDINGS": "x"}, (f"{device.headings[0].title()}/left",)) for i in range(4)]
    sets = query_sets(reports)
    assert list(sets) == ["eval52", "holdout", "holdout2"]
    assert sets["holdout2"][1] == {"medical-device": {"R0", "R1", "R2", "R3"}} and sets["eval52"][1] == {}
    assert sets["holdout2"][0] is HOLDOUT2_QUERIES and sets["holdout"][0] is HOLDOUT_QUERIES


def test_query_sets_on_the_real_reports() -> None:
    """On the Open-i archive (torchxrayvision installed): 52 + 26 + 13 queries keep their qrels."""
    import pytest

    from eval.openi import load_reports, query_sets

    try:
        reports = load_reports()
    except FileNotFoundError as error:
        pytest.skip(str(error))
    sizes = {name: (len(qrels), min(len(docs) for docs in qrels.values())) for name, (_, qrels) in query_sets(reports).items()}
    assert sizes["eval52"][0] == 52 and sizes["holdout"][0] == 26 and sizes["holdout2"][0] == 13
    assert sizes["eval52"][1] >= 15 and sizes["holdout"][1] >= 4 and sizes["holdout2"][1] >= 4


def test_french_levers_pools_every_set() -> None:
    """eval.french_levers' pooled rankings merge every set, for the variants all sets have."""
    from eval.french_levers import pooled_rankings

    one = {"hybrid": {"a": {"en": {"q1": ["d1"]}, "fr": {"q1": ["d2"]}}, "b": {"en": {"q1": []}, "fr": {"q1": []}}}}
    two = {"hybrid": {"a": {"en": {"q2": ["d3"]}, "fr": {"q2": []}}}}
    three = {"hybrid": {"a": {"en": {"q3": []}, "fr": {"q3": ["d4"]}}}}
    pooled = pooled_rankings([one, two, three])
    assert pooled == {"hybrid": {"a": {"en": {"q1": ["d1"], "q2": ["d3"], "q3": []}, "fr": {"q1": ["d2"], "q2": [], "q3": ["d4"]}}}}
