"""The demo corpus generator: reproducible, internally consistent, and readable by standard libraries."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from indexer.demo.generate import generate_corpus

FR_KEYS = ["Établissement", "Service", "IPP", "Date", "N° d'examen", "Type", "Titre"]
EN_KEYS = ["Institution", "Department", "Patient ID", "Date", "Accession", "Type", "Title"]
ARTICLE_KEYS = {"id", "title", "authors", "journal", "year", "language", "abstract", "keywords", "figures"}
STATUSES = {"affirmed", "negated", "hypothetical", "family"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("demo")
    return out, generate_corpus(out, seed=7, n_patients=10)


@pytest.fixture(scope="module")
def truth(corpus: tuple[Path, dict[str, int]]) -> dict[str, dict]:
    return json.loads((corpus[0] / "ground_truth.json").read_text(encoding="utf-8"))


def _report_text(path: Path) -> str:
    if path.suffix == ".pdf":
        from pypdf import PdfReader

        return "\n".join(page.extract_text() for page in PdfReader(path).pages)
    return path.read_text(encoding="utf-8")


def _header(text: str) -> list[tuple[str, str]]:
    """The ``Key : value`` lines before the first blank line."""
    rows = []
    for line in text.splitlines():
        if not line.strip():
            break
        key, sep, value = line.partition(" : ")
        assert sep, f"header line without ' : ': {line!r}"
        rows.append((key, value))
    return rows


@pytest.fixture(scope="module")
def headers(corpus: tuple[Path, dict[str, int]]) -> dict[str, dict[str, str]]:
    out = corpus[0]
    return {p.stem: dict(_header(_report_text(p))) for p in sorted((out / "reports").iterdir())}


def test_counts_match_files_of_each_kind(corpus: tuple[Path, dict[str, int]]) -> None:
    out, counts = corpus
    assert set(counts) == {"reports", "records", "images", "articles", "figures"}
    assert counts["records"] == 10
    assert all(n > 0 for n in counts.values()), counts
    assert len(list((out / "reports").iterdir())) == counts["reports"]
    assert len(list((out / "records").glob("P*.json"))) == 10
    assert len(list((out / "images").glob("IMG-*.dcm"))) == counts["images"]
    assert len(list((out / "articles").iterdir())) == counts["articles"]
    assert len(list((out / "figures").iterdir())) == counts["figures"]
    suffixes = {p.suffix for p in (out / "reports").iterdir()}
    assert suffixes == {".txt", ".md", ".pdf"}
    assert {p.suffix for p in (out / "articles").iterdir()} == {".json", ".xml"}


def test_same_seed_gives_identical_files_and_another_seed_differs(
    corpus: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    out = corpus[0]
    again = tmp_path / "again"
    generate_corpus(again, seed=7, n_patients=10)
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    second = {p.relative_to(again): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert first.keys() == second.keys()
    different = [str(k) for k in first if first[k] != second[k]]
    assert different == []
    other = tmp_path / "other"
    generate_corpus(other, seed=8, n_patients=10)
    texts = lambda d: {p.name: p.read_text(encoding="utf-8") for p in (d / "reports").glob("*.txt")}  # noqa: E731
    assert texts(other) != texts(out)


def test_report_headers_use_the_exact_keys_and_point_to_a_record(
    corpus: tuple[Path, dict[str, int]], headers: dict[str, dict[str, str]], truth: dict[str, dict]
) -> None:
    out = corpus[0]
    for doc_id, header in headers.items():
        keys = list(header)
        french = keys[0] == "Établissement"
        expected = [k for k in (FR_KEYS if french else EN_KEYS) if k in keys or k not in ("N° d'examen", "Accession")]
        assert keys == expected, (doc_id, keys)
        patient = header["IPP" if french else "Patient ID"]
        assert re.fullmatch(r"P\d{6}", patient)
        assert (out / "records" / f"{patient}.json").exists(), doc_id
        assert re.fullmatch(r"\d{2}/\d{2}/\d{4}" if french else r"\d{4}-\d{2}-\d{2}", header["Date"])
        radiology = truth[doc_id]["subtype"] == "radiology"
        accession = header.get("N° d'examen" if french else "Accession")
        assert (accession is not None) == radiology, doc_id
        if accession:
            assert re.fullmatch(r"ACC\d{7}", accession)
        assert truth[doc_id]["language"] == ("fr" if french else "en")


def test_report_bodies_have_headed_sections_with_negations(corpus: tuple[Path, dict[str, int]]) -> None:
    out = corpus[0]
    negations = 0
    for path in (out / "reports").iterdir():
        text = _report_text(path)
        body = text.split("\n\n", 1)[1] if path.suffix != ".pdf" else text
        headings = [line for line in body.splitlines() if re.fullmatch(r"(## )?[^:]{2,60}:", line.strip())]
        assert len(headings) >= 3, path.name
        negations += len(re.findall(r"\b(Pas d|Absence d|No |There is no)", body))
    assert negations > 10


def test_fhir_bundles_validate_as_r4(corpus: tuple[Path, dict[str, int]]) -> None:
    from fhir.resources.R4B.bundle import Bundle

    for path in (corpus[0] / "records").glob("*.json"):
        raw = path.read_text(encoding="utf-8")
        bundle = Bundle.model_validate_json(raw)
        assert bundle.type == "collection"
        resources = [entry.resource for entry in bundle.entry]
        kinds = {r.get_resource_type() for r in resources}
        assert {"Patient", "Encounter", "Condition", "Observation"} <= kinds
        patient = next(r for r in resources if r.get_resource_type() == "Patient")
        assert patient.id == path.stem
        assert patient.identifier[0].system == "urn:oid:1.2.250.1.71.4.2.7" and patient.identifier[0].value == path.stem
        for resource in resources:
            if resource.get_resource_type() != "Patient":
                assert resource.subject.reference == f"Patient/{path.stem}"
        for condition in (r for r in resources if r.get_resource_type() == "Condition"):
            assert condition.code.coding[0].system == "http://hl7.org/fhir/sid/icd-10" and condition.code.text
        for observation in (r for r in resources if r.get_resource_type() == "Observation"):
            assert observation.code.coding[0].system == "http://loinc.org"
            assert observation.valueQuantity.value is not None


def test_dicom_images_are_real_and_linked_to_their_report(
    corpus: tuple[Path, dict[str, int]], headers: dict[str, dict[str, str]]
) -> None:
    import pydicom

    by_accession = {h.get("N° d'examen") or h.get("Accession"): h for h in headers.values()}
    for path in sorted((corpus[0] / "images").glob("*.dcm")):
        ds = pydicom.dcmread(path)
        assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
        pixels = ds.pixel_array
        assert pixels.shape in {(128, 128), (256, 256)}
        assert pixels.std() > 5 and len(set(pixels.ravel().tolist())) > 50  # drawn anatomy, not a flat image
        report = by_accession.get(ds.AccessionNumber)
        assert report is not None, f"{path.name}: accession {ds.AccessionNumber} not in any report"
        assert ds.PatientID == report.get("IPP", report.get("Patient ID"))
        day = report["Date"]
        assert ds.StudyDate == (day[6:] + day[3:5] + day[:2] if "/" in day else day.replace("-", ""))
        assert ds.StudyInstanceUID.startswith("1.2.826.0.1.3680043.8.498.")
        assert ds.Modality in {"CT", "MR", "CR", "DX", "US"} and ds.BodyPartExamined and ds.StudyDescription
        if ds.Modality == "CT":
            assert ds.RescaleIntercept == -1024 and ds.BitsAllocated == 16
        if ds.Modality == "US":
            assert ds.BitsAllocated == 8


def test_articles_have_the_required_shape(corpus: tuple[Path, dict[str, int]]) -> None:
    out = corpus[0]
    languages = set()
    for path in (out / "articles").glob("*.json"):
        article = json.loads(path.read_text(encoding="utf-8"))
        assert set(article) == ARTICLE_KEYS
        assert article["id"] == path.stem and article["authors"] and article["keywords"] and article["abstract"]
        languages.add(article["language"])
        for figure in article["figures"]:
            assert (out / figure["file"]).exists() and figure["caption"]
    assert languages == {"en", "fr"}
    for path in (out / "articles").glob("*.xml"):
        citation = ET.parse(path).getroot().find("PubmedArticle/MedlineCitation")
        assert citation is not None and path.stem == f"PMID-{citation.findtext('PMID')}"
        assert citation.findtext("Article/ArticleTitle") and citation.findall("Article/Abstract/AbstractText")
        assert citation.findtext("Article/Language") in {"eng", "fre"}
        assert citation.findall("MeshHeadingList/MeshHeading/DescriptorName")


def test_ground_truth_covers_every_document_consistently(
    corpus: tuple[Path, dict[str, int]], truth: dict[str, dict]
) -> None:
    out = corpus[0]
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != "ground_truth.json"}
    assert {entry["file"] for entry in truth.values()} == files
    seen_status = set()
    for doc_id, entry in truth.items():
        assert Path(entry["file"]).stem == doc_id
        assert set(entry["findings"]) == STATUSES
        per_concept: dict[str, set[str]] = {}
        for item in entry["concepts"]:
            assert item["status"] in STATUSES
            per_concept.setdefault(item["concept"], set()).add(item["status"])
            seen_status.add(item["status"])
        for concept, statuses in per_concept.items():
            assert not {"affirmed", "negated"} <= statuses, (doc_id, concept)
        if entry["kind"] == "image":
            assert doc_id in truth[entry["report_id"]]["image_ids"]
    assert {"affirmed", "negated"} <= seen_status


def test_coronary_letters_name_the_infarction_type_and_change_nothing_else(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """The NSTEMI / STEMI letters (indexer/demo/coronary.py) are written last, from their own random stream,
    for patients whose record has the infarction: every other file is the same without them."""
    import indexer.demo.generate as generate

    with_letters, without = tmp_path / "with", tmp_path / "without"
    monkeypatch.setattr(generate, "write_central_line_radiographs", lambda *args: 0)  # written after them
    counts = generate_corpus(with_letters, seed=42, n_patients=60)
    monkeypatch.setattr(generate, "write_coronary_letters", lambda *args: 0)
    generate_corpus(without, seed=42, n_patients=60)
    files = lambda d: {p.relative_to(d).as_posix(): p.read_bytes() for p in d.rglob("*") if p.is_file()}  # noqa: E731
    a, b = files(with_letters), files(without)
    added = sorted(set(a) - set(b))
    assert len(added) == 16 and set(b) <= set(a)
    assert [k for k in b if a[k] != b[k]] == ["ground_truth.json"]
    assert counts["reports"] == len(list((with_letters / "reports").iterdir()))
    truth = json.loads(a["ground_truth.json"])
    kinds = {truth[Path(f).stem]["concepts"][1]["concept"] for f in added}
    assert kinds == {"nstemi", "stemi"}
    for name in added:
        entry, text = truth[Path(name).stem], a[name].decode("utf-8")
        record = truth[entry["patient_id"]]
        assert {"concept": "myocardial_infarction", "name": "infarctus du myocarde", "status": "affirmed"} in record["concepts"]
        nstemi = entry["concepts"][1]["concept"] == "nstemi"
        assert any(form in text for form in (["ST-", "ST\u2212", "sans sus-décalage", "NSTEMI", "Non-ST"] if nstemi
                                             else ["ST+", "avec sus-décalage", "STEMI"]))
        signed_minus = re.search(r"\bST[-\u2212](?!\w)", text)  # « ST- », not "ST-elevation"
        assert ("ST+" not in text) if nstemi else (not signed_minus and "sans sus-décalage" not in text)


def test_central_line_radiographs_affirm_a_few_pneumothoraces_and_change_nothing_else(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """The chest X-rays after a central line (indexer/demo/central_lines.py) are written last, from their own
    random stream: every other file is the same without them. A few affirm a pneumothorax (for patients
    whose record has one), most rule it out, in both languages, with the French forms of the line."""
    import indexer.demo.generate as generate
    from indexer.demo.central_lines import PLAN

    with_lines, without = tmp_path / "with", tmp_path / "without"
    counts = generate_corpus(with_lines, seed=42, n_patients=60)
    monkeypatch.setattr(generate, "write_central_line_radiographs", lambda *args: 0)
    generate_corpus(without, seed=42, n_patients=60)
    files = lambda d: {p.relative_to(d).as_posix(): p.read_bytes() for p in d.rglob("*") if p.is_file()}  # noqa: E731
    a, b = files(with_lines), files(without)
    added = sorted(set(a) - set(b))
    assert len(added) == len(PLAN) == 20 and set(b) <= set(a)
    assert [k for k in b if a[k] != b[k]] == ["ground_truth.json"]
    assert counts["reports"] == len(list((with_lines / "reports").iterdir()))
    truth = json.loads(a["ground_truth.json"])
    statuses = {"affirmed": {"fr": 0, "en": 0}, "negated": {"fr": 0, "en": 0}}
    accessions = set()
    for name in added:
        entry, text = truth[Path(name).stem], a[name].decode("utf-8")
        status = {c["concept"]: c["status"] for c in entry["concepts"]}
        assert status["central_venous_catheter"] == "affirmed"
        statuses[status["pneumothorax"]][entry["language"]] += 1
        negated = re.search(r"(?i)\b(pas de|absence de|no) pneumothorax", text) is not None
        assert negated == (status["pneumothorax"] == "negated"), text
        if status["pneumothorax"] == "affirmed":
            record = truth[entry["patient_id"]]
            assert {"concept": "pneumothorax", "name": "pneumothorax", "status": "affirmed"} in record["concepts"]
        accessions.add(entry["accession"])
        assert entry["accession"] in text
    assert statuses == {"affirmed": {"fr": 4, "en": 2}, "negated": {"fr": 10, "en": 4}}
    assert len(accessions) == 20 and not accessions & {e.get("accession") for k, e in truth.items() if k not in {Path(n).stem for n in added}}
    french = "".join(a[n].decode("utf-8") for n in added if truth[Path(n).stem]["language"] == "fr")
    for form in ("VVC", "KTC", "voie centrale", "voie veineuse centrale", "cathéter veineux central", "KT central", "chambre implantable"):
        assert form in french, form
