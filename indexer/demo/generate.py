"""Reproducible demo corpus for medsearch: a fictional French university hospital's data.

Usage::

    python -m indexer.demo.generate data/demo --seed 42 [--patients 200]

or :func:`generate_corpus` from Python. The same seed gives byte-identical files (no wall-clock
time, no random UUIDs: DICOM UIDs are hashed from the seed, PDF dates are pinned). Everything is
invented: patients, physicians, the « Hôpital Universitaire de Démonstration », journals and PMIDs.

Output layout (``OUT_DIR``)::

    reports/RPT-00001.txt|.md|.pdf   radiology reports, operative reports, discharge letters (~80 % fr, ~20 % en);
                                     then 16 coronary-care letters naming NSTEMI / STEMI (coronary.py),
                                     the last 20: chest X-rays after a central line (central_lines.py)
    records/P000001.json             one FHIR R4 Bundle (type "collection") per patient
    articles/ART-0001.json           article abstracts (JSON export); PMID-900xxxxx.xml: PubMed XML
    images/IMG-00001.dcm             DICOM (CT, MR, CR/DX, US) linked to reports by AccessionNumber
    figures/ART-0007-fig1.png|.jpg   article figures, referenced by the article JSON ``figures``
    ground_truth.json                expected findings per document (see below)

Report files: ``Key : value`` header lines, one blank line, then the body. French keys, in order:
``Établissement``, ``Service``, ``IPP``, ``Date`` (dd/mm/yyyy), ``N° d'examen`` (radiology only,
``ACC0000123``), ``Type``, ``Titre``. English: ``Institution``, ``Department``, ``Patient ID``, ``Date``
(YYYY-MM-DD), ``Accession`` (radiology only), ``Type``, ``Title``. Section headings stand alone on
their line and end with `` :`` (French) or ``:`` (English), e.g. ``CONCLUSION :`` or ``Impression:``;
in ``.md`` files they are prefixed with ``## ``. A DICOM file's AccessionNumber, PatientID and
StudyDate equal the ``N° d'examen``/``Accession``, ``IPP`` and ``Date`` of its radiology report.

``ground_truth.json`` maps every document id to::

    {"kind": "report" | "record" | "article" | "image" | "figure",
     "subtype": "radiology" | "operative" | "letter" | "json" | "xml" | <DICOM modality> | "chart" | "image",
     "patient_id": "P000123" | null, "language": "fr" | "en", "date": "YYYY-MM-DD" | null,
     "file": "reports/RPT-00042.txt",
     "findings": {"affirmed": [...], "negated": [...], "hypothetical": [...], "family": [...]},
     "concepts": [{"concept": "pleural_effusion", "name": "épanchement pleural", "status": "negated"}, ...],
     ...links: "accession", "image_ids", "report_id", "article_id", "figure_ids", "caption"}

Finding names are the canonical French names (``vocabulary.CONCEPTS[id].fr``) and ``concept`` is the
stable English id. Status semantics: a report's status is its final word on the concept (an indication
« suspicion d'EP » concluded « pas d'EP » is *negated*; a suspicion never resolved is *hypothetical*);
*family* means a relative has it. Records list the patient's conditions as affirmed plus what their
DiagnosticReport conclusions negate or suspect. Images list the exam's findings: affirmed ones are
drawn in the pixels, hypothetical ones drawn faintly, negated ones absent. Articles list their topic
concept as affirmed (the article is *about* it). Figures of kind "image" list the depicted concept.
Ground-truth keys are demo names, the file stems: reports ``RPT-00042``, records the IPP, JSON
articles their ``id`` (``ART-0007``), XML articles ``PMID-<pmid>``, images ``IMG-00012``, figures
``ART-0007-fig1``. The index gives documents their sources' own identifiers instead
(``report:ACC0000123`` or ``report:reports/RPT-00042.txt``, ``record:P000001``, ``article:ART-0007``,
``image:<SeriesInstanceUID>`` for a whole exam's series...: ``indexer/sources/identity.py``);
``eval.run_clinical.source_aliases`` maps demo names to index ids through each document's files.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from indexer.demo import vocabulary as V
from indexer.demo.central_lines import MIN_PATIENTS as CENTRAL_LINES_MIN_PATIENTS, write_central_line_radiographs
from indexer.demo.coronary import write_coronary_letters
from indexer.demo.articles import (
    Article,
    figure_caption,
    figure_path,
    figure_stem,
    plan_articles,
    write_article,
    write_figure,
)
from indexer.demo.images import select_imaged_exams, write_exam_images
from indexer.demo.model import AFFIRMED, Cohort, Exam, ReportDoc, plan_cohort
from indexer.demo.records import patient_bundle
from indexer.demo.reports import render_report
from indexer.demo.text import Mentions
from indexer.demo.writers import write_report

SUBDIRS = ("reports", "records", "articles", "images", "figures")
# Only files matching these names are removed before regenerating (never anything else in OUT_DIR).
_GENERATED = {
    "reports": ("RPT-*.txt", "RPT-*.md", "RPT-*.pdf"),
    "records": ("P*.json",),
    "articles": ("ART-*.json", "PMID-*.xml"),
    "images": ("IMG-*.dcm",),
    "figures": ("ART-*-fig*.png", "ART-*-fig*.jpg"),
}


def _prepare(out_dir: Path) -> None:
    """Create the layout and delete files of a previous run, so a smaller rerun leaves no stale files."""
    for sub in SUBDIRS:
        folder = out_dir / sub
        folder.mkdir(parents=True, exist_ok=True)
        for pattern in _GENERATED[sub]:
            for path in folder.glob(pattern):
                path.unlink()


def _entry(
    kind: str,
    subtype: str,
    patient_id: str | None,
    language: str,
    date: str | None,
    file: str,
    mentions: Mentions,
    **links: Any,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "subtype": subtype,
        "patient_id": patient_id,
        "language": language,
        "date": date,
        "file": file,
        **mentions.ground_truth(),
        **links,
    }


def _report_links(doc: ReportDoc) -> dict[str, Any]:
    if doc.kind == "radiology":
        exam: Exam = doc.subject  # type: ignore[assignment]
        return {"accession": exam.accession, "exam": exam.code, "image_ids": exam.image_ids}
    return {}


def write_reports(cohort: Cohort, out_dir: Path, seed: int, truth: dict[str, Any]) -> int:
    for doc in cohort.reports:
        rendered = render_report(doc, seed)
        path = out_dir / "reports" / f"{doc.id}.{doc.fmt}"
        write_report(rendered, path)
        truth[doc.id] = _entry(
            "report",
            doc.kind,
            doc.patient.ipp,
            doc.language,
            doc.day.isoformat(),
            path.relative_to(out_dir).as_posix(),
            rendered.mentions,
            **_report_links(doc),
        )
    return len(cohort.reports)


def write_records(cohort: Cohort, out_dir: Path, seed: int, truth: dict[str, Any]) -> int:
    for patient in cohort.patients:
        bundle, mentions = patient_bundle(patient, seed)
        path = out_dir / "records" / f"{patient.ipp}.json"
        path.write_text(json.dumps(bundle, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        truth[patient.ipp] = _entry(
            "record", "fhir-bundle", patient.ipp, "fr", None, path.relative_to(out_dir).as_posix(), mentions
        )
    return len(cohort.patients)


def write_images(cohort: Cohort, out_dir: Path, seed: int, truth: dict[str, Any]) -> int:
    number = 1
    for exam, slices in select_imaged_exams(cohort, seed):
        ids = write_exam_images(exam, slices, out_dir / "images", number, seed)
        number += len(ids)
        mentions = Mentions()
        for finding in exam.findings:
            mentions.add(finding.concept, finding.status)
        for image_id in ids:
            truth[image_id] = _entry(
                "image",
                exam.type.modality,
                exam.patient.ipp,
                "fr",
                exam.when.date().isoformat(),
                f"images/{image_id}.dcm",
                mentions,
                accession=exam.accession,
                report_id=exam.report_id,
                exam=exam.code,
            )
        truth[exam.report_id]["image_ids"] = ids
    return number - 1


def _article_truth(article: Article, path: Path, out_dir: Path, figure_ids: list[str]) -> dict[str, Any]:
    mentions = Mentions()
    mentions.add(article.concept, AFFIRMED)
    return _entry(
        "article",
        article.fmt,
        None,
        article.language,
        f"{article.year}-01-01",
        path.relative_to(out_dir).as_posix(),
        mentions,
        title=article.title,
        figure_ids=figure_ids,
    )


def write_articles(out_dir: Path, seed: int, n_patients: int, truth: dict[str, Any]) -> tuple[int, int]:
    n_articles = max(12, round(n_patients * 0.6))
    articles = plan_articles(
        seed, n_articles, n_xml=max(1, round(n_articles / 8)), n_figures=max(2, round(n_articles / 6))
    )
    n_figures = 0
    for article in articles:
        path = write_article(article, out_dir / "articles")
        figure_ids = []
        if article.figure is not None:
            stem = write_figure(article, out_dir, seed)
            depicted = Mentions()
            if article.figure["kind"] == "image":
                depicted.add(article.concept, AFFIRMED)
            truth[stem] = _entry(
                "figure",
                article.figure["kind"],
                None,
                article.language,
                None,
                figure_path(article),
                depicted,
                article_id=article.id,
                caption=figure_caption(article),
            )
            figure_ids.append(figure_stem(article))
            n_figures += 1
        truth[article.id] = _article_truth(article, path, out_dir, figure_ids)
    return len(articles), n_figures


def generate_corpus(out_dir: Path, seed: int = 42, n_patients: int = 200) -> dict[str, int]:
    """Write the whole demo corpus into ``out_dir`` and return the number of files per kind."""
    out_dir = Path(out_dir)
    _prepare(out_dir)
    cohort = plan_cohort(seed, n_patients)
    truth: dict[str, Any] = {}
    counts = {
        "reports": write_reports(cohort, out_dir, seed, truth),
        "records": write_records(cohort, out_dir, seed, truth),
        "images": write_images(cohort, out_dir, seed, truth),
    }
    counts["articles"], counts["figures"] = write_articles(out_dir, seed, n_patients, truth)
    # last, from their own random stream: the files above are the same with or without these letters
    last_report = max((int(k.removeprefix("RPT-")) for k in truth if k.startswith("RPT-")), default=0)
    counts["reports"] += write_coronary_letters(out_dir, seed, truth, last_report + 1)
    last_report = max((int(k.removeprefix("RPT-")) for k in truth if k.startswith("RPT-")), default=0)
    if n_patients >= CENTRAL_LINES_MIN_PATIENTS:
        counts["reports"] += write_central_line_radiographs(out_dir, seed, truth, last_report + 1)
    ordered = {key: truth[key] for key in sorted(truth)}
    (out_dir / "ground_truth.json").write_text(
        json.dumps(ordered, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return counts


app = typer.Typer(add_completion=False, help="Generate the fictional demo corpus (reports, FHIR, articles, DICOM).")


@app.command()
def main(
    out_dir: Annotated[Path, typer.Argument(help="Output folder (created if missing).")] = Path("data/demo"),
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes.")] = 42,
    patients: Annotated[int, typer.Option("--patients", min=1, help="Number of fictional patients.")] = 200,
) -> None:
    """Generate the corpus and print how many files of each kind were written."""
    start = time.perf_counter()
    counts = generate_corpus(out_dir, seed=seed, n_patients=patients)
    summary = ", ".join(f"{kind}: {count}" for kind, count in counts.items())
    typer.echo(f"Demo corpus written to {out_dir} in {time.perf_counter() - start:.1f} s ({summary}).")
    typer.echo(f"Hospital: {V.HOSPITAL} (fictional). Ground truth: {out_dir / 'ground_truth.json'}")


if __name__ == "__main__":
    app()
