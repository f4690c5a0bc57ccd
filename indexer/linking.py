"""Tie images to the text that describes them, the way Open-i does.

A DICOM image (one document per series) is linked to its radiology report by the first rule that
finds one (:class:`ReportIndex`): the report cites one of the series' instances (SOP Instance UID),
else it belongs to the same study (StudyInstanceUID), else it has the same accession number, else
the same patient and date, this last guess only for an imaging report (:func:`imaging_evidence`: not
the discharge letter of that day); never to a report of another patient. An article figure is linked to its
caption and article. The linked text is appended to the image document so a text query finds the
image, and the links are kept in metadata so a result can show both.

A report takes a modality (:func:`report_modality`): its first linked image's (the DICOM header's), else
the one its exam title names (« IRM cérébrale »: :func:`indexer.modalities.modality_named_in`), so the
modality filter (« IRM » + reports only) finds the MRI reports.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from indexer.backend.filters import normalise_key
from indexer.modalities import folded_words, modality_named_in, names_a_modality
from indexer.schema import Document, DocumentKind, Section

log = logging.getLogger(__name__)

_CONCLUSION_TITLES = ("conclusion", "impression", "synthèse", "synthese")

T = TypeVar("T")


def _conclusion(report: Document) -> str:
    for section in report.sections:
        if section.title.lower().startswith(_CONCLUSION_TITLES):
            return section.text
    return report.sections[-1].text if report.sections else report.text[:500]


#: words (folded: lower case, no accents) that name imaging as a discipline in a report's title or
#: type: « Compte rendu de radiologie », "Radiology report", « CR d'imagerie médicale »; and
#: « coronarographie », the French for "coronary angiography" (an angiography: XA) that the modality
#: table does not list (adding it there would give those reports a modality, a change of indexed content)
_IMAGING_WORDS = ("radiologie", "radiology", "radiologique", "radiological", "neuroradiologie", "neuroradiology",
                  "imagerie", "imaging", "medecine nucleaire", "nuclear medicine", "coronarographie")
#: words (folded) that name a document kind other than an imaging report: a title « Lettre de sortie -
#: Neuroradiologie » names the ward that wrote the letter, not an exam; « Compte rendu de consultation
#: de radiologie » is a consultation; « Demande d'IRM », « Ordonnance : scanner » order the exam
_OTHER_KIND_WORDS = ("lettre", "letter", "courrier", "sortie", "discharge", "hospitalisation", "hospitalization",
                     "sejour", "operatoire", "operative", "consultation", "demande", "request", "ordonnance",
                     "prescription")
#: modality abbreviations LOINC's radiology document names start with ("XR Chest 2 Views", "NM Bones
#: Views", "US.doppler ...", "RF Esophagus"), upper case, as the first word only (« Courrier au MG » is
#: to the general practitioner); CT and MR are read anywhere by indexer.modalities
_LOINC_MODALITY_WORDS = frozenset({"XR", "US", "NM", "MG", "RF", "MRA", "CTA", "SPECT", "DXA"})
#: codes that type a document or a DiagnosticReport as imaging, by code system (matched as a suffix of
#: the system URL): LOINC's generic imaging document types (18748-4 « Diagnostic imaging study », the
#: DMP's « CR d'imagerie médicale »; the radiology note and study types) and its « Radiology » part (US
#: Core's DiagnosticReport category); HL7 v2 table 0074's imaging service sections (RAD, CT, NMR, ...);
#: the « imaging » category. A specific LOINC radiology code (24627-2 "CT Chest") names its modality in
#: its display, which is the title when the resource has no text.
_IMAGING_CODES: dict[str, frozenset[str]] = {
    "loinc.org": frozenset({"18748-4", "18726-0", "18782-3", "68604-8", "LP29684-5"}),
    "v2-0074": frozenset({"RAD", "RX", "CT", "NMR", "NMS", "RUS", "CUS", "OUS", "VUS", "XRC"}),
    "observation-category": frozenset({"imaging"}),
}


def _names_imaging(text: str | None) -> bool:
    """Whether *text* (a title, a document type, a category) names an imaging modality or imaging itself,
    as whole words (« radiologique » yes, « radiothérapie » no), and no other kind of document
    (:data:`_OTHER_KIND_WORDS`: « Lettre de sortie - Neuroradiologie » is a letter)."""
    if not text:
        return False
    folded = folded_words(text)
    if any(f" {word} " in folded for word in _OTHER_KIND_WORDS):
        return False
    first = re.match(r"\s*([A-Za-z]+)", text)
    return (names_a_modality(text) or any(f" {word} " in folded for word in _IMAGING_WORDS)
            or bool(first and first.group(1) in _LOINC_MODALITY_WORDS))


def _imaging_code(code: str) -> bool:
    """Whether a ``system|code`` string (:func:`indexer.sources.fhir_documents._codes`) is an imaging
    type or category (:data:`_IMAGING_CODES`); a code without system counts when some system lists it."""
    system, _, value = code.rpartition("|")
    system = system.rstrip("/")
    if system in ("", "None"):
        return any(value in codes for codes in _IMAGING_CODES.values())
    return any(system.endswith(suffix) and value in codes for suffix, codes in _IMAGING_CODES.items())


def imaging_evidence(report: Document) -> str | None:
    """What says that *report* reads an imaging exam, or None: only such a report may be linked to an
    image by the weak patient + date rule (:class:`ReportIndex`).

    The rule used to take any report of the patient's day: the discharge letter, the operative report,
    a consultation letter or a lab result written that day became "the report" of the chest X-ray, its
    conclusion copied into the image's searchable text (the image found by the letter's words) and the
    portal showing the letter as the image's report. The evidence, first found:

    * ``dicom-sr``: a DICOM Structured Report is written about an imaging exam;
    * ``uids``: it cites SOP instances or a StudyInstanceUID (DICOM identifiers: only an imaging exam
      has them), even when they find none of the indexed images (regenerated by de-identification);
    * ``accession``: it carries an accession number, the RIS's number of the exam it reads;
    * ``code``: a FHIR type or category coded imaging (:data:`_IMAGING_CODES`);
    * ``title``: its title, its type (the « Type : » header line, a FHIR type's text) or a FHIR category's
      text names a modality (« Radiographie thoracique », « IRM cérébrale », "CT pulmonary angiography",
      « Échographie cardiaque »: :func:`indexer.modalities.names_a_modality`) or imaging itself
      (« Compte rendu de radiologie », « CR d'imagerie médicale », « Médecine nucléaire »), unless that
      same text names another kind of document (« Lettre de sortie - Neuroradiologie »: the ward that
      wrote a letter; « Compte rendu opératoire », « consultation »). A .txt report without a title has
      its file name as title, so ``IRM_cerebrale_0042.txt`` counts.

    Nothing else counts, on purpose: a report with no title, no type, no code and no identifier
    (« RPT-00042.txt », a body of text) is not taken for an imaging report, and no longer links by
    patient and date. A wrong link copies another document's words into an image and shows a letter as
    its report; a missing one leaves the image found by its DICOM header's words, and the report by
    its own. The department is not read either: it says who wrote the document (radiology writes
    consultation letters and interventional procedure reports too), not what it is. The body is not
    read: an operative report has its « Technique » section as a radiology report has.
    """
    meta = report.metadata
    if meta.get("format") == "dicom-sr":
        return "dicom-sr"
    if meta.get("referenced_sop_uids") or meta.get("study_uid"):
        return "uids"
    if meta.get("accession"):
        return "accession"
    if any(_imaging_code(code) for code in (*(meta.get("type_codes") or ()), *(meta.get("category_codes") or ()))):
        return "code"
    if any(_names_imaging(text) for text in (report.title, meta.get("report_type"), *(meta.get("category") or ()))):
        return "title"
    return None


@dataclass(frozen=True)
class LinkKeys:
    """What an image and a report are matched by. *sop_uids*: for an image, the SOP Instance UIDs of
    its series' instances; for a report, those of the images it cites (a DICOM SR's evidence).
    *imaging*: for a report, whether it is an imaging report (:func:`imaging_evidence`), which the
    patient + date rule requires; keys built by hand (an image's, a test's) default to True, so that
    only :meth:`of_report` decides."""

    patient_id: str | None = None
    date: dt.date | None = None
    accession: str | None = None
    study_uid: str | None = None
    sop_uids: frozenset[str] = frozenset()
    imaging: bool = True

    @classmethod
    def of_report(cls, report: Document) -> LinkKeys:
        meta = report.metadata
        return cls(report.patient_id, report.date, meta.get("accession") or None, meta.get("study_uid") or None,
                   frozenset(meta.get("referenced_sop_uids") or ()), imaging=imaging_evidence(report) is not None)

    @classmethod
    def of_image(cls, image: Document) -> LinkKeys:
        meta = image.metadata
        instances = meta.get("series_instances") or [meta.get("sop_uid")]
        return cls(image.patient_id, image.date, meta.get("accession") or None, meta.get("study_uid") or None,
                   frozenset(uid for uid in instances if uid))

    def other_patient(self, other: LinkKeys) -> bool:
        """Both name a patient and not the same one (ids compared as the filters compare them)."""
        return bool(self.patient_id and other.patient_id
                    and normalise_key(self.patient_id) != normalise_key(other.patient_id))


@dataclass
class ReportMatch(Generic[T]):
    report: T | None
    rule: str | None  # "sop", "study", "accession", "patient_date"
    refused: list[tuple[T, str]]  # reports a rule named but of another patient, with that rule


class ReportIndex(Generic[T]):
    """The report each DICOM image links to, by the first rule that finds one:

    1. **sop**: the report cites one of the image's instances by SOP Instance UID (a DICOM SR's
       CurrentRequestedProcedureEvidenceSequence, its IMAGE content items). The report itself says
       these are the images it describes; UIDs are globally unique. Several reports citing the image:
       one of the image's own study first (a later report may cite it as a prior).
    2. **study**: same StudyInstanceUID: globally unique, and the study is the exam a report reads.
    3. **accession**: same accession number: the exam's number in one RIS, unique only there (sites
       and merged RIS reuse them) and often missing from exports, hence after the UIDs.
    4. **patient_date**: same patient, same date: a guess (two exams the same day), for reports
       without identifiers, and only imaging reports (``keys.imaging``, :func:`imaging_evidence`):
       the discharge letter, operative report or lab result of that day is not the image's report,
       however it is the only document of the day. Not from a report whose UIDs find images among
       *images* (one it cites, or one of its study): it has said which exam it describes, and another
       exam of that day is not it. A report whose UIDs find nothing (images not exported, or UIDs
       regenerated by a de-identification tool that kept patient and dates) falls back to this rule as
       a report without UIDs does. The strong rules (1-3) take any document that carries the
       identifiers, whatever its kind: it has named the exam.

    Within a rule the last report added wins, as it did before UIDs were read. In every rule a report of
    another patient is refused (:meth:`LinkKeys.other_patient`), and returned in ``refused``: UIDs
    and accession numbers that point across patients are a filing error (a study merged into the
    wrong patient, a reused accession number), and linking would copy one patient's report into
    another's image. *T* is whatever the caller keeps of a report (a Document, a compact link).
    """

    def __init__(self, images: Iterable[LinkKeys]) -> None:
        images = list(images)
        self._sops = frozenset(uid for image in images for uid in image.sop_uids)
        self._studies = frozenset(image.study_uid for image in images if image.study_uid)
        self._reports: list[tuple[LinkKeys, T]] = []
        # positions in _reports, ascending: the last one is the last report added
        self._by_sop: dict[str, list[int]] = {}
        self._by_study: dict[str, list[int]] = {}
        self._by_accession: dict[str, list[int]] = {}
        self._by_patient_date: dict[tuple[str, dt.date], list[int]] = {}

    def add(self, keys: LinkKeys, report: T) -> None:
        position = len(self._reports)
        self._reports.append((keys, report))
        for uid in keys.sop_uids:
            self._by_sop.setdefault(uid, []).append(position)
        if keys.study_uid:
            self._by_study.setdefault(keys.study_uid, []).append(position)
        if keys.accession:
            self._by_accession.setdefault(keys.accession, []).append(position)
        found_by_uid = bool(keys.sop_uids & self._sops) or keys.study_uid in self._studies
        if keys.patient_id and keys.date and keys.imaging and not found_by_uid:
            self._by_patient_date.setdefault((keys.patient_id, keys.date), []).append(position)

    def _same_study(self, image: LinkKeys, position: int) -> bool:
        return bool(image.study_uid) and self._reports[position][0].study_uid == image.study_uid

    def match(self, image: LinkKeys) -> ReportMatch[T]:
        cited = {position for uid in image.sop_uids for position in self._by_sop.get(uid, ())}
        rules: list[tuple[str, list[int]]] = [
            ("sop", sorted(cited, key=lambda position: (self._same_study(image, position), position))),
            ("study", self._by_study.get(image.study_uid, []) if image.study_uid else []),
            ("accession", self._by_accession.get(image.accession, []) if image.accession else []),
            ("patient_date", self._by_patient_date.get((image.patient_id, image.date), []) if image.patient_id and image.date else []),
        ]
        refused: dict[int, tuple[T, str]] = {}
        for rule, positions in rules:
            for position in reversed(positions):
                keys, report = self._reports[position]
                if keys.other_patient(image):
                    refused.setdefault(position, (report, rule))
                    continue
                return ReportMatch(report, rule, list(refused.values()))
        return ReportMatch(None, None, list(refused.values()))


def refuse_link(image_id: str, report_id: str, source: str | None, rule: str,
                warnings: list[tuple[str, str]] | None) -> None:
    """Log a link refused across patients (and append it to *warnings* as (report's source, message)).
    The message names the documents, not the patients."""
    by = {"sop": "cites its SOP instance", "study": "has its StudyInstanceUID", "accession": "has its accession number"}
    message = f"report {report_id} {by.get(rule, rule)} but image {image_id} is of another patient: not linked"
    log.warning("%s", message)
    if warnings is not None:
        warnings.append((source or report_id, message))


def report_modality(report: Document, linked_modalities: Iterable[str | None] = ()) -> str | None:
    """The modality a report carries: one it has already, else its first linked image's (the DICOM
    Modality of the study it reads: authoritative), else the one its exam title names when exactly one
    (:func:`~indexer.modalities.modality_named_in`: « Scanner thoracique injecté » → CT; a discharge letter
    names none). Only reports: a record or an article describes no one exam."""
    if report.kind is not DocumentKind.REPORT:
        return report.modality
    return report.modality or next((m for m in linked_modalities if m), None) or modality_named_in(report.title)


def _link_dicom_to_reports(images: list[Document], reports: list[Document], warnings: list[tuple[str, str]] | None) -> None:
    dicom = [image for image in images if image.metadata.get("format") == "dicom"]
    index: ReportIndex[Document] = ReportIndex(LinkKeys.of_image(image) for image in dicom)
    for report in reports:
        index.add(LinkKeys.of_report(report), report)
    modalities: dict[str, list[str | None]] = {}  # report id → its linked images' modalities, in link order
    for image in dicom:
        found = index.match(LinkKeys.of_image(image))
        for refused, rule in found.refused:
            refuse_link(image.id, refused.id, refused.source_path, rule, warnings)
        report = found.report
        if report is None:
            continue
        modalities.setdefault(report.id, []).append(image.modality)
        conclusion = _conclusion(report)
        image.metadata["linked_reports"] = [report.id]
        report.metadata.setdefault("linked_images", []).append(image.id)
        image.sections.append(Section(title=f"Compte rendu {report.id}", text=f"{report.title}\n{conclusion}"))
        image.text = f"{image.text}\n\n{report.title}\n{conclusion}".strip()
        image.language = report.language
    for report in reports:
        report.modality = report_modality(report, modalities.get(report.id, ()))


def _figure_image(article: Document, file: str, by_path: dict[str, Document], by_stem: dict[str, list[Document]]) -> Document | None:
    """The image a figure entry names: the file at that path beside the article when it exists,
    else the only figure with that file name (exports often flatten or move the figures folder)."""
    if article.source_path:
        beside = str((Path(article.source_path).parent / file).resolve())
        if beside in by_path:
            return by_path[beside]
    candidates = by_stem.get(Path(file).stem, [])
    return candidates[0] if len(candidates) == 1 else None


def _link_figures_to_articles(images: list[Document], articles: list[Document]) -> None:
    figures = [img for img in images if img.metadata.get("format") != "dicom"]
    by_path = {img.source_path: img for img in figures if img.source_path}
    by_stem: dict[str, list[Document]] = {}
    for img in figures:
        by_stem.setdefault(Path(img.source_path or img.id).stem, []).append(img)
    for article in articles:
        for figure in article.metadata.get("figures", []):
            image = _figure_image(article, figure.get("file", ""), by_path, by_stem)
            if image is None:
                continue
            caption = figure.get("caption", "")
            image.title = caption[:120] or image.title
            image.text = f"{caption}\n\n{article.title}".strip()
            image.sections = [Section(title="Légende", text=caption), Section(title="Article", text=article.title)]
            image.language = article.language
            image.date = image.date or article.date
            image.metadata.update({"caption": caption, "article_id": article.id})
            article.metadata.setdefault("linked_images", []).append(image.id)


def unique_instances(ordered: list[T], sop: Callable[[T], str], path: Callable[[T], str]) -> tuple[list[T], list[tuple[T, T]]]:
    """The instances of a series in *ordered*, one per SOP Instance UID (the first), and the (copy, kept)
    pairs left out. The same instance exported into two folders was counted twice in the series (its UID
    listed twice, the middle instance chosen among the copies); it is one image, its other file a copy
    (:mod:`indexer.sources.duplicates`). Copies at the same path (the file given twice) are not listed."""
    first: dict[str, T] = {}
    unique: list[T] = []
    copies: list[tuple[T, T]] = []
    for item in ordered:
        kept = first.setdefault(sop(item), item)
        if kept is item:
            unique.append(item)
        elif path(item) != path(kept):
            copies.append((item, kept))
    return unique, copies


def instance_copy_message(kept_path: str, image_id: str, sop_uid: str) -> str:
    """The run report's line for a DICOM instance found again in another file."""
    return f"duplicate of {kept_path} ({image_id}): same SOP Instance UID {sop_uid}; not indexed again"


def group_series(documents: list[Document]) -> list[Document]:
    """Keep one image document per DICOM series: its middle instance (by InstanceNumber).

    A CT series is hundreds of files of the same exam; a physician wants one result per series, not
    three hundred. Its instances share the document id ``image:<SeriesInstanceUID>``; the
    representative keeps the instances' SOP Instance UIDs and files in its metadata.
    Order is preserved (the representative takes the place of the series' first file).
    """
    series: dict[str, list[Document]] = {}
    for document in documents:
        uid = document.metadata.get("series_uid") if document.metadata.get("format") == "dicom" else None
        if uid:
            series.setdefault(uid, []).append(document)
    kept: list[Document] = []
    for document in documents:
        uid = document.metadata.get("series_uid") if document.metadata.get("format") == "dicom" else None
        if not uid:
            kept.append(document)
            continue
        members = series[uid]
        if document is not members[0]:
            continue
        ordered, copies = unique_instances(
            sorted(members, key=lambda d: (d.metadata.get("instance_number") or 0, d.source_path)),
            lambda d: d.metadata.get("sop_uid") or d.source_path, lambda d: d.source_path,
        )
        representative = ordered[(len(ordered) - 1) // 2]
        if copies:
            representative.metadata["duplicate_sources"] = sorted({copy.source_path for copy, _ in copies})
        if len(ordered) > 1:
            representative.metadata["series_instances"] = [d.metadata.get("sop_uid") or d.source_path for d in ordered]
            representative.metadata["series_files"] = [d.source_path for d in ordered]
        kept.append(representative)
    return kept


def link_documents(documents: list[Document], warnings: list[tuple[str, str]] | None = None) -> None:
    """Enrich image documents (in place) with their report or caption text; a link refused across
    patients is logged, and appended to *warnings* as (report's source, message)."""
    by_kind: dict[DocumentKind, list[Document]] = {}
    for document in documents:
        by_kind.setdefault(document.kind, []).append(document)
    images = by_kind.get(DocumentKind.IMAGE, [])
    _link_dicom_to_reports(images, by_kind.get(DocumentKind.REPORT, []), warnings)
    _link_figures_to_articles(images, by_kind.get(DocumentKind.ARTICLE, []))
