"""Cohorts: patients found by combined criteria, kept, re-run and exported (``/cohorts...``).

A physician describes a cohort (criteria combining queries with structured filters, a sex, an
optional time relation), looks at the patients with the evidence for each criterion, includes or
excludes patients by hand, names and saves it, re-runs it later (patients absent from the previous
run are flagged ``new``) and exports it as CSV or Excel, one row per patient. Saved cohorts belong
to their owner (:func:`search_api.scope.current_user`); evaluation reads documents through
:func:`search_api.scope.research_scope`'s filter only (the caller's scope without break-the-glass
grants: a grant is for one patient's care, not research). A cohort saved with ``watch: true`` is also
re-evaluated after each index publication, with its owner's scope (:mod:`search_api.cohort_watch`);
the list then counts its new patients until the owner opens or re-runs it. What a saved cohort
stored is shown only within the caller's current rights (:func:`visible_patients`).

Screening (as in Dr Warehouse): on a saved cohort, each patient may carry a decision, ``included`` /
``excluded`` / ``to_review`` (« inclus / exclu / à revoir »), with an optional reason; who decided
and when are set by the API. A decision ``excluded`` *is* the hand exclusion (the definition's
``excluded`` list reads and writes those decisions, :mod:`search_api.user_data`): such patients stay
out of the members. Decisions are keyed by the patient id the owner is shown (a researcher's
pseudonyms), kept across re-runs, shown within the caller's current rights, audited with real ids.
"""

# No `from __future__ import annotations`: FastAPI must resolve the closures' dependency annotations.
import csv
import datetime as dt
import html
import io
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from indexer.backend.filters import DocumentFilter, normalise_key
from indexer.schema import DocumentKind
from indexer.settings import Settings
from search_api.audit import AuditLog
from search_api.cohort_engine import CohortMember, Evidence, evaluate, has_document_constraints
from search_api.models import MAX_QUERY_CHARS, FilterDate, RowId
from search_api.patients import Stay, stay_fields
from search_api.scope import current_user, patient_viewer, research_scope
from search_api.security.identity import client_address
from search_api.security.views import NO_SUCH_PATIENT
from search_api.user_data import STATUSES, UserDataStore
from search_api.viewer import Viewer

MAX_CRITERIA = 10


# A cohort definition is typed by hand or by scripts: a misspelt field (« query » for « q », « kind »
# for « kinds ») was dropped in silence, so the criterion ran without it or was refused as having « no
# query and no filter ». Unknown fields answer 422 naming the field. Stored definitions only ever hold
# fields these models dumped (no field has been removed since cohorts were first saved).
_STRICT = ConfigDict(extra="forbid")


class CohortCriterion(BaseModel):
    """One criterion: a query and/or constraints on a document of the patient."""

    model_config = _STRICT

    label: str = Field(default="", max_length=200, description="Name shown in the results and exports")
    include: Literal["must", "must_not"] = Field(default="must", description="Patients must (not) have such a document")
    q: str | None = Field(
        default=None, description="Query in medical language; « sans X » / « pas de X » asks for negated findings",
        examples=["embolie pulmonaire"],
    )
    include_negated: bool = Field(default=False, description="Also count negated mentions (default: affirmed only)")
    expand: bool = Field(default=True, description="Expand abbreviations and synonyms")
    kinds: list[DocumentKind] = Field(default_factory=list)
    departments: list[str] = Field(default_factory=list, description="Care units (any of them)")
    modalities: list[str] = Field(default_factory=list, description="Image modalities (CT, MR, CR...)")
    body_parts: list[str] = Field(default_factory=list, description="DICOM body parts (CHEST, HEAD...) or their French words (thorax, genou...)")
    date_from: FilterDate | None = Field(default=None, description="Document dated on or after (the document's own date)")
    date_to: FilterDate | None = Field(default=None, description="Document dated on or before")
    stay_from: FilterDate | None = Field(
        default=None,
        description="Stay dates: the patient has a stay (FHIR encounter period) ending on or after this day, "
        "and the criterion's documents are dated within such a stay; alone, the stay itself satisfies the criterion",
    )
    stay_to: FilterDate | None = Field(default=None, description="Stay dates: the stay starts on or before this day")
    age_min: int | None = Field(default=None, ge=0, le=130, description="Age at the document date, at least")
    age_max: int | None = Field(default=None, ge=0, le=130)

    @field_validator("q")
    @classmethod
    def _query(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if len(value) > MAX_QUERY_CHARS:
            raise ValueError(f"la requête est trop longue ({len(value)} caractères, au plus {MAX_QUERY_CHARS})")
        return value or None

    @model_validator(mode="after")
    def _something(self) -> "CohortCriterion":
        if not (has_document_constraints(self) or self.stay_from or self.stay_to):
            raise ValueError("un critère doit avoir une requête ou au moins un filtre")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from doit précéder date_to")
        if self.stay_from and self.stay_to and self.stay_from > self.stay_to:
            raise ValueError("stay_from doit précéder stay_to")
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise ValueError("age_min doit être inférieur ou égal à age_max")
        return self


class TimeRelation(BaseModel):
    """Criterion ``then`` satisfied within ``within_days`` days after criterion ``first`` (0-based)."""

    model_config = _STRICT

    first: int = Field(ge=0)
    then: int = Field(ge=0)
    within_days: int = Field(ge=0, le=36500)


class CohortDefinition(BaseModel):
    model_config = _STRICT

    name: str = Field(default="", max_length=200)
    criteria: list[CohortCriterion] = Field(min_length=1, max_length=MAX_CRITERIA)
    sex: Literal["male", "female"] | None = None
    relation: TimeRelation | None = None
    included: list[str] = Field(default_factory=list, description="Patients added by hand")
    excluded: list[str] = Field(default_factory=list, description="Patients removed by hand")

    @model_validator(mode="after")
    def _relation_refers_to_criteria(self) -> "CohortDefinition":
        if not any(c.include == "must" for c in self.criteria):
            raise ValueError("au moins un critère doit être obligatoire (include = must)")
        if self.relation is not None:
            for index in (self.relation.first, self.relation.then):
                if index >= len(self.criteria) or self.criteria[index].include != "must":
                    raise ValueError(f"la relation temporelle désigne le critère {index}, qui n'est pas un critère obligatoire")
        return self


Status = Literal["included", "excluded", "to_review"]
#: the portal's and the exports' words for each status
STATUS_LABELS = {"included": "inclus", "excluded": "exclu", "to_review": "à revoir"}
assert tuple(STATUS_LABELS) == STATUSES
MAX_REASON_CHARS = 500
MAX_DECISIONS_PER_CALL = 1000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _reason(value: str | None) -> str | None:
    """A reason as stored: trimmed, None when blank; bounded, no control characters (tab, newline kept)."""
    value = (value or "").strip()
    if len(value) > MAX_REASON_CHARS:
        raise ValueError(f"le motif est trop long ({len(value)} caractères, au plus {MAX_REASON_CHARS})")
    if _CONTROL.search(value):
        raise ValueError("le motif contient des caractères de contrôle")
    return value or None


class DecisionIn(BaseModel):
    """A screening decision on one patient of a saved cohort (who and when: set by the API)."""

    model_config = _STRICT

    status: Status = Field(description="included (« inclus »), excluded (« exclu »: out of the members, as a hand "
                                       "exclusion) or to_review (« à revoir »)")
    reason: str | None = Field(default=None, description=f"Why (free text, at most {MAX_REASON_CHARS} characters)")

    @field_validator("reason")
    @classmethod
    def _bounded(cls, value: str | None) -> str | None:
        return _reason(value)


class PatientDecisionIn(BaseModel):
    model_config = _STRICT

    patient_id: str = Field(min_length=1, max_length=200, description="As the caller is shown it (researchers: pseudonym)")
    status: Status | None = Field(description="None clears the patient's decision")
    reason: str | None = Field(default=None, description=f"At most {MAX_REASON_CHARS} characters")

    @field_validator("reason")
    @classmethod
    def _bounded(cls, value: str | None) -> str | None:
        return _reason(value)


class DecisionsIn(BaseModel):
    """Several patients' decisions at once: all applied, or none (any error answers 4xx, nothing changed)."""

    model_config = _STRICT

    decisions: list[PatientDecisionIn] = Field(min_length=1, max_length=MAX_DECISIONS_PER_CALL)

    @model_validator(mode="after")
    def _once_each(self) -> "DecisionsIn":
        seen: set[str] = set()
        for d in self.decisions:
            if d.patient_id in seen:
                raise ValueError(f"le patient {d.patient_id} figure deux fois")
            seen.add(d.patient_id)
        return self


class Decision(BaseModel):
    status: Status
    label: str = Field(description="The status in French: inclus, exclu, à revoir")
    reason: str | None = None
    decided_by: str = Field(description="Who decided (set by the API)")
    decided_at: str = Field(description="When (UTC, ISO 8601; set by the API)")


class PatientDecision(Decision):
    patient_id: str


class StatusCounts(BaseModel):
    included: int = 0
    excluded: int = 0
    to_review: int = 0
    undecided: int = Field(default=0, description="Members without a decision")


def decision_out(stored: dict[str, Any]) -> Decision:
    status = stored["status"]
    return Decision(status=status, label=STATUS_LABELS[status], reason=stored.get("reason"),
                    decided_by=stored.get("decided_by") or "", decided_at=stored.get("decided_at") or "")


class EvidenceOut(BaseModel):
    criterion: int
    label: str
    doc_id: str
    title: str
    kind: str
    date: dt.date | None
    snippet: str = Field(description="HTML: matched terms in <mark> (empty for filter-only criteria)")
    url: str
    stay: Stay | None = Field(default=None, description="The stay this evidence falls in (criteria with stay dates)")


class CohortPatient(BaseModel):
    patient_id: str
    sex: str | None = None
    age: int | None = Field(default=None, description="Age today; for a researcher (shifted dates), the age at the "
                            "patient's last evidence document, never today's (search_api.patients.age_day)")
    by_hand: bool = Field(default=False, description="Included by hand, not by the criteria")
    new: bool = Field(default=False, description="Not in the saved cohort's previous run")
    decision: Decision | None = Field(default=None, description="The screening decision (saved cohorts)")
    evidence: list[EvidenceOut]


class CohortResult(BaseModel):
    name: str
    total: int
    patients: list[CohortPatient]
    excluded: list[str] = Field(description="Patients the criteria found and a physician excluded by hand")
    new: int = 0
    left: list[str] = Field(default_factory=list, description="Patients of the previous run no longer in the cohort")
    decisions: list[PatientDecision] = Field(
        default_factory=list, description="Every screening decision of the saved cohort the caller may see, members "
        "or not (the excluded, patients who left), by patient id")
    counts: StatusCounts = Field(default_factory=StatusCounts, description="Decisions per status: members' included, "
                                 "to_review and undecided; excluded: every visible patient decided excluded")


class SavedCohort(BaseModel):
    id: int
    name: str
    definition: CohortDefinition
    members: list[str] = Field(description="The members of the last run, or of the last watch refresh when later")
    created_at: str
    updated_at: str
    last_run_at: str | None = None
    watch: bool = Field(default=False, description="Re-evaluated after each index publication (`medsearch cohorts refresh`)")
    last_refreshed: str | None = Field(default=None, description="When the watch last re-evaluated it (UTC)")
    new_patients: int = Field(
        default=0, description="Patients the watch found since the owner last opened (`GET /cohorts/{id}`) "
        "or re-ran (`POST /cohorts/{id}/run`) the cohort; both mark them seen, those shown only (hidden by "
        "the caller's current rights, they stay unseen)",
    )
    new_patient_ids: list[str] = Field(
        default_factory=list, description="Those patients, as the caller is shown them, limited (as `members` and "
        "`new_patients`) to those the caller may see with their current rights")
    refresh_error: str | None = Field(default=None, description="Why the last watch refresh failed or was skipped")
    decisions: list[PatientDecision] = Field(default_factory=list, description="Screening decisions the caller may see")


class SaveCohort(BaseModel):
    name: str = Field(min_length=1, max_length=200)

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        """A name of spaces only was saved as « » (a blank line in the list, no export file name)."""
        if not value.strip():
            raise ValueError("le nom de la cohorte est vide")
        return value
    definition: CohortDefinition
    watch: bool | None = Field(
        default=None, description="Watch the cohort: re-evaluate it after each index publication with the owner's "
        "access scope (on update: unchanged when absent)",
    )


def saved_out(stored: dict[str, Any], visible: set[str] | None = None) -> dict[str, Any]:
    """A stored cohort as the API shows it: the latest members known and the count of new ones,
    limited to the *visible* patients (:func:`visible_patients`; None: all of them)."""
    latest = stored.get("refreshed_members")
    members = latest if latest is not None else stored["members"]
    news = stored.get("new_patient_ids") or []
    decisions = stored.get("decisions") or {}
    if visible is not None:
        members, news = [p for p in members if p in visible], [p for p in news if p in visible]
        decisions = {p: d for p, d in decisions.items() if p in visible}
    return {**stored, "members": members, "new_patient_ids": news, "new_patients": len(news),
            "decisions": decisions_out(decisions)}


def decisions_out(decisions: dict[str, dict[str, Any]]) -> list[PatientDecision]:
    return [PatientDecision(patient_id=p, **decision_out(d).model_dump()) for p, d in sorted(decisions.items())]


def stored_patients(cohorts: list[dict[str, Any]]) -> set[str]:
    """Every patient id stored with *cohorts*: the owner's last run, the watch's, its news."""
    found: set[str] = set()
    for cohort in cohorts:
        found.update(cohort["members"], cohort.get("refreshed_members") or (), cohort.get("new_patient_ids") or (),
                     cohort.get("decisions") or ())
    return found


#: kinds a patient document can be (articles never are: not read to find who is visible)
_PATIENT_KINDS = (DocumentKind.REPORT.value, DocumentKind.RECORD.value, DocumentKind.IMAGE.value)
_PATIENTS_PER_QUERY = 900  # SQLite's bound parameters per statement stay far below its limit


#: which patient keys have a patient document in some care units (None: any), per index generation
Visibility = Callable[[tuple[Any, ...], tuple[str, ...] | None], dict[str, bool]]


def visibility_cache(size: int = 64) -> Visibility:
    """One API's memory of :func:`visible_patients`' index reads, per (generation, care units).

    Why: a unit-restricted caller's ``GET /cohorts`` read the documents of every patient its cohorts
    stored, on every call (100 ms for 500 patients on 2 cores: BENCHMARKS.md « Listing saved
    cohorts »); the answer changes only with the index generation, which is part of the key. One per
    API (not per process): two indexes never share one."""

    @lru_cache(maxsize=size)
    def known(generation: tuple[Any, ...], departments: tuple[str, ...] | None) -> dict[str, bool]:
        return {}

    return known


def sees_every_patient(scope: DocumentFilter, viewer: Viewer) -> bool:
    """An identified caller without restriction: whatever a cohort stored, they may see it."""
    return not viewer.deidentified and scope.allowed_patients is None and scope.allowed_departments is None


def visible_patients(search_engine: Any, shown: set[str], scope: DocumentFilter, viewer: Viewer,
                     cache: Visibility | None = None) -> set[str]:
    """Those of *shown* (patient ids as this caller is shown them) the caller may see **now**: with at
    least one document inside the caller's current scope, and in the caller's current view.

    Why: what a saved cohort stores was computed with the rights of its time: the owner's own run,
    or a watch refresh made with their account or OIDC rights snapshot. A care unit or patient
    withdrawn since, or a clinician become researcher (stored real IPPs), must not show through the
    stored ids or counts. An identified caller without restriction may see every patient: as is; a
    researcher without restriction every patient of the live generation (its pseudonyms). Otherwise
    the index is read for the patients *cache* (:func:`visibility_cache`) does not know yet."""
    if not shown:
        return set()
    if sees_every_patient(scope, viewer):
        return set(shown)
    real = {s: viewer.patient_in(s) for s in shown}  # unknown pseudonyms, real IPPs of a researcher: none
    if scope.allowed_patients is None and scope.allowed_departments is None:
        # a researcher without restriction: the live generation's pseudonyms are its patients, all in scope
        return {s for s, r in real.items() if r and r != NO_SUCH_PATIENT}
    wanted = {normalise_key(r) for r in real.values() if r and r != NO_SUCH_PATIENT}
    if scope.allowed_patients is not None:
        wanted &= {normalise_key(p) for p in scope.allowed_patients}
    wanted.discard(None)
    if not wanted:
        return set()
    search_engine.refresh_if_changed()
    backend = search_engine.backend
    info = backend.info()
    generation = (id(backend), info.generation, info.updated_at)
    known = cache(generation, scope.allowed_departments) if cache else {}
    missing = sorted(k for k in wanted if k and k not in known)
    for start in range(0, len(missing), _PATIENTS_PER_QUERY):
        chunk = tuple(missing[start:start + _PATIENTS_PER_QUERY])
        where = DocumentFilter(kinds=_PATIENT_KINDS, allowed_patients=chunk, allowed_departments=scope.allowed_departments)
        summaries = backend.document_summaries(backend.document_ids_where(where))
        seen = {normalise_key(d.patient_id) for d in summaries.values() if d.patient_id}
        known.update((k, k in seen) for k in chunk)
    return {s for s, r in real.items() if r and known.get(normalise_key(r))}


def run_cohort(search_engine: Any, definition: CohortDefinition, scope: DocumentFilter, previous: list[str] | None,
               viewer: Viewer) -> CohortResult:
    """The cohort now, as the viewer sees it (*definition* and *previous* members in the viewer's ids
    and date frame; a researcher's dates are shifted per patient, so windows apply to those). The API
    and the cohort watch both evaluate through here."""
    frame = viewer.date if viewer.deidentified else None
    members, excluded = evaluate(search_engine, definition_in(definition, viewer), scope, frame)
    members, excluded = shown_members(members, excluded, viewer)
    return _result(definition, members, excluded, previous)


def _label(definition: CohortDefinition, index: int) -> str:
    criterion = definition.criteria[index]
    return criterion.label or criterion.q or f"critère {index + 1}"


def _result(definition: CohortDefinition, members: list[CohortMember], excluded: list[str], previous: list[str] | None) -> CohortResult:
    before = set(previous) if previous is not None else None
    patients = [
        CohortPatient(
            patient_id=m.patient_id, sex=m.sex, age=m.age, by_hand=m.by_hand,
            new=before is not None and m.patient_id not in before,
            evidence=[
                EvidenceOut(
                    criterion=i, label=_label(definition, i), doc_id=e.doc_id, title=e.title, kind=e.kind, date=e.date,
                    snippet=e.snippet, url=f"/documents/{e.doc_id}", stay=_stay_out(e.stay),
                )
                for i, evidence in sorted(m.evidence.items())
                for e in evidence
            ],
        )
        for m in members
    ]
    current = {p.patient_id for p in patients}
    return CohortResult(
        name=definition.name, total=len(patients), patients=patients, excluded=excluded,
        new=sum(p.new for p in patients), left=sorted(before - current) if before is not None else [],
    )


def _stay_out(stay: dict[str, Any] | None) -> Stay | None:
    if not stay:
        return None
    return Stay(**stay_fields(stay))


def shown_members(members: list[CohortMember], excluded: list[str], viewer: Viewer) -> tuple[list[CohortMember], list[str]]:
    """Members and hand-excluded patients as the caller sees them (researchers: pseudonyms, shifted
    dates, masked titles and passages, keyed stay ids), ordered by the id shown."""
    if not viewer.deidentified:
        return members, excluded

    def evidence(e: Evidence, patient: str) -> Evidence:
        return Evidence(
            doc_id=viewer.doc_out(e.doc_id, patient), title=viewer.text(e.title, patient) or "", kind=e.kind,
            date=viewer.date(e.date, patient), snippet=viewer.html(e.snippet, patient) or "",
            stay=viewer.stay(e.stay, patient) if e.stay else None,
        )

    shown = [
        CohortMember(
            patient_id=viewer.patient_out(m.patient_id) or "", sex=m.sex, age=m.age, by_hand=m.by_hand,
            evidence={i: [evidence(e, m.patient_id) for e in found] for i, found in m.evidence.items()},
        )
        for m in members
    ]
    return sorted(shown, key=lambda m: m.patient_id), sorted(p for p in map(viewer.patient_out, excluded) if p)


def definition_in(definition: "CohortDefinition", viewer: Viewer) -> "CohortDefinition":
    """The definition as the index reads it: a researcher's pseudonyms (included / excluded by hand)
    mapped back (unknown ones dropped), queries stripped of names and IPPs."""
    if not viewer.deidentified:
        return definition
    return definition.model_copy(update={
        "criteria": [c.model_copy(update={"q": viewer.query(c.q) if c.q else c.q}) for c in definition.criteria],
        "included": viewer.patients_in(definition.included),
        "excluded": viewer.patients_in(definition.excluded),
    })


_TAG = re.compile(r"<[^>]+>")


def plain(snippet: str) -> str:
    """A snippet's text without its ``<mark>`` tags, unescaped: what a spreadsheet cell shows."""
    return html.unescape(_TAG.sub("", snippet)).strip()


def _decided_at(value: str | None) -> dt.datetime | str:
    """A decision's date as a spreadsheet cell: a naive UTC datetime (Excel knows no time zone)."""
    if not value:
        return ""
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return when.astimezone(dt.timezone.utc).replace(tzinfo=None) if when.tzinfo else when


def _decision_cells(decision: Decision | None) -> list[Any]:
    if decision is None:
        return ["", "", "", ""]
    return [decision.label, decision.reason or "", decision.decided_by, _decided_at(decision.decided_at)]


DECISION_HEADER = ["décision", "motif", "décidé par", "décidé le (UTC)"]
#: inclusion of a patient decided « inclus » or « à revoir » whom a later run no longer finds
DEPARTED = "sortie"


def off_list_decisions(result: "CohortResult") -> list[PatientDecision]:
    """The decisions on patients who are not members now: the excluded, and those the criteria no longer
    find (their documents changed, or the definition). Why: a research associate's « à revoir » on such
    a patient vanished from the list, the counts and the screening log's export."""
    members = {p.patient_id for p in result.patients}
    return [d for d in result.decisions if d.status == "excluded" or d.patient_id not in members]


#: the age column's header: what the age is counted on (CohortPatient.age)
AGE_TODAY = "âge (aujourd'hui)"
AGE_LAST_EVIDENCE = "âge (dernier document retenu)"


def export_rows(definition: CohortDefinition, result: CohortResult,
                excluded: list[PatientDecision] | None = None, age_header: str = AGE_TODAY) -> tuple[list[str], list[list[Any]]]:
    """One row per patient: id, sex, age, how included, whether new, then per criterion its first
    document, date (a ``date``: the CSV writes it dd/mm/yyyy, the workbook as a date cell) and passage,
    and last the screening decision: status in French, reason, decider, date (UTC; columns appended
    last so that older readers' column positions hold). *excluded*: the decided patients who are not
    members, one row each after the members, no evidence: inclusion « exclue » for a decision « exclu »,
    « sortie » for another decision on a patient the criteria no longer find."""
    # *age_header* says on which day the age is counted. Why: « age » 81 in a cohort asked for 18–80 (at
    # the document date, 78 then) read to a research associate as a broken age filter
    header = ["patient_id", "sexe", age_header, "inclusion", "nouveau"]
    for i in range(len(definition.criteria)):
        label = _label(definition, i)
        header += [f"{label} : document", f"{label} : date", f"{label} : extrait"]
    rows = []
    for patient in result.patients:
        row: list[Any] = [
            patient.patient_id, {"male": "homme", "female": "femme"}.get(patient.sex or "", ""),
            patient.age if patient.age is not None else "", "manuelle" if patient.by_hand else "critères",
            "oui" if patient.new else "",
        ]
        for i in range(len(definition.criteria)):
            first = next((e for e in patient.evidence if e.criterion == i), None)
            row += [first.doc_id, first.date, plain(first.snippet)] if first else ["", "", ""]
        rows.append(row + _decision_cells(patient.decision))
    for gone in excluded or []:
        how = "exclue" if gone.status == "excluded" else DEPARTED
        rows.append([gone.patient_id, "", "", how, "", *[""] * (3 * len(definition.criteria)),
                     *_decision_cells(gone)])
    return header + DECISION_HEADER, rows


#: a spreadsheet reads a cell starting with one of these as a formula: « - Insuffisance cardiaque »
#: (a list item's passage) showed #NOM? in Excel, and « =HYPERLINK(...) » in a report would run
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(value: str) -> str:
    """*value* as a CSV cell a spreadsheet shows as text (OWASP « CSV injection »: a leading quote)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def to_csv(header: list[str], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")  # French Excel opens « ; »-separated files directly
    writer.writerow([_text_cell(h) for h in header])
    for row in rows:
        writer.writerow([
            v.strftime("%d/%m/%Y %H:%M") if isinstance(v, dt.datetime) else
            v.strftime("%d/%m/%Y") if isinstance(v, dt.date) else _text_cell(v) if isinstance(v, str) else v for v in row
        ])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel then reads UTF-8 accents right


def to_xlsx(title: str, header: list[str], rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = (re.sub(r"[\[\]:*?/\\]", " ", title) or "Cohorte")[:31]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # openpyxl writes a string starting with « = » as a formula
            elif isinstance(cell.value, dt.datetime):
                cell.number_format = "DD/MM/YYYY HH:MM"
            elif isinstance(cell.value, dt.date):
                cell.number_format = "DD/MM/YYYY"  # a date Excel sorts and filters, shown the French way
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})


def attachment(name: str, extension: str, fallback: str) -> str:
    """The ``Content-Disposition`` of a file named after *name* (RFC 6266): an ASCII ``filename``
    (accents dropped) and the name as typed in ``filename*`` (UTF-8). The header used to carry the
    name itself: HTTP headers are Latin-1, so « Suivi d’EP » or « cœur » answered 500."""
    typed = re.sub(r"[^\w.-]+", "_", name).strip("_") or fallback
    spelled = typed.translate(_LIGATURES)
    ascii_name = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^\w.-]+", "_", ascii_name).strip("_") or fallback
    return f"attachment; filename=\"{ascii_name}.{extension}\"; filename*=UTF-8''{quote(f'{typed}.{extension}', safe='')}"


_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def cohort_router(settings: Settings, engine: Callable[[], Any], audit: AuditLog, store: UserDataStore | None = None) -> APIRouter:
    router = APIRouter(tags=["cohorts"])
    holder: dict[str, UserDataStore] = {"store": store} if store else {}

    def data() -> UserDataStore:
        if "store" not in holder:
            holder["store"] = UserDataStore(settings.api.user_data)
        return holder["store"]

    def saved(who: str, cohort_id: int) -> dict[str, Any]:
        found = data().cohort(who, cohort_id)
        if found is None:
            raise HTTPException(status_code=404, detail=f"aucune cohorte n° {cohort_id}")
        return found

    def fresh_engine() -> Any:
        """The served engine on the latest published generation: a researcher's viewer must know the
        pseudonyms of patients a watch refresh found in it."""
        search_engine = engine()
        search_engine.refresh_if_changed()
        return search_engine

    view = patient_viewer(fresh_engine)
    visibility = visibility_cache()

    def run(definition: CohortDefinition, scope: DocumentFilter, previous: list[str] | None, viewer: Viewer) -> CohortResult:
        """The cohort now, as the caller sees it (:func:`run_cohort` on the served index)."""
        search_engine = engine()
        search_engine.refresh_if_changed()
        return run_cohort(search_engine, definition, scope, previous, viewer)

    def real(patients: list[str], viewer: Viewer) -> list[str]:
        """The audit names patients by their real ids, whatever the caller was shown (HDS traceability)."""
        return viewer.patients_in(patients) if viewer.deidentified else patients

    def previous(stored: dict[str, Any], scope: DocumentFilter, viewer: Viewer) -> dict[str, Any]:
        """*stored* as of the caller's last look, within their current rights: its ``members`` are the
        previous run's the caller may see now (those no longer visible are neither « left », which would
        name them, nor the reference of « new »), its ``new_patient_ids`` the watch's news they may see."""
        [out] = shown([{**stored, "refreshed_members": None}], scope, viewer)
        return out

    @router.post("/cohorts/evaluate", response_model=CohortResult)
    def evaluate_cohort(
        definition: CohortDefinition, http: Request, who: Annotated[str, Depends(current_user)],
        scope: Annotated[DocumentFilter, Depends(research_scope)],
        viewer: Annotated[Viewer, Depends(view)],
    ) -> CohortResult:
        """Patients satisfying a (not yet saved) definition, with the evidence for each criterion."""
        result = run(definition, scope, None, viewer)
        audit.record(who, "cohort_evaluate", definition=audited(definition, viewer),
                     returned=real([p.patient_id for p in result.patients], viewer), client=client_address(http))
        return result

    def audited(definition: CohortDefinition, viewer: Viewer) -> dict[str, Any]:
        """A definition as the audit records it: as the index read it (:func:`definition_in`), so the
        patients a researcher included or excluded by hand are named by their real ids, not pseudonyms."""
        return definition_in(definition, viewer).model_dump(mode="json")

    def shown(cohorts: list[dict[str, Any]], scope: DocumentFilter, viewer: Viewer) -> list[dict[str, Any]]:
        """*cohorts* as the caller may see them now (:func:`visible_patients`: one index query for all
        their patients, or none when this generation's answers are known)."""
        patients = stored_patients(cohorts)
        restricted = not sees_every_patient(scope, viewer)
        visible = visible_patients(fresh_engine(), patients, scope, viewer, visibility) if restricted and patients else None
        return [saved_out(c, visible if restricted else None) for c in cohorts]

    def screened(result: CohortResult, stored: dict[str, Any], scope: DocumentFilter, viewer: Viewer) -> CohortResult:
        """*result* with the saved cohort's screening decisions the caller may see: on each member, the
        full list (the excluded too) and the counts per status."""
        [out] = shown([stored], scope, viewer)
        decisions: list[PatientDecision] = out["decisions"]
        by_patient = {d.patient_id: d for d in decisions}
        for patient in result.patients:
            found = by_patient.get(patient.patient_id)
            patient.decision = Decision(**found.model_dump(exclude={"patient_id"})) if found else None
        statuses = [p.decision.status if p.decision else None for p in result.patients]
        result.decisions = decisions
        result.counts = StatusCounts(
            included=statuses.count("included"), to_review=statuses.count("to_review"), undecided=statuses.count(None),
            excluded=sum(d.status == "excluded" for d in decisions),
        )
        return result

    def decide(cohort_id: int, changes: dict[str, tuple[str, str | None] | None], http: Request, who: str,
               scope: DocumentFilter, viewer: Viewer) -> dict[str, Any]:
        """Apply screening *changes* (patient id as shown → (status, reason), or None to clear) to one of
        the caller's cohorts, all or none: 404 for another's cohort or a patient the cohort does not hold
        (members of its runs and watch, patients decided or included by hand) or the caller may not see
        now; a researcher addresses patients by pseudonym only (a real IPP is unknown). Audited with the
        real patient ids. Returns the stored cohort as the caller may see it."""
        stored = saved(who, cohort_id)
        held = stored_patients([stored]) | set(stored["definition"].get("included") or [])
        if not sees_every_patient(scope, viewer):
            held = visible_patients(fresh_engine(), held, scope, viewer, visibility)
        unknown = [p for p in changes if p not in held]
        if unknown:
            more = f" (et {len(unknown) - 5} autres)" if len(unknown) > 5 else ""
            raise HTTPException(status_code=404,
                                detail=f"patient inconnu dans la cohorte n° {cohort_id} : {', '.join(unknown[:5])}{more}")
        updated = data().decide(who, cohort_id, changes, who)
        if updated is None:  # deleted meanwhile
            raise HTTPException(status_code=404, detail=f"aucune cohorte n° {cohort_id}")
        audit.record(who, "cohort_decision", cohort_id=cohort_id, client=client_address(http), decisions=[
            {"patient": viewer.patient_in(p) if viewer.deidentified else p,
             "status": change[0] if change else None, "reason": change[1] if change else None}
            for p, change in changes.items()
        ])
        [out] = shown([updated], scope, viewer)
        return out

    @router.put("/cohorts/{cohort_id}/decisions/{patient_id}", response_model=PatientDecision)
    def set_decision(
        cohort_id: RowId, patient_id: str, body: DecisionIn, http: Request, who: Annotated[str, Depends(current_user)],
        scope: Annotated[DocumentFilter, Depends(research_scope)], viewer: Annotated[Viewer, Depends(view)],
    ) -> PatientDecision:
        """Set or change one patient's screening decision: ``included`` / ``excluded`` / ``to_review``
        (« inclus / exclu / à revoir ») with an optional reason; the API records who and when. ``excluded``
        takes the patient out of the members (the hand exclusion); a decision survives re-runs."""
        out = decide(cohort_id, {patient_id: (body.status, body.reason)}, http, who, scope, viewer)
        return next(d for d in out["decisions"] if d.patient_id == patient_id)

    @router.delete("/cohorts/{cohort_id}/decisions/{patient_id}", status_code=204)
    def clear_decision(
        cohort_id: RowId, patient_id: str, http: Request, who: Annotated[str, Depends(current_user)],
        scope: Annotated[DocumentFilter, Depends(research_scope)], viewer: Annotated[Viewer, Depends(view)],
    ) -> None:
        """Clear one patient's decision (an excluded patient is a member again at the next run)."""
        decide(cohort_id, {patient_id: None}, http, who, scope, viewer)

    @router.post("/cohorts/{cohort_id}/decisions", response_model=list[PatientDecision])
    def set_decisions(
        cohort_id: RowId, body: DecisionsIn, http: Request, who: Annotated[str, Depends(current_user)],
        scope: Annotated[DocumentFilter, Depends(research_scope)], viewer: Annotated[Viewer, Depends(view)],
    ) -> list[PatientDecision]:
        """Set, change or clear (``status: null``) several patients' decisions at once: all or none.
        Answers every decision of the cohort the caller may see."""
        changes = {d.patient_id: (d.status, d.reason) if d.status else None for d in body.decisions}
        return decide(cohort_id, changes, http, who, scope, viewer)["decisions"]

    def named(cohort: dict[str, Any]) -> list[str]:
        """The patients a shown cohort names: its members, then those only its decisions name (the excluded)."""
        members = list(cohort["members"])
        return members + [d.patient_id for d in cohort.get("decisions") or [] if d.patient_id not in set(members)]

    @router.get("/cohorts", response_model=list[SavedCohort])
    def list_cohorts(
        http: Request, who: Annotated[str, Depends(current_user)], scope: Annotated[DocumentFilter, Depends(research_scope)],
        viewer: Annotated[Viewer, Depends(view)],
    ) -> list[dict[str, Any]]:
        """The caller's saved cohorts. A watched one (``watch``) carries ``last_refreshed`` and
        ``new_patients``: how many patients the watch found since the caller last opened or re-ran it.
        Members and new patients are those the caller may see with their current rights (the list
        shows every cohort's members: audited like opening each one)."""
        cohorts = shown(data().cohorts(who), scope, viewer)
        audit.record(who, "cohort_list", cohorts=[c["id"] for c in cohorts],
                     returned=real(sorted({p for c in cohorts for p in named(c)}), viewer), client=client_address(http))
        return cohorts

    @router.post("/cohorts", response_model=SavedCohort, status_code=201)
    def save_cohort(
        body: SaveCohort, http: Request, who: Annotated[str, Depends(current_user)],
        scope: Annotated[DocumentFilter, Depends(research_scope)],
        viewer: Annotated[Viewer, Depends(view)],
    ) -> dict[str, Any]:
        """Name and save a cohort (its current members are the reference for the next run's « new »)."""
        definition = body.definition.model_copy(update={"name": body.name})
        result = run(definition, scope, None, viewer)
        stored = data().add_cohort(who, body.name.strip(), definition.model_dump(mode="json"),
                                   [p.patient_id for p in result.patients], watch=bool(body.watch))
        audit.record(who, "cohort_save", cohort_id=stored["id"], members=real(stored["members"], viewer),
                     watch=bool(body.watch), client=client_address(http))
        exclusions_audited(stored["id"], [], stored["definition"]["excluded"], http, who, viewer)
        return saved_out(stored)

    @router.get("/cohorts/{cohort_id}", response_model=SavedCohort)
    def get_cohort(
        cohort_id: RowId, http: Request, who: Annotated[str, Depends(current_user)],
        scope: Annotated[DocumentFilter, Depends(research_scope)], viewer: Annotated[Viewer, Depends(view)],
    ) -> dict[str, Any]:
        """A saved cohort, with the patients its watch found since the caller last looked
        (``new_patient_ids``); opening it marks them seen (the next ``GET /cohorts`` counts 0). Those
        the caller's current rights hide stay unseen: shown as new once the caller may see them."""
        [stored] = shown([saved(who, cohort_id)], scope, viewer)
        audit.record(who, "cohort_open", cohort_id=cohort_id, returned=real(named(stored), viewer),
                     new=real(stored["new_patient_ids"], viewer), client=client_address(http))
        data().mark_seen(who, cohort_id, stored["last_refreshed"], shown=stored["new_patient_ids"])
        return stored

    @router.put("/cohorts/{cohort_id}", response_model=SavedCohort)
    def update_cohort(
        cohort_id: RowId, body: SaveCohort, http: Request, who: Annotated[str, Depends(current_user)],
        scope: Annotated[DocumentFilter, Depends(research_scope)], viewer: Annotated[Viewer, Depends(view)],
    ) -> dict[str, Any]:
        """Change a saved cohort's name or definition (e.g. patients included or excluded by hand), or
        its ``watch`` (left as it is when absent). Audited: the answer names the cohort's members, and
        the definition may include or exclude patients by hand."""
        before = saved(who, cohort_id)["definition"]["excluded"]
        definition = body.definition.model_copy(update={"name": body.name})
        updated = data().update_cohort(who, cohort_id, name=body.name.strip(), watch=body.watch,
                                       definition=definition.model_dump(mode="json"))
        [out] = shown([updated], scope, viewer)  # type: ignore[list-item]
        audit.record(who, "cohort_update", cohort_id=cohort_id, definition=audited(definition, viewer),
                     watch=body.watch, returned=real(out["members"], viewer), client=client_address(http))
        exclusions_audited(cohort_id, before, updated["definition"]["excluded"], http, who, viewer)  # type: ignore[index]
        return out

    def exclusions_audited(cohort_id: int, before: list[str], after: list[str], http: Request, who: str,
                           viewer: Viewer) -> None:
        """Hand exclusions made through a definition's ``excluded`` are decisions: audited as such."""
        changes = [(p, "excluded") for p in after if p not in before] + [(p, None) for p in before if p not in after]
        if changes:
            audit.record(who, "cohort_decision", cohort_id=cohort_id, client=client_address(http), via="definition",
                         decisions=[{"patient": viewer.patient_in(p) if viewer.deidentified else p, "status": s,
                                     "reason": None} for p, s in changes])

    @router.delete("/cohorts/{cohort_id}", status_code=204)
    def delete_cohort(cohort_id: RowId, http: Request, who: Annotated[str, Depends(current_user)]) -> None:
        """Delete one of the caller's cohorts (404 for anyone else's); audited, as its saving was."""
        if not data().delete_cohort(who, cohort_id):
            raise HTTPException(status_code=404, detail=f"aucune cohorte n° {cohort_id}")
        audit.record(who, "cohort_delete", cohort_id=cohort_id, client=client_address(http))

    @router.post("/cohorts/{cohort_id}/run", response_model=CohortResult)
    def rerun_cohort(
        cohort_id: RowId, http: Request, who: Annotated[str, Depends(current_user)],
        scope: Annotated[DocumentFilter, Depends(research_scope)],
        viewer: Annotated[Viewer, Depends(view)],
    ) -> CohortResult:
        """Re-run a saved cohort on today's index: patients absent from the previous run the caller saw
        are ``new`` (those a watch refresh found since included); this marks the watch's news seen, but
        those the caller's current rights hide."""
        stored = saved(who, cohort_id)
        definition = CohortDefinition.model_validate(stored["definition"])
        before = previous(stored, scope, viewer)
        result = screened(run(definition, scope, before["members"], viewer), stored, scope, viewer)
        data().update_cohort(who, cohort_id, members=[p.patient_id for p in result.patients],
                             shown=before["new_patient_ids"])
        audit.record(who, "cohort_run", cohort_id=cohort_id, returned=real([p.patient_id for p in result.patients], viewer),
                     new=real([p.patient_id for p in result.patients if p.new], viewer), client=client_address(http))
        return result

    @router.get(
        "/cohorts/{cohort_id}/export",
        response_class=Response,
        responses={200: {"content": {_MEDIA["csv"]: {}, _MEDIA["xlsx"]: {}}, "description": "One row per patient"}},
    )
    def export_cohort(
        cohort_id: RowId, http: Request, who: Annotated[str, Depends(current_user)],
        scope: Annotated[DocumentFilter, Depends(research_scope)],
        viewer: Annotated[Viewer, Depends(view)],
        format: Annotated[Literal["csv", "xlsx"], Query(description="csv (« ; », UTF-8) or xlsx (Excel)")] = "csv",
        with_excluded: Annotated[bool, Query(description="Also one row per patient decided excluded, and per "
                                                         "patient decided otherwise whom the criteria no longer "
                                                         "find (inclusion « sortie »): the screening log (status, "
                                                         "reason, who, when)")] = False,
    ) -> Response:
        """The saved cohort, evaluated now, as a spreadsheet: one row per patient, its screening decision
        in the last columns (« décision », « motif », « décidé par », « décidé le (UTC) »)."""
        stored = saved(who, cohort_id)
        definition = CohortDefinition.model_validate(stored["definition"])
        result = screened(run(definition, scope, previous(stored, scope, viewer)["members"], viewer), stored, scope, viewer)
        gone = off_list_decisions(result) if with_excluded else []
        header, rows = export_rows(definition, result, gone, AGE_LAST_EVIDENCE if viewer.deidentified else AGE_TODAY)
        body = to_csv(header, rows) if format == "csv" else to_xlsx(stored["name"], header, rows)
        audit.record(who, "cohort_export", cohort_id=cohort_id, format=format,
                     patients=real([p.patient_id for p in result.patients] + [d.patient_id for d in gone], viewer),
                     client=client_address(http))
        return Response(body, media_type=_MEDIA[format],
                        headers={"Content-Disposition": attachment(stored["name"], format, f"cohorte-{cohort_id}")})

    return router
