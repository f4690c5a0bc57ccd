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
