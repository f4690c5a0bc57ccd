"""Evaluating a cohort definition: which patients satisfy its criteria, with the evidence for each.

A criterion is a query (with the clinical options: affirmed findings by default, « sans X » for
negated ones) and/or structured constraints on the documents (kind, care unit, modality, body part,
dates, the patient's age at the document date) and/or a window on the patient's stays. A patient
satisfies it when at least one of their documents does; with a stay window, that document must be
dated within one of the patient's stays (FHIR ``Encounter.period``, start to end day) overlapping
the window, and the evidence names the stay; a criterion that is only a stay window is satisfied by
the stay itself (its evidence: the stay, on the record that holds it).

Dates are compared in the caller's frame: a researcher sees every date of a patient shifted by that
patient's offset (:mod:`search_api.viewer`), so their windows apply to the shifted dates they see
(retrieval reads a window widened by the largest shift, then each date is checked once shifted);
otherwise a narrow window would reveal the real dates the shift hides. ``must`` criteria are all required, ``must_not`` ones exclude, the sex is a patient
constraint, and an optional time relation asks for B within N days after A. Documents are always
read through the caller's scope (:func:`search_api.scope.within_scope`), so a cohort never holds a
patient, a count or a snippet the caller may not see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from indexer.backend.filters import DocumentFilter, normalise_key
from indexer.backend.base import DocumentSummary
from indexer.departments import canonical_department
from indexer.schema import MAX_DATE, MIN_DATE, Document
from indexer.sources.fhir_records import encounter_class_label
from search_api.matching import exact_matches
from search_api.models import SearchRequest
from search_api.query_plan import QueryPlan
from search_api.patient_data import age_at, body_part_of, department_of, documents_where, identity_of, stay_of, stays_of
from search_api.scope import within_scope
from search_api.snippets import query_matcher
from search_api.value_comparison import satisfying

EVIDENCE_PER_CRITERION = 3
#: a de-identified caller's dates are shifted by at most this many days (search_api.security.deid)
MAX_SHIFT_DAYS = 366

#: (a patient's real date, the patient's id) → that date as the caller sees it
DateFrame = Callable[[dt.date | None, str], dt.date | None]


def _as_is(value: dt.date | None, _patient: str) -> dt.date | None:
    return value


@dataclass
class Evidence:
    doc_id: str
    title: str
    kind: str
    date: dt.date | None
    snippet: str
    #: the stay (FHIR encounter, as stored at index time) the document falls in, for stay-window criteria
    stay: dict[str, Any] | None = None


@dataclass
class CriterionHits:
    """Per patient, the documents satisfying one criterion (best first)."""

    by_patient: dict[str, list[Evidence]] = field(default_factory=dict)
    #: every satisfying document's date, per patient (evidence is capped, time relations are not)
    dates: dict[str, list[dt.date]] = field(default_factory=dict)

    def add(self, document: Document | DocumentSummary, snippet: str, stay: dict[str, Any] | None = None) -> None:
        if document.date:
            self.dates.setdefault(document.patient_id, []).append(document.date)
        evidence = self.by_patient.setdefault(document.patient_id, [])
        if len(evidence) < EVIDENCE_PER_CRITERION:
            kind = getattr(document.kind, "value", document.kind)  # a summary's kind is the plain string
            evidence.append(Evidence(document.id, document.title, kind, document.date, snippet, stay))

    def add_stay(self, patient: str, record_id: str, stay: dict[str, Any]) -> None:
        """A stay satisfying a stay-window-only criterion: dated by its start."""
        start = _iso(stay.get("start"))
        if start:
            self.dates.setdefault(patient, []).append(start)
        evidence = self.by_patient.setdefault(patient, [])
        if len(evidence) < EVIDENCE_PER_CRITERION:
            label = encounter_class_label(stay.get("class_code"), stay.get("class")) or ""
            title = " · ".join(str(p) for p in (f"Séjour {label}".strip(), stay.get("reason"), canonical_department(stay.get("unit"))) if p)
            evidence.append(Evidence(record_id, title, "record", start, "", stay))


@dataclass
class PatientFacts:
    """What the cohort needs to know of each visible patient: identity (birth date, sex) and stays,
    from their FHIR records and DICOM headers, read through the caller's scope."""

    identity: dict[str, Any]
    stays: list[dict[str, Any]]
    #: stay id → the record that holds it (the evidence of a stay-only criterion)
    stay_records: dict[str, str]


def _moved(day: dt.date | None, days: int) -> dt.date | None:
    """*day* moved by *days* (None, unbounded, past the calendar's ends)."""
    if day is None or not days:
        return day
    try:
        moved = day + dt.timedelta(days=days)
    except OverflowError:
        return None
    return moved if MIN_DATE <= moved <= MAX_DATE else None  # beyond what the index stores: unbounded


def _iso(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _keys(values: list[str]) -> set[str]:
    return {normalise_key(v) for v in values if v.strip()}


def _strip_accents(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _body_part_words() -> dict[str, set[str]]:
    """French word (accents optional) → the DICOM body part codes it names, from the table that gives
    images their French words: « thorax » is CHEST, « cerveau » HEAD and BRAIN."""
    from indexer.sources.images import _BODY_PARTS_FR

    words: dict[str, set[str]] = {}
    for code, french in _BODY_PARTS_FR.items():
        for word in {french, *french.split()}:
            for form in {normalise_key(word), normalise_key(_strip_accents(word))}:
                words.setdefault(form, set()).add(normalise_key(code))
    return words


def body_part_keys(values: list[str]) -> set[str]:
    """A criterion's regions as DICOM body part keys: a code (« CHEST ») as it is, a French word
    (« Thorax », « genou », « rachis lombaire ») as the codes it names."""
    words = _body_part_words()
    keys: set[str] = set()
    for key in _keys(values):
        keys.add(key)
        keys |= words.get(key, set()) | words.get(normalise_key(_strip_accents(key)), set())
    return keys


def criterion_filter(criterion: Any, scope: DocumentFilter, shifted: bool = False) -> DocumentFilter:
    """The structured part of a criterion that retrieval applies itself, within the caller's scope
    (a *shifted* caller's date window widened by the largest shift: the exact check is per document)."""
    widen = MAX_SHIFT_DAYS if shifted else 0
    return within_scope(
        DocumentFilter(
            kinds=tuple(k.value for k in criterion.kinds),
            date_from=_moved(criterion.date_from, -widen),
            date_to=_moved(criterion.date_to, widen),
            departments=tuple(criterion.departments),
            modalities=tuple(criterion.modalities),
        ),
        scope,
    )


def _document_checks(criterion: Any, births: dict[str, dt.date | None], frame: DateFrame) -> Callable[[Document | DocumentSummary], bool]:
    """Constraints checked on each retrieved document: body part and age at the document date (from
    the patient's identity), the date window in the caller's frame, and (until every backend applies
    them) care unit and modality."""
    departments = set(DocumentFilter(departments=tuple(criterion.departments)).department_keys)  # « Pulmonology » = « Pneumologie »
    body_parts = body_part_keys(criterion.body_parts)  # « thorax » = CHEST
    modalities = set(DocumentFilter(modalities=tuple(criterion.modalities)).modality_keys)  # « IRM » = MR, as retrieval reads it

    def ok(document: Document | DocumentSummary) -> bool:
        if not document.patient_id:
            return False
        if criterion.date_from or criterion.date_to:
            seen = frame(document.date, document.patient_id)
            if seen is None or (criterion.date_from and seen < criterion.date_from) or (criterion.date_to and seen > criterion.date_to):
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


def has_document_constraints(criterion: Any) -> bool:
    """Whether the criterion asks for a document (a query or a document filter), not only a stay."""
    return bool(criterion.q or criterion.kinds or criterion.departments or criterion.modalities or criterion.body_parts
                or criterion.date_from or criterion.date_to or criterion.age_min is not None or criterion.age_max is not None)


def stays_in_window(stays: list[dict[str, Any]], start: dt.date | None, end: dt.date | None, patient: str,
                    frame: DateFrame = _as_is) -> list[dict[str, Any]]:
    """The stays whose period (start day to end day; an open stay: its start day) overlaps
    [*start*, *end*] in the caller's date frame."""
    out = []
    for stay in stays:
        first = frame(_iso(stay.get("start")), patient)
        if first is None:
            continue
        last = frame(_iso(stay.get("end")), patient) or first
        if (end is None or first <= end) and (start is None or last >= start):
            out.append(stay)
    return out


def affirmed_only(plan: QueryPlan) -> QueryPlan:
    """*plan* without the hypothetical mentions /search also ranks (a quarter of an affirmed one's weight).

    Why: a cohort is a set of patients who *have* the finding (trial screening, research). /search
    lists « suspicion d'embolie pulmonaire » below the affirmed reports, but a cohort has no ranking to
    put it below: it would count the patient as having the embolism it then ruled out."""
    statuses = tuple(s for s in plan.lexical_statuses if s != "hypothetical")
    return plan if statuses == plan.lexical_statuses else replace(plan, lexical_statuses=statuses)


def evaluate_criterion(engine, criterion: Any, scope: DocumentFilter, facts: dict[str, PatientFacts],  # noqa: ANN001
                       frame: DateFrame = _as_is, shifted: bool = False) -> CriterionHits:
    hits = CriterionHits()
    stay_window = criterion.stay_from is not None or criterion.stay_to is not None
    windows: dict[str, list[dict[str, Any]]] = {}
    if stay_window:
        windows = {
            p: found for p, f in facts.items()
            if (found := stays_in_window(f.stays, criterion.stay_from, criterion.stay_to, p, frame))
        }
        if not has_document_constraints(criterion):
            for patient in sorted(windows):
                for stay in sorted(windows[patient], key=lambda s: str(s.get("start") or ""), reverse=True):
                    hits.add_stay(patient, facts[patient].stay_records.get(str(stay["id"]), ""), stay)
            return hits
    births = {p: f.identity.get("birth_date") for p, f in facts.items()}
    where = criterion_filter(criterion, scope, shifted)
    check = _document_checks(criterion, births, frame)

    def in_stay(document: Document | DocumentSummary) -> tuple[bool, dict[str, Any] | None]:
        if not stay_window:
            return True, None
        stay = stay_of(document.date, windows.get(document.patient_id or "", []))
        return stay is not None, stay

    query = (criterion.q or "").strip()
    if query:
        # « FEVG < 40 % »: the label is searched, the value checked on each match's text (value_comparison),
        # planned as /search plans it (query_plan.comparison_query) so both count the same documents
        request = SearchRequest(q=query, include_negated=criterion.include_negated, expand=criterion.expand)
        plan = affirmed_only(engine.plan(request))
        comparison = plan.comparison
        matches = exact_matches(engine, plan, where)
        # every match is checked: from its summary (no text, no JSON body to parse: that was half of
        # a criterion's time at 100k passages) unless the criterion asks for a care unit or a body
        # part, which only the full document's metadata holds as the checks read them, or compares a
        # value, which only the text holds
        if criterion.departments or criterion.body_parts or comparison:
            documents: dict[str, Document | DocumentSummary] = engine.backend.get_documents(matches.doc_ids)
        else:
            documents = engine.backend.document_summaries(matches.doc_ids)
        values = satisfying(comparison, documents) if comparison else {}
        evidence: list[tuple[Evidence, int, Document | DocumentSummary]] = []  # (evidence shown, its best passage, its document)
        for doc_id in matches.doc_ids:
            document = documents.get(doc_id)
            if document is None or not check(document) or (comparison and doc_id not in values):
                continue
            inside, stay = in_stay(document)
            if not inside:
                continue
            shown = len(hits.by_patient.get(document.patient_id, [])) < EVIDENCE_PER_CRITERION
            hits.add(document, "", stay)
            if shown:  # its snippet is built below, with the other evidence's
                evidence.append((hits.by_patient[document.patient_id][-1], matches.best_pid[doc_id], document))
        # only the evidence's passages are read (not every match's), and their snippets built together
        # (one pass over their words), as /search builds a page's
        passages = engine.backend.get_passages(sorted({pid for _, pid, _ in evidence}))
        # a shown document without its passage (removed since) shows its own text: read in full
        texts = engine.backend.get_documents([d.id for _, pid, d in evidence if pid not in passages and not isinstance(d, Document)])
        snippets = query_matcher(plan.highlight_text).snippets([
            (passage.text, document.language, passage.mentions) if passage
            else (getattr(texts.get(document.id, document), "text", ""), document.language, None)
            for passage, document in ((passages.get(pid), document) for _, pid, document in evidence)
        ], statuses=plan.lexical_statuses)
        for (shown_evidence, _, document), (snippet, _) in zip(evidence, snippets):
            # a compared value's evidence is the sentence that gives it (the label's best passage may not)
            shown_evidence.snippet = values.get(document.id, snippet)
    else:
        if stay_window:  # only the patients with a stay in the window can match
            where = replace(where, allowed_patients=tuple(sorted(windows)) if where.allowed_patients is None
                            else tuple(p for p in where.allowed_patients if p in windows))
        for document in sorted(documents_where(engine, where), key=lambda d: d.date or dt.date.min, reverse=True):
            if not check(document):
                continue
            inside, stay = in_stay(document)
            if inside:
                hits.add(document, "", stay)
    return hits


def patient_facts(engine, scope: DocumentFilter) -> dict[str, PatientFacts]:  # noqa: ANN001
    """Identity (birth date, sex) and stays of every patient whose record or DICOM header the caller may see."""
    by_patient: dict[str, list[Document]] = {}
    for document in documents_where(engine, within_scope(DocumentFilter(kinds=("record", "image")), scope)):
        if document.patient_id:
            by_patient.setdefault(document.patient_id, []).append(document)
    facts = {}
    for patient, documents in by_patient.items():
        holders = {
            str(stay["id"]): document.id
            for document in documents if document.kind.value == "record"
            for stay in document.metadata.get("encounters") or [] if isinstance(stay, dict) and stay.get("id")
        }
        facts[patient] = PatientFacts(identity_of(documents), stays_of(documents), holders)
    return facts


def relation_holds(first: list[dt.date], then: list[dt.date], within_days: int) -> bool:
    """Some B date falls 0..*within_days* days after some A date."""
    return any(0 <= (b - a).days <= within_days for a in first for b in then)


def relation_first(evidence: dict[int, list[Evidence]], first: int, then: int, within_days: int) -> dict[int, list[Evidence]]:
    """*evidence* with a pair that satisfies the time relation put first in each of its two criteria's
    lists (order kept otherwise), so that the first document shown and exported per criterion is the one
    the relation holds on: an export read « infarctus 03/10/2019, coronarographie 10/02/2022 » for a
    « coronarographie within 30 days after the infarction » cohort. Unchanged when no listed pair holds
    (evidence is capped; the relation is checked on every date)."""
    for a in evidence.get(first, []):
        for b in evidence.get(then, []):
            if a.date is not None and b.date is not None and 0 <= (b.date - a.date).days <= within_days:
                moved = dict(evidence)
                moved[first] = [a] + [e for e in evidence[first] if e is not a]
                moved[then] = [b] + [e for e in evidence[then] if e is not b]
                return moved
    return evidence


def _latest_evidence(evidence: dict[int, list[Evidence]]) -> dt.date | None:
    """The last dated document among a member's evidence: the day a researcher's cohort gives the age
    on (the age there is the same before and after the date shift; age today, counted on the real
    today beside shifted dates, would narrow the shift: see search_api.patients.age_day)."""
    return max((e.date for found in evidence.values() for e in found if e.date), default=None)


@dataclass
class CohortMember:
    patient_id: str
    sex: str | None
    age: int | None
    evidence: dict[int, list[Evidence]]
    by_hand: bool = False


def evaluate(engine, definition: Any, scope: DocumentFilter, frame: DateFrame | None = None) -> tuple[list[CohortMember], list[str]]:  # noqa: ANN001
    """(members, patients excluded by hand) of a cohort definition, members ordered by patient id.

    *frame* maps a patient's dates into the caller's (a researcher's shifted dates); the definition's
    date and stay windows are read in it. Patient ids stay the index's own here."""
    facts = patient_facts(engine, scope)
    identities = {p: f.identity for p, f in facts.items()}
    results = [evaluate_criterion(engine, c, scope, facts, frame or _as_is, frame is not None) for c in definition.criteria]
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
        evidence = {i: r.by_patient.get(patient, []) for i, r in enumerate(results) if patient in r.by_patient}
        if relation is not None:
            evidence = relation_first(evidence, relation.first, relation.then, relation.within_days)
        on = today if frame is None else _latest_evidence(evidence)
        out.append(CohortMember(
            patient_id=patient, sex=identity.get("sex"), age=age_at(identity.get("birth_date"), on),
            evidence=evidence,
            by_hand=patient in by_hand,
        ))
    return out, excluded
