"""Patient records from FHIR R4 ``Bundle`` JSON exports, parsed and validated with ``fhir.resources``.

A hospital's clinical data warehouse exports one bundle per patient (Patient, Encounter, Condition,
Observation, DiagnosticReport, MedicationRequest/Statement, Procedure, AllergyIntolerance,
DocumentReference). We turn each bundle into one *record* document whose sections are the problem
list, results, report conclusions, treatments, acts, allergies and stays, so a query like « diabète
HbA1c » or « allergie pénicilline » finds the patient; the letters (DocumentReference, and a long
DiagnosticReport.presentedForm) become report documents of their own
(:mod:`indexer.sources.fhir_documents`). R4 is read with the R4B models (wire-compatible for these
resources).
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from indexer.departments import canonical_department
from indexer.schema import Document, DocumentKind, Section
from indexer.sources.common import parse_date, warn
from indexer.sources.errors import SourceError
from indexer.sources.fhir_documents import (
    PRESENTED_FORM_INLINE_CHARS,
    codeable_text,
    concept_codes,
    diagnostic_report_document,
    document_reference_report,
    presented_form,
    replaced_versions,
)
from indexer.sources.identity import document_id
from indexer.text.language import detect_language

#: The resource types a record is built from; any other type in a bundle is skipped with a note.
#: DocumentReference gives report documents of its own (:mod:`indexer.sources.fhir_documents`).
READ_TYPES = (
    "Patient", "Encounter", "Condition", "Observation", "DiagnosticReport", "DocumentReference",
    "MedicationRequest", "MedicationStatement", "Procedure", "AllergyIntolerance",
)
#: Resources other resources point to (an attachment's ``url`` → Binary, ``medicationReference`` →
#: Medication): looked up by reference, never attached to a patient (they name none).
LOOKUP_TYPES = ("Binary", "Medication")

#: A treatment's, an act's, an allergy's status as the record reads it (FHIR codes → French)
STATUS_FR = {
    "active": "en cours", "completed": "terminé", "stopped": "arrêté", "on-hold": "suspendu",
    "cancelled": "annulé", "intended": "prévu", "draft": "brouillon", "in-progress": "en cours",
    "not-done": "non réalisé", "preparation": "en préparation", "inactive": "inactif", "resolved": "résolu",
}
#: AllergyIntolerance.criticality in French
CRITICALITY_FR = {"low": "faible", "high": "élevée", "unable-to-assess": "non évaluable"}


#: FHIR Condition.clinicalStatus codes, as the French record text shows them (not « [resolved] »)
CLINICAL_STATUS_FR = {
    "active": "actif",
    "recurrence": "récidive",
    "relapse": "rechute",
    "inactive": "inactif",
    "remission": "rémission",
    "resolved": "résolu",
}


#: A stay's kind: FHIR ``Encounter.class`` is an HL7 v3 ActCode whose display names are English by the
#: standard (« inpatient encounter »); the record and the API name it in the physician's words, from
#: the code (or, without one, from the display). A class outside the table is kept as written.
ENCOUNTER_CLASS_FR: dict[str, str] = {
    "IMP": "hospitalisation",
    "ACUTE": "hospitalisation (soins aigus)",
    "NONAC": "hospitalisation (soins non aigus)",
    "EMER": "urgences",
    "AMB": "consultation externe",
    "SS": "hospitalisation de courte durée",
    "OBSENC": "mise en observation",
    "HH": "hospitalisation à domicile",
    "VR": "téléconsultation",
    "PRENC": "pré-admission",
    "FLD": "intervention hors établissement",
}
_CLASS_DISPLAYS: dict[str, str] = {  # the v3 ActCode displays (and common variants) → code
    "inpatient encounter": "IMP", "inpatient": "IMP", "inpatient acute": "ACUTE", "inpatient non-acute": "NONAC",
    "emergency": "EMER", "ambulatory": "AMB", "short stay": "SS", "observation encounter": "OBSENC",
    "home health": "HH", "virtual": "VR", "pre-admission": "PRENC", "field": "FLD",
}


def encounter_class_label(code: object = None, display: object = None) -> str | None:
    """French name of an Encounter class: by its ActCode (« IMP » → « hospitalisation »), else by its
    English display (« inpatient encounter »), else the display or code as written (a class the
    hospital named itself, already French, is kept)."""
    for value in (code, display):
        text = str(value or "").strip()
        if not text:
            continue
        key = text.upper() if text.upper() in ENCOUNTER_CLASS_FR else _CLASS_DISPLAYS.get(text.casefold())
        if key is not None:
            return ENCOUNTER_CLASS_FR[key]
    written = str(display or "").strip() or str(code or "").strip()
    return written or None


def format_number(value: Any, decimal_mark: str = ",") -> str:
    """A measured value as a clinician writes it: « 122 » (not « 122.0 »), « 37,8 », « 0,05 »; the
    decimals the value has are kept, trailing zeros and exponents dropped (« 1E+2 » → « 100 »)."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    text = format(number.normalize(), "f")
    if text in ("-0", "-0.0"):
        text = "0"
    return text.replace(".", decimal_mark)


def _observation_value(obs: Any) -> str:
    quantity = getattr(obs, "valueQuantity", None)
    if quantity is not None and quantity.value is not None:
        comparator = f"{quantity.comparator} " if getattr(quantity, "comparator", None) else ""
        return f"{comparator}{format_number(quantity.value)} {quantity.unit or ''}".strip()
    boolean = getattr(obs, "valueBoolean", None)
    if boolean is not None:
        return "oui" if boolean else "non"
    for attr in ("valueString", "valueInteger"):
        value = getattr(obs, attr, None)
        if value is not None:
            return str(value)
    return codeable_text(getattr(obs, "valueCodeableConcept", None))


def _validation_message(exc: ValidationError) -> tuple[str, str]:
    first = exc.errors()[0]
    return ".".join(str(p) for p in first.get("loc", ())), str(first.get("msg"))


def _named(kind: str, resource: dict[str, Any]) -> str:
    """« Observation obs-1 », or « Observation » alone when the resource has no id."""
    return f"{kind} {resource['id']}" if resource.get("id") else kind


def _load_resources(
    path: Path, raw: dict[str, Any], full_urls: dict[str, str] | None = None, shared: dict[str, Any] | None = None
) -> dict[str, list[Any]]:
    """The bundle's resources by type, each validated on its own with ``fhir.resources``.

    One resource the parser does not read (a Questionnaire, a vendor extension type) or one
    invalid Observation must not cost the patient's whole record: it is skipped with a note and the
    rest is indexed. Resources marked ``entered-in-error`` were recorded by mistake and are left out.
    An invalid Patient still rejects the file: without it there is no record. Binary and Medication
    resources (:data:`LOOKUP_TYPES`) go to *shared*, by ``fullUrl`` and by « Type/id ».
    """
    from fhir.resources.R4B import get_fhir_model_class

    entries = raw.get("entry") or []
    if not isinstance(entries, list):
        raise SourceError(path, "invalid FHIR Bundle at entry: not a list")
    by_type: dict[str, list[Any]] = {}
    unknown: dict[str, int] = {}
    untyped: list[int] = []  # entries with no resource or no resourceType: nothing says what they are
    for position, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not resource.get("resourceType"):
            untyped.append(position)
            continue
        kind = str(resource["resourceType"])
        if kind in LOOKUP_TYPES:
            _share(kind, resource, entry, shared)
            continue
        if kind not in READ_TYPES:
            unknown[kind] = unknown.get(kind, 0) + 1
            continue
        try:
            model = _validated(kind, resource)
        except ValidationError as exc:
            where, msg = _validation_message(exc)
            if kind == "Patient":
                raise SourceError(path, f"invalid FHIR Bundle at entry.{position}.resource.{where}: {msg}") from exc
            warn(f"{_named(kind, resource)} (entry {position}) invalid at {where}: {msg}; skipped")
            continue
        if _entered_in_error(model):
            warn(f"{_named(kind, resource)} is entered-in-error: not indexed")
            continue
        by_type.setdefault(kind, []).append(model)
        if kind == "Patient" and full_urls is not None and isinstance(entry.get("fullUrl"), str) and model.id:
            full_urls[entry["fullUrl"].strip()] = model.id
    if untyped:
        where = ", ".join(str(position) for position in untyped)
        warn(f"{len(untyped)} entry(ies) without a resource or its resourceType (entry {where}): skipped")
    for kind, count in sorted(unknown.items()):
        warn(f"{count} {kind} resource(s) not read by the record parser: skipped")
    return by_type


_BARE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _validated(kind: str, resource: dict[str, Any]) -> Any:
    """*resource* validated as a *kind*; an ``instant`` field written as a bare date (« "date":
    "2024-03-02" » on a DocumentReference: common in exports, invalid FHIR) is read as that day with a
    warning instead of costing the whole letter. Any other error is raised as is."""
    from fhir.resources.R4B import get_fhir_model_class

    model_class = get_fhir_model_class(kind)
    try:
        return model_class.model_validate(resource)
    except ValidationError as exc:
        fields = [error["loc"][0] for error in exc.errors() if len(error["loc"]) == 1]
        if len(fields) != len(exc.errors()) or not all(
            isinstance(resource.get(f), str) and _BARE_DATE.fullmatch(resource[f].strip()) for f in fields
        ):
            raise
        repaired = {**resource, **{f: f"{resource[f].strip()}T00:00:00Z" for f in fields}}
        model = model_class.model_validate(repaired)
        for field in fields:
            warn(f"{_named(kind, resource)}: {field} {resource[field]!r} is a date, not the FHIR instant it should be: read as that day")
        return model


def _share(kind: str, resource: dict[str, Any], entry: dict[str, Any], shared: dict[str, Any] | None) -> None:
    """Validate a Binary or Medication and file it in *shared* under the references that may name it."""
    from fhir.resources.R4B import get_fhir_model_class

    if shared is None:
        return
    try:
        model = get_fhir_model_class(kind).model_validate(resource)
    except ValidationError as exc:
        where, msg = _validation_message(exc)
        warn(f"{_named(kind, resource)} invalid at {where}: {msg}; what refers to it cannot be read")
        return
    if model.id:
        shared[f"{kind}/{model.id}"] = model
    if isinstance(entry.get("fullUrl"), str) and entry["fullUrl"].strip():
        shared[entry["fullUrl"].strip()] = model


def _entered_in_error(resource: Any) -> bool:
    """FHIR's own retraction: a resource created by mistake (``status``, or a Condition's verificationStatus)."""
    if getattr(resource, "status", None) == "entered-in-error":
        return True
    verification = getattr(resource, "verificationStatus", None)
    return any(c.code == "entered-in-error" for c in (getattr(verification, "coding", None) or []))


def _verification(condition: Any) -> str:
    status = getattr(condition, "verificationStatus", None)  # a Condition's or an AllergyIntolerance's
    codes = [c.code for c in (getattr(status, "coding", None) or []) if c.code]
    return codes[0] if codes else ""


def _condition_line(condition: Any, dated: Any) -> str:
    """One problem-list line. A refuted condition reads as a negation (« Absence de X ») and an
    unconfirmed one as a hypothesis (« Suspicion de X »), phrases the clinical context detector
    knows, so a query for X does not return a patient in whom X was ruled out."""
    name = codeable_text(condition.code)
    status = codeable_text(condition.clinicalStatus)
    status = CLINICAL_STATUS_FR.get(status.strip().lower(), status)
    verification = _verification(condition)
    when = dated(condition.onsetDateTime)
    if verification == "refuted":
        return f"Absence de {name}{when} (diagnostic infirmé)."
    if verification in ("unconfirmed", "provisional", "differential"):
        return f"Suspicion de {name}{when} (diagnostic non confirmé)."
    return f"{name}{when}" + (f" [{status}]" if status else "")


def _patient_summary(patient: Any) -> tuple[str, str]:
    """(title, text) of the Patient resource: sex and birth date, identifying names kept out of title."""
    gender = {"male": "homme", "female": "femme"}.get(patient.gender or "", patient.gender or "")
    # Only what the resource says: a Patient without gender or birthDate read « Patient P1, , né(e) le ?. »
    parts = [f"Patient {patient.id}", gender, f"né(e) le {patient.birthDate.strftime('%d/%m/%Y')}" if patient.birthDate else ""]
    return f"Dossier patient {patient.id}", ", ".join(part for part in parts if part) + "."


_PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_FOREIGN = "\x00foreign"  # a subject that is not one of the bundle's Patients


def _subject(resource: Any, patient_ids: set[str], full_urls: dict[str, str]) -> str | None:
    """The Patient id a resource's ``subject`` names: one of *patient_ids*, :data:`_FOREIGN` (another
    patient, or a reference the bundle does not resolve), or None when the resource names no subject."""
    subject = getattr(resource, "subject", None) or getattr(resource, "patient", None)  # AllergyIntolerance: patient
    reference = (getattr(subject, "reference", None) or "").strip() if subject is not None else ""
    if not reference:
        return None
    if reference in full_urls:
        return full_urls[reference]
    match = _PATIENT_REFERENCE.search(reference)
    if match and match.group(1) in patient_ids:
        return match.group(1)
    return _FOREIGN


def _split_by_patient(by_type: dict[str, list[Any]], full_urls: dict[str, str]) -> dict[str, dict[str, list[Any]]]:
    """The bundle's resources grouped by the Patient their ``subject`` references.

    A resource whose subject is another patient (« Patient/P2 » in P1's export, an unresolved
    ``urn:uuid``) was attached to the bundle's patient: another patient's diagnosis in this patient's
    record. It is left out with a note. A resource without a subject belongs to the bundle's patient
    when there is one; in a bundle of several patients nothing says whose it is, so it is left out too.
    """
    patients = by_type.get("Patient", [])
    ids = {patient.id for patient in patients if patient.id}
    grouped: dict[str, dict[str, list[Any]]] = {patient.id: {"Patient": [patient]} for patient in patients}
    for kind, resources in by_type.items():
        if kind == "Patient":
            continue
        for resource in resources:
            owner = _subject(resource, ids, full_urls)
            if owner is None and len(patients) == 1:
                owner = patients[0].id
            if owner is None:
                warn(f"{_named(kind, {'id': resource.id})} names no subject in a bundle of {len(patients)} patients: not attached to any")
                continue
            if owner == _FOREIGN:
                reference = (getattr(resource, "subject", None) or resource.patient).reference
                warn(f"{_named(kind, {'id': resource.id})} is about {reference}, not a Patient of this bundle: not attached")
                continue
            grouped[owner].setdefault(kind, []).append(resource)
    return grouped


def records_from_bundle(path: Path, raw: dict[str, Any], key: str | None = None) -> list[Document]:
    """One record per Patient of the bundle, each with the resources whose subject is that patient,
    each followed by the patient's letters (DocumentReference, long presentedForm) as reports."""
    full_urls: dict[str, str] = {}
    shared: dict[str, Any] = {}
    by_type = _load_resources(path, raw, full_urls, shared)
    patients = by_type.get("Patient", [])
    if not patients:
        letters = _letters_without_patient_resource(path, by_type, shared)
        if not letters:
            raise SourceError(path, "a record bundle needs a Patient resource, found none")
        return letters
    missing_id = [position for position, patient in enumerate(patients) if not patient.id]
    if missing_id and len(patients) > 1:
        raise SourceError(path, f"a bundle of {len(patients)} Patients where one has no id: whose resources are which cannot be told")
    if len({patient.id for patient in patients}) != len(patients):
        raise SourceError(path, "the same Patient id twice in one bundle")
    if len(patients) == 1 and not patients[0].id:
        # no id to match references against: the bundle-per-patient convention, as before
        return _patient_documents(path, by_type, patients[0], key, shared)
    return [
        document
        for resources in _split_by_patient(by_type, full_urls).values()
        for document in _patient_documents(path, resources, resources["Patient"][0], key if len(patients) == 1 else None, shared)
    ]


def _letters_without_patient_resource(path: Path, by_type: dict[str, list[Any]], shared: dict[str, Any]) -> list[Document]:
    """The letters of a bundle with no Patient resource: a server's document search
    (``GET /DocumentReference?patient=P1`` returns a searchset of DocumentReferences, the Patient only
    with ``_include``). Each letter whose ``subject`` is « Patient/<id> » is a report of that patient;
    there is no record (no identity to build it from), so the bundle's other resources are left out
    with a warning, and a letter naming no patient is too (it could be anyone's)."""
    letters: list[Document] = []
    references = by_type.get("DocumentReference", [])
    replaced = replaced_versions(references)
    for position, resource in enumerate(references, 1):
        reference = (getattr(resource.subject, "reference", None) or "").strip() if resource.subject else ""
        match = _PATIENT_REFERENCE.search(reference)
        if match is None:
            warn(f"{_named('DocumentReference', {'id': resource.id})} names no Patient/<id> subject in a bundle without "
                 "Patient resource: not indexed")
            continue
        if _replaced(resource, replaced):
            continue
        letter = document_reference_report(path, resource, position, match.group(1), match.group(1), shared)
        if letter is not None:
            letters.append(letter)
    others = {kind: len(resources) for kind, resources in by_type.items() if kind != "DocumentReference"}
    for kind, count in sorted(others.items()):
        warn(f"{count} {kind} resource(s) not indexed: a record needs the bundle's Patient resource")
    return letters


def _replaced(resource: Any, replaced: dict[str, str]) -> bool:
    """Whether another DocumentReference of the bundle replaces *resource* (said in the run report)."""
    if resource.id in replaced:
        warn(f"DocumentReference {resource.id} is replaced by DocumentReference {replaced[resource.id]}: only the new version is indexed")
        return True
    return False


def _patient_documents(path: Path, by_type: dict[str, list[Any]], patient: Any, key: str | None,
                       shared: dict[str, Any]) -> list[Document]:
    """The record of *patient*, then one report per readable DocumentReference and per DiagnosticReport
    whose presentedForm is too long to be a line of the record (:data:`PRESENTED_FORM_INLINE_CHARS`)."""
    scope = patient.id or key or path.name
    forms = {id(rep): presented_form(path, rep, shared) for rep in by_type.get("DiagnosticReport", [])}
    inline = {ref: text for ref, text in forms.items() if text and len(text) <= PRESENTED_FORM_INLINE_CHARS}
    reports = [
        diagnostic_report_document(path, rep, position, text, patient.id, scope)
        for position, rep in enumerate(by_type.get("DiagnosticReport", []), 1)
        if (text := forms[id(rep)]) and id(rep) not in inline
    ]
    references = by_type.get("DocumentReference", [])
    replaced = replaced_versions(references)
    letters = [
        document_reference_report(path, resource, position, patient.id, scope, shared)
        for position, resource in enumerate(references, 1)
        if not _replaced(resource, replaced)
    ]
    record = _record(path, by_type, patient, key, shared, inline)
    return [record, *reports, *(letter for letter in letters if letter is not None)]


def record_from_bundle(path: Path, raw: dict[str, Any], key: str | None = None) -> Document:
    """Turn one patient's FHIR bundle into a record Document, id ``record:<Patient.id>``."""
    records = records_from_bundle(path, raw, key)
    records = [document for document in records if document.kind is DocumentKind.RECORD]
    if len(records) != 1:
        raise SourceError(path, f"a record bundle needs exactly one Patient resource, found {len(records)}")
    return records[0]


def _record(path: Path, by_type: dict[str, list[Any]], patient: Any, key: str | None,
            shared: dict[str, Any] | None = None, inline: dict[int, str] | None = None) -> Document:
    """The record Document of *patient* from its resources, id ``record:<Patient.id>``; *inline*: the
    short presentedForm texts (by ``id()`` of their DiagnosticReport), added to the report's line."""
    shared = shared or {}
    inline = inline or {}
    title, patient_text = _patient_summary(patient)
    dates: list[date] = []
    codes: list[str] = []

    def dated(value: Any) -> str:
        parsed = parse_date(value)
        if parsed:
            dates.append(parsed)
        return f" ({parsed.strftime('%d/%m/%Y')})" if parsed else ""  # dates in full, as physicians write them

    conditions = []
    for cond in by_type.get("Condition", []):
        if _verification(cond) != "refuted":  # a refuted diagnosis's code is not one the patient has
            codes += concept_codes(cond.code)
        conditions.append(_condition_line(cond, dated))
    observations = [
        f"{codeable_text(obs.code)} : {_observation_value(obs)}{dated(obs.effectiveDateTime)}"
        for obs in by_type.get("Observation", [])
    ]
    reports = [
        _with_form(f"{codeable_text(rep.code)}{dated(rep.effectiveDateTime)} : {rep.conclusion or ''}".strip(), inline.get(id(rep)))
        for rep in by_type.get("DiagnosticReport", [])
    ]
    treatments = [_treatment_line(med, dated, shared) for med in _treatments(by_type)]
    procedures = [_procedure_line(proc, dated) for proc in by_type.get("Procedure", [])]
    allergies = [_allergy_line(allergy, dated) for allergy in by_type.get("AllergyIntolerance", [])]
    for med in _treatments(by_type):
        if med.status != "not-taken":
            codes += concept_codes(_medication_concept(med, shared))
    for resource in (*by_type.get("Procedure", []), *by_type.get("AllergyIntolerance", [])):
        if _verification(resource) != "refuted" and getattr(resource, "status", None) != "not-done":
            codes += concept_codes(resource.code)
    encounters = []
    stays: list[dict[str, Any]] = []
    for enc in by_type.get("Encounter", []):
        reason = "; ".join(codeable_text(r) for r in (enc.reasonCode or []))
        start = dated(enc.period.start) if enc.period else ""
        kind = enc.class_fhir.display or enc.class_fhir.code if enc.class_fhir else ""
        label = encounter_class_label(enc.class_fhir.code, enc.class_fhir.display) if enc.class_fhir else None
        encounters.append(f"Séjour {label or ''}{start}".replace("Séjour  ", "Séjour ") + (f" : {reason}" if reason else ""))
        stays.append(_stay(enc, kind, reason))

    entries = [  # the record's dated entries, each its own line on the patient timeline
        _entry(label, line, when)
        for label, resources, lines, attr in (
            ("Problème", by_type.get("Condition", []), conditions, "onsetDateTime"),
            ("Résultat", by_type.get("Observation", []), observations, "effectiveDateTime"),
            ("Examen", by_type.get("DiagnosticReport", []), reports, "effectiveDateTime"),
            ("Traitement", _treatments(by_type), treatments, None),
            ("Acte", by_type.get("Procedure", []), procedures, None),
            ("Allergie", by_type.get("AllergyIntolerance", []), allergies, None),
        )
        for resource, line in zip(resources, lines)
        if (when := parse_date(getattr(resource, attr, None)) if attr else _when(resource)) is not None
    ]
    sections = [Section(title="Patient", text=patient_text)]
    for name, lines in (
        ("Problèmes", conditions),
        ("Résultats", observations),
        ("Comptes rendus", reports),
        ("Traitements", treatments),
        ("Actes", procedures),
        ("Allergies", allergies),
        ("Séjours", encounters),
    ):
        if lines:
            sections.append(Section(title=name, text="\n".join(lines)))
    text = "\n\n".join(f"{s.title}\n{s.text}" for s in sections)
    return Document(
        id=document_id(DocumentKind.RECORD, patient.id or key or path.name),
        kind=DocumentKind.RECORD,
        title=title,
        text=text,
        patient_id=patient.id,
        date=max(dates) if dates else None,
        language=detect_language(text),
        source_path=str(path),
        sections=sections,
        metadata={
            "codes": sorted(set(codes)),
            "resource_counts": {k: len(v) for k, v in by_type.items()},
            # identifying fields, kept apart (as DICOM's ``identifying``) for the patient view and access rules
            "identifying": _identity(patient),
            "encounters": sorted(stays, key=lambda s: s.get("start") or ""),
            "entries": sorted(entries, key=lambda e: e["date"]),
        },
    )


def _with_form(line: str, form: str | None) -> str:
    """An exam's record line followed by its short presentedForm text, made one line (the record's
    entries are one line each); the line is left as it was when there is none."""
    return f"{line} {' '.join(form.split())}" if form else line


def _treatments(by_type: dict[str, list[Any]]) -> list[Any]:
    """The prescriptions and the statements of treatment taken, one list (the record's « Traitements »)."""
    return [*by_type.get("MedicationRequest", []), *by_type.get("MedicationStatement", [])]


def _period_start(period: Any) -> Any:
    return getattr(period, "start", None) if period is not None else None


def _when(resource: Any) -> date | None:
    """The date a treatment, an act or an allergy is placed at on the timeline: when it started (a
    statement's effective date, a prescription's date, an act's performed date, an allergy's onset),
    else when it was recorded."""
    for value in (
        getattr(resource, "effectiveDateTime", None), _period_start(getattr(resource, "effectivePeriod", None)),
        getattr(resource, "performedDateTime", None), _period_start(getattr(resource, "performedPeriod", None)),
        getattr(resource, "onsetDateTime", None), _period_start(getattr(resource, "onsetPeriod", None)),
        getattr(resource, "authoredOn", None), getattr(resource, "dateAsserted", None),
        getattr(resource, "recordedDate", None),
    ):
        parsed = parse_date(value)
        if parsed is not None:
            return parsed
    return None


def _until(resource: Any) -> date | None:
    """When a treatment or an act ended (its period's end), if said."""
    for attr in ("effectivePeriod", "performedPeriod"):
        period = getattr(resource, attr, None)
        if period is not None and parse_date(period.end):
            return parse_date(period.end)
    return None


def _medication_concept(resource: Any, shared: dict[str, Any]) -> Any:
    """The drug of a MedicationRequest/Statement as a CodeableConcept: its own, else the code of the
    Medication of the bundle its ``medicationReference`` names (None when neither)."""
    concept = getattr(resource, "medicationCodeableConcept", None)
    reference = getattr(resource, "medicationReference", None)
    if concept is None and reference is not None and reference.reference:
        target = reference.reference.strip()
        medication = shared.get(target) or shared.get("Medication/" + target.rsplit("Medication/", 1)[-1])
        concept = getattr(medication, "code", None)
    return concept


def _medication_name(resource: Any, shared: dict[str, Any]) -> str:
    """The drug's name: its CodeableConcept (:func:`_medication_concept`), else the reference's display."""
    reference = getattr(resource, "medicationReference", None)
    name = codeable_text(_medication_concept(resource, shared)) or (reference.display if reference is not None else "")
    return name or "médicament non précisé"


def _span(resource: Any, dated: Any) -> str:
    """« (02/03/2024) », « (02/03/2024 → 10/03/2024) »: when it started, and ended if said."""
    start = dated(_when(resource))
    end = _until(resource)
    if end is None:
        return start
    ended = dated(end).strip(" ()")
    return f" ({start.strip(' ()')} → {ended})" if start else f" (jusqu'au {ended})"


def _treatment_line(resource: Any, dated: Any, shared: dict[str, Any]) -> str:
    """« Apixaban 5 mg (02/03/2024) : 1 comprimé matin et soir [en cours] »; a treatment the patient
    does not take (MedicationStatement ``not-taken``) reads « Pas de traitement par X », a negation."""
    name = _medication_name(resource, shared)
    dosage = "; ".join(d.text for d in (getattr(resource, "dosageInstruction", None) or getattr(resource, "dosage", None) or [])
                       if getattr(d, "text", None))
    when = _span(resource, dated)
    if resource.status == "not-taken":
        return f"Pas de traitement par {name}{when}."
    status = STATUS_FR.get(resource.status or "", "")
    return f"{name}{when}" + (f" : {dosage}" if dosage else "") + (f" [{status}]" if status else "")


def _procedure_line(resource: Any, dated: Any) -> str:
    """« Cholécystectomie (05/02/2023) [terminé] »; an act not done reads as a negation."""
    name = codeable_text(resource.code) or "acte non précisé"
    site = ", ".join(codeable_text(b) for b in resource.bodySite or [] if codeable_text(b))
    when = _span(resource, dated)
    if resource.status == "not-done":
        return f"Absence de {name}{when} (acte non réalisé)."
    status = STATUS_FR.get(resource.status or "", "")
    return f"{name}" + (f" ({site})" if site else "") + when + (f" [{status}]" if status else "")


def _allergy_line(resource: Any, dated: Any) -> str:
    """« Allergie à Pénicilline (12/01/2010), criticité élevée : urticaire, œdème de Quincke »; a
    refuted allergy reads « Absence d'allergie à X » (a negation), an unconfirmed one « Suspicion »."""
    name = codeable_text(resource.code) or "substance non précisée"
    when = _span(resource, dated)
    verification = _verification(resource)
    if verification == "refuted":
        return f"Absence d'allergie à {name}{when} (allergie infirmée)."
    reactions = ", ".join(
        codeable_text(m) for reaction in resource.reaction or [] for m in reaction.manifestation or [] if codeable_text(m)
    )
    lead = "Suspicion d'allergie" if verification in ("unconfirmed", "presumed") else "Allergie"
    kind = "Intolérance" if resource.type == "intolerance" and lead == "Allergie" else lead
    criticality = CRITICALITY_FR.get(resource.criticality or "", "")
    status = STATUS_FR.get(codeable_text(resource.clinicalStatus).strip().lower(), "")
    return (f"{kind} à {name}{when}" + (f", criticité {criticality}" if criticality else "")
            + (f" : {reactions}" if reactions else "") + (f" [{status}]" if status and status != "en cours" else ""))


def _entry(label: str, line: str, when: date) -> dict[str, str]:
    """One dated record entry (a problem, a result, an exam) for the patient timeline."""
    return {"type": label, "text": line, "date": when.isoformat()}


def _identity(patient: Any) -> dict[str, str | None]:
    """Name, birth date and sex of the Patient resource: the patient view's identity block."""
    names = patient.name or []
    official = next((n for n in names if n.use == "official"), names[0] if names else None)
    name = None
    if official is not None:
        name = official.text or " ".join([*(official.given or []), (official.family or "").upper()]).strip() or None
    return {
        "patient_name": name,
        "patient_birth_date": patient.birthDate.isoformat() if patient.birthDate else None,
        "patient_sex": patient.gender,
    }


def _stay(enc: Any, kind: str, reason: str) -> dict[str, Any]:
    """One Encounter as the timeline groups documents by: id, class, period, reason, care unit."""
    start = parse_date(enc.period.start) if enc.period else None
    end = parse_date(enc.period.end) if enc.period else None
    unit = None
    if enc.serviceType is not None:
        unit = codeable_text(enc.serviceType) or None
    if unit is None and enc.serviceProvider is not None:
        unit = enc.serviceProvider.display
    return {
        "id": enc.id,
        "class": kind or None,  # as FHIR gives it (display, else code); the API names it in French
        "class_code": (enc.class_fhir.code or None) if enc.class_fhir else None,
        "start": start.isoformat() if start else None,
        "end": end.isoformat() if end else None,
        "reason": reason or None,
        "unit": canonical_department(unit),  # one name per care unit (« Pulmonology » is « Pneumologie »)
        "unit_original": " ".join(unit.split()) if unit else None,
    }


def is_fhir(raw: Any) -> bool:
    return isinstance(raw, dict) and "resourceType" in raw


def parse_fhir(path: Path, raw: dict[str, Any] | None = None, key: str | None = None) -> list[Document]:
    """Parse a FHIR JSON file: a Bundle gives one record per Patient it contains, each followed by
    that patient's letters (one report per DocumentReference, per long presentedForm)."""
    if raw is None:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SourceError(path, f"malformed JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    if raw.get("resourceType") != "Bundle":
        raise SourceError(path, f"expected a FHIR Bundle, got resourceType={raw.get('resourceType')!r}")
    return records_from_bundle(path, raw, key)
