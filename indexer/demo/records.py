"""FHIR R4 patient records: one ``Bundle`` (type ``collection``) per patient.

The JSON follows FHIR **R4** (validated in the tests with ``fhir.resources.R4B``, which is wire-compatible
for these resources, and is what :mod:`indexer.sources.fhir_records` reads). Note that the package's
default ``fhir.resources.bundle`` module is R5, where ``Encounter.class`` became a list and
``Encounter.period`` became ``actualPeriod``: an R4 export is intentionally *not* R5-valid.

Contents: Patient (id = IPP), one Encounter per stay, one Condition per problem (ICD-10 + French text),
vitals and lab Observations (LOINC, UCUM ``valueQuantity``) and one DiagnosticReport per imaging exam
whose ``conclusion`` is the French conclusion of the matching report.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from indexer.demo import vocabulary as V
from indexer.demo.model import AFFIRMED, Encounter, Exam, Patient
from indexer.demo.reports import exam_conclusion
from indexer.demo.text import Mentions, cap

BUNDLE_TIMESTAMP = "2024-12-31T12:00:00+01:00"
_CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_DIAG_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"


def _last_sunday(year: int, month: int) -> date:
    last = date(year, month, 31)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def paris_time(moment: datetime) -> str:
    """ISO timestamp with the Europe/Paris offset (EU summer-time rule; no tz database needed)."""
    summer = _last_sunday(moment.year, 3) <= moment.date() < _last_sunday(moment.year, 10)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ("+02:00" if summer else "+01:00")


def _ref(resource_type: str, resource_id: str) -> dict[str, str]:
    return {"reference": f"{resource_type}/{resource_id}"}


def _quantity(value: float, test: V.LabTest) -> dict[str, Any]:
    return {"value": value, "unit": test.unit, "system": V.UCUM_SYSTEM, "code": test.ucum}


def patient_resource(patient: Patient) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": patient.ipp,
        "identifier": [{"use": "usual", "system": V.IPP_SYSTEM, "value": patient.ipp}],
        "active": True,
        "name": [{"use": "official", "family": patient.family_name, "given": [patient.given]}],
        "gender": "female" if patient.sex == "F" else "male",
        "birthDate": patient.birth.isoformat(),
        "managingOrganization": {"display": V.HOSPITAL},
    }


def condition_id(patient: Patient, index: int) -> str:
    return f"COND-{patient.ipp}-{index + 1}"


def condition_resources(patient: Patient) -> list[dict[str, Any]]:
    resources = []
    encounters = {id(enc.problem): enc for enc in patient.encounters}
    for index, problem in enumerate(patient.problems):
        concept = V.CONCEPTS[problem.concept]
        enc = encounters.get(id(problem))
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "id": condition_id(patient, index),
            "clinicalStatus": {
                "coding": [{"system": _CLINICAL_STATUS, "code": "resolved" if problem.resolved else "active"}]
            },
            "verificationStatus": {"coding": [{"system": _VERIFICATION, "code": "confirmed"}]},
            "category": [
                {
                    "coding": [
                        {"system": _CONDITION_CATEGORY, "code": "encounter-diagnosis" if enc else "problem-list-item"}
                    ]
                }
            ],
            "code": {
                "coding": [{"system": V.ICD10_SYSTEM, "code": concept.icd10, "display": concept.icd10_display}],
                "text": cap(concept.fr),
            },
            "subject": _ref("Patient", patient.ipp),
            "onsetDateTime": problem.onset.isoformat(),
            "recordedDate": problem.onset.isoformat(),
        }
        if enc is not None:
            resource["encounter"] = _ref("Encounter", enc.id)
            if problem.resolved:
                resource["abatementDateTime"] = enc.end.date().isoformat()
        resources.append(resource)
    return resources


def encounter_resource(enc: Encounter, condition_ref: str) -> dict[str, Any]:
    overnight = enc.end.date() > enc.start.date()
    return {
        "resourceType": "Encounter",
        "id": enc.id,
        "identifier": [{"system": V.NDA_SYSTEM, "value": enc.nda}],
        "status": "finished",
        "class": {
            "system": _ACT_CODE,
            "code": "IMP" if overnight else "EMER",
            "display": "inpatient encounter" if overnight else "emergency",
        },
        "type": [{"text": "Hospitalisation complète" if overnight else "Passage aux urgences"}],
        "serviceType": {"text": V.SERVICES[enc.specialty][0]},
        "subject": _ref("Patient", enc.patient.ipp),
        "period": {"start": paris_time(enc.start), "end": paris_time(enc.end)},
        "reasonReference": [_ref("Condition", condition_ref)],
        "serviceProvider": {"display": V.HOSPITAL},
    }


def observation_resources(enc: Encounter) -> list[dict[str, Any]]:
    """One Observation per vital sign / lab value of the stay, with H/L/N interpretation."""
    resources = []
    when = paris_time(enc.start + timedelta(hours=1))
    for key, value in enc.labs.items():
        test = V.LAB_TESTS[key]
        low, high = test.normal
        flag = "H" if value > high else "L" if value < low else "N"
        resources.append(
            {
                "resourceType": "Observation",
                "id": f"OBS-{enc.id}-{key}",
                "status": "final",
                "category": [{"coding": [{"system": _OBS_CATEGORY, "code": test.category}]}],
                "code": {
                    "coding": [{"system": V.LOINC_SYSTEM, "code": test.loinc, "display": test.display}],
                    "text": test.label_fr,
                },
                "subject": _ref("Patient", enc.patient.ipp),
                "encounter": _ref("Encounter", enc.id),
                "effectiveDateTime": when,
                "valueQuantity": _quantity(value, test),
                "interpretation": [{"coding": [{"system": _INTERPRETATION, "code": flag}]}],
                "referenceRange": [{"low": _quantity(low, test), "high": _quantity(high, test)}],
            }
        )
    return resources


def diagnostic_report(exam: Exam, seed: int, mentions: Mentions) -> dict[str, Any]:
    """The imaging result as the warehouse stores it: exam name, date and French conclusion."""
    conclusion = " ".join(exam_conclusion(exam, "fr", seed, mentions))
    resource: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": f"DR-{exam.accession}",
        "identifier": [
            {"system": V.ACCESSION_SYSTEM, "value": exam.accession},
            {"system": V.REPORT_ID_SYSTEM, "value": exam.report_id},
        ],
        "status": "final",
        "category": [{"coding": [{"system": _DIAG_SERVICE, "code": "CUS" if exam.code == "echo_heart" else "RAD"}]}],
        "code": {"text": exam.type.title_fr},
        "subject": _ref("Patient", exam.patient.ipp),
        "effectiveDateTime": paris_time(exam.when),
        "issued": paris_time(exam.when + timedelta(hours=2)),
        "conclusion": conclusion,
    }
    if exam.encounter is not None:
        resource["encounter"] = _ref("Encounter", exam.encounter.id)
    return resource


def patient_bundle(patient: Patient, seed: int) -> tuple[dict[str, Any], Mentions]:
    """The patient's Bundle and the concept statements it contains (for the ground truth)."""
    mentions = Mentions(prefer_affirmed=True)
    resources: list[dict[str, Any]] = [patient_resource(patient)]
    conditions = condition_resources(patient)
    by_problem = {id(p): c["id"] for p, c in zip(patient.problems, conditions, strict=True)}
    for problem in patient.problems:
        mentions.add(problem.concept, AFFIRMED)
    for enc in patient.encounters:
        resources.append(encounter_resource(enc, by_problem[id(enc.problem)]))
    resources += conditions
    for enc in patient.encounters:
        resources += observation_resources(enc)
    for exam in sorted(patient.exams, key=lambda e: e.when):
        resources.append(diagnostic_report(exam, seed, mentions))
    bundle = {
        "resourceType": "Bundle",
        "id": f"BUNDLE-{patient.ipp}",
        "type": "collection",
        "timestamp": BUNDLE_TIMESTAMP,
        "entry": [{"fullUrl": f"{V.FHIR_BASE_URL}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
    }
    return bundle, mentions
