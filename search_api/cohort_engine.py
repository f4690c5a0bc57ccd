"""Evaluating a cohort definition: which patients satisfy its criteria, with the evidence for each.

A criterion is a query (with the clinical options: affirmed findings by default, « sans X » for
negated ones) and/or structured constraints on the documents (kind, care unit, modality, body part,
dates, the patient's age at the document date). A patient satisfies it when at least one of their
documents does; ``must`` criteria are all required, ``must_not`` ones exclude, the sex is a patient
constraint, and an optional time relation asks for B within N days after A. Documents are always
read through the caller's scope (:func:`search_api.scope.within_scope`), so a cohort never holds a
patient, a count or a snippet the caller may not see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from indexer.backend.filters import DocumentFilter, normalise_key
from indexer.schema import Document
from search_api.matching import exact_matches
from search_api.models import SearchRequest
from search_api.patient_data import age_at, body_part_of, department_of, documents_where, identity_of
from search_api.query_plan import plan_query
from search_api.scope import within_scope
from search_api.snippets import contextual_snippet

EVIDENCE_PER_CRITERION = 3


@dataclass
class Evidence:
    doc_id: str
    title: str
    kind: str
    date: dt.date | None
    snippet: str


@dataclass
class CriterionHits:
    """Per patient, the documents satisfying one criterion (best first)."""

    by_patient: dict[str, list[Evidence]] = field(default_factory=dict)
    #: every satisfying document's date, per patient (evidence is capped, time relations are not)
    dates: dict[str, list[dt.date]] = field(default_factory=dict)

    def add(self, document: Document, snippet: str) -> None:
        if document.date:
            self.dates.setdefault(document.patient_id, []).append(document.date)
        evidence = self.by_patient.setdefault(document.patient_id, [])
        if len(evidence) < EVIDENCE_PER_CRITERION:
            evidence.append(Evidence(document.id, document.title, document.kind.value, document.date, snippet))


def _keys(values: list[str]) -> set[str]:
    return {normalise_key(v) for v in values if v.strip()}


def criterion_filter(criterion: Any, scope: DocumentFilter) -> DocumentFilter:
    """The structured part of a criterion that retrieval applies itself, within the caller's scope."""
    return within_scope(
        DocumentFilter(
            kinds=tuple(k.value for k in criterion.kinds),
            date_from=criterion.date_from,
            date_to=criterion.date_to,
            departments=tuple(criterion.departments),
            modalities=tuple(criterion.modalities),
        ),
        scope,
    )


def _document_checks(criterion: Any, births: dict[str, dt.date | None]) -> Callable[[Document], bool]:
    """Constraints checked on each retrieved document: body part and age at the document date (from
    the patient's identity), and (until every backend applies them) care unit and modality."""
    departments, modalities, body_parts = _keys(criterion.departments), _keys(criterion.modalities), _keys(criterion.body_parts)

    def ok(document: Document) -> bool:
        if not document.patient_id:
            return False
        if departments and normalise_key(department_of(document) or "") not in departments:
            return False
        if modalities and normalise_key(document.modality or "") not in modalities:
            return False
        if body_parts and normalise_key(body_part_of(document) or "") not in body_parts:
            return False
        if criterion.age_min is not None or criterion.age_max is not None:
            age = age_at(births.get(document.patient_id), document.date)
            if age is None:
                return False
            if criterion.age_min is not None and age < criterion.age_min:
                return False
            if criterion.age_max is not None and age > criterion.age_max:
                return False
        return True

    return ok


def evaluate_criterion(engine, criterion: Any, scope: DocumentFilter, births: dict[str, dt.date | None]) -> CriterionHits:  # noqa: ANN001
    where = criterion_filter(criterion, scope)
    check = _document_checks(criterion, births)
    hits = CriterionHits()
    query = (criterion.q or "").strip()
    if query:
        request = SearchRequest(q=query, include_negated=criterion.include_negated, expand=criterion.expand)
        plan = plan_query(request)
        matches = exact_matches(engine, plan, where)
        documents = engine.backend.get_documents(matches.doc_ids)
        passages = engine.backend.get_passages(list(matches.best_pid.values()))
        for doc_id in matches.doc_ids:
            document = documents.get(doc_id)
            if document is None or not check(document):
                continue
            snippet = ""
            if len(hits.by_patient.get(document.patient_id, [])) < EVIDENCE_PER_CRITERION:
                passage = passages.get(matches.best_pid[doc_id])
                snippet = contextual_snippet(passage.text if passage else document.text, plan.highlight_text, document.language).html
            hits.add(document, snippet)
    else:
        for document in sorted(documents_where(engine, where), key=lambda d: d.date or dt.date.min, reverse=True):
            if check(document):
                hits.add(document, "")
    return hits


def patient_identities(engine, scope: DocumentFilter) -> dict[str, dict[str, Any]]:  # noqa: ANN001
    """Identity (birth date, sex) of every patient whose record or DICOM header the caller may see."""
    by_patient: dict[str, list[Document]] = {}
    for document in documents_where(engine, within_scope(DocumentFilter(kinds=("record", "image")), scope)):
        if document.patient_id:
            by_patient.setdefault(document.patient_id, []).append(document)
    return {patient: identity_of(documents) for patient, documents in by_patient.items()}


def relation_holds(first: list[dt.date], then: list[dt.date], within_days: int) -> bool:
    """Some B date falls 0..*within_days* days after some A date."""
    return any(0 <= (b - a).days <= within_days for a in first for b in then)


@dataclass
class CohortMember:
    patient_id: str
    sex: str | None
    age: int | None
    evidence: dict[int, list[Evidence]]
    by_hand: bool = False


def evaluate(engine, definition: Any, scope: DocumentFilter) -> tuple[list[CohortMember], list[str]]:  # noqa: ANN001
    """(members, patients excluded by hand) of a cohort definition, members ordered by patient id."""
    identities = patient_identities(engine, scope)
    births = {p: i["birth_date"] for p, i in identities.items()}
    results = [evaluate_criterion(engine, c, scope, births) for c in definition.criteria]
    must = [r for c, r in zip(definition.criteria, results) if c.include == "must"]
    candidates: set[str] | None = None
    for hits in must:
        patients = set(hits.by_patient)
        candidates = patients if candidates is None else candidates & patients
    candidates = candidates or set()
    for criterion, hits in zip(definition.criteria, results):
        if criterion.include == "must_not":
            candidates -= set(hits.by_patient)
    if definition.sex:
        candidates = {p for p in candidates if identities.get(p, {}).get("sex") == definition.sex}
    relation = definition.relation
    if relation is not None:
        first, then = results[relation.first], results[relation.then]
        candidates = {
            p for p in candidates
            if relation_holds(first.dates.get(p, []), then.dates.get(p, []), relation.within_days)
        }
    excluded = sorted(set(definition.excluded) & candidates)
    members = candidates - set(definition.excluded)
    by_hand = set(definition.included) - members - set(definition.excluded)
    if by_hand:  # added by hand: only patients the caller can see
        visible = {d.patient_id for d in documents_where(engine, within_scope(DocumentFilter(), scope)) if d.patient_id}
        by_hand &= visible
    today = dt.date.today()
    out = []
    for patient in sorted(members | by_hand):
        identity = identities.get(patient, {})
        out.append(CohortMember(
            patient_id=patient, sex=identity.get("sex"), age=age_at(identity.get("birth_date"), today),
            evidence={i: r.by_patient.get(patient, []) for i, r in enumerate(results) if patient in r.by_patient},
            by_hand=patient in by_hand,
        ))
    return out, excluded
